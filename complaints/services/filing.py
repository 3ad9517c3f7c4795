"""Filing a complaint or report, from the public form or forwarded by the platform, and adding
evidence."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import crypto
from accounts.actors import Actor
from accounts.models import Party, PartyKind
from accounts.uploads import CleanImage, store_image
from complaints.models import (
    Case,
    CaseEvent,
    CaseKind,
    CaseStatus,
    Evidence,
    ReporterReputation,
    Source,
)
from complaints.services.assignment import case_assign_round_robin
from complaints.services.base import (
    DUPLICATE_WINDOW,
    MAX_EVIDENCE,
    MAX_FORWARD_AGE,
    files_removed_on_failure,
    lock_case,
    record_event,
    resolution_working_days,
    stored_files,
)
from complaints.services.contacts import (
    contact_key,
    fold_width,
    new_tracking_code,
    normalise_email,
)
from complaints.services.counts import complainant_counts
from complaints.services.deadlines import compute_dues
from config.errors import Conflict


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
    """A report or complaint about a session concerns its operator too: the room's owner when
    it went live, not whoever owns the room now."""
    if data.session is None:
        return
    owner = data.session.owner
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


@dataclass(frozen=True)
class Filed:
    case: Case
    created: bool  # False when the platform forwarded the same complaint again


@files_removed_on_failure
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
        contact_phone_enc=crypto.encrypt(
            fold_width(data.contact_phone).strip(), context="complaints.phone"
        )
        if data.contact_phone.strip()
        else "",
        contact_key=contact_key(email=data.contact_email, phone=data.contact_phone),
        resolution_working_days=resolution_working_days(),
    )
    compute_dues(case)
    for _attempt in range(5):
        case.tracking_code = new_tracking_code(data.kind)
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
        add_evidence(case, image, added_by="api" if source == Source.API else "consumer")
    duplicate = _find_duplicate(case)
    if duplicate is not None:
        case.possible_duplicate_of = duplicate
        case.save(update_fields=["possible_duplicate_of"])
    if case.contact_key:
        _count_filing(case.contact_key)
    record_event(
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


def _count_filing(contact_key: str) -> None:
    """One more case filed by this contact: one UPDATE for a contact seen before."""
    reputations = ReporterReputation.objects.filter(contact_key=contact_key)
    if reputations.update(filed=F("filed") + 1):
        return
    _reputation, created = ReporterReputation.objects.get_or_create(
        contact_key=contact_key, defaults={"filed": 1}
    )
    if not created:  # another filing by the same contact created it at this moment
        reputations.update(filed=F("filed") + 1)


def _regrade_if_concentrated(case: Case) -> None:
    """Concentrated complaints raise the party's rooms at once, not at the nightly regrade."""
    from liverooms.models import LiveRoom
    from liverooms.services import rooms_regrade

    parties = [pk for pk in (case.merchant_id, case.anchor_id) if pk]
    # Each party is counted in its own column: a merchant is never a case's anchor.
    counts = {}
    if case.merchant_id:
        counts |= complainant_counts([case.merchant_id], columns=("merchant",))
    if case.anchor_id:
        counts |= complainant_counts([case.anchor_id], columns=("anchor",))
    crossed = [
        pk for pk in parties if counts.get(pk, 0) >= settings.COMPLAINT_CONCENTRATION_THRESHOLD
    ]
    if crossed:
        room_ids = list(LiveRoom.objects.filter(owner_id__in=crossed).values_list("pk", flat=True))
        if room_ids:
            rooms_regrade(room_ids=room_ids)


def add_evidence(case: Case, image: CleanImage, *, added_by: str) -> Evidence | None:
    if Evidence.objects.filter(case=case, sha256=image.sha256).exists():
        return None
    name = store_image(image, folder="complaints")
    if getattr(stored_files, "names", None) is not None:
        stored_files.names.append(name)
    return Evidence.objects.create(
        case=case,
        file=name,
        sha256=image.sha256,
        content_type=image.content_type,
        width=image.width,
        height=image.height,
        added_by=added_by,
    )


@files_removed_on_failure
@transaction.atomic
def case_add_evidence(
    *, case: Case, images: list[CleanImage], actor: Actor, added_by: str
) -> list[Evidence]:
    case = lock_case(case)
    if case.status in (CaseStatus.MERGED, CaseStatus.WITHDRAWN, CaseStatus.CLOSED):
        raise Conflict(_("This case is closed; evidence can no longer be added."))
    if case.evidence.count() + len(images) > MAX_EVIDENCE:
        raise ValidationError(
            {"evidence": _("A case holds at most %(n)d images.") % {"n": MAX_EVIDENCE}}
        )
    added = [e for e in (add_evidence(case, image, added_by=added_by) for image in images) if e]
    if added:
        record_event(case, CaseEvent.Kind.EVIDENCE_ADDED, actor, data={"count": len(added)})
    return added
