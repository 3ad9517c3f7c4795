"""Writes for anchor and agency files, training records and agency links."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from stdnum.cn import ric

from accounts import crypto, registration
from accounts.actors import Actor
from accounts.models import FileDocument, Party, PartyKind, RegistrationFile
from anchors.models import (
    AgencyMembership,
    AgencyMerchant,
    AnchorProfile,
    GuardianConsent,
    Qualification,
    Sex,
    Topic,
    TrainingRecord,
)
from config.api.lookups import BIGINT_MAX
from merchants.services import business_details

GUARDIAN_ID_CONTEXT = "guardian_consent.id_number"


def identity_from_id_number(number: str) -> tuple[date, str]:
    """Birth date and sex from a resident ID number (GB 11643): digits 7-14 are the birth date,
    the 17th is odd for men and even for women."""
    number = ric.compact(number)
    return ric.get_birth_date(number), Sex.MALE if int(number[16]) % 2 else Sex.FEMALE


@dataclass(frozen=True)
class GuardianData:
    name: str
    relation: str
    id_number: str
    document_id: int | None = None


@dataclass(frozen=True)
class QualificationData:
    topic: str
    name: str
    number: str
    document_id: int | None = None


def _check_documents(file: RegistrationFile, ids: set[int]) -> None:
    # An id no primary key can hold is no document of this file; SQLite cannot even bind it in
    # the IN (...) (an OverflowError), so it is left out of the query and refused below.
    storable = {pk for pk in ids if 0 < pk <= BIGINT_MAX}
    known = set(
        FileDocument.objects.filter(file=file, pk__in=storable).values_list("pk", flat=True)
    )
    if ids - known:
        raise ValidationError(_("A document referred to belongs to another file."))


def _set_guardian(file: RegistrationFile, guardian: GuardianData | None) -> None:
    GuardianConsent.objects.filter(file=file).delete()
    if guardian is None:
        return
    if guardian.document_id:
        _check_documents(file, {guardian.document_id})
    GuardianConsent.objects.create(
        file=file,
        guardian_name=guardian.name.strip(),
        relation=guardian.relation.strip(),
        guardian_id_encrypted=crypto.encrypt(
            guardian.id_number.upper(), context=GUARDIAN_ID_CONTEXT
        ),
        guardian_id_masked=crypto.mask_id_number(guardian.id_number),
        document_id=guardian.document_id,
    )


def _set_qualifications(file: RegistrationFile, items: list[QualificationData]) -> None:
    _check_documents(file, {q.document_id for q in items if q.document_id})
    unknown = [q.topic for q in items if q.topic not in Topic.values]
    if unknown:
        raise ValidationError({"qualifications": _("Unknown topics: %s") % ", ".join(unknown)})
    Qualification.objects.filter(file=file).delete()
    Qualification.objects.bulk_create(
        Qualification(
            file=file, topic=q.topic, name=q.name, number=q.number, document_id=q.document_id
        )
        for q in items
    )


@transaction.atomic
def anchor_file_create(
    *,
    name: str,
    id_number: str,
    contact_phone: str,
    address: str,
    actor: Actor,
    contact_email: str = "",
    birth_date: date | None = None,
    job_title: str = "",
    topics: list[str] | None = None,
    qualifications: list[QualificationData] | None = None,
    guardian: GuardianData | None = None,
    is_ai_presenter: bool = False,
    ai_operator: Party | None = None,
    agency: Party | None = None,
    platform_ref: str = "",
) -> RegistrationFile:
    derived_birth, sex = identity_from_id_number(id_number)
    if birth_date is not None and birth_date != derived_birth:
        raise ValidationError(
            {
                "birth_date": _("The birth date does not match the ID number (%(date)s).")
                % {"date": derived_birth.isoformat()}
            }
        )
    unknown = [t for t in topics or [] if t not in Topic.values]
    if unknown:
        raise ValidationError({"topics": _("Unknown topics: %s") % ", ".join(unknown)})
    file = registration.file_create(
        kind=PartyKind.ANCHOR,
        name=name,
        id_number=id_number,
        contact_phone=contact_phone,
        contact_email=contact_email,
        address=address,
        platform_ref=platform_ref,
        actor=actor,
    )
    profile = AnchorProfile(
        file=file,
        birth_date=derived_birth,
        sex=sex,
        job_title=job_title,
        topics=sorted(set(topics or [])),
        is_ai_presenter=is_ai_presenter,
        ai_operator=ai_operator,
    )
    profile.full_clean(exclude=["file"])
    profile.save()
    _set_qualifications(file, qualifications or [])
    _set_guardian(file, guardian)
    if agency is not None:
        agency_link_anchor(agency=agency, anchor=file.party, actor=actor)
    return file


@transaction.atomic
def anchor_file_update(
    *,
    file: RegistrationFile,
    actor: Actor,
    changes: dict | None = None,
    profile_changes: dict | None = None,
    qualifications: list[QualificationData] | None = None,
    guardian: GuardianData | type[Ellipsis] | None = ...,
) -> RegistrationFile:
    file = registration.file_update(file=file, changes=changes or {}, actor=actor)
    if profile_changes:
        registration.profile_update(
            file.anchor_profile,
            profile_changes,
            allowed=("job_title", "topics", "is_ai_presenter", "ai_operator"),
        )
    if qualifications is not None:
        _set_qualifications(file, qualifications)
    if guardian is not ...:
        _set_guardian(file, guardian)
    return file


def anchor_details(file: RegistrationFile) -> dict:
    profile = getattr(file, "anchor_profile", None)
    consent = GuardianConsent.objects.filter(file=file).first()
    return {
        "birth_date": profile.birth_date if profile else None,
        "sex": profile.sex if profile else "",
        "job_title": profile.job_title if profile else "",
        "topics": list(profile.topics) if profile else [],
        "is_ai_presenter": bool(profile and profile.is_ai_presenter),
        "ai_operator_id": profile.ai_operator_id if profile else None,
        "qualifications": [
            {"topic": q.topic, "name": q.name, "number": q.number, "document_id": q.document_id}
            for q in file.qualifications.all()
        ],
        "guardian_consent": (
            {
                "guardian_name": consent.guardian_name,
                "relation": consent.relation,
                "guardian_id_masked": consent.guardian_id_masked,
                "document_id": consent.document_id,
            }
            if consent
            else None
        ),
        "agency_id": (
            AgencyMembership.objects.filter(anchor_id=file.party_id, ended_at__isnull=True)
            .values_list("agency_id", flat=True)
            .first()
        ),
    }


def agency_details(file: RegistrationFile) -> dict:
    details = business_details(file)
    details["anchor_ids"] = sorted(
        AgencyMembership.objects.filter(agency_id=file.party_id, ended_at__isnull=True).values_list(
            "anchor_id", flat=True
        )
    )
    details["merchant_ids"] = sorted(
        AgencyMerchant.objects.filter(agency_id=file.party_id, ended_at__isnull=True).values_list(
            "merchant_id", flat=True
        )
    )
    return details


# --- agencies --------------------------------------------------------------------------------


@transaction.atomic
def agency_link_anchor(*, agency: Party, anchor: Party, actor: Actor) -> AgencyMembership:
    """Make `agency` the anchor's current agency, ending any previous membership."""
    if agency.kind != PartyKind.AGENCY or anchor.kind != PartyKind.ANCHOR:
        raise ValidationError(_("Link an agency to an anchor."))
    now = timezone.now()
    current = (
        AgencyMembership.objects.select_for_update()
        .filter(anchor=anchor, ended_at__isnull=True)
        .first()
    )
    if current and current.agency_id == agency.pk:
        return current
    if current:
        AgencyMembership.objects.filter(pk=current.pk).update(ended_at=now)
    try:
        with transaction.atomic():
            return AgencyMembership.objects.create(anchor=anchor, agency=agency, started_at=now)
    except IntegrityError:
        raise ValidationError(_("The anchor joined another agency at the same time.")) from None


@transaction.atomic
def agency_link_merchant(*, agency: Party, merchant: Party, actor: Actor) -> AgencyMerchant:
    if agency.kind != PartyKind.AGENCY or merchant.kind != PartyKind.MERCHANT:
        raise ValidationError(_("Link an agency to a merchant."))
    link, _created = AgencyMerchant.objects.get_or_create(
        agency=agency, merchant=merchant, ended_at=None
    )
    return link


@transaction.atomic
def agency_link_merchants(*, agency: Party, merchants: list[Party], actor: Actor) -> None:
    """Link `agency` to each of `merchants` it is not linked to yet, in one read and one insert
    whatever their number (the API takes up to 1000); links already current stay as they are."""
    if agency.kind != PartyKind.AGENCY or any(m.kind != PartyKind.MERCHANT for m in merchants):
        raise ValidationError(_("Link an agency to a merchant."))
    wanted = {m.pk: m for m in merchants}
    linked = set(
        AgencyMerchant.objects.filter(
            agency=agency, merchant_id__in=wanted, ended_at__isnull=True
        ).values_list("merchant_id", flat=True)
    )
    # ignore_conflicts: a link made meanwhile by another request is the one wanted anyway
    # (one_current_link_per_agency_merchant).
    AgencyMerchant.objects.bulk_create(
        [AgencyMerchant(agency=agency, merchant=m) for pk, m in wanted.items() if pk not in linked],
        ignore_conflicts=True,
    )


# --- training (LCM Art. 10) ---------------------------------------------------------------------


# Called after a training record is saved; credit registers here (this layer cannot import it).
_training_listeners: list = []


def on_training_recorded(listener) -> None:
    if listener not in _training_listeners:
        _training_listeners.append(listener)


def training_record(
    *, anchor: Party, kind: str, completed_on: date, provider: str, hours: Decimal, actor: Actor
) -> TrainingRecord:
    if completed_on > timezone.localdate():
        raise ValidationError({"completed_on": _("Training cannot be completed in the future.")})
    record = TrainingRecord(
        anchor=anchor,
        kind=kind,
        completed_on=completed_on,
        provider=provider,
        hours=hours,
        recorded_by=actor.label,
    )
    record.full_clean()
    record.save()
    for listener in _training_listeners:
        listener(record)
    return record
