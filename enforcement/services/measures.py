"""Measures: proposed with the catalogue's default beside them, approved by a second person when
severe, executed (restrictions, listings, the deposit, referrals, the statement and the webhook),
lifted when their term ends or the party corrects in time."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import services as account_services
from accounts.actors import Actor
from accounts.models import PartyKind, Restriction, RestrictionKind
from config.errors import Conflict
from enforcement.models import (
    IN_EFFECT,
    REFERRAL_MEASURES,
    STANDING,
    TERM_MEASURES,
    TERM_REQUIRED,
    AuthorityKind,
    Measure,
    MeasureEvent,
    MeasureKind,
    MeasureStatus,
    Violation,
    ViolationStatus,
)
from enforcement.services import credit_events, ledger
from enforcement.services.base import (
    lock_measure,
    measure_event,
    require_measure_status,
    require_person,
)

# The restriction each term measure puts on the party (accounts.RestrictionKind).
RESTRICTION_FOR = {
    MeasureKind.RESTRICT_LISTING: RestrictionKind.LISTING,
    MeasureKind.TRAFFIC_RESTRICTION: RestrictionKind.TRAFFIC,
    MeasureKind.LIVE_SUSPENSION: RestrictionKind.LIVE,
    MeasureKind.FIXED_TERM_BAN: RestrictionKind.ACCOUNT,
    MeasureKind.ACCOUNT_CANCELLATION: RestrictionKind.ACCOUNT,
    MeasureKind.RE_REGISTRATION_BAN: RestrictionKind.RE_REGISTRATION,
    MeasureKind.BLACKLIST: RestrictionKind.BLACKLIST,
}
# The measures that take a merchant's products down (standard measures 2 and 3).
TAKEDOWNS = (MeasureKind.REMOVE_CONTENT, MeasureKind.RESTRICT_LISTING)
MAX_TERM_DAYS = 3650
MAX_CORRECTION_DAYS = 90


@dataclass
class Proposal:
    """What a reviewer proposes for a confirmed violation."""

    kind: str
    reason: str
    term_days: int | None = None
    correct_by: date | None = None
    amount_fen: int | None = None
    products: list = field(default_factory=list)
    content_refs: list[str] = field(default_factory=list)
    authorities: list = field(default_factory=list)
    departure_reason: str = ""
    automated_detection: bool = False


def history(party) -> dict:
    """The party's record, shown beside a proposal: confirmed violations and measures by kind."""
    measures = (
        Measure.objects.filter(party=party)
        .exclude(status__in=[MeasureStatus.REJECTED, MeasureStatus.REVERSED])
        .values("kind")
        .annotate(n=Count("id"))
    )
    return {
        "violations": Violation.objects.filter(
            party=party, status=ViolationStatus.CONFIRMED
        ).count(),
        "measures": {row["kind"]: row["n"] for row in measures},
    }


def departures(violation: Violation, proposal: Proposal) -> list[str]:
    """How the proposal departs from the catalogue's default for the violation's type."""
    vtype = violation.type
    found = []
    if proposal.kind not in vtype.default_measures:
        found.append(_("the measure is not among the type's defaults"))
    if (
        proposal.kind in TERM_MEASURES
        and vtype.default_term_days is not None
        and proposal.term_days != vtype.default_term_days
    ):
        found.append(_("the term differs from the default of %d days") % vtype.default_term_days)
    if (
        proposal.kind == MeasureKind.DEPOSIT_DEDUCTION
        and vtype.default_deduction_fen is not None
        and proposal.amount_fen != vtype.default_deduction_fen
    ):
        found.append(_("the amount differs from the default"))
    return found


def _validate(violation: Violation, p: Proposal) -> None:
    errors: dict[str, str] = {}
    vtype = violation.type
    if p.kind not in MeasureKind.values:
        raise ValidationError({"kind": _("Unknown measure.")})
    if p.kind not in vtype.allowed_measures:
        errors["kind"] = _("The catalogue does not allow this measure for “%(type)s”.") % {
            "type": vtype.name
        }
    if not p.reason.strip():
        errors["reason"] = _("State the facts and reasons the party will read.")
    if p.kind in TERM_MEASURES:
        if p.term_days is None and p.kind in TERM_REQUIRED:
            errors["term_days"] = _("This measure needs a term.")
        elif p.term_days is not None and not 1 <= p.term_days <= MAX_TERM_DAYS:
            errors["term_days"] = _("The term must be between 1 and %d days.") % MAX_TERM_DAYS
    elif p.term_days is not None:
        errors["term_days"] = _("This measure has no term.")
    if p.kind == MeasureKind.NOTICE_TO_CORRECT:
        today = timezone.localdate()
        if p.correct_by is None:
            errors["correct_by"] = _("Give the date by which the party must correct.")
        elif not today < p.correct_by <= today + timedelta(days=MAX_CORRECTION_DAYS):
            errors["correct_by"] = _("The date must be after today and within %d days.") % (
                MAX_CORRECTION_DAYS
            )
    elif p.correct_by is not None:
        errors["correct_by"] = _("Only a notice to correct has a correction date.")
    if p.kind == MeasureKind.DEPOSIT_DEDUCTION:
        ceiling = min(
            x for x in (vtype.max_deduction_fen, ledger.max_deduction_fen()) if x is not None
        )
        if p.amount_fen is None or p.amount_fen <= 0:
            errors["amount_fen"] = _("The deduction must be a positive amount.")
        elif p.amount_fen > ceiling:
            errors["amount_fen"] = _(
                "The deduction exceeds the policy's ceiling of %(yuan).2f yuan."
            ) % {"yuan": ceiling / 100}
    elif p.amount_fen is not None:
        errors["amount_fen"] = _("Only a deposit deduction has an amount.")
    if p.kind in TAKEDOWNS:
        if violation.party.kind != PartyKind.MERCHANT and p.products:
            errors["products"] = _("Only a merchant's products can be taken down.")
        elif any(product.merchant_id != violation.party_id for product in p.products):
            errors["products"] = _("Every product must be the party's own.")
        if p.kind == MeasureKind.REMOVE_CONTENT and not (p.products or p.content_refs):
            errors["products"] = _("Name the products or the content to remove.")
    elif p.products or p.content_refs:
        errors["products"] = _("Only a takedown or a listing restriction names products.")
    if p.kind in REFERRAL_MEASURES:
        courts = p.kind == MeasureKind.REFER_JUDICIARY
        if not p.authorities:
            errors["authorities"] = _("Choose the authorities to refer to.")
        elif any(
            (a.kind == AuthorityKind.COURT) != courts or not a.is_active for a in p.authorities
        ):
            errors["authorities"] = (
                _("Refer to the judiciary through a court.")
                if courts
                else _("Refer to active law-enforcement or competent authorities, not a court.")
            )
    elif p.authorities:
        errors["authorities"] = _("Only a referral names authorities.")
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def measure_propose(*, violation: Violation, proposal: Proposal, actor: Actor) -> Measure:
    """Propose a measure. One that needs no second person is approved and executed at once."""
    require_person(actor, "enforcement.add_measure")
    # Only the violation's row: PostgreSQL refuses FOR UPDATE on the outer join to its
    # (nullable) type, and the catalogue and the party are not this transaction's to lock.
    violation = (
        Violation.objects.select_for_update(of=("self",))
        .select_related("type", "party")
        .get(pk=violation.pk)
    )
    if violation.status != ViolationStatus.CONFIRMED:
        raise Conflict(_("Measures are taken only on a confirmed violation."))
    _validate(violation, proposal)
    _refuse_second(violation.pk, proposal.kind)
    departed = departures(violation, proposal)
    if departed and not proposal.departure_reason.strip():
        raise ValidationError(
            {
                "departure_reason": _("Explain why the proposal departs from the catalogue: %s.")
                % "; ".join(departed)
            }
        )
    measure = Measure(
        violation=violation,
        party=violation.party,
        kind=proposal.kind,
        reason=proposal.reason.strip(),
        term_days=proposal.term_days,
        correct_by=proposal.correct_by,
        amount_fen=proposal.amount_fen,
        content_refs=[str(ref)[:200] for ref in proposal.content_refs],
        departs_from_default=bool(departed),
        departure_reason=proposal.departure_reason.strip() if departed else "",
        severe=Measure.needs_lead(proposal.kind, proposal.term_days),
        automated_detection=proposal.automated_detection,
        proposed_by=actor.user,
    )
    _save_standing(measure)
    measure.products.set(proposal.products)
    measure.authorities.set(proposal.authorities)
    measure_event(
        measure,
        MeasureEvent.Kind.PROPOSED,
        actor,
        measure.reason,
        history=history(violation.party),
        departures=[str(d) for d in departed],
    )
    if not measure.severe:
        _approve(measure, actor, _("No second approval is needed for this measure."))
        measure = measure_execute(measure=measure, actor=actor)
    else:
        from enforcement import notifications

        notifications.approval_requested(measure.pk)
    return measure


def _refuse_second(violation_id: int, kind: str, *, other_than: int | None = None) -> None:
    """A violation has one standing measure of each kind (the constraint
    measure_once_per_violation); say which one before the database refuses."""
    standing = (
        Measure.objects.filter(violation_id=violation_id, kind=kind, status__in=STANDING)
        .exclude(pk=other_than)
        .first()
    )
    if standing is not None:
        raise Conflict(_duplicate_message(standing))


def _duplicate_message(standing: Measure | None = None) -> str:
    if standing is None:
        return _("This violation already has a measure of this kind; it is not taken twice.")
    return _(
        "This violation already has this measure (M%(id)s, %(status)s); it is not taken twice."
    ) % {"id": standing.pk, "status": standing.get_status_display()}


def _save_standing(measure: Measure, **kwargs) -> None:
    """Save a measure that is, or becomes, standing. The check before it runs under the
    violation's lock, but a failed measure carried out again does not take that lock: the
    constraint has the last word, and its refusal is the same Conflict."""
    try:
        with transaction.atomic():
            measure.save(**kwargs)
    except IntegrityError:
        raise Conflict(_duplicate_message()) from None


def _approve(measure: Measure, actor: Actor, note: str) -> None:
    measure.status = MeasureStatus.APPROVED
    measure.decided_at = timezone.now()
    measure.decided_by = actor.user
    measure.decision_note = note
    measure.save(update_fields=["status", "decided_at", "decided_by", "decision_note"])
    measure_event(measure, MeasureEvent.Kind.APPROVED, actor, note)


def _require_second_person(measure: Measure, actor: Actor) -> None:
    require_person(actor, "enforcement.approve_measure")
    if actor.user.pk == measure.proposed_by_id:
        raise PermissionDenied(
            _("A severe measure is approved by someone other than its proposer.")
        )


@transaction.atomic
def measure_approve(*, measure: Measure, actor: Actor, note: str = "") -> Measure:
    measure = lock_measure(measure)
    require_measure_status(measure, MeasureStatus.PROPOSED)
    _require_second_person(measure, actor)
    _approve(measure, actor, note.strip())
    return measure_execute(measure=measure, actor=actor)


@transaction.atomic
def measure_reject(*, measure: Measure, actor: Actor, note: str) -> Measure:
    if not note.strip():
        raise ValidationError({"note": _("Give the reason for rejecting the proposal.")})
    measure = lock_measure(measure)
    require_measure_status(measure, MeasureStatus.PROPOSED)
    _require_second_person(measure, actor)
    measure.status = MeasureStatus.REJECTED
    measure.decided_at = timezone.now()
    measure.decided_by = actor.user
    measure.decision_note = note.strip()
    measure.save(update_fields=["status", "decided_at", "decided_by", "decision_note"])
    measure_event(measure, MeasureEvent.Kind.REJECTED, actor, note.strip())
    credit_events.measure_rejected(measure, note.strip())
    return measure


# --- execution ------------------------------------------------------------------------------------


@transaction.atomic
def measure_execute(*, measure: Measure, actor: Actor) -> Measure:
    """Carry out an approved (or failed, retried) measure. Everything but the money happens in
    this transaction; a deduction is queued for the `money` worker after commit."""
    from enforcement import tasks

    measure = lock_measure(measure)
    require_measure_status(measure, MeasureStatus.APPROVED, MeasureStatus.FAILED)
    if actor.user is not None and not (
        actor.user.has_perm("enforcement.execute_measure")
        or actor.user.has_perm("enforcement.add_measure")
    ):
        raise PermissionDenied(_("You do not have permission to do this."))
    if measure.status == MeasureStatus.FAILED:
        # Failed is not standing: another measure of its kind may have been taken since.
        _refuse_second(measure.violation_id, measure.kind, other_than=measure.pk)
    now = timezone.now()
    measure.starts_at = now
    measure.ends_at = now + timedelta(days=measure.term_days) if measure.term_days else None
    measure.failure_reason = ""
    details: dict = {}

    restriction_kind = RESTRICTION_FOR.get(measure.kind)
    if restriction_kind is not None:
        account_services.restriction_impose(
            party=measure.party,
            kind=restriction_kind,
            reason=measure.reason,
            actor=actor,
            starts_at=now,
            ends_at=measure.ends_at,
            legal_basis=measure.violation.type.legal_basis,
            source=measure,
        )
    if measure.kind in TAKEDOWNS:
        # What each product's listing was, so that a reversal can put it back.
        details["listing_before"] = _take_down(measure, actor)
    if measure.kind in REFERRAL_MEASURES:
        from enforcement.services import referrals

        details["referrals"] = [r.pk for r in referrals.refer(measure=measure, actor=actor)]
    measure_event(measure, MeasureEvent.Kind.EXECUTION_STARTED, actor, **details)

    if measure.kind == MeasureKind.DEPOSIT_DEDUCTION:
        measure.status = MeasureStatus.EXECUTING
        _save_standing(measure, update_fields=["status", "starts_at", "ends_at", "failure_reason"])
        transaction.on_commit(lambda: tasks.execute_deduction.delay(measure.pk))
        return measure
    _executed(measure, actor)
    return measure


def _take_down(measure: Measure, actor: Actor) -> dict[str, str]:
    from merchants.models import ListingStatus
    from merchants.services import product_set_listing_status

    status = (
        ListingStatus.REMOVED
        if measure.kind == MeasureKind.REMOVE_CONTENT
        else ListingStatus.RESTRICTED
    )
    before = {}
    for product in measure.products.select_for_update():
        before[str(product.pk)] = product.listing_status
        if product.listing_status == ListingStatus.REMOVED:
            # Already removed: a restriction must not bring it back, a removal changes nothing.
            continue
        product_set_listing_status(product=product, status=status, actor=actor)
        if status == ListingStatus.REMOVED:
            account_services.webhook_emit(
                topic="product.removed",
                data={
                    "product_id": product.pk,
                    "platform_ref": product.platform_ref,
                    "merchant_id": product.merchant_id,
                    "measure_id": measure.pk,
                    "puid": str(measure.puid),
                },
            )
    return before


def _executed(measure: Measure, actor: Actor, **details) -> None:
    """The measure is in effect: record it, tell the party (statement of reasons) and the
    platform (webhook). Called in the transaction that completed the execution."""
    from enforcement.services import statements

    measure.status = MeasureStatus.EXECUTED
    measure.executed_at = timezone.now()
    _save_standing(
        measure, update_fields=["status", "executed_at", "starts_at", "ends_at", "failure_reason"]
    )
    measure_event(measure, MeasureEvent.Kind.EXECUTED, actor, **details)
    credit_events.measure_executed(measure)
    credit_events.blacklist_shared(measure)  # joint discipline: the consortium's feed
    account_services.webhook_emit(
        topic="measure.executed", data=statements.webhook_payload(measure)
    )
    statements.send(measure)


def deduction_carry_out(measure_id: int, *, actor: Actor | None = None) -> str:
    """The `money` worker's job: take the deduction exactly once, then mark the measure
    executed. Safe to run any number of times, concurrently, after any crash."""
    actor = actor or Actor.system("enforcement.execute_deduction")
    with transaction.atomic():
        measure = (
            # The measure's row only (violation__type is an outer join PostgreSQL cannot lock).
            Measure.objects.select_for_update(of=("self",))
            .select_related("violation__type", "party")
            .filter(pk=measure_id)
            .first()
        )
        if measure is None:
            return "missing"
        if measure.status != MeasureStatus.EXECUTING:
            return "not executing"
        posted = ledger.post_once(
            party_id=measure.party_id,
            kind="deduction",
            amount_fen=measure.amount_fen,
            key=f"measure:{measure.pk}:deduction",
            actor=actor,
            measure=measure,
            reference=str(measure.puid),
        )
        _executed(
            measure,
            actor,
            taken_fen=-posted.entry.amount_fen,
            shortfall_fen=posted.entry.shortfall_fen,
            ledger_entry_id=posted.entry.pk,
        )
    return "executed"


@transaction.atomic
def measure_fail(*, measure: Measure, reason: str, actor: Actor) -> Measure:
    """Record that a measure could not be carried out; a lead may carry it out again. A person
    does this to a deduction the worker cannot finish; the relay does it when one has been
    executing too long (`give_up_stuck_deductions`)."""
    if actor.user is not None:
        require_person(actor, "enforcement.execute_measure")
        if not reason.strip():
            raise ValidationError({"reason": _("Say why the measure failed.")})
    measure = lock_measure(measure)
    require_measure_status(measure, MeasureStatus.EXECUTING, MeasureStatus.APPROVED)
    measure.status = MeasureStatus.FAILED
    measure.failure_reason = reason[:2000]
    measure.save(update_fields=["status", "failure_reason"])
    measure_event(measure, MeasureEvent.Kind.FAILED, actor, reason[:2000])
    return measure


def give_up_stuck_deductions(*, now=None) -> int:
    """Deductions still executing ENFORCEMENT_DEDUCTION_GIVE_UP_MINUTES after they started are
    marked failed, for the leads to look at and carry out again: the relay re-queues a lost
    message within minutes, so one executing this long fails every time it runs."""
    now = now or timezone.now()
    limit = timedelta(minutes=settings.ENFORCEMENT_DEDUCTION_GIVE_UP_MINUTES)
    actor = Actor.system("enforcement.relay_money")
    stuck = Measure.objects.filter(
        kind=MeasureKind.DEPOSIT_DEDUCTION,
        status=MeasureStatus.EXECUTING,
        starts_at__lte=now - limit,
    ).order_by("pk")[:1000]
    failed = 0
    for measure in stuck:
        try:
            measure_fail(
                measure=measure,
                reason=_(
                    "The deduction did not finish within %(minutes)d minutes; carry it out again "
                    "once the cause is fixed."
                )
                % {"minutes": settings.ENFORCEMENT_DEDUCTION_GIVE_UP_MINUTES},
                actor=actor,
            )
        except Conflict:
            continue  # it finished (or failed) while we looked
        failed += 1
    return failed


# --- correction, escalation, expiry ---------------------------------------------------------------


@transaction.atomic
def measure_mark_corrected(*, measure: Measure, actor: Actor, note: str) -> Measure:
    """The party corrected what a notice asked: the notice is lifted. Only a correction made by
    the notice's date gives credit back (the rule set's `correction`: "corrected in time"); a
    late one, escalated or not, is recorded and lifts the notice all the same."""
    require_person(actor, "enforcement.change_measure")
    if not note.strip():
        raise ValidationError({"note": _("Say how the party corrected it.")})
    measure = lock_measure(measure)
    if measure.kind != MeasureKind.NOTICE_TO_CORRECT:
        raise Conflict(_("Only a notice to correct is corrected."))
    require_measure_status(measure, *IN_EFFECT)
    now = timezone.now()
    # The date is the party's to use in full, on the Beijing calendar, as the overdue sweep
    # counts it (overdue from the day after `correct_by`).
    in_time = timezone.localdate(now) <= measure.correct_by
    measure.corrected_at = now
    measure.status = MeasureStatus.LIFTED
    measure.lifted_at = now
    measure.save(update_fields=["corrected_at", "status", "lifted_at"])
    measure_event(measure, MeasureEvent.Kind.CORRECTED, actor, note.strip(), in_time=in_time)
    if in_time:
        credit_events.corrected(measure)
    return measure


def escalate_overdue_notices(*, today: date | None = None) -> int:
    """Notices to correct whose date has passed without a correction go to the leads' queue,
    once each."""
    from enforcement import notifications

    today = today or timezone.localdate()
    actor = Actor.system("enforcement.escalate_notices")
    escalated = 0
    overdue = Measure.objects.filter(
        kind=MeasureKind.NOTICE_TO_CORRECT,
        status__in=IN_EFFECT,
        correct_by__lt=today,
        corrected_at__isnull=True,
        escalated_at__isnull=True,
    ).values_list("pk", flat=True)
    for pk in list(overdue):
        with transaction.atomic():
            updated = Measure.objects.filter(pk=pk, escalated_at__isnull=True).update(
                escalated_at=timezone.now()
            )
            if updated != 1:
                continue
            measure = Measure.objects.get(pk=pk)
            measure_event(measure, MeasureEvent.Kind.ESCALATED, actor)
            notifications.notice_overdue(pk)
            escalated += 1
    return escalated


def lift_expired(*, now=None) -> int:
    """Measures whose term has ended are lifted (the restrictions they imposed end by their own
    end dates; this records it and tells the platform). Blacklisting ends here too (LCM Art. 14)."""
    now = now or timezone.now()
    actor = Actor.system("enforcement.lift_expired")
    lifted = 0
    due = Measure.objects.filter(status__in=IN_EFFECT, ends_at__lte=now).values_list(
        "pk", flat=True
    )
    for pk in list(due):
        with transaction.atomic():
            measure = Measure.objects.select_for_update().get(pk=pk)
            if measure.status not in IN_EFFECT or measure.ends_at is None or measure.ends_at > now:
                continue
            # A term that runs out while an appeal is pending is lifted all the same; the appeal
            # still decides whether the measure was right.
            measure.status = MeasureStatus.LIFTED
            measure.lifted_at = now
            measure.save(update_fields=["status", "lifted_at"])
            credit_events.blacklist_unshared(measure)  # joint discipline: the consortium's feed
            restored = (
                restore_listings(measure, actor, now=now)
                if measure.kind == MeasureKind.RESTRICT_LISTING
                else {}
            )
            measure_event(
                measure,
                MeasureEvent.Kind.LIFTED,
                actor,
                _("The term ended."),
                listing_restored=restored,
            )
            account_services.webhook_emit(
                topic="measure.lifted",
                data={
                    "measure_id": measure.pk,
                    "puid": str(measure.puid),
                    "party_id": measure.party_id,
                },
            )
            lifted += 1
    return lifted


def restore_listings(measure: Measure, actor: Actor, *, now=None) -> dict[str, str]:
    """The measure's hold on its products ends (its term ended, or it was reversed): give each
    product the listing it should have now.

    Takedowns overlap: while another one in effect holds the product, the product keeps that
    one's status (removed if any removes it, else restricted). Once none does, it goes back to
    what it had before the earliest of the takedowns that held it without a break up to this one
    -- not to this measure's own "before", which may be an earlier takedown's doing."""
    from merchants.models import Product
    from merchants.services import product_set_listing_status

    now = now or timezone.now()
    before = _listing_before(measure)
    restored = {}
    # Locked before the other measures are read: two takedowns ending at once take turns here,
    # and the second sees the first ended.
    products = Product.objects.select_for_update().filter(pk__in=[int(k) for k in before])
    for product in products.order_by("pk"):
        status = _held_as(product, measure, now) or _listing_before_takedowns(product, measure)
        if status != product.listing_status:
            product_set_listing_status(product=product, status=status, actor=actor)
            restored[str(product.pk)] = status
    return restored


def _listing_before(measure: Measure) -> dict[str, str]:
    """Each product's listing when the measure took it down (recorded at execution)."""
    before: dict[str, str] = {}
    for event in MeasureEvent.objects.filter(
        measure=measure, kind=MeasureEvent.Kind.EXECUTION_STARTED
    ):
        before.update(event.data.get("listing_before", {}))
    return before


def _held_as(product, measure: Measure, now) -> str | None:
    """The status another takedown still in effect holds the product at, if any does."""
    from merchants.models import ListingStatus

    kinds = set(
        Measure.objects.filter(products=product, kind__in=TAKEDOWNS, status__in=IN_EFFECT)
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now))
        .exclude(pk=measure.pk)
        .values_list("kind", flat=True)
    )
    if MeasureKind.REMOVE_CONTENT in kinds:
        return ListingStatus.REMOVED
    return ListingStatus.RESTRICTED if kinds else None


def _listing_before_takedowns(product, measure: Measure) -> str:
    """Walk back from the measure through the takedowns that already held the product when the
    next one started, to the listing before the first of them."""
    from merchants.models import ListingStatus

    current = measure
    while True:
        status = _listing_before(current).get(str(product.pk), ListingStatus.LISTED)
        if status == ListingStatus.LISTED:
            return status
        started = current.starts_at
        earlier = (
            Measure.objects.filter(
                products=product,
                kind__in=TAKEDOWNS,
                executed_at__isnull=False,
                starts_at__lt=started,
            )
            .filter(Q(lifted_at__isnull=True) | Q(lifted_at__gt=started))
            .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=started))
            .order_by("starts_at", "pk")
            .first()
        )
        if earlier is None:
            return status
        current = earlier


def lift_restrictions_of(
    measure: Measure, *, reason: str, actor: Actor, reversed_on_appeal: bool = False
) -> int:
    """Lift every restriction this measure imposed that is still unlifted."""
    from django.contrib.contenttypes.models import ContentType

    lifted = 0
    for restriction in Restriction.objects.filter(
        source_type=ContentType.objects.get_for_model(Measure),
        source_id=measure.pk,
        lifted_at__isnull=True,
    ):
        account_services.restriction_lift(
            restriction=restriction,
            reason=reason,
            actor=actor,
            reversed_on_appeal=reversed_on_appeal,
        )
        lifted += 1
    return lifted


def measures_in_effect(party) -> Q:
    return Q(party=party, status__in=IN_EFFECT)
