"""Violations: raised (by a complaint, an inspection, an alert or a reviewer), evidenced,
confirmed or dismissed."""

from __future__ import annotations

import codecs
import hashlib
import mimetypes
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.actors import Actor
from accounts.models import Party
from config.errors import Conflict
from enforcement.models import (
    CatalogueStatus,
    Evidence,
    EvidenceKind,
    Violation,
    ViolationEvent,
    ViolationSource,
    ViolationStatus,
    ViolationType,
)
from enforcement.services import credit_events
from enforcement.services.base import require_person, violation_event

# Evidence files: what a reviewer exports from the platform -- screenshots, replay clips, chat
# logs, documents. Checked by their first bytes, not by the name the browser sends.
EVIDENCE_SIGNATURES = {
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
    b"%PDF-": "application/pdf",
    b"RIFF": "image/webp",  # checked further below: RIFF....WEBP
}
MP4_BRAND = b"ftyp"


SNIFF_BYTES = 1024


def _sniff(head: bytes, *, whole: bool) -> str | None:
    """The content type of a file by its first bytes (`whole`: they are the entire file)."""
    for signature, content_type in EVIDENCE_SIGNATURES.items():
        if head.startswith(signature):
            if content_type == "image/webp" and head[8:12] != b"WEBP":
                return None
            return content_type
    if head[4:8] == MP4_BRAND:
        return "video/mp4"
    try:
        # A cut-off head may end inside a character (Chinese takes three bytes in UTF-8): the
        # incremental decoder holds those bytes back instead of refusing the file.
        text = codecs.getincrementaldecoder("utf-8")().decode(head, final=whole)
    except UnicodeDecodeError:
        return None
    # Plain text (chat logs, transcripts) -- but never binary that happens to decode (a NUL is
    # in nearly every binary format's first kilobyte and in no text), nor markup a browser would
    # render.
    if "\x00" in text or text.lstrip("\ufeff").lstrip()[:1] == "<":
        return None
    return "text/plain"


def store_evidence_file(upload) -> tuple[str, str, str, int]:
    """Validate and store an evidence file; returns (stored name, content type, digest, size).

    The file is streamed in chunks with a size cap, hashed as it is read, and stored under a
    random name: the digest is of exactly the stored bytes.
    """
    limit = settings.ENFORCEMENT_EVIDENCE_MAX_BYTES
    size = getattr(upload, "size", None)
    if size is not None and size > limit:
        raise ValidationError(
            {"file": _("The file is larger than %(mb)s MB.") % {"mb": limit // (1024 * 1024)}}
        )
    digest = hashlib.sha256()
    chunks: list[bytes] = []
    total = 0
    for chunk in upload.chunks() if hasattr(upload, "chunks") else [upload.read()]:
        total += len(chunk)
        if total > limit:
            raise ValidationError(
                {"file": _("The file is larger than %(mb)s MB.") % {"mb": limit // (1024 * 1024)}}
            )
        digest.update(chunk)
        chunks.append(chunk)
    data = b"".join(chunks)
    if not data:
        raise ValidationError({"file": _("The file is empty.")})
    content_type = _sniff(data[:SNIFF_BYTES], whole=len(data) <= SNIFF_BYTES)
    if content_type is None:
        raise ValidationError(
            {"file": _("Upload a PNG, JPEG or WebP image, a PDF, an MP4 video or a text file.")}
        )
    extension = mimetypes.guess_extension(content_type) or ".bin"
    name = default_storage.save(f"evidence/{uuid.uuid4().hex}{extension}", ContentFile(data))
    return name, content_type, digest.hexdigest(), total


@transaction.atomic
def violation_raise(
    *,
    party: Party,
    source: str,
    facts: str,
    actor: Actor,
    vtype: ViolationType | None = None,
    occurred_at=None,
    session=None,
    case=None,
    inspection=None,
) -> Violation:
    """Record a suspected violation. Complaints and inspections raise one each, once; a person
    raising one needs the permission (the listeners act as the system)."""
    if actor.user is not None:
        require_person(actor, "enforcement.add_violation")
    if source not in ViolationSource.values:
        raise ValidationError({"source": _("Unknown source.")})
    if not facts.strip():
        raise ValidationError({"facts": _("Describe the facts.")})
    if vtype is not None and vtype.status != CatalogueStatus.PUBLISHED:
        raise ValidationError({"type": _("Choose a violation type in force.")})
    violation = Violation(
        party=party,
        type=vtype,
        source=source,
        facts=facts.strip(),
        occurred_at=occurred_at,
        session=session,
        case=case,
        inspection=inspection,
        created_by=actor.label,
    )
    try:
        with transaction.atomic():
            violation.save()
    except IntegrityError:
        raise Conflict(_("This complaint or inspection has raised a violation already.")) from None
    violation_event(violation, ViolationEvent.Kind.RAISED, actor, source=source)
    if case is not None:
        evidence_link(violation=violation, case=case, actor=actor)
    if inspection is not None:
        evidence_link(violation=violation, inspection=inspection, actor=actor)
    return violation


@transaction.atomic
def evidence_add_file(*, violation: Violation, upload, description: str, actor: Actor) -> Evidence:
    require_person(actor, "enforcement.add_evidence")
    if not description.strip():
        raise ValidationError({"description": _("Say what the file shows.")})
    name, content_type, digest, size = store_evidence_file(upload)
    try:
        evidence = Evidence.objects.create(
            violation=violation,
            kind=EvidenceKind.FILE,
            description=description.strip()[:300],
            file=name,
            file_name=str(getattr(upload, "name", "") or "")[:200],
            content_type=content_type,
            size=size,
            sha256=digest,
            added_by=actor.label,
        )
        violation_event(
            violation,
            ViolationEvent.Kind.EVIDENCE_ADDED,
            actor,
            evidence_id=evidence.pk,
            sha256=digest,
            size=size,
        )
    except BaseException:
        default_storage.delete(name)
        raise
    return evidence


@transaction.atomic
def evidence_link(
    *,
    violation: Violation,
    actor: Actor,
    case=None,
    alert=None,
    inspection=None,
    reference: str = "",
    description: str = "",
) -> Evidence:
    """Point at a record the product already keeps: a complaint, an alert, an inspection, or a
    platform record by its reference."""
    if actor.user is not None:
        require_person(actor, "enforcement.add_evidence")
    given = [x for x in (case, alert, inspection) if x is not None]
    if len(given) + bool(reference.strip()) != 1:
        raise ValidationError(_("Link exactly one record."))
    if case is not None:
        kind, text = EvidenceKind.COMPLAINT, description or _("Complaint %s") % case.tracking_code
    elif alert is not None:
        kind, text = EvidenceKind.ALERT, description or alert.excerpt[:200]
    elif inspection is not None:
        kind, text = EvidenceKind.INSPECTION, description or inspection.findings[:200]
    else:
        if not description.strip():
            raise ValidationError({"description": _("Say what the record shows.")})
        kind, text = EvidenceKind.LINK, description
    evidence = Evidence.objects.create(
        violation=violation,
        kind=kind,
        description=(text or kind)[:300],
        case=case,
        alert=alert,
        inspection=inspection,
        reference=reference.strip()[:200],
        added_by=actor.label,
    )
    violation_event(
        violation,
        ViolationEvent.Kind.EVIDENCE_ADDED,
        actor,
        evidence_id=evidence.pk,
        evidence_kind=kind,
    )
    return evidence


@transaction.atomic
def violation_confirm(
    *, violation: Violation, vtype: ViolationType, actor: Actor, note: str = ""
) -> Violation:
    require_person(actor, "enforcement.change_violation")
    violation = Violation.objects.select_for_update().get(pk=violation.pk)
    if violation.status != ViolationStatus.SUSPECTED:
        raise Conflict(_("Only a suspected violation can be confirmed."))
    if vtype.status != CatalogueStatus.PUBLISHED:
        raise ValidationError({"type": _("Choose a violation type in force.")})
    violation.type = vtype
    violation.status = ViolationStatus.CONFIRMED
    violation.confirmed_at = timezone.now()
    violation.confirmed_by = actor.user
    violation.save(update_fields=["type", "status", "confirmed_at", "confirmed_by"])
    violation_event(
        violation,
        ViolationEvent.Kind.CONFIRMED,
        actor,
        note,
        type=vtype.code,
        type_version=vtype.version,
    )
    credit_events.violation_confirmed(violation)
    return violation


@transaction.atomic
def violation_dismiss(*, violation: Violation, reason: str, actor: Actor) -> Violation:
    require_person(actor, "enforcement.change_violation")
    if not reason.strip():
        raise ValidationError({"reason": _("Give the reason for dismissing it.")})
    violation = Violation.objects.select_for_update().get(pk=violation.pk)
    if violation.status != ViolationStatus.SUSPECTED:
        raise Conflict(_("Only a suspected violation can be dismissed."))
    violation.status = ViolationStatus.DISMISSED
    violation.dismissed_reason = reason.strip()
    violation.save(update_fields=["status", "dismissed_reason"])
    violation_event(violation, ViolationEvent.Kind.DISMISSED, actor, reason.strip())
    return violation


# --- listeners: complaints and inspections raise suspected violations ---------------------------


def raise_from_case(case) -> None:
    """A complaint decided "violation confirmed" raises a suspected violation for each party it
    names, for a reviewer to type and take measures on (DESIGN flow 3)."""
    from complaints.models import Outcome

    if case.outcome != Outcome.VIOLATION_CONFIRMED:
        return
    actor = Actor.system("complaints.case_decided")
    for party_id in {case.merchant_id, case.anchor_id} - {None}:
        if Violation.objects.filter(case=case, party_id=party_id, source="complaint").exists():
            continue
        violation_raise(
            party=Party.objects.get(pk=party_id),
            source=ViolationSource.COMPLAINT,
            facts=(case.outcome_note or case.facts)[:5000],
            actor=actor,
            session=case.session,
            case=case,
        )


def raise_from_inspection(inspection) -> None:
    """An inspection that suspects a violation raises one against the room's owner, linked to
    the session and the inspection, for triage (issue 4's hand-over to enforcement)."""
    from liverooms.models import InspectionResult

    if inspection.result != InspectionResult.VIOLATION_SUSPECTED:
        return
    session = inspection.session
    violation_raise(
        party=session.room.owner,
        source=ViolationSource.INSPECTION,
        facts=inspection.findings,
        actor=Actor.for_user(inspection.inspector),
        occurred_at=inspection.at,
        session=session,
        inspection=inspection,
    )
