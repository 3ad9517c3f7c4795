"""Violations: raised (by a complaint, an inspection, an alert or a reviewer), evidenced,
confirmed or dismissed."""

from __future__ import annotations

from django.core.exceptions import ValidationError
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
from enforcement.services.evidence_files import store_evidence_file, uploaded_name


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
            file_name=uploaded_name(upload),
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
    """An inspection that suspects a violation raises one against the session's operator (the
    room's owner when it went live), linked to the session and the inspection, for triage
    (issue 4's hand-over to enforcement)."""
    from liverooms.models import InspectionResult

    if inspection.result != InspectionResult.VIOLATION_SUSPECTED:
        return
    session = inspection.session
    violation_raise(
        party=session.owner,
        source=ViolationSource.INSPECTION,
        facts=inspection.findings,
        actor=Actor.for_user(inspection.inspector),
        occurred_at=inspection.at,
        session=session,
        inspection=inspection,
    )
