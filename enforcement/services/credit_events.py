"""What enforcement tells the credit system (RULES.md §6: violations and measures by severity,
credit restored when a measure is reversed, repair when a notice is corrected)."""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone

from credit import scoring, sharing
from credit.models import EventKind
from enforcement.models import STANDING, Measure, MeasureKind, MeasureStatus, Violation


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
    """The measure's points come back; the violation's too once none of its measures stands.

    Standing as `enforcement.models.STANDING` says: a proposal still awaiting a lead, or a
    deduction still executing, is on its way and answers for the violation as much as one in
    effect. And one carried out that has since run its course (lifted, not reversed) still says
    the violation was real."""
    scoring.reverse(source=_measure_source(measure), reason=reason)
    _violation_reversed_unless_standing(measure, reason)


def measure_rejected(measure: Measure, reason: str) -> None:
    """A rejected proposal takes nothing back by itself: the violation was confirmed, only its
    sanction was refused. But if it was all that stood after another measure's reversal, the
    violation's points go now, as that reversal would have taken them with nothing standing."""
    # Locked before the reversal is looked for: a reversal of another measure committing
    # meanwhile is then seen here, or (locking first) sees this rejection.
    _lock_violation(measure)
    reversed_before = Measure.objects.filter(
        violation_id=measure.violation_id, status=MeasureStatus.REVERSED
    ).exists()
    if reversed_before:
        _violation_reversed_unless_standing(measure, reason)


def _lock_violation(measure: Measure) -> None:
    """A rejection and a reversal of two measures of one violation, at once, would each see the
    other still standing: the violation's row (measure_propose's lock too) puts them in turn."""
    Violation.objects.select_for_update().filter(pk=measure.violation_id).first()


def _violation_reversed_unless_standing(measure: Measure, reason: str) -> None:
    """Take the violation's points back unless another of its measures stands (`measure`
    itself is going). `scoring.reverse` undoes an event once, however often this runs."""
    _lock_violation(measure)
    standing = (
        Measure.objects.filter(violation_id=measure.violation_id)
        .filter(Q(status__in=STANDING) | Q(executed_at__isnull=False))
        .exclude(pk=measure.pk)
        .exclude(status=MeasureStatus.REVERSED)
        .exists()
    )
    if not standing:
        scoring.reverse(source=_violation_source(measure.violation), reason=reason)


# --- the consortium's feed (joint discipline, LCM Art. 14; credit/sharing.py) ---------------------


def blacklist_shared(measure: Measure) -> None:
    """A blacklisting in effect goes into the feed the consortium's platforms read."""
    if measure.kind != MeasureKind.BLACKLIST:
        return
    sharing.blacklist_publish(
        party_id=measure.party_id,
        source=_measure_source(measure),
        starts_at=measure.starts_at or measure.executed_at or timezone.now(),
        ends_at=measure.ends_at,
    )


def blacklist_unshared(measure: Measure) -> None:
    """The blacklisting ended (its term ran out) or was reversed on appeal: the feed says so,
    once, whichever comes first."""
    if measure.kind != MeasureKind.BLACKLIST:
        return
    sharing.blacklist_lift(source=_measure_source(measure))
