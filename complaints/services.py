"""Everything that changes a complaint, report or evaluation.

Each case runs three clocks in Chinese working days (RULES.md §4), stored as dates:
- acceptance: decided within 7 working days of receipt (SAMR complaint rules Art. 15);
- resolution: the platform's published target, `COMPLAINT_RESOLUTION_WORKING_DAYS` (default 10,
  the 12315 ODR model's settlement limit; LCM Art. 20 leaves the figure to the platform);
- mediation: ends without agreement 45 working days after acceptance (SAMR rules Art. 27).
The clocks stop while the case waits for the consumer or for an appraisal: when handling
resumes, every running due date moves on by the working days spent waiting.

Every change writes a `CaseEvent`; a change of status also e-mails the consumer (the worker, after
commit) and tells the platform (`complaint.status_changed`).
"""

from __future__ import annotations

import functools
import hmac
import secrets
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q
from django.utils import timezone, translation
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts import crypto
from accounts.actors import Actor
from accounts.identity import identity_hash
from accounts.models import Party, PartyKind
from accounts.services import webhook_emit
from accounts.uploads import CleanImage, store_image
from accounts.workdays import add_working_days, working_days_between
from complaints.models import (
    OPEN_STATUSES,
    PAUSED_STATUSES,
    Case,
    CaseEvent,
    CaseKind,
    CaseStatus,
    Evaluation,
    Evidence,
    Outcome,
    ReporterReputation,
    ReviewerCapacity,
    Source,
)
from config.errors import Conflict

ACCEPTANCE_WORKING_DAYS = 7  # SAMR complaint rules Art. 15
MEDIATION_WORKING_DAYS = 45  # SAMR complaint rules Art. 27
MAX_EVIDENCE = 9
# The platform forwards complaints as they are made; anything older is a wrong timestamp.
MAX_FORWARD_AGE = timedelta(days=365)
# A second case from the same contact about the same order or party within this window is
# flagged as a possible duplicate (not refused: the consumer may have something new to say).
DUPLICATE_WINDOW = timedelta(days=30)
# Reporter reputation (LCM Art. 20): flag a contact to a lead once at least this many of their
# cases were found unfounded and they make up at least this share of what they filed.
UNFOUNDED_FLAG_MIN = 3
UNFOUNDED_FLAG_SHARE = 0.5

_TRACKING_SALT = "complaints.tracking"
_CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read out over the phone


def resolution_working_days() -> int:
    return settings.COMPLAINT_RESOLUTION_WORKING_DAYS


# --- Contacts ----------------------------------------------------------------------------------


def normalise_email(email: str) -> str:
    return email.strip().lower()


def normalise_phone(phone: str) -> str:
    digits = "".join(ch for ch in phone if ch.isdigit())
    # +86 / 0086 in front of a mainland mobile number is the same number.
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    elif len(digits) == 15 and digits.startswith("0086"):
        digits = digits[4:]
    return digits


def contact_key(*, email: str = "", phone: str = "") -> str:
    """Keyed hash of the contact (e-mail first, else phone); "" when there is neither."""
    if email.strip():
        return identity_hash("email:" + normalise_email(email))
    if phone.strip():
        return identity_hash("phone:" + normalise_phone(phone))
    return ""


def contact_email(case: Case) -> str:
    return (
        crypto.decrypt(case.contact_email_enc, context="complaints.email")
        if case.contact_email_enc
        else ""
    )


def contact_phone(case: Case) -> str:
    return (
        crypto.decrypt(case.contact_phone_enc, context="complaints.phone")
        if case.contact_phone_enc
        else ""
    )


def contact_masked(case: Case) -> str:
    """What staff see: `a***@example.com`, `138****5678`."""
    parts = []
    email = contact_email(case)
    if email:
        local, _at, domain = email.partition("@")
        parts.append(f"{local[:1]}***@{domain}")
    phone = contact_phone(case)
    if phone:
        parts.append(crypto.mask_phone(phone))
    return " / ".join(parts)


# --- Tracking ----------------------------------------------------------------------------------


def _tracking_token(code: str, nonce: str, secret: str | None = None) -> str:
    return salted_hmac(
        _TRACKING_SALT, f"{code}:{nonce}", secret=secret, algorithm="sha256"
    ).hexdigest()[:32]


def tracking_token(case: Case) -> str:
    """The secret part of the case's private tracking link."""
    return _tracking_token(case.tracking_code, case.tracking_nonce)


def case_for_tracking(code: str, token: str) -> Case | None:
    """The case this link opens, or None -- the same None for an unknown code and a wrong token,
    so that a guess learns nothing about which codes exist."""
    case = Case.objects.filter(tracking_code=code.strip().upper()).first()
    if case is None:
        # Spend the same HMAC either way.
        _tracking_token(code, "0" * 32)
        return None
    secrets_to_try = [None, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    for secret in secrets_to_try:
        if hmac.compare_digest(
            _tracking_token(case.tracking_code, case.tracking_nonce, secret), token
        ):
            return case
    return None


def _new_tracking_code(kind: str) -> str:
    prefix = "C" if kind == CaseKind.COMPLAINT else "R"
    return prefix + "".join(secrets.choice(_CODE_ALPHABET) for _ in range(9))


# --- Filing ------------------------------------------------------------------------------------


_stored_files = threading.local()


def _files_removed_on_failure(function):
    """Evidence pictures are written to storage as their rows are created; when the service fails
    and its transaction rolls back, the pictures it wrote are removed too, so that no personal
    image is left on disk with no row pointing at it."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        outer = getattr(_stored_files, "names", None)
        _stored_files.names = []
        try:
            return function(*args, **kwargs)
        except BaseException:
            for name in _stored_files.names:
                default_storage.delete(name)
            raise
        finally:
            _stored_files.names = outer

    return wrapper


@dataclass
class CaseInput:
    """What a consumer (web form) or the platform (API) files. Validated by the caller's form or
    serializer for shape; the rules that need the database are checked here."""

    kind: str
    facts: str
    merchant: Party | None = None
    anchor: Party | None = None
    session: object | None = None  # liverooms.LiveSession
    order_number: str = ""
    purchase: str = ""
    category: str = ""
    request: str = ""
    request_detail: str = ""
    report_category: str = ""
    stream_offset: timedelta | None = None
    contact_name: str = ""
    contact_email: str = ""
    contact_phone: str = ""
    language: str = "zh-hans"
    evidence: list[CleanImage] = field(default_factory=list)


def _validate(data: CaseInput) -> None:
    errors: dict[str, str] = {}
    if data.kind not in CaseKind.values:
        errors["kind"] = _("Unknown kind of case.")
    if not data.facts.strip():
        errors["facts"] = _("Describe what happened.")
    if data.merchant is not None and data.merchant.kind != PartyKind.MERCHANT:
        errors["merchant"] = _("This party is not a merchant.")
    if data.anchor is not None and data.anchor.kind != PartyKind.ANCHOR:
        errors["anchor"] = _("This party is not an anchor.")
    if data.kind == CaseKind.COMPLAINT:
        if data.merchant is None and data.anchor is None and data.session is None:
            errors["merchant"] = _("Name the merchant, the anchor or the live session.")
        if not data.request:
            errors["request"] = _("Say what you are asking for.")
    elif data.kind == CaseKind.REPORT:
        if data.session is None:
            errors["session"] = _("Choose the live session you are reporting.")
        if not data.report_category:
            errors["report_category"] = _("Choose what kind of violation you saw.")
    if data.kind == CaseKind.COMPLAINT and not (
        data.contact_email.strip() or data.contact_phone.strip()
    ):
        # SAMR complaint rules Art. 9: the complainant's contact is part of a complaint.
        errors["contact_email"] = _(
            "Give an e-mail address or a phone number so that we can reach you."
        )
    if len(data.evidence) > MAX_EVIDENCE:
        errors["evidence"] = _("At most %(n)d images.") % {"n": MAX_EVIDENCE}
    if errors:
        raise ValidationError(errors)


def _parties_from_session(data: CaseInput) -> None:
    """A report or complaint about a session concerns its room's owner too."""
    if data.session is None:
        return
    owner = data.session.room.owner
    if owner.kind == PartyKind.MERCHANT and data.merchant is None:
        data.merchant = owner
    elif owner.kind == PartyKind.ANCHOR and data.anchor is None:
        data.anchor = owner


def _find_duplicate(case: Case) -> Case | None:
    if not case.contact_key:
        return None
    about = Q()
    if case.order_number:
        about |= Q(order_number=case.order_number)
    if case.session_id:
        about |= Q(session_id=case.session_id)
    if case.merchant_id and case.kind == CaseKind.COMPLAINT:
        about |= Q(merchant_id=case.merchant_id, category=case.category)
    if not about:
        return None
    return (
        Case.objects.filter(about, contact_key=case.contact_key, kind=case.kind)
        .filter(received_at__gte=case.received_at - DUPLICATE_WINDOW)
        .exclude(pk=case.pk)
        .exclude(status=CaseStatus.MERGED)
        .order_by("-received_at")
        .first()
    )


def _compute_dues(case: Case) -> None:
    """The due dates from receipt, acceptance and the working days the clocks stood still.

    Acceptance: 7 working days from receipt (SAMR complaint rules Art. 15); resolution: the
    published target from receipt; mediation: 45 working days from acceptance (Art. 27). Pauses
    before acceptance push all three; pauses after it push resolution and mediation.
    """
    received_day = timezone.localdate(case.received_at)
    before, after = case.paused_days_before_acceptance, case.paused_days_after_acceptance
    acceptance = add_working_days(received_day, ACCEPTANCE_WORKING_DAYS + before)
    resolution = add_working_days(received_day, case.resolution_working_days + before + after)
    case.acceptance_due, case.resolution_due = acceptance.due, resolution.due
    estimated = acceptance.estimated or resolution.estimated
    if case.accepted_at is not None:
        mediation = add_working_days(
            timezone.localdate(case.accepted_at), MEDIATION_WORKING_DAYS + after
        )
        case.mediation_due = mediation.due
        estimated = estimated or mediation.estimated
    case.deadline_estimated = estimated


def _dues(case: Case) -> tuple:
    return (case.acceptance_due, case.resolution_due, case.mediation_due, case.deadline_estimated)


def refresh_deadlines(*, actor: Actor) -> int:
    """Compute every open case's due dates again against the calendar as it now stands.

    Staff extend the calendar with next year's schedule (turning estimates into exact dates) and
    occasionally correct a day already entered (a 31 December moved by the next notice), which
    shifts cases that were never estimates. Dates are recomputed from what they are derived from,
    so this is exact; a case whose dates move is locked and checked again before it is written,
    and the consumer's timeline and the platform are told. Returns how many cases changed.
    """
    changed = 0
    for pk in Case.objects.filter(status__in=OPEN_STATUSES).values_list("pk", flat=True).iterator():
        case = Case.objects.get(pk=pk)
        stored = _dues(case)
        _compute_dues(case)
        if _dues(case) == stored:
            continue
        with transaction.atomic():
            case = _lock(case)
            if case.status not in OPEN_STATUSES:
                continue
            stored = _dues(case)
            _compute_dues(case)
            if _dues(case) == stored:
                continue
            case.save(
                update_fields=[
                    "acceptance_due",
                    "resolution_due",
                    "mediation_due",
                    "deadline_estimated",
                ]
            )
            _event(
                case,
                CaseEvent.Kind.DEADLINES_UPDATED,
                actor,
                tell_platform=True,
                data={
                    "before": [d.isoformat() if d else None for d in stored[:3]],
                    "estimated_before": stored[3],
                },
            )
            changed += 1
    return changed


@dataclass(frozen=True)
class Filed:
    case: Case
    created: bool  # False when the platform forwarded the same complaint again


@_files_removed_on_failure
@transaction.atomic
def case_file(
    *,
    data: CaseInput,
    source: str,
    actor: Actor,
    received_at: datetime | None = None,
    platform_ref: str = "",
) -> Filed:
    """File a complaint or report, start its clocks and hand it to a reviewer."""
    if platform_ref:
        existing = Case.objects.filter(source=source, platform_ref=platform_ref).first()
        if existing is not None:
            return Filed(existing, created=False)
    _validate(data)
    _parties_from_session(data)
    now = timezone.now()
    received_at = received_at or now
    if received_at > now + timedelta(minutes=5):
        raise ValidationError({"received_at": _("The time of filing cannot be in the future.")})
    if received_at < now - MAX_FORWARD_AGE:
        # A wrong or zero timestamp would make a case overdue and escalated on arrival.
        raise ValidationError(
            {"received_at": _("The time of filing is more than a year ago; check the timestamp.")}
        )
    case = Case(
        kind=data.kind,
        tracking_nonce=secrets.token_hex(16),
        source=source,
        platform_ref=platform_ref,
        received_at=received_at,
        language="en" if data.language.startswith("en") else "zh-hans",
        merchant=data.merchant,
        anchor=data.anchor,
        session=data.session,
        order_number=data.order_number.strip(),
        purchase=data.purchase.strip(),
        category=data.category,
        request=data.request,
        request_detail=data.request_detail.strip(),
        report_category=data.report_category,
        stream_offset=data.stream_offset,
        facts=data.facts.strip(),
        contact_name=data.contact_name.strip(),
        contact_email_enc=crypto.encrypt(
            normalise_email(data.contact_email), context="complaints.email"
        )
        if data.contact_email.strip()
        else "",
        contact_phone_enc=crypto.encrypt(data.contact_phone.strip(), context="complaints.phone")
        if data.contact_phone.strip()
        else "",
        contact_key=contact_key(email=data.contact_email, phone=data.contact_phone),
        resolution_working_days=resolution_working_days(),
    )
    _compute_dues(case)
    for _attempt in range(5):
        case.tracking_code = _new_tracking_code(data.kind)
        try:
            with transaction.atomic():
                case.save()
            break
        except IntegrityError:
            if (
                platform_ref
                and Case.objects.filter(source=source, platform_ref=platform_ref).exists()
            ):
                # Forwarded twice at the same moment: the other request stored it.
                return Filed(
                    Case.objects.get(source=source, platform_ref=platform_ref), created=False
                )
            continue  # a tracking-code collision (1 in 32^9): draw again
    else:  # pragma: no cover - five collisions in a row
        raise RuntimeError("could not draw a unique tracking code")
    for image in data.evidence:
        _add_evidence(case, image, added_by="api" if source == Source.API else "consumer")
    duplicate = _find_duplicate(case)
    if duplicate is not None:
        case.possible_duplicate_of = duplicate
        case.save(update_fields=["possible_duplicate_of"])
    if case.contact_key:
        ReporterReputation.objects.get_or_create(contact_key=case.contact_key)
        ReporterReputation.objects.filter(contact_key=case.contact_key).update(filed=F("filed") + 1)
    _event(
        case,
        CaseEvent.Kind.FILED,
        actor,
        status_changed=True,
        data={"evidence": len(data.evidence)},
    )
    case_assign_round_robin(case=case, actor=Actor.system("round_robin"))
    if case.kind == CaseKind.COMPLAINT:
        _regrade_if_concentrated(case)
    return Filed(case, created=True)


def _regrade_if_concentrated(case: Case) -> None:
    """Concentrated complaints raise the party's rooms at once, not at the nightly regrade."""
    from liverooms.models import LiveRoom
    from liverooms.services import rooms_regrade

    parties = [pk for pk in (case.merchant_id, case.anchor_id) if pk]
    counts = complainant_counts(parties)
    crossed = [
        pk for pk in parties if counts.get(pk, 0) >= settings.COMPLAINT_CONCENTRATION_THRESHOLD
    ]
    if crossed:
        room_ids = list(LiveRoom.objects.filter(owner_id__in=crossed).values_list("pk", flat=True))
        if room_ids:
            rooms_regrade(room_ids=room_ids)


def _add_evidence(case: Case, image: CleanImage, *, added_by: str) -> Evidence | None:
    if Evidence.objects.filter(case=case, sha256=image.sha256).exists():
        return None
    name = store_image(image, folder="complaints")
    if getattr(_stored_files, "names", None) is not None:
        _stored_files.names.append(name)
    return Evidence.objects.create(
        case=case,
        file=name,
        sha256=image.sha256,
        content_type=image.content_type,
        width=image.width,
        height=image.height,
        added_by=added_by,
    )


@_files_removed_on_failure
@transaction.atomic
def case_add_evidence(
    *, case: Case, images: list[CleanImage], actor: Actor, added_by: str
) -> list[Evidence]:
    case = _lock(case)
    if case.status in (CaseStatus.MERGED, CaseStatus.WITHDRAWN, CaseStatus.CLOSED):
        raise Conflict(_("This case is closed; evidence can no longer be added."))
    if case.evidence.count() + len(images) > MAX_EVIDENCE:
        raise ValidationError(
            {"evidence": _("A case holds at most %(n)d images.") % {"n": MAX_EVIDENCE}}
        )
    added = [e for e in (_add_evidence(case, image, added_by=added_by) for image in images) if e]
    if added:
        _event(case, CaseEvent.Kind.EVIDENCE_ADDED, actor, data={"count": len(added)})
    return added


# --- Events, notifications and the platform ----------------------------------------------------


def _event(
    case: Case,
    kind: str,
    actor: Actor,
    *,
    status_changed: bool = False,
    tell_platform: bool = False,
    public: bool = True,
    message: str = "",
    reason: str = "",
    data: dict | None = None,
) -> CaseEvent:
    notify = status_changed or kind == CaseEvent.Kind.REPLY
    event = CaseEvent.objects.create(
        case=case,
        kind=kind,
        status=case.status,
        public=public,
        message=message,
        reason=reason,
        data=data or {},
        notify_consumer=notify,
        **actor.event_fields(),
    )
    if notify:
        from complaints import tasks  # tasks import services

        transaction.on_commit(lambda: tasks.notify_consumer.delay(event.pk))
    if status_changed or tell_platform:
        webhook_emit(
            topic="complaint.status_changed",
            data={
                "tracking_code": case.tracking_code,
                "kind": case.kind,
                "platform_ref": case.platform_ref,
                "status": case.status,
                "outcome": case.outcome,
                "event": kind,
                "at": event.at.isoformat(),
                "acceptance_due": case.acceptance_due.isoformat(),
                "resolution_due": case.resolution_due.isoformat(),
                "mediation_due": case.mediation_due.isoformat() if case.mediation_due else None,
                "deadline_estimated": case.deadline_estimated,
            },
        )
    return event


def _in_language(language: str, message: str, **values) -> str:
    with translation.override(language):
        return _(message) % values


def _lock(case: Case) -> Case:
    return Case.objects.select_for_update().get(pk=case.pk)


def _require(case: Case, *statuses: str) -> None:
    if case.status not in statuses:
        raise Conflict(
            _("This case is %(status)s; that is not possible now.")
            % {"status": case.get_status_display()}
        )


def _require_staff(actor: Actor, perm: str = "complaints.change_case") -> None:
    if actor.user is None or not actor.user.has_perm(perm):
        raise PermissionError(_("You may not handle complaints."))


# --- Assignment --------------------------------------------------------------------------------


def open_load() -> dict[int, int]:
    """Open cases per assignee."""
    rows = (
        Case.objects.filter(status__in=OPEN_STATUSES, assignee__isnull=False)
        .values("assignee")
        .annotate(n=Count("id"))
    )
    return {row["assignee"]: row["n"] for row in rows}


@transaction.atomic
def case_assign_round_robin(*, case: Case, actor: Actor):
    """Give the case to the available reviewer with the fewest open cases who still has room;
    among equals, the one who waited longest since their last case. Nobody with room: the case
    stays in the "new" queue for a lead. Returns the reviewer chosen, or None."""
    status = Case.objects.select_for_update().filter(pk=case.pk).values_list("status", flat=True)
    if status.get() not in OPEN_STATUSES:
        return None  # withdrawn or closed meanwhile: nothing to hand out
    # Only the capacity rows are locked (they serialise concurrent filings' choices), never the
    # reviewers' user rows, which logins write.
    capacities = list(
        ReviewerCapacity.objects.select_for_update(of=("self",))
        .filter(is_available=True, user__is_active=True)
        .select_related("user")
    )
    load = open_load()
    # A capacity row outlives a change of role: someone moved off the team could not act on
    # the case (every handling service needs this permission), so it would sit until overdue.
    candidates = [
        c
        for c in capacities
        if load.get(c.user_id, 0) < c.max_open_cases and c.user.has_perm("complaints.change_case")
    ]
    if not candidates:
        return None
    epoch = timezone.make_aware(datetime(2000, 1, 1))
    chosen = min(
        candidates,
        key=lambda c: (load.get(c.user_id, 0), c.last_assigned_at or epoch, c.user_id),
    )
    chosen.last_assigned_at = timezone.now()
    chosen.save(update_fields=["last_assigned_at"])
    case.assignee = chosen.user
    case.save(update_fields=["assignee"])
    _event(
        case,
        CaseEvent.Kind.ASSIGNED,
        actor,
        public=False,
        data={"assignee": chosen.user.get_username()},
    )
    return chosen.user


@transaction.atomic
def case_assign(*, case: Case, assignee, actor: Actor) -> Case:
    _require_staff(actor)
    case = _lock(case)
    _require(case, *OPEN_STATUSES)
    if assignee is not None and not assignee.has_perm("complaints.change_case"):
        raise ValidationError({"assignee": _("This person does not handle complaints.")})
    case.assignee = assignee
    case.save(update_fields=["assignee"])
    _event(
        case,
        CaseEvent.Kind.ASSIGNED,
        actor,
        public=False,
        data={"assignee": assignee.get_username() if assignee else None},
    )
    return case


# --- Handling ----------------------------------------------------------------------------------


@transaction.atomic
def case_accept(*, case: Case, actor: Actor, message: str = "") -> Case:
    _require_staff(actor)
    case = _lock(case)
    _require(case, CaseStatus.NEW)
    now = timezone.now()
    case.status = CaseStatus.ACCEPTED
    case.accepted_at = now
    _compute_dues(case)
    if case.assignee is None and actor.user is not None:
        case.assignee = actor.user
    case.save()
    _event(case, CaseEvent.Kind.ACCEPTED, actor, status_changed=True, message=message)
    return case


@transaction.atomic
def case_not_accept(*, case: Case, reason: str, actor: Actor) -> Case:
    """Refuse at acceptance (outside the platform's remit, no respondent, already decided…);
    the reason is told to the consumer (SAMR complaint rules Art. 15)."""
    _require_staff(actor)
    if not reason.strip():
        raise ValidationError({"reason": _("Tell the consumer why the case is not accepted.")})
    case = _lock(case)
    _require(case, CaseStatus.NEW)
    case.status = CaseStatus.NOT_ACCEPTED
    case.decided_at = timezone.now()
    case.save()
    _event(case, CaseEvent.Kind.NOT_ACCEPTED, actor, status_changed=True, message=reason.strip())
    return case


def _pause(case: Case, status: str) -> None:
    case.paused_from = case.status
    case.status = status
    case.paused_at = timezone.now()


def _resume(case: Case) -> int:
    """Restart the clocks: every running due date moves on by the working days spent waiting."""
    lost = working_days_between(timezone.localdate(case.paused_at), timezone.localdate())
    if case.paused_from == CaseStatus.NEW:
        case.paused_days_before_acceptance += lost
    else:
        case.paused_days_after_acceptance += lost
    case.status = case.paused_from or CaseStatus.ACCEPTED
    case.paused_from = ""
    case.paused_at = None
    _compute_dues(case)
    return lost


@transaction.atomic
def case_request_info(*, case: Case, message: str, actor: Actor) -> Case:
    """Ask the consumer for more; the clocks stop until they answer or a reviewer resumes."""
    _require_staff(actor)
    if not message.strip():
        raise ValidationError({"message": _("Say what the consumer should add.")})
    case = _lock(case)
    _require(case, CaseStatus.NEW, CaseStatus.ACCEPTED)
    _pause(case, CaseStatus.AWAITING_CONSUMER)
    case.save()
    _event(case, CaseEvent.Kind.INFO_REQUESTED, actor, status_changed=True, message=message.strip())
    return case


@transaction.atomic
def case_start_appraisal(*, case: Case, message: str, actor: Actor) -> Case:
    """The goods go to an appraisal or test; the clocks stop meanwhile (SAMR rules Art. 27)."""
    _require_staff(actor)
    case = _lock(case)
    _require(case, CaseStatus.ACCEPTED)
    _pause(case, CaseStatus.AWAITING_APPRAISAL)
    case.save()
    _event(
        case, CaseEvent.Kind.APPRAISAL_STARTED, actor, status_changed=True, message=message.strip()
    )
    return case


@transaction.atomic
def case_resume(*, case: Case, actor: Actor, message: str = "") -> Case:
    _require_staff(actor)
    case = _lock(case)
    _require(case, *PAUSED_STATUSES)
    lost = _resume(case)
    case.save()
    _event(
        case,
        CaseEvent.Kind.RESUMED,
        actor,
        status_changed=True,
        message=message,
        data={"paused_working_days": lost},
    )
    return case


@_files_removed_on_failure
@transaction.atomic
def case_consumer_add_info(
    *, case: Case, text: str, images: list[CleanImage] = (), actor: Actor | None = None
) -> Case:
    """The consumer adds to their case from the tracking page (or the platform, for them, as
    `actor`). A case that was waiting for them resumes."""
    actor = actor or Actor(label="consumer")
    case = _lock(case)
    _require(case, *OPEN_STATUSES)
    if not text.strip() and not images:
        raise ValidationError({"text": _("Write something or attach an image.")})
    if case.evidence.count() + len(images) > MAX_EVIDENCE:
        raise ValidationError(
            {"evidence": _("A case holds at most %(n)d images.") % {"n": MAX_EVIDENCE}}
        )
    for image in images:
        _add_evidence(case, image, added_by="consumer")
    resumed = case.status == CaseStatus.AWAITING_CONSUMER
    lost = _resume(case) if resumed else 0
    case.save()
    _event(
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
    _require_staff(actor)
    if not text.strip():
        raise ValidationError({"text": _("The note is empty.")})
    return _event(case, CaseEvent.Kind.NOTE, actor, public=False, message=text.strip())


@transaction.atomic
def case_reply(*, case: Case, text: str, actor: Actor) -> CaseEvent:
    """A message to the consumer, shown on the tracking page and e-mailed."""
    _require_staff(actor)
    if not text.strip():
        raise ValidationError({"text": _("The reply is empty.")})
    case = _lock(case)
    _require(case, *OPEN_STATUSES, CaseStatus.DECIDED)
    return _event(case, CaseEvent.Kind.REPLY, actor, message=text.strip())


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
    _require_staff(actor)
    case = _lock(case)
    # A decided case has told enforcement and credit whom it concerns; re-pointing it would
    # leave them naming another party.
    _require(case, *OPEN_STATUSES)
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
        _event(case, CaseEvent.Kind.LINKED, actor, public=False, data=changed)
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
    _require_staff(actor)
    if outcome not in Outcome.values:
        raise ValidationError({"outcome": _("Choose an outcome.")})
    if not note.strip():
        raise ValidationError({"note": _("Explain the outcome to the consumer.")})
    if outcome == Outcome.REFUND and not refund_fen:
        raise ValidationError({"refund_fen": _("Give the amount refunded.")})
    if outcome == Outcome.COMPENSATION and not compensation_fen:
        raise ValidationError({"compensation_fen": _("Give the amount of compensation.")})
    case = _lock(case)
    _require(case, CaseStatus.ACCEPTED)
    case.status = CaseStatus.DECIDED
    case.outcome = outcome
    case.outcome_note = note.strip()
    case.refund_fen = refund_fen
    case.compensation_fen = compensation_fen
    case.decided_at = timezone.now()
    case.save()
    _event(
        case,
        CaseEvent.Kind.DECIDED,
        actor,
        status_changed=True,
        message=case.outcome_note,
        data={"outcome": outcome},
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
    _require_staff(actor, "complaints.change_reporterreputation")
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
    case = _lock(case)
    _require(case, *OPEN_STATUSES)
    case.status = CaseStatus.WITHDRAWN
    case.outcome = ""
    case.closed_at = timezone.now()
    case.paused_at = None
    case.paused_from = ""
    case.save()
    _event(case, CaseEvent.Kind.WITHDRAWN, actor, status_changed=True, message=reason.strip())
    return case


def case_record_withdrawal(*, case: Case, reason: str, actor: Actor) -> Case:
    """A reviewer records a withdrawal the consumer made by phone or e-mail; how they withdrew
    is part of the record."""
    _require_staff(actor)
    if not reason.strip():
        raise ValidationError({"reason": _("Say how and when the consumer withdrew.")})
    return case_withdraw(case=case, reason=reason, actor=actor)


@transaction.atomic
def case_confirm(*, case: Case) -> Case:
    """The consumer confirms the resolution; the case closes."""
    case = _lock(case)
    _require(case, CaseStatus.DECIDED)
    now = timezone.now()
    case.status = CaseStatus.CLOSED
    case.consumer_confirmed_at = now
    case.closed_at = now
    case.save()
    _event(case, CaseEvent.Kind.CONFIRMED, Actor(label="consumer"), status_changed=True)
    return case


@transaction.atomic
def case_rate(*, case: Case, rating: int, comment: str = "") -> Case:
    """The consumer rates how the case was handled, once, after the decision."""
    if not 1 <= int(rating) <= 5:
        raise ValidationError({"rating": _("Give between 1 and 5 stars.")})
    case = _lock(case)
    _require(case, CaseStatus.DECIDED, CaseStatus.CLOSED, CaseStatus.NOT_ACCEPTED)
    if case.handling_rating is not None:
        raise Conflict(_("You have already rated the handling of this case."))
    case.handling_rating = int(rating)
    case.handling_comment = comment.strip()
    case.save(update_fields=["handling_rating", "handling_comment"])
    _event(case, CaseEvent.Kind.RATED, Actor(label="consumer"), data={"rating": int(rating)})
    return case


@transaction.atomic
def case_merge(*, duplicate: Case, into: Case, actor: Actor) -> Case:
    """Fold a duplicate into the case that carries on: its evidence moves across, it closes as
    merged, and its consumer is told which case to follow."""
    _require_staff(actor)
    if duplicate.pk == into.pk:
        raise ValidationError({"into": _("A case cannot be merged into itself.")})
    first, second = sorted([duplicate, into], key=lambda c: c.pk)
    first, second = _lock(first), _lock(second)  # a fixed order: no deadlock between two merges
    duplicate, into = (first, second) if first.pk == duplicate.pk else (second, first)
    _require(duplicate, *OPEN_STATUSES)
    _require(into, *OPEN_STATUSES, CaseStatus.DECIDED)
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
    _event(
        duplicate,
        CaseEvent.Kind.MERGED,
        actor,
        status_changed=True,
        # Stored text the consumer reads: in their language, not the reviewer's.
        message=_in_language(
            duplicate.language,
            gettext_noop("Your case continues as %(code)s."),
            code=into.tracking_code,
        ),
        data={"into": into.tracking_code},
    )
    _event(into, CaseEvent.Kind.MERGED, actor, public=False, data={"from": duplicate.tracking_code})
    return duplicate


# --- Deadlines ---------------------------------------------------------------------------------


def overdue_cases(today: date | None = None):
    """Open cases past a running clock: acceptance while new, resolution while in handling.
    Cases waiting for the consumer or an appraisal are not overdue: their clocks are stopped."""
    today = today or timezone.localdate()
    return Case.objects.filter(
        Q(status=CaseStatus.NEW, acceptance_due__lt=today)
        | Q(status=CaseStatus.ACCEPTED, resolution_due__lt=today)
    )


def due_today_cases(today: date | None = None):
    """Open cases whose running clock ends today (the same clocks as `overdue_cases`)."""
    today = today or timezone.localdate()
    return Case.objects.filter(
        Q(status=CaseStatus.NEW, acceptance_due=today)
        | Q(status=CaseStatus.ACCEPTED, resolution_due=today)
    )


def overdue_clock(case: Case, today: date | None = None) -> str:
    """Which running clock of a loaded case has passed: "acceptance", "resolution" or "".
    The rule of `overdue_cases`, for one row (the workbench's list marks overdue dates)."""
    today = today or timezone.localdate()
    if case.status == CaseStatus.NEW and case.acceptance_due < today:
        return "acceptance"
    if case.status == CaseStatus.ACCEPTED and case.resolution_due < today:
        return "resolution"
    return ""


def escalate_overdue(*, actor: Actor, today: date | None = None, batch: int = 500) -> int:
    """Mark overdue cases once per clock, put them in the lead's queue and tell the leads."""
    escalated = 0
    today = today or timezone.localdate()
    # Escalated before acceptance means the acceptance clock was; the resolution clock that
    # runs from acceptance is a second deadline and is escalated in its own right.
    pending = overdue_cases(today).filter(
        Q(escalated_at__isnull=True)
        | Q(status=CaseStatus.ACCEPTED, escalated_at__lt=F("accepted_at"))
    )
    ids = list(pending.values_list("pk", flat=True)[:batch])
    for pk in ids:
        with transaction.atomic():
            # Checked again under the lock: a reviewer may have acted since the list was read.
            case = pending.select_for_update().filter(pk=pk).first()
            if case is None:
                continue
            case.escalated_at = timezone.now()
            case.save(update_fields=["escalated_at"])
            event = _event(
                case,
                CaseEvent.Kind.ESCALATED,
                actor,
                public=False,
                data={
                    "clock": overdue_clock(case, today),
                    "acceptance_due": case.acceptance_due.isoformat(),
                    "resolution_due": case.resolution_due.isoformat(),
                },
            )
            from complaints import tasks

            transaction.on_commit(lambda pk=event.pk: tasks.notify_leads.delay(pk))
            escalated += 1
    return escalated


# --- Evaluations -------------------------------------------------------------------------------


@transaction.atomic
def evaluation_submit(
    *,
    merchant: Party | None,
    anchor: Party | None,
    order_number: str,
    stars_description: int,
    stars_service: int,
    stars_logistics: int,
    stars_anchor_honesty: int | None = None,
    text: str = "",
    session=None,
    source: str = Source.WEB,
    platform_ref: str = "",
    contact: str = "",
) -> tuple[Evaluation, bool]:
    if platform_ref:
        existing = Evaluation.objects.filter(source=source, platform_ref=platform_ref).first()
        if existing is not None:
            return existing, False
    if session is not None:
        owner = session.room.owner
        if owner.kind == PartyKind.MERCHANT and merchant is None:
            merchant = owner
        elif owner.kind == PartyKind.ANCHOR and anchor is None:
            anchor = owner
    errors = {}
    if merchant is None and anchor is None:
        errors["merchant"] = _("Name the merchant or the anchor you are evaluating.")
    if merchant is not None and merchant.kind != PartyKind.MERCHANT:
        errors["merchant"] = _("This party is not a merchant.")
    if anchor is not None and anchor.kind != PartyKind.ANCHOR:
        errors["anchor"] = _("This party is not an anchor.")
    if anchor is None and stars_anchor_honesty is not None:
        errors["stars_anchor_honesty"] = _(
            "Rate the anchor's honesty only when you evaluate an anchor."
        )
    if not order_number.strip():
        errors["order_number"] = _("Give the order number.")
    if errors:
        raise ValidationError(errors)
    evaluation = Evaluation(
        merchant=merchant,
        anchor=anchor,
        session=session,
        order_number=order_number.strip(),
        stars_description=stars_description,
        stars_service=stars_service,
        stars_logistics=stars_logistics,
        stars_anchor_honesty=stars_anchor_honesty,
        text=text.strip(),
        source=source,
        platform_ref=platform_ref,
        contact_key=contact_key(email=contact) if "@" in contact else contact_key(phone=contact),
    )
    # Field validation only: the platform_ref uniqueness is the database's to decide (below), and
    # checking it here as well would turn a concurrent forward into a spurious 400.
    evaluation.full_clean(validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            evaluation.save()
    except IntegrityError:
        if not platform_ref:
            raise
        # Forwarded twice at the same moment: the other request stored it.
        return Evaluation.objects.get(source=source, platform_ref=platform_ref), False
    return evaluation, True


@transaction.atomic
def evaluation_hide(*, evaluation: Evaluation, reason: str, actor: Actor) -> Evaluation:
    """Only a reviewer hides an evaluation, and always with the reason (ECL Art. 39). The row
    stays: hiding is not deleting."""
    _require_staff(actor, "complaints.hide_evaluation")
    if not reason.strip():
        raise ValidationError({"reason": _("Give the reason for hiding this evaluation.")})
    evaluation = Evaluation.objects.select_for_update().get(pk=evaluation.pk)
    if evaluation.hidden_at is not None:
        raise Conflict(_("This evaluation is already hidden."))
    evaluation.hidden_at = timezone.now()
    evaluation.hidden_by = actor.user
    evaluation.hidden_reason = reason.strip()
    evaluation.save(update_fields=["hidden_at", "hidden_by", "hidden_reason"])
    return evaluation


def evaluation_summary(party: Party) -> dict:
    """Averages and counts of a party's visible evaluations (credit reads these)."""
    from django.db.models import Avg

    field_name = "merchant" if party.kind == PartyKind.MERCHANT else "anchor"
    return Evaluation.objects.filter(**{field_name: party}, hidden_at__isnull=True).aggregate(
        count=Count("id"),
        description=Avg("stars_description"),
        service=Avg("stars_service"),
        logistics=Avg("stars_logistics"),
        anchor_honesty=Avg("stars_anchor_honesty"),
    )


# --- Concentrated complaints ------------------------------------------------------------------


def _counted_complaints(days: int):
    since = timezone.now() - timedelta(days=days)
    return (
        Case.objects.filter(kind=CaseKind.COMPLAINT, received_at__gte=since)
        .exclude(status=CaseStatus.MERGED)
        .exclude(outcome=Outcome.UNFOUNDED)
    )


def complaint_counts(party_ids: list[int], *, days: int = 30) -> dict[int, int]:
    """Complaints (not merged, not found unfounded) per party over the last `days` days."""
    counts: dict[int, int] = {}
    base = _counted_complaints(days)
    for column in ("merchant", "anchor"):
        rows = base.filter(**{f"{column}__in": party_ids}).values(column).annotate(n=Count("id"))
        for row in rows:
            counts[row[column]] = counts.get(row[column], 0) + row["n"]
    return counts


def complainant_counts(party_ids: list[int], *, days: int = 30) -> dict[int, int]:
    """Distinct complainants per party over the last `days` days, the measure of concentrated
    complaints for the room risk grade: one consumer filing again and again is one voice, or a
    single person could raise a room's grade (LCM Art. 20: abuse of the complaint mechanism).
    Complaints forwarded without a contact cannot be told apart and count one each."""
    counts: dict[int, int] = {}
    base = _counted_complaints(days)
    for column in ("merchant", "anchor"):
        rows = (
            base.filter(**{f"{column}__in": party_ids})
            .values(column)
            .annotate(
                people=Count("contact_key", distinct=True, filter=~Q(contact_key="")),
                anonymous=Count("id", filter=Q(contact_key="")),
            )
        )
        for row in rows:
            counts[row[column]] = counts.get(row[column], 0) + row["people"] + row["anonymous"]
    return counts


# --- Housekeeping ------------------------------------------------------------------------------


def close_unconfirmed(*, actor: Actor, now: datetime | None = None, batch: int = 500) -> int:
    """Decided cases the consumer neither confirmed nor disputed within the confirmation period
    close on their own; the consumer can still rate the handling."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.COMPLAINT_CONFIRMATION_DAYS)
    closed = 0
    ids = list(
        Case.objects.filter(status=CaseStatus.DECIDED, decided_at__lt=cutoff).values_list(
            "pk", flat=True
        )[:batch]
    )
    for pk in ids:
        with transaction.atomic():
            case = Case.objects.select_for_update().get(pk=pk)
            if case.status != CaseStatus.DECIDED:
                continue  # confirmed meanwhile
            case.status = CaseStatus.CLOSED
            case.closed_at = now
            case.save(update_fields=["status", "closed_at"])
            _event(case, CaseEvent.Kind.CLOSED, actor, status_changed=True)
            closed += 1
    return closed


# A notice still unsent after this long lost its message (a broker restart, a killed worker);
# after RELAY_MAX_AGE it is no longer worth sending.
RELAY_GRACE = timedelta(minutes=5)
RELAY_MAX_AGE = timedelta(days=7)


def unsent_notices(now: datetime | None = None) -> tuple[list[int], list[int]]:
    """Events whose e-mail should have gone out and has not: (to consumers, to leads)."""
    now = now or timezone.now()
    recent = CaseEvent.objects.filter(
        at__lt=now - RELAY_GRACE, at__gte=now - RELAY_MAX_AGE, notification__isnull=True
    )
    consumers = recent.filter(notify_consumer=True).exclude(case__contact_email_enc="")
    leads = recent.filter(kind=CaseEvent.Kind.ESCALATED)
    return (
        list(consumers.values_list("pk", flat=True)[:500]),
        list(leads.values_list("pk", flat=True)[:100]),
    )
