"""Refunds of deductions reversed on appeal, through the real `money` worker while it is killed
with SIGKILL, its broker restarts empty and every message arrives at least twice: each refund is
posted exactly once, gives back what its deduction took and clears what it recorded as owed, and
the ledger still adds up (DESIGN: nothing lost, nothing twice)."""

import time
from collections import defaultdict
from datetime import timedelta

import pytest
from django.db.models import Sum
from django.utils import timezone

from accounts.actors import Actor
from enforcement import services, tasks
from enforcement.models import (
    AppealStatus,
    DepositAccount,
    LedgerEntry,
    Measure,
    MeasureEvent,
    MeasureStatus,
)
from enforcement.services import ledger
from tests.factories import TEST_ACTOR, UserFactory, register_party
from tests.reliability.conftest import asked_fen, bulk_deductions, until

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PARTIES = 6
DEDUCTIONS = 360
# Through the real appeal: filed by the party, reversed by a lead who took no part.
THROUGH_APPEAL = 12
# Where the faults strike: after this many refunds have been posted.
FIRST_KILL, REDIS_RESTART, SECOND_KILL = 60, 150, 230


def deposit_fen(k: int) -> int:
    """Party k's deposit: 4,000 yuan for the first up to 24,000 for the last. Each is asked for
    about 15,000 yuan, so the first three run out -- their later deductions took part of what
    they asked or nothing, and recorded the rest as owed -- and the others do not."""
    return 400_000 * (k + 1)


def reversed_(n: int) -> bool:
    """Six deductions in seven are reversed on appeal; the seventh stands (seven against six
    parties: every party has some of each)."""
    return n % 7 != 6


def test_refunds_survive_killed_workers_a_redis_restart_and_double_delivery(
    broker, worker_for, staff, figures, monkeypatch
):
    parties = [register_party(name=f"退款测试{k}") for k in range(PARTIES)]
    for k, party in enumerate(parties):
        services.top_up(
            party=party, amount_fen=deposit_fen(k), reference=f"refund-pay-{k}", actor=TEST_ACTOR
        )
    amounts = [asked_fen(n) for n in range(DEDUCTIONS)]
    ids = bulk_deductions(staff, parties, amounts)
    # The deductions taken, in order, through the ledger's own `post_once` (test_deductions.py
    # puts their taking under faults); then executed, as `deduction_carry_out` leaves them.
    actor = Actor.system("enforcement.execute_deduction")
    for pk, amount in zip(ids, amounts, strict=True):
        measure = Measure.objects.get(pk=pk)
        ledger.post_once(
            party_id=measure.party_id,
            kind="deduction",
            amount_fen=amount,
            key=f"measure:{pk}:deduction",
            actor=actor,
            measure=measure,
        )
    Measure.objects.filter(pk__in=ids).update(
        status=MeasureStatus.EXECUTED, executed_at=timezone.now() - timedelta(minutes=10)
    )
    deductions = {
        e["measure_id"]: e
        for e in LedgerEntry.objects.filter(kind="deduction").values(
            "measure_id", "amount_fen", "shortfall_fen", "account__party_id"
        )
    }
    reversed_ids = [pk for n, pk in enumerate(ids) if reversed_(n)]
    standing_ids = [pk for n, pk in enumerate(ids) if not reversed_(n)]
    nothing_taken = sum(1 for pk in reversed_ids if deductions[pk]["amount_fen"] == 0)
    # Both refund paths: money given back, and only a shortfall cleared.
    assert 0 < nothing_taken < len(reversed_ids)

    # The relay runs here in the test's process; the refunds reversed through the appeal a moment
    # ago would wait two minutes for it.
    monkeypatch.setattr(tasks, "MONEY_RELAY_AFTER", timedelta(0))
    worker = worker_for().start()
    started = time.monotonic()

    # The real path for the first few: the appeal reverses the measure and queues the refund
    # after commit.
    appealed = reversed_ids[:THROUGH_APPEAL]
    decider = Actor.for_user(UserFactory(roles=["compliance_lead"]))
    for pk in appealed:
        appeal = services.appeal_file(
            measure=Measure.objects.get(pk=pk),
            grounds="并未引导线下交易。",
            channel="api",
            actor=TEST_ACTOR,
        )
        services.appeal_decide(appeal=appeal, reverse=True, reason="证据不足。", actor=decider)
    # The rest in the state `appeal_decide` leaves them, their refunds queued as it queues them.
    in_bulk = set(reversed_ids[THROUGH_APPEAL:])
    Measure.objects.filter(pk__in=in_bulk).update(
        status=MeasureStatus.REVERSED, lifted_at=timezone.now() - timedelta(minutes=5)
    )
    for pk in reversed_ids:
        if pk in in_bulk:
            tasks.execute_refund.delay(pk)
        # And every refund a second time, right behind the first: with four pool processes the
        # two copies often run at the same moment.
        tasks.execute_refund.delay(pk)

    def posted() -> int:
        return LedgerEntry.objects.filter(kind="refund").count()

    def reach(count: int) -> int:
        until(
            lambda: worker.supervise() or posted() >= count,
            timeout=120,
            what=f"{count} refunds posted",
        )
        return posted()

    reach(FIRST_KILL)
    in_flight = broker.unacknowledged()
    worker.kill()
    at_first_kill = posted()
    assert at_first_kill < len(reversed_ids) and in_flight > 0
    worker.start()

    reach(REDIS_RESTART)
    queued = broker.queued("money")
    broker.restart()
    at_restart = posted()
    assert queued > 0 and at_restart < len(reversed_ids)
    assert broker.queued("money") == broker.unacknowledged() == 0
    # Every queued refund is gone; the relay (beat: every two minutes) finds the reversed
    # deductions without a refund and queues them again.
    relayed = [tasks.relay_money()]
    assert relayed[0] > 0

    reach(SECOND_KILL)
    in_flight_again = broker.unacknowledged()
    worker.kill()
    at_second_kill = posted()
    assert at_second_kill < len(reversed_ids) and in_flight_again > 0
    worker.start()

    def settled() -> bool:
        worker.supervise()
        if posted() >= len(reversed_ids):
            return True
        if broker.queued("money") == 0:
            # What the dead workers held is invisible to Redis for two hours.
            relayed.append(tasks.relay_money())
        return False

    until(settled, timeout=180, interval=1.0, what="every refund posted")
    elapsed = time.monotonic() - started

    # One refund per reversed deduction, under its key; none for a deduction that stands.
    refunds = {
        e["measure_id"]: e
        for e in LedgerEntry.objects.filter(kind="refund").values(
            "measure_id", "idempotency_key", "amount_fen", "shortfall_fen"
        )
    }
    assert LedgerEntry.objects.filter(kind="refund").count() == len(reversed_ids)
    assert set(refunds) == set(reversed_ids)
    for pk, refund in refunds.items():
        assert refund["idempotency_key"] == f"measure:{pk}:refund"
        # Exactly what the deduction took back, and exactly what it recorded as owed cleared.
        assert refund["amount_fen"] == -deductions[pk]["amount_fen"]
        assert refund["shortfall_fen"] == -deductions[pk]["shortfall_fen"]

    # Per party: what the standing deductions took is gone, what they could not take is owed,
    # and nothing of the reversed ones remains.
    taken, owed = defaultdict(int), defaultdict(int)
    for pk in standing_ids:
        party = deductions[pk]["account__party_id"]
        taken[party] += -deductions[pk]["amount_fen"]
        owed[party] += deductions[pk]["shortfall_fen"]
    short = 0
    for k, party in enumerate(parties):
        account = DepositAccount.objects.get(party=party)
        assert account.balance_fen == deposit_fen(k) - taken[party.pk] >= 0
        assert account.shortfall_fen == owed[party.pk] >= 0
        short += account.shortfall_fen > 0
    assert 0 < short < PARTIES, "both: parties still owing after the refunds, and not"
    sums = dict(
        LedgerEntry.objects.values_list("account_id")
        .annotate(s=Sum("amount_fen"))
        .values_list("account_id", "s")
    )
    for account in DepositAccount.objects.all():
        assert account.balance_fen == sums[account.pk]
    run = services.reconcile()
    assert run.accounts_checked == PARTIES and run.mismatches == []

    # The appeals' own record: reversed, and the refund they announced is the one posted.
    for pk in appealed:
        measure = Measure.objects.select_related("appeal").get(pk=pk)
        assert measure.status == MeasureStatus.REVERSED
        assert measure.appeal.status == AppealStatus.REVERSED
        event = MeasureEvent.objects.get(measure=measure, kind=MeasureEvent.Kind.REVERSED)
        assert event.data["refund_fen"] == refunds[pk]["amount_fen"]
        assert event.data["shortfall_cleared_fen"] == -refunds[pk]["shortfall_fen"]
    assert set(Measure.objects.filter(pk__in=reversed_ids).values_list("status", flat=True)) == {
        MeasureStatus.REVERSED
    }

    # The worker's log: duplicates arrived and found the refund posted.
    duplicates = worker.task_lines("enforcement.execute_refund", "already refunded")
    refunded = worker.task_lines("enforcement.execute_refund", "refunded")
    assert duplicates > 0
    assert refunded <= len(reversed_ids)  # fewer when a worker died between commit and log

    figures.update(
        {
            "deductions (reversed, of which through the appeal service)": (
                f"{DEDUCTIONS} ({len(reversed_ids)}, {THROUGH_APPEAL})"
            ),
            "reversed deductions that had taken nothing (shortfall only)": nothing_taken,
            "parties (still owing at the end)": f"{PARTIES} ({short})",
            "messages published": (
                f"{2 * len(reversed_ids)} + {sum(relayed)} by {len(relayed)} relays"
            ),
            "worker SIGKILLs (posted at the time, in flight)": (
                f"{worker.kills} ({at_first_kill}, {in_flight}; {at_second_kill}, "
                f"{in_flight_again})"
            ),
            "Redis restarts (posted at the time, queued messages lost)": (
                f"1 ({at_restart}, {queued})"
            ),
            "runs that found the refund posted": duplicates,
            "runs logged as posting it": refunded,
            "refund entries": len(refunds),
            "worker exits on their own, restarted as a supervisor would": worker.crashes,
            "seconds from the first appeal to the last refund": round(elapsed, 1),
        }
    )
