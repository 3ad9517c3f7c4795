"""1,000 deposit deductions through the real `money` worker while it is killed with SIGKILL, its
broker restarts empty and every message arrives at least twice: each deduction is taken exactly
once, and the ledger still adds up (DESIGN: nothing lost, nothing twice)."""

import time
from collections import defaultdict
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
    MeasureKind,
    MeasureStatus,
    Violation,
    ViolationSource,
    ViolationStatus,
    ViolationType,
)
from tests.factories import TEST_ACTOR, register_party
from tests.reliability.conftest import asked_fen, until

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PARTIES = 10
DEDUCTIONS = 1000
# Where the faults strike: after this many deductions have been taken.
FIRST_KILL, REDIS_RESTART, SECOND_KILL = 150, 400, 700


def deposit_fen(k: int) -> int:
    """Party k's deposit: 6,000 yuan for the first up to 60,000 for the last. Each party is asked
    for about 25,000 yuan in all, so the first four run out (the shortfall path) and the others
    do not."""
    return 600_000 * (k + 1)


def executing_deductions(staff) -> tuple[list, list[int]]:
    """Parties with their deposits paid in, and 1,000 deductions approved and waiting for the
    worker, as `measure_approve` leaves them.

    The deposits go through the ledger's service. The measures are written in bulk, in the state
    `measure_execute` leaves a deduction in (executing, started five minutes ago: past the relay's
    two minutes, short of the hour after which it gives a deduction up): proposing and approving
    1,000 through the services would take most of the time budget and prove nothing
    tests/enforcement does not. Everything from here on -- the task, `deduction_carry_out`,
    `post_once` -- is the real path.
    """
    vtype = ViolationType.objects.get(code="offline_transaction", status="published")
    parties = [register_party(name=f"保证金测试{k}") for k in range(PARTIES)]
    for k, party in enumerate(parties):
        services.top_up(
            party=party, amount_fen=deposit_fen(k), reference=f"pay-{k}", actor=TEST_ACTOR
        )
    now = timezone.now()
    violations = Violation.objects.bulk_create(
        Violation(
            party=parties[n % PARTIES],
            type=vtype,
            status=ViolationStatus.CONFIRMED,
            source=ViolationSource.REVIEWER,
            facts="直播中引导消费者私下转账交易。",
            created_by=f"user:{staff.reviewer.username}",
            confirmed_at=now,
            confirmed_by=staff.reviewer,
        )
        for n in range(DEDUCTIONS)
    )
    measures = Measure.objects.bulk_create(
        Measure(
            violation=violation,
            party_id=violation.party_id,
            kind=MeasureKind.DEPOSIT_DEDUCTION,
            status=MeasureStatus.EXECUTING,
            reason="依据平台规则扣除保证金。",
            amount_fen=asked_fen(n),
            departs_from_default=True,
            departure_reason="按情节调整金额。",
            severe=True,
            proposed_by=staff.reviewer,
            decided_by=staff.lead,
            decided_at=now,
            # Long enough ago that the relay treats a missing message as lost, not so long that it
            # gives the deduction up (ENFORCEMENT_DEDUCTION_GIVE_UP_MINUTES).
            starts_at=now - timedelta(minutes=5),
        )
        for n, violation in enumerate(violations)
    )
    return parties, [m.pk for m in measures]


def test_a_thousand_deductions_survive_killed_workers_a_redis_restart_and_double_delivery(
    broker, worker_for, staff, figures
):
    parties, ids = executing_deductions(staff)
    worker = worker_for().start()
    started = time.monotonic()

    def taken() -> int:
        return Measure.objects.filter(pk__in=ids, status=MeasureStatus.EXECUTED).count()

    def reach(count: int) -> int:
        until(
            lambda: worker.supervise() or taken() >= count,
            timeout=120,
            what=f"{count} deductions taken",
        )
        return taken()

    # Every message twice, back to back: with four pool processes the two copies of one
    # deduction often run at the same moment.
    for pk in ids:
        tasks.execute_deduction.delay(pk)
        tasks.execute_deduction.delay(pk)

    reach(FIRST_KILL)
    in_flight = broker.unacknowledged()
    worker.kill()
    at_first_kill = taken()
    # Mid-run, with messages taken and not acknowledged: they stay with the dead worker.
    assert 0 < at_first_kill < DEDUCTIONS and in_flight > 0
    worker.start()

    reach(REDIS_RESTART)
    queued = broker.queued("money")
    broker.restart()
    at_restart = taken()
    # Without persistence the restart loses every queued message and every unacknowledged one.
    assert queued > 0 and at_restart < DEDUCTIONS
    assert broker.queued("money") == broker.unacknowledged() == 0
    # The worker reconnects by itself; the relay (beat runs it every two minutes) finds the
    # deductions still executing and queues them again -- some of them a second time.
    relayed = [tasks.relay_money()]
    assert relayed[0] > 0

    reach(SECOND_KILL)
    in_flight_again = broker.unacknowledged()
    worker.kill()
    at_second_kill = taken()
    assert at_second_kill < DEDUCTIONS and in_flight_again > 0
    worker.start()

    def settled() -> bool:
        worker.supervise()
        if taken() == DEDUCTIONS:
            return True
        if broker.queued("money") == 0:
            # What the dead worker held is invisible to Redis for two hours; the relay does not
            # wait for that.
            relayed.append(tasks.relay_money())
        return False

    until(settled, timeout=180, interval=1.0, what="every deduction taken")
    elapsed = time.monotonic() - started

    # Every measure executed, once.
    assert set(Measure.objects.filter(pk__in=ids).values_list("status", flat=True)) == {
        MeasureStatus.EXECUTED
    }
    executed_events = MeasureEvent.objects.filter(measure_id__in=ids, kind="executed")
    assert executed_events.count() == DEDUCTIONS
    assert executed_events.values("measure").distinct().count() == DEDUCTIONS

    # One ledger entry per measure, under the measure's key, taking what was asked or what the
    # balance allowed, the rest recorded as owed.
    entries = list(
        LedgerEntry.objects.filter(kind="deduction").values(
            "measure_id", "idempotency_key", "amount_fen", "shortfall_fen", "account__party_id"
        )
    )
    assert len(entries) == DEDUCTIONS
    assert {e["idempotency_key"] for e in entries} == {f"measure:{pk}:deduction" for pk in ids}
    asked = dict(zip(ids, (asked_fen(n) for n in range(DEDUCTIONS)), strict=True))
    for entry in entries:
        assert -entry["amount_fen"] + entry["shortfall_fen"] == asked[entry["measure_id"]]

    # Per party, whatever order the worker took them in: the deductions took the whole asked
    # amount or the whole deposit, whichever was smaller, and recorded the rest as shortfall.
    asked_by_party, taken_by_party = defaultdict(int), defaultdict(int)
    for entry in entries:
        party = entry["account__party_id"]
        asked_by_party[party] += asked[entry["measure_id"]]
        taken_by_party[party] += -entry["amount_fen"]
    short = 0
    for k, party in enumerate(parties):
        account = DepositAccount.objects.get(party=party)
        paid, owed = deposit_fen(k), asked_by_party[party.pk]
        assert taken_by_party[party.pk] == min(paid, owed)
        assert account.balance_fen == paid - min(paid, owed) >= 0
        assert account.shortfall_fen == owed - min(paid, owed)
        short += account.shortfall_fen > 0
    assert 0 < short < PARTIES, "both paths: parties that ran out and parties that did not"

    # Every balance is the sum of its entries, and the nightly reconciliation agrees.
    sums = dict(
        LedgerEntry.objects.values_list("account_id")
        .annotate(s=Sum("amount_fen"))
        .values_list("account_id", "s")
    )
    for account in DepositAccount.objects.all():
        assert account.balance_fen == sums[account.pk]
    run = services.reconcile()
    assert run.accounts_checked == PARTIES and run.mismatches == []

    # The worker's own log: duplicates really arrived and found the deduction already taken.
    duplicates = worker.task_lines("enforcement.execute_deduction", "not executing")
    takes = worker.task_lines("enforcement.execute_deduction", "executed")
    assert duplicates > 0
    assert takes <= DEDUCTIONS  # fewer when a worker died between commit and its log line

    figures.update(
        {
            "deductions": DEDUCTIONS,
            "parties (of which ran short)": f"{PARTIES} ({short})",
            "messages published": f"{2 * DEDUCTIONS} + {sum(relayed)} by {len(relayed)} relays",
            "worker SIGKILLs (taken at the time, in flight)": (
                f"{worker.kills} ({at_first_kill}, {in_flight}; {at_second_kill}, "
                f"{in_flight_again})"
            ),
            "Redis restarts (taken at the time, queued messages lost)": (
                f"1 ({at_restart}, {queued})"
            ),
            "runs that found the deduction taken": duplicates,
            "runs logged as taking it": takes,
            "worker exits on their own, restarted as a supervisor would": worker.crashes,
            "ledger entries / executed events": f"{len(entries)} / {executed_events.count()}",
            "seconds from first message to last deduction": round(elapsed, 1),
        }
    )
