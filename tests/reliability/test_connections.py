"""Deductions and then refunds through the real `money` worker while its PostgreSQL connections
are terminated under it again and again (`pg_terminate_backend`, as a failover or an administrator
does): the tasks caught mid-transaction fail, their transaction rolls back, and the relay queues
them again -- each deduction taken once, each refund posted once, and the ledger adds up."""

import re
import time
from collections import Counter, defaultdict
from datetime import timedelta

import pytest
from django.db.models import Sum
from django.utils import timezone

from enforcement import services, tasks
from enforcement.models import (
    DepositAccount,
    LedgerEntry,
    Measure,
    MeasureEvent,
    MeasureStatus,
    Notification,
)
from tests.factories import TEST_ACTOR, register_party
from tests.reliability.conftest import (
    asked_fen,
    bulk_deductions,
    drained,
    mail_text,
    sent_mail,
    until,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PARTIES = 5
DEDUCTIONS = 200
# The worker's connections are terminated when this many deductions were taken...
DEDUCTION_KILLS = (30, 70, 110, 150)
# ...and when this many refunds were posted.
REFUND_KILLS = (30, 70, 100)


def deposit_fen(k: int) -> int:
    """4,000 yuan for the first party up to 20,000 for the last, each asked about 10,000: the
    first two run short, the others do not."""
    return 400_000 * (k + 1)


def test_deductions_and_refunds_survive_their_database_connections_being_terminated(
    broker, worker_for, staff, figures
):
    parties = [register_party(name=f"断连测试{k}") for k in range(PARTIES)]
    for k, party in enumerate(parties):
        services.top_up(
            party=party, amount_fen=deposit_fen(k), reference=f"conn-pay-{k}", actor=TEST_ACTOR
        )
    ids = bulk_deductions(staff, parties, [asked_fen(n) for n in range(DEDUCTIONS)])
    worker = worker_for().start()
    started = time.monotonic()
    relayed: list[int] = []
    terminated: list[int] = []

    def entries(kind: str) -> int:
        return LedgerEntry.objects.filter(kind=kind).count()

    def through(kind: str, total: int, kills: tuple[int, ...]) -> None:
        """Terminate the worker's connections at each of `kills`, then relay until `total`."""
        for at in kills:
            until(lambda at=at: entries(kind) >= at, timeout=120, what=f"{at} {kind}s")
            terminated.append(worker.terminate_connections())
        assert entries(kind) < total, "the last termination came too late to catch any"

        def settled() -> bool:
            if entries(kind) >= total:
                return True
            if broker.queued("money") == 0:
                # A task that died on its connection was acknowledged as failed: its message is
                # gone. The relay (beat: every two minutes) is what queues it again.
                relayed.append(tasks.relay_money())
            return False

        until(settled, timeout=180, interval=1.0, what=f"every {kind}")

    # Every message twice, so that duplicates meet the failures.
    for pk in ids:
        tasks.execute_deduction.delay(pk)
        tasks.execute_deduction.delay(pk)
    through("deduction", DEDUCTIONS, DEDUCTION_KILLS)

    # Two in three reversed on appeal, in the state `appeal_decide` leaves them; their refunds
    # queued twice.
    reversed_ids = [pk for n, pk in enumerate(ids) if n % 3]
    Measure.objects.filter(pk__in=reversed_ids).update(
        status=MeasureStatus.REVERSED, lifted_at=timezone.now() - timedelta(minutes=5)
    )
    for pk in reversed_ids:
        tasks.execute_refund.delay(pk)
        tasks.execute_refund.delay(pk)
    through("refund", len(reversed_ids), REFUND_KILLS)
    elapsed = time.monotonic() - started

    failed = {
        (task, error): worker.task_errors(task, error)
        for task in ("enforcement.execute_deduction", "enforcement.execute_refund")
        for error in ("OperationalError", "InterfaceError")
    }
    # The terminations did catch tasks mid-way, and the worker itself lived through them.
    assert sum(terminated) > 0
    assert sum(failed.values()) > 0
    assert worker.process.poll() is None

    # Each deduction taken once, each refund posted once, under their keys.
    assert set(Measure.objects.filter(pk__in=ids).values_list("status", flat=True)) == {
        MeasureStatus.EXECUTED,
        MeasureStatus.REVERSED,
    }
    executed = MeasureEvent.objects.filter(measure_id__in=ids, kind="executed")
    assert executed.count() == executed.values("measure").distinct().count() == DEDUCTIONS
    deductions = {
        e["measure_id"]: e
        for e in LedgerEntry.objects.filter(kind="deduction").values(
            "measure_id", "idempotency_key", "amount_fen", "shortfall_fen", "account__party_id"
        )
    }
    assert entries("deduction") == len(deductions) == DEDUCTIONS
    assert {e["idempotency_key"] for e in deductions.values()} == {
        f"measure:{pk}:deduction" for pk in ids
    }
    refunds = {
        e["measure_id"]: e
        for e in LedgerEntry.objects.filter(kind="refund").values(
            "measure_id", "idempotency_key", "amount_fen", "shortfall_fen"
        )
    }
    assert entries("refund") == len(refunds) == len(reversed_ids)
    assert set(refunds) == set(reversed_ids)
    for pk, refund in refunds.items():
        assert refund["idempotency_key"] == f"measure:{pk}:refund"
        assert refund["amount_fen"] == -deductions[pk]["amount_fen"]
        assert refund["shortfall_fen"] == -deductions[pk]["shortfall_fen"]

    # Per party: what the deductions took (or left owed) in whatever order they ran, less what
    # the refunds gave back.
    asked = dict(zip(ids, (asked_fen(n) for n in range(DEDUCTIONS)), strict=True))
    paid_out, owed = defaultdict(int), defaultdict(int)
    asked_by_party = defaultdict(int)
    for pk, entry in deductions.items():
        party = entry["account__party_id"]
        assert -entry["amount_fen"] + entry["shortfall_fen"] == asked[pk]
        asked_by_party[party] += asked[pk]
        if pk not in refunds:
            paid_out[party] += -entry["amount_fen"]
            owed[party] += entry["shortfall_fen"]
    short = 0
    for k, party in enumerate(parties):
        account = DepositAccount.objects.get(party=party)
        assert account.balance_fen == deposit_fen(k) - paid_out[party.pk] >= 0
        assert account.shortfall_fen == owed[party.pk]
        short += asked_by_party[party.pk] > deposit_fen(k)
    assert 0 < short < PARTIES, "both paths: parties that ran out and parties that did not"
    sums = dict(
        LedgerEntry.objects.values_list("account_id")
        .annotate(s=Sum("amount_fen"))
        .values_list("account_id", "s")
    )
    for account in DepositAccount.objects.all():
        assert account.balance_fen == sums[account.pk]
    run = services.reconcile()
    assert run.accounts_checked == PARTIES and run.mismatches == []

    figures.update(
        {
            "deductions / refunds": f"{DEDUCTIONS} / {len(reversed_ids)}",
            "messages published": (
                f"{2 * DEDUCTIONS} + {2 * len(reversed_ids)} + {sum(relayed)} "
                f"by {len(relayed)} relays"
            ),
            "terminations (backends terminated each time)": (
                f"{len(terminated)} ({', '.join(map(str, terminated))})"
            ),
            "tasks failed on their connection (deduction / refund)": (
                f"{sum(v for (t, _), v in failed.items() if t.endswith('deduction'))} / "
                f"{sum(v for (t, _), v in failed.items() if t.endswith('refund'))}"
            ),
            "deduction runs that found it taken": worker.task_lines(
                "enforcement.execute_deduction", "not executing"
            ),
            "refund runs that found it posted": worker.task_lines(
                "enforcement.execute_refund", "already refunded"
            ),
            "parties that ran short": short,
            "seconds from first message to last refund": round(elapsed, 1),
        }
    )


NOTICES = 200
# The worker's connections are terminated when this many notices were sent.
NOTICE_KILLS = (20, 50, 80, 110, 140, 170)


def test_lead_notices_survive_their_database_connections_being_terminated(
    broker, worker_for, staff, figures, tmp_path
):
    """The leads' notices (a proposal waits for approval, a correction is overdue, an appeal was
    filed or decided) go through the outbox. A notice whose task dies on its connection is
    retried at once (the relay would only find it five minutes later), and sent."""
    from enforcement import notifications

    parties = [register_party(name=f"通知测试{k}") for k in range(4)]
    ids = bulk_deductions(staff, parties, [10_000] * NOTICES)
    # Proposed and waiting for a lead, as `measure_propose` leaves a severe measure.
    Measure.objects.filter(pk__in=ids).update(
        status=MeasureStatus.PROPOSED, decided_by=None, decided_at=None, starts_at=None
    )
    mail = tmp_path / "mail"
    mail.mkdir()
    worker = worker_for(RELIABILITY_MAIL_DIR=str(mail)).start()
    started = time.monotonic()
    for pk in ids:
        notifications.approval_requested(pk)  # what `measure_propose` queues after commit

    def sent() -> int:
        # Counted by message, not by file: the file backend names a file by the second and the
        # backend object's id, so two connections in one second can share one file.
        return len(sent_mail(mail))

    terminated = []
    for at in NOTICE_KILLS:
        until(lambda at=at: sent() >= at, timeout=60, what=f"{at} notices sent")
        terminated.append(worker.terminate_connections())
    until(
        lambda: sent() >= NOTICES or drained(broker, "notify"),
        timeout=120,
        what="every notice sent or given up",
    )
    # Retries wait a few seconds in the worker; everything ends with nothing left to run.
    until(lambda: drained(broker, "notify"), timeout=120, what="the notify queue to drain")
    elapsed = time.monotonic() - started

    by_measure = Counter()
    for message in sent_mail(mail):
        assert message["To"] == staff.lead.email
        links = re.findall(r"/measure/(\d+)/change/", mail_text(message))
        by_measure.update(int(pk) for pk in links)
    failed = worker.task_errors("enforcement.notify", "OperationalError") + worker.task_errors(
        "enforcement.notify", "InterfaceError"
    )
    retried = worker.task_lines_containing("enforcement.notify", "retry: Retry in")
    assert sum(terminated) > 0 and worker.process.poll() is None
    assert failed + retried > 0, "no termination caught a notice mid-way"
    missing = sorted(set(ids) - set(by_measure))
    assert not missing, f"{len(missing)} notices never sent (their task died on its connection)"
    assert set(by_measure) == set(ids)
    assert not Notification.objects.filter(handled_at__isnull=True).exists()
    # A notice is marked handled before its mail goes and committed after: a connection
    # terminated in between rolls the mark back, the retry sends that one again. So a notice is
    # sent twice only by a retried task, never lost.
    twice = sum(by_measure.values()) - len(ids)
    assert twice <= retried, f"{twice} notices sent twice, only {retried} tasks retried"

    figures.update(
        {
            "notices": NOTICES,
            "terminations (backends terminated each time)": (
                f"{len(terminated)} ({', '.join(map(str, terminated))})"
            ),
            "notice tasks failed on their connection / retried": f"{failed} / {retried}",
            "notices sent / sent twice": f"{sum(by_measure.values())} / {twice}",
            "seconds from first message to last notice": round(elapsed, 1),
        }
    )
