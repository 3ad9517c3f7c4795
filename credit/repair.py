"""Credit repair (信用修复, LCM Art. 11): a party with no new deduction for the rule set's clean
period gets back a share of the deductions still counting against it, once per clean period."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Exists, OuterRef
from django.utils import timezone

from accounts.models import Party
from credit.models import CreditEvent, EventKind
from credit.rules import half_up
from credit.scoring import explain, record, rule_set_in_force


def repair_sweep(*, now=None, limit: int = 10_000) -> int:
    now = now or timezone.now()
    _row, rules = rule_set_in_force()
    clean_since = now - timedelta(days=rules.repair_clean_days)
    recent_deduction = CreditEvent.objects.filter(
        party_id=OuterRef("party_id"), points__lt=0, recorded_at__gte=clean_since
    ).exclude(kind=EventKind.REVERSAL)
    recent_repair = CreditEvent.objects.filter(
        party_id=OuterRef("party_id"), rule="repair", recorded_at__gte=clean_since
    )
    candidates = (
        CreditEvent.objects.filter(
            points__lt=0, occurred_at__gt=now - timedelta(days=rules.gone_days)
        )
        .exclude(kind=EventKind.REVERSAL)
        .annotate(busy=Exists(recent_deduction), repaired=Exists(recent_repair))
        .filter(busy=False, repaired=False)
        .values_list("party_id", flat=True)
        .distinct()[:limit]
    )
    repaired = 0
    for party in Party.objects.filter(pk__in=list(candidates)):
        result = explain(party, now=now)
        owed = -sum(line.counted for line in result.lines if line.counted < 0)
        points = half_up(owed * rules.repair_share)
        if points <= 0:
            continue
        event = record(
            party=party,
            kind=EventKind.REPAIR,
            rule="repair",
            points=points,
            source=f"repair:{timezone.localdate(now).isoformat()}",
            occurred_at=now,
            description=f"{rules.repair_clean_days} days without a new deduction",
        )
        repaired += event is not None
    return repaired
