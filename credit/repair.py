"""Credit repair (信用修复, LCM Art. 11): a party with no new deduction for the rule set's clean
period gets back a share of the deductions still counting against it, once per clean period.

Each deduction is given back once, by a repair event of its own: the share of its points,
recorded under the deduction's source and dated like it, as a reversal is (credit/scoring.py).
So the repair fades with the deduction and never counts for more than the share of what the
deduction still counts; a deduction reversed later takes its repair back with it
(`scoring.reverse` undoes every event of the source); and a deduction reversed already, faded out
or repaired already has nothing left to give back. A later clean period repairs only the
deductions that came since."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from django.db import transaction
from django.db.models import Exists, Min, OuterRef, Sum
from django.utils import timezone

from credit.models import CreditEvent, EventKind
from credit.rules import half_up
from credit.scoring import rule_set_in_force


def repair_sweep(*, now=None, limit: int = 10_000) -> int:
    """Repair the deductions of up to `limit` parties whose clean period has come; returns how
    many parties got points back."""
    from credit import tasks

    now = now or timezone.now()
    row, rules = rule_set_in_force()
    clean_since = now - timedelta(days=rules.repair_clean_days)
    recent_deduction = CreditEvent.objects.filter(
        party_id=OuterRef("party_id"), points__lt=0, recorded_at__gte=clean_since
    ).exclude(kind=EventKind.REVERSAL)
    recent_repair = CreditEvent.objects.filter(
        party_id=OuterRef("party_id"), rule="repair", recorded_at__gte=clean_since
    )
    # The unique (party, source, rule) index answers this one.
    given_back = CreditEvent.objects.filter(
        party_id=OuterRef("party_id"), source=OuterRef("source"), rule="repair"
    )
    owing = (
        CreditEvent.objects.filter(
            points__lt=0,
            occurred_at__gt=now - timedelta(days=rules.gone_days),
            reversed_by__isnull=True,
        )
        .exclude(kind=EventKind.REVERSAL)
        .filter(~Exists(given_back))
    )
    parties = list(
        owing.annotate(busy=Exists(recent_deduction), repaired=Exists(recent_repair))
        .filter(busy=False, repaired=False)
        .values_list("party_id", flat=True)
        # No ordering: the model's would make DISTINCT (and the limit) count events, not parties.
        .order_by()
        .distinct()[:limit]
    )
    repairs = []
    for owed in (
        owing.filter(party_id__in=parties)
        .values("party_id", "source")
        .annotate(deducted=Sum("points"), since=Min("occurred_at"))
        .order_by("party_id", "source")
    ):
        points = half_up(-owed["deducted"] * rules.repair_share)
        if points <= 0:
            continue
        repairs.append(
            CreditEvent(
                party_id=owed["party_id"],
                kind=EventKind.REPAIR,
                rule="repair",
                points=points,
                rule_set=row,
                source=owed["source"],
                occurred_at=owed["since"],
                description=f"{rules.repair_clean_days} days without a new deduction",
            )
        )
    repaired = {event.party_id for event in repairs}
    with transaction.atomic():
        # A sweep running twice at once records each repair once.
        CreditEvent.objects.bulk_create(repairs, batch_size=1000, ignore_conflicts=True)
        for party_id in sorted(repaired):
            transaction.on_commit(partial(tasks.update_score.delay, party_id))
    return len(repaired)
