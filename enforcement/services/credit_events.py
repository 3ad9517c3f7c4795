"""What enforcement tells the credit system (RULES.md §6: violations and measures by severity,
credit restored when a measure is reversed, repair when a notice is corrected)."""

from __future__ import annotations

from django.utils import timezone

from credit import scoring
from credit.models import EventKind
from enforcement.models import Measure, MeasureStatus, Violation


def _violation_source(violation: Violation) -> str:
    return f"enforcement.violation:{violation.pk}"


def _measure_source(measure: Measure) -> str:
    return f"enforcement.measure:{measure.pk}"


def violation_confirmed(violation: Violation) -> None:
    vtype = violation.type
    scoring.record(
        party=violation.party_id,
        kind=EventKind.VIOLATION,
        rule="violation",
        points=scoring.price("violation", catalogue_points=vtype.credit_points),
        source=_violation_source(violation),
        occurred_at=violation.occurred_at or violation.confirmed_at or timezone.now(),
        description=f"{vtype.name} ({vtype.code} v{vtype.version})",
    )


def measure_executed(measure: Measure) -> None:
    rule = f"measure.{measure.kind}"
    scoring.record(
        party=measure.party_id,
        kind=EventKind.MEASURE,
        rule=rule,
        points=scoring.price(rule),
        source=_measure_source(measure),
        occurred_at=measure.executed_at or timezone.now(),
        description=str(measure.get_kind_display()),
    )


def corrected(measure: Measure) -> None:
    scoring.record(
        party=measure.party_id,
        kind=EventKind.REPAIR,
        rule="correction",
        points=scoring.price("correction"),
        source=_measure_source(measure),
        occurred_at=measure.corrected_at or timezone.now(),
        description="notice to correct complied with",
    )


def measure_reversed(measure: Measure, reason: str) -> None:
    """The measure's points come back; the violation's too once none of its measures stands."""
    scoring.reverse(source=_measure_source(measure), reason=reason)
    standing = (
        Measure.objects.filter(violation_id=measure.violation_id, executed_at__isnull=False)
        .exclude(pk=measure.pk)
        .exclude(status=MeasureStatus.REVERSED)
        .exists()
    )
    if not standing:
        scoring.reverse(source=_violation_source(measure.violation), reason=reason)
