"""The ledger's last lines of defence on PostgreSQL: the trigger that refuses to rewrite history,
and the row locks that let two workers carry out one deduction at once and take it once."""

import threading
from functools import partial

import pytest
from django.db import DatabaseError, connection, transaction

from enforcement import services
from enforcement.models import DepositAccount, LedgerEntry, MeasureEvent, MeasureStatus
from enforcement.services.ledger import ledger_is_append_only_in_database
from tests.factories import TEST_ACTOR, register_party

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_the_database_refuses_to_update_or_delete_a_ledger_entry():
    party = register_party()
    entry = services.top_up(
        party=party, amount_fen=50_000, reference="pay-trigger", actor=TEST_ACTOR
    ).entry
    assert ledger_is_append_only_in_database()

    # Raw SQL and queryset bulk operations never call the model's save() or delete(): only the
    # trigger stands between them and the money's history.
    attempts = [
        lambda cursor: cursor.execute(
            "UPDATE enforcement_ledgerentry SET amount_fen = amount_fen + 1 WHERE id = %s",
            [entry.pk],
        ),
        lambda cursor: cursor.execute(
            "DELETE FROM enforcement_ledgerentry WHERE id = %s", [entry.pk]
        ),
        lambda cursor: LedgerEntry.objects.filter(pk=entry.pk).update(reference="rewritten"),
        lambda cursor: LedgerEntry.objects.filter(pk=entry.pk).delete(),
    ]
    for attempt in attempts:
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            attempt(cursor)

    stored = LedgerEntry.objects.get(pk=entry.pk)
    assert (stored.amount_fen, stored.reference) == (50_000, "pay-trigger")
    assert LedgerEntry.objects.count() == 1


def _race(*callables):
    """Run the callables at the same instant, each in its own thread and connection."""
    barrier, results = threading.Barrier(len(callables)), [None] * len(callables)

    def run(index, function):
        barrier.wait()
        try:
            results[index] = function()
        except Exception as exc:  # the outcome is what the test inspects
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, f)) for i, f in enumerate(callables)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_two_workers_carrying_out_one_deduction_at_once_take_it_once(broker, staff):
    """Each round: two workers on one measure (the message delivered twice) and a third on
    another measure of the same party, all at the same instant."""
    party = register_party()
    services.top_up(party=party, amount_fen=1_000_000, reference="pay-race", actor=TEST_ACTOR)

    def deduction(amount_fen):
        # Approved by a lead: the measure waits, executing, for the `money` worker (the message
        # goes to the private broker, where no worker listens: the threads below are the workers).
        return staff.measure(
            party,
            "offline_transaction",
            kind="deposit_deduction",
            amount_fen=amount_fen,
            departure_reason="按情节调整金额。",
        )

    rounds = 8
    for _ in range(rounds):
        twice, other = deduction(30_000), deduction(20_000)
        assert twice.status == other.status == MeasureStatus.EXECUTING
        outcomes = _race(
            *(
                partial(services.deduction_carry_out, measure.pk)
                for measure in (twice, twice, other)
            )
        )
        assert sorted(outcomes[:2]) == ["executed", "not executing"], outcomes
        assert outcomes[2] == "executed", outcomes

    deductions = LedgerEntry.objects.filter(kind="deduction")
    assert deductions.count() == 2 * rounds
    assert deductions.values("measure").distinct().count() == 2 * rounds
    assert MeasureEvent.objects.filter(kind="executed").count() == 2 * rounds
    account = DepositAccount.objects.get(party=party)
    assert account.balance_fen == 1_000_000 - rounds * 50_000
    assert services.reconcile().mismatches == []
