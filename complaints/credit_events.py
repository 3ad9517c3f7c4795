"""What complaints and evaluations tell the credit system (RULES.md §6: verified complaints and
consumers' evaluations feed credit)."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from credit import scoring
from credit.models import EventKind

# Outcomes in which the platform found the consumer was right.
UPHELD = {"refund", "compensation", "violation_confirmed"}


def case_decided(case) -> None:
    if case.kind != "complaint" or case.outcome not in UPHELD:
        return
    for party_id in {case.merchant_id, case.anchor_id} - {None}:
        scoring.record(
            party=party_id,
            kind=EventKind.COMPLAINT_UPHELD,
            rule="complaint_upheld",
            points=scoring.price("complaint_upheld"),
            source=f"complaints.case:{case.pk}",
            occurred_at=case.decided_at or timezone.now(),
            description=case.tracking_code,
        )


def _stars(evaluation) -> dict[int, Decimal]:
    """The stars each party earned: the merchant the average of description, service and
    logistics; the anchor their honesty (or that average when not rated)."""
    average = (
        Decimal(
            evaluation.stars_description + evaluation.stars_service + evaluation.stars_logistics
        )
        / 3
    )
    given = {}
    if evaluation.merchant_id:
        given[evaluation.merchant_id] = average
    if evaluation.anchor_id:
        honesty = evaluation.stars_anchor_honesty
        given[evaluation.anchor_id] = Decimal(honesty) if honesty is not None else average
    return given


def evaluation_submitted(evaluation) -> None:
    for party_id, stars in _stars(evaluation).items():
        scoring.record(
            party=party_id,
            kind=EventKind.EVALUATION,
            rule="evaluation",
            value=stars.quantize(Decimal("0.01")),
            source=f"complaints.evaluation:{evaluation.pk}",
            occurred_at=evaluation.created_at,
        )


def evaluation_hidden(evaluation, reason: str) -> None:
    scoring.reverse(source=f"complaints.evaluation:{evaluation.pk}", reason=reason)
