"""Handling a case: acceptance, pauses, replies and notes, links, decisions, withdrawal,
confirmation, rating and merging."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.actors import Actor
from accounts.models import Party, PartyKind
from accounts.uploads import CleanImage
from accounts.workdays import working_days_between
from complaints.models import (
    OPEN_STATUSES,
    PAUSED_STATUSES,
    Case,
    CaseEvent,
    CaseStatus,
    Evidence,
    Outcome,
    ReporterReputation,
)
from complaints.services.base import (
    MAX_EVIDENCE,
    UNFOUNDED_FLAG_MIN,
    UNFOUNDED_FLAG_SHARE,
    files_removed_on_failure,
    in_language,
    lock_case,
    record_event,
    require_staff,
    require_status,
)
from complaints.services.deadlines import compute_dues
from complaints.services.filing import add_evidence
from config.errors import Conflict

# --- Handling ----------------------------------------------------------------------------------


@transaction.atomic
def case_accept(*, case: Case, actor: Actor, message: str = "") -> Case:
    require_staff(actor)
    case = lock_case(case)
    require_status(case, CaseStatus.NEW)
    now = timezone.now()
    case.status = CaseStatus.ACCEPTED
    case.accepted_at = now
    compute_dues(case)
    if case.assignee is None and actor.user is not None:
        case.assignee = actor.user
    case.save()
    record_event(case, CaseEvent.Kind.ACCEPTED, actor, status_changed=True, message=message)
    return case


@transaction.atomic
def case_not_accept(*, case: Case, reason: str, actor: Actor) -> Case:
    """Refuse at acceptance (outside the platform's remit, no respondent, already decided…);
    the reason is told to the consumer (SAMR complaint rules Art. 15)."""
    require_staff(actor)
    if not reason.strip():
        raise ValidationError({"reason": _("Tell the consumer why the case is not accepted.")})
    case = lock_case(case)
    require_status(case, CaseStatus.NEW)
    case.status = CaseStatus.NOT_ACCEPTED
    case.decided_at = timezone.now()
    case.save()
    record_event(
        case, CaseEvent.Kind.NOT_ACCEPTED, actor, status_changed=True, message=reason.strip()
    )
    return case


def _pause(case: Case, status: str) -> None:
    case.paused_from = case.status
    case.status = status
    case.paused_at = timezone.now()


def _resume(case: Case) -> int:
    """Restart the clocks: every running due date moves on by the working days spent waiting."""
    today = timezone.localdate()
    lost = working_days_between(timezone.localdate(case.paused_at), today)
    case.status = case.paused_from or CaseStatus.ACCEPTED
    case.paused_from = ""
    case.paused_at = None
    compute_dues(case, resumed_on=today)  # counts this pause with the earlier ones
    return lost


@transaction.atomic
def case_request_info(*, case: Case, message: str, actor: Actor) -> Case:
    """Ask the consumer for more; the clocks stop until they answer or a reviewer resumes."""
    require_staff(actor)
    if not message.strip():
        raise ValidationError({"message": _("Say what the consumer should add.")})
    case = lock_case(case)
    require_status(case, CaseStatus.NEW, CaseStatus.ACCEPTED)
    _pause(case, CaseStatus.AWAITING_CONSUMER)
    case.save()
    record_event(
        case, CaseEvent.Kind.INFO_REQUESTED, actor, status_changed=True, message=message.strip()
    )
    return case


@transaction.atomic
def case_start_appraisal(*, case: Case, message: str, actor: Actor) -> Case:
    """The goods go to an appraisal or test; the clocks stop meanwhile (appraisal time does not
    count in the mediation period: SAMR complaint rules Art. 20)."""
    require_staff(actor)
    case = lock_case(case)
    require_status(case, CaseStatus.ACCEPTED)
    _pause(case, CaseStatus.AWAITING_APPRAISAL)
    case.save()
    record_event(
        case, CaseEvent.Kind.APPRAISAL_STARTED, actor, status_changed=True, message=message.strip()
    )
    return case


@transaction.atomic
def case_resume(*, case: Case, actor: Actor, message: str = "") -> Case:
    require_staff(actor)
    case = lock_case(case)
    require_status(case, *PAUSED_STATUSES)
    lost = _resume(case)
    case.save()
    record_event(
        case,
        CaseEvent.Kind.RESUMED,
        actor,
        status_changed=True,
        message=message,
        data={"paused_working_days": lost},
    )
    return case


@files_removed_on_failure
@transaction.atomic
def case_consumer_add_info(
    *, case: Case, text: str, images: list[CleanImage] = (), actor: Actor | None = None
) -> Case:
    """The consumer adds to their case from the tracking page (or the platform, for them, as
    `actor`). A case that was waiting for them resumes."""
    actor = actor or Actor(label="consumer")
    case = lock_case(case)
    require_status(case, *OPEN_STATUSES)
    if not text.strip() and not images:
        raise ValidationError({"text": _("Write something or attach an image.")})
    if case.evidence.count() + len(images) > MAX_EVIDENCE:
        raise ValidationError(
            {"evidence": _("A case holds at most %(n)d images.") % {"n": MAX_EVIDENCE}}
        )
    for image in images:
        add_evidence(case, image, added_by="consumer")
    resumed = case.status == CaseStatus.AWAITING_CONSUMER
    lost = _resume(case) if resumed else 0
    case.save()
    record_event(
        case,
        CaseEvent.Kind.INFO_ADDED,
        actor,
        status_changed=resumed,
        message=text.strip(),
        data={"images": len(images), "paused_working_days": lost},
    )
    return case


@transaction.atomic
def case_note(*, case: Case, text: str, actor: Actor) -> CaseEvent:
    # Writing to the timeline is handling: auditors, who may read every case, may not.
    require_staff(actor)
    if not text.strip():
        raise ValidationError({"text": _("The note is empty.")})
    return record_event(case, CaseEvent.Kind.NOTE, actor, public=False, message=text.strip())


@transaction.atomic
def case_reply(*, case: Case, text: str, actor: Actor) -> CaseEvent:
    """A message to the consumer, shown on the tracking page and e-mailed."""
    require_staff(actor)
    if not text.strip():
        raise ValidationError({"text": _("The reply is empty.")})
    case = lock_case(case)
    require_status(case, *OPEN_STATUSES, CaseStatus.DECIDED)
    return record_event(case, CaseEvent.Kind.REPLY, actor, message=text.strip())


@transaction.atomic
def case_link(
    *,
    case: Case,
    actor: Actor,
    merchant: Party | None = None,
    anchor: Party | None = None,
    session=None,
) -> Case:
    """Attach the party or session a reviewer identified."""
    require_staff(actor)
    case = lock_case(case)
    # A decided case has told enforcement and credit whom it concerns; re-pointing it would
    # leave them naming another party.
    require_status(case, *OPEN_STATUSES)
    if merchant is not None and merchant.kind != PartyKind.MERCHANT:
        raise ValidationError({"merchant": _("This party is not a merchant.")})
    if anchor is not None and anchor.kind != PartyKind.ANCHOR:
        raise ValidationError({"anchor": _("This party is not an anchor.")})
    changed = {}
    for name, value in (("merchant", merchant), ("anchor", anchor), ("session", session)):
        if value is not None:
            setattr(case, name, value)
            changed[name] = value.pk
    if changed:
        case.save()
        record_event(case, CaseEvent.Kind.LINKED, actor, public=False, data=changed)
    return case


# Listeners told when a case is decided: enforcement turns a confirmed violation into a
# violation record; credit counts upheld complaints. Registered at app start, like
# accounts.services.on_restriction_imposed.
_decision_listeners: list = []


def on_case_decided(listener) -> None:
    if listener not in _decision_listeners:
        _decision_listeners.append(listener)


@transaction.atomic
def case_decide(
    *,
    case: Case,
    outcome: str,
    note: str,
    actor: Actor,
    refund_fen: int | None = None,
    compensation_fen: int | None = None,
) -> Case:
    require_staff(actor)
    if outcome not in Outcome.values:
        raise ValidationError({"outcome": _("Choose an outcome.")})
    if not note.strip():
        raise ValidationError({"note": _("Explain the outcome to the consumer.")})
    if outcome == Outcome.REFUND and not refund_fen:
        raise ValidationError({"refund_fen": _("Give the amount refunded.")})
    if outcome == Outcome.COMPENSATION and not compensation_fen:
        raise ValidationError({"compensation_fen": _("Give the amount of compensation.")})
    # The amount is what the deposit may pay out (enforcement's pay_compensation): stored with
    # any other outcome, it would let an unfounded complaint be paid.
    if compensation_fen is not None and outcome != Outcome.COMPENSATION:
        raise ValidationError(
            {"compensation_fen": _("Compensation goes only with the outcome of compensation.")}
        )
    # A refund goes with a resolution in the consumer's favour (refund; return; compensation,
    # as with a refund and three times the price): an unfounded complaint, or one referred to
    # 12315 because it was not resolved, refunds nothing.
    if refund_fen is not None and outcome in (Outcome.UNFOUNDED, Outcome.REFERRED_12315):
        raise ValidationError(
            {"refund_fen": _("No refund goes with an outcome that does not resolve the complaint.")}
        )
    case = lock_case(case)
    require_status(case, CaseStatus.ACCEPTED)
    return apply_decision(
        case,
        outcome=outcome,
        note=note,
        actor=actor,
        refund_fen=refund_fen,
        compensation_fen=compensation_fen,
    )


def apply_decision(
    case: Case,
    *,
    outcome: str,
    note: str,
    actor: Actor,
    refund_fen: int | None = None,
    compensation_fen: int | None = None,
    kind: str = CaseEvent.Kind.DECIDED,
    data: dict | None = None,
) -> Case:
    """The decision itself, on a case the caller has locked and found in handling, inside the
    caller's transaction: a reviewer's (`case_decide`, which checks who may decide and what) or
    the mediation sweep's (`end_expired_mediations`, the system deciding under the law)."""
    case.status = CaseStatus.DECIDED
    case.outcome = outcome
    case.outcome_note = note.strip()
    case.refund_fen = refund_fen
    case.compensation_fen = compensation_fen
    case.decided_at = timezone.now()
    case.save()
    record_event(
        case,
        kind,
        actor,
        status_changed=True,
        message=case.outcome_note,
        data={"outcome": outcome, **(data or {})},
    )
    if outcome == Outcome.UNFOUNDED and case.contact_key:
        _count_unfounded(case.contact_key)
    for listener in _decision_listeners:
        listener(case)
    return case


def _count_unfounded(key: str) -> None:
    ReporterReputation.objects.filter(contact_key=key).update(unfounded=F("unfounded") + 1)
    reputation = ReporterReputation.objects.get(contact_key=key)
    if (
        reputation.flagged_at is None
        and reputation.unfounded >= UNFOUNDED_FLAG_MIN
        and reputation.unfounded >= UNFOUNDED_FLAG_SHARE * reputation.filed
    ):
        reputation.flagged_at = timezone.now()
        reputation.save(update_fields=["flagged_at"])


@transaction.atomic
def reputation_review(
    *, reputation: ReporterReputation, note: str, actor: Actor
) -> ReporterReputation:
    """A lead looked at a flagged reporter: the flag is cleared with a note; the counts stay."""
    require_staff(actor, "complaints.change_reporterreputation")
    if not note.strip():
        raise ValidationError({"note": _("Say what you concluded.")})
    reputation.reviewed_at = timezone.now()
    reputation.reviewed_note = note.strip()
    reputation.flagged_at = None
    reputation.save()
    return reputation


@transaction.atomic
def case_withdraw(*, case: Case, reason: str, actor: Actor) -> Case:
    """The consumer withdraws (from the tracking page, or the platform for them)."""
    case = lock_case(case)
    require_status(case, *OPEN_STATUSES)
    case.status = CaseStatus.WITHDRAWN
    case.outcome = ""
    case.closed_at = timezone.now()
    case.paused_at = None
    case.paused_from = ""
    case.save()
    record_event(case, CaseEvent.Kind.WITHDRAWN, actor, status_changed=True, message=reason.strip())
    return case


def case_record_withdrawal(*, case: Case, reason: str, actor: Actor) -> Case:
    """A reviewer records a withdrawal the consumer made by phone or e-mail; how they withdrew
    is part of the record."""
    require_staff(actor)
    if not reason.strip():
        raise ValidationError({"reason": _("Say how and when the consumer withdrew.")})
    return case_withdraw(case=case, reason=reason, actor=actor)


@transaction.atomic
def case_confirm(*, case: Case) -> Case:
    """The consumer confirms the resolution; the case closes."""
    case = lock_case(case)
    require_status(case, CaseStatus.DECIDED)
    now = timezone.now()
    case.status = CaseStatus.CLOSED
    case.consumer_confirmed_at = now
    case.closed_at = now
    case.save()
    record_event(case, CaseEvent.Kind.CONFIRMED, Actor(label="consumer"), status_changed=True)
    return case


@transaction.atomic
def case_rate(*, case: Case, rating: int, comment: str = "") -> Case:
    """The consumer rates how the case was handled, once, after the decision."""
    if not 1 <= int(rating) <= 5:
        raise ValidationError({"rating": _("Give between 1 and 5 stars.")})
    case = lock_case(case)
    require_status(case, CaseStatus.DECIDED, CaseStatus.CLOSED, CaseStatus.NOT_ACCEPTED)
    if case.handling_rating is not None:
        raise Conflict(_("You have already rated the handling of this case."))
    case.handling_rating = int(rating)
    case.handling_comment = comment.strip()
    case.save(update_fields=["handling_rating", "handling_comment"])
    record_event(case, CaseEvent.Kind.RATED, Actor(label="consumer"), data={"rating": int(rating)})
    return case


@transaction.atomic
def case_merge(*, duplicate: Case, into: Case, actor: Actor) -> Case:
    """Fold a duplicate into the case that carries on: its evidence moves across, it closes as
    merged, and its consumer is told which case to follow."""
    require_staff(actor)
    if duplicate.pk == into.pk:
        raise ValidationError({"into": _("A case cannot be merged into itself.")})
    first, second = sorted([duplicate, into], key=lambda c: c.pk)
    first, second = (
        lock_case(first),
        lock_case(second),
    )  # a fixed order: no deadlock between two merges
    duplicate, into = (first, second) if first.pk == duplicate.pk else (second, first)
    require_status(duplicate, *OPEN_STATUSES)
    require_status(into, *OPEN_STATUSES, CaseStatus.DECIDED)
    if duplicate.kind != into.kind:
        raise ValidationError({"into": _("A complaint and a report cannot be merged.")})
    known = set(into.evidence.values_list("sha256", flat=True))
    room = MAX_EVIDENCE - len(known)
    for evidence in duplicate.evidence.exclude(sha256__in=known).order_by("added_at")[
        : max(room, 0)
    ]:
        Evidence.objects.create(
            case=into,
            file=evidence.file,
            sha256=evidence.sha256,
            content_type=evidence.content_type,
            width=evidence.width,
            height=evidence.height,
            # Not "consumer": the case carrying on may belong to another person, whose tracking
            # page must not show this one's pictures (order screenshots show names, addresses).
            added_by=f"merged:{duplicate.tracking_code}",
        )
    duplicate.status = CaseStatus.MERGED
    duplicate.merged_into = into
    duplicate.closed_at = timezone.now()
    duplicate.save()
    record_event(
        duplicate,
        CaseEvent.Kind.MERGED,
        actor,
        status_changed=True,
        # Stored text the consumer reads: in their language, not the reviewer's.
        message=in_language(
            duplicate.language,
            gettext_noop("Your case continues as %(code)s."),
            code=into.tracking_code,
        ),
        data={"into": into.tracking_code},
    )
    record_event(
        into, CaseEvent.Kind.MERGED, actor, public=False, data={"from": duplicate.tracking_code}
    )
    return duplicate
