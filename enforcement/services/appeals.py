"""Appeals: filed by the party within the window, decided by someone not involved in the
measure; a reversal undoes everything the measure did and tells everyone who was told."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import services as account_services
from accounts.actors import Actor
from config.errors import Conflict
from enforcement.models import (
    Appeal,
    AppealStatus,
    EntryKind,
    LedgerEntry,
    Measure,
    MeasureEvent,
    MeasureKind,
    MeasureStatus,
    ViolationEvent,
)
from enforcement.services import credit_events, statements
from enforcement.services.base import lock_measure, measure_event, require_person

# Measures that may be appealed: in effect, or already run their course (a lifted suspension
# may still have been wrong, and a reversal restores credit and refunds).
APPEALABLE = (MeasureStatus.EXECUTED, MeasureStatus.LIFTED)
MAX_GROUNDS = 10_000


@transaction.atomic
def appeal_file(
    *, measure: Measure, grounds: str, channel: str, actor: Actor, contact: str = ""
) -> Appeal:
    if channel not in Appeal.Channel.values:
        raise ValidationError({"channel": _("Unknown channel.")})
    grounds = grounds.strip()
    if not grounds:
        raise ValidationError({"grounds": _("Say why the measure is wrong.")})
    if len(grounds) > MAX_GROUNDS:
        raise ValidationError({"grounds": _("Keep the grounds under %d characters.") % MAX_GROUNDS})
    measure = lock_measure(measure)
    if Appeal.objects.filter(measure=measure).exists():
        raise Conflict(_("This measure has been appealed already; a measure is appealed once."))
    if measure.status not in APPEALABLE:
        raise Conflict(_("Only an executed measure can be appealed."))
    deadline = statements.appeal_deadline(measure)
    if deadline is not None and timezone.now() > deadline:
        raise Conflict(
            _("The appeal window closed on %(date)s.")
            % {"date": timezone.localtime(deadline).date().isoformat()}
        )
    try:
        with transaction.atomic():
            appeal = Appeal.objects.create(
                measure=measure,
                channel=channel,
                grounds=grounds,
                contact=contact.strip()[:200],
                filed_by=actor.label,
            )
    except IntegrityError:
        raise Conflict(
            _("This measure has been appealed already; a measure is appealed once.")
        ) from None
    was = measure.status
    if measure.status == MeasureStatus.EXECUTED:
        measure.status = MeasureStatus.APPEALED
        measure.save(update_fields=["status"])
    measure_event(measure, MeasureEvent.Kind.APPEALED, actor, grounds[:2000], status_before=was)
    from enforcement import notifications

    notifications.appeal_filed(appeal.pk)
    return appeal


def involved_user_ids(measure: Measure) -> set[int]:
    """Everyone who took part: proposed, approved or carried out the measure; raised, evidenced
    or confirmed its violation; inspected the session the violation came from."""
    violation = measure.violation
    ids = {measure.proposed_by_id, measure.decided_by_id, violation.confirmed_by_id}
    ids |= set(
        MeasureEvent.objects.filter(measure=measure, actor_user__isnull=False)
        .exclude(kind=MeasureEvent.Kind.APPEALED)
        .values_list("actor_user_id", flat=True)
    )
    ids |= set(
        ViolationEvent.objects.filter(violation=violation, actor_user__isnull=False).values_list(
            "actor_user_id", flat=True
        )
    )
    if violation.inspection_id is not None:
        ids.add(violation.inspection.inspector_id)
    return ids - {None}


@transaction.atomic
def appeal_decide(*, appeal: Appeal, reverse: bool, reason: str, actor: Actor) -> Appeal:
    require_person(actor, "enforcement.decide_appeal")
    if not reason.strip():
        raise ValidationError({"reason": _("Give the reasons for the decision.")})
    appeal = Appeal.objects.select_for_update().get(pk=appeal.pk)
    if appeal.status != AppealStatus.PENDING:
        raise Conflict(_("This appeal has been decided already."))
    measure = lock_measure(appeal.measure)
    if actor.user.pk in involved_user_ids(measure):
        raise PermissionDenied(
            _("An appeal is decided by someone who took no part in the measure.")
        )
    appeal.status = AppealStatus.REVERSED if reverse else AppealStatus.UPHELD
    appeal.decided_at = timezone.now()
    appeal.decided_by = actor.user
    appeal.decision_reason = reason.strip()
    appeal.save(update_fields=["status", "decided_at", "decided_by", "decision_reason"])
    if reverse:
        _reverse(measure, actor, reason.strip())
    else:
        if measure.status == MeasureStatus.APPEALED:
            measure.status = MeasureStatus.UPHELD
            measure.save(update_fields=["status"])
        measure_event(measure, MeasureEvent.Kind.UPHELD, actor, reason.strip())
    account_services.webhook_emit(
        topic="measure.reversed" if reverse else "measure.upheld",
        data={
            "measure_id": measure.pk,
            "puid": str(measure.puid),
            "party_id": measure.party_id,
            "kind": measure.kind,
            "appeal_id": appeal.pk,
            "decision": appeal.status,
            "reasons": appeal.decision_reason,
        },
    )
    from enforcement import notifications

    notifications.appeal_decided(appeal.pk)
    return appeal


def _reverse(measure: Measure, actor: Actor, reason: str) -> None:
    """Undo the measure: lift its restrictions, list its products again, refund its deduction
    and clear its shortfall, cancel its referrals that no authority received and tell those that
    did. Credit is restored by the credit rules, which read reversed measures as reversing
    events."""
    from enforcement import tasks
    from enforcement.services import referrals
    from enforcement.services.measures import (
        TAKEDOWNS,
        lift_restrictions_of,
        restore_listings,
    )

    lift_restrictions_of(
        measure,
        reason=_("Reversed on appeal: %s") % reason,
        actor=actor,
        reversed_on_appeal=True,
    )
    restored = {}
    if measure.kind in TAKEDOWNS:
        restored = restore_listings(measure, actor)
    refund = shortfall = None
    if measure.kind == MeasureKind.DEPOSIT_DEDUCTION:
        deduction = _deduction_of(measure)
        if deduction is not None and (deduction.amount_fen < 0 or deduction.shortfall_fen > 0):
            refund, shortfall = -deduction.amount_fen, deduction.shortfall_fen
            transaction.on_commit(lambda: tasks.execute_refund.delay(measure.pk))
    # What never reached an authority is cancelled; those that received it are told.
    cancelled = referrals.cancel_undelivered(measure=measure)
    notices = referrals.notify_reversal(measure=measure, actor=actor)
    credit_events.measure_reversed(measure, reason)
    credit_events.blacklist_unshared(measure)  # joint discipline: the consortium's feed
    measure.status = MeasureStatus.REVERSED
    measure.lifted_at = measure.lifted_at or timezone.now()
    measure.save(update_fields=["status", "lifted_at"])
    measure_event(
        measure,
        MeasureEvent.Kind.REVERSED,
        actor,
        reason,
        listing_restored=restored,
        refund_fen=refund,
        shortfall_cleared_fen=shortfall,
        referrals_cancelled=cancelled,
        reversal_notices=[notice.pk for notice in notices],
    )


def _deduction_of(measure: Measure) -> LedgerEntry | None:
    return LedgerEntry.objects.filter(idempotency_key=f"measure:{measure.pk}:deduction").first()


def refund_carry_out(measure_id: int) -> str:
    """The `money` worker's job after a reversal: give back exactly what the deduction took, and
    clear the shortfall it recorded (the party no longer owes it), once -- in one refund entry,
    also when the deduction took nothing."""
    from enforcement.services import ledger

    actor = Actor.system("enforcement.execute_refund")
    with transaction.atomic():
        measure = Measure.objects.select_for_update().filter(pk=measure_id).first()
        if measure is None or measure.status != MeasureStatus.REVERSED:
            return "not reversed"
        deduction = _deduction_of(measure)
        if deduction is None or (deduction.amount_fen == 0 and deduction.shortfall_fen == 0):
            return "nothing to refund"
        posted = ledger.post_once(
            party_id=measure.party_id,
            kind=EntryKind.REFUND,
            amount_fen=-deduction.amount_fen,
            clears_shortfall_fen=deduction.shortfall_fen,
            key=f"measure:{measure.pk}:refund",
            actor=actor,
            measure=measure,
            reference=str(measure.puid),
        )
    return "refunded" if posted.created else "already refunded"
