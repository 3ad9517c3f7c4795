"""Writes for merchant files (and the business part of agency files, which reuse them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts import registration
from accounts.actors import Actor
from accounts.models import FileDocument, PartyKind, RegistrationFile
from config.api.lookups import BIGINT_MAX
from merchants.models import EntityType, Licence, MerchantProfile

# What the platform may change in a business profile after creation.
PROFILE_FIELDS = ("representative", "organisation_form", "registered_address", "categories")


@dataclass(frozen=True)
class LicenceData:
    kind: str
    number: str
    issuer: str
    valid_from: date
    valid_until: date | None = None
    document_id: int | None = None


def _set_licences(file: RegistrationFile, licences: list[LicenceData]) -> None:
    document_ids = {lic.document_id for lic in licences if lic.document_id}
    # An id no primary key can hold is no document of this file; SQLite cannot even bind it in
    # the IN (...) (an OverflowError), so it is left out of the query and refused below.
    storable = {pk for pk in document_ids if 0 < pk <= BIGINT_MAX}
    known = set(
        FileDocument.objects.filter(file=file, pk__in=storable).values_list("pk", flat=True)
    )
    if document_ids - known:
        raise ValidationError({"licences": _("A licence refers to a document of another file.")})
    for licence in licences:
        if licence.valid_until and licence.valid_until < licence.valid_from:
            raise ValidationError({"licences": _("A licence expires before it starts.")})
    Licence.objects.filter(file=file).delete()
    Licence.objects.bulk_create(
        Licence(
            file=file,
            kind=lic.kind,
            number=lic.number.strip(),
            issuer=lic.issuer.strip(),
            valid_from=lic.valid_from,
            valid_until=lic.valid_until,
            document_id=lic.document_id,
        )
        for lic in licences
    )


@transaction.atomic
def business_file_create(
    *,
    kind: str,
    entity_type: str,
    name: str,
    representative: str,
    contact_phone: str,
    address: str,
    actor: Actor,
    credit_code: str = "",
    id_number: str = "",
    contact_email: str = "",
    registered_address: str = "",
    organisation_form: str = "",
    categories: list[str] | None = None,
    licences: list[LicenceData] | None = None,
    platform_ref: str = "",
) -> RegistrationFile:
    """A merchant's file (or an agency's, which is an enterprise's file with anchors)."""
    if entity_type == EntityType.NATURAL_PERSON:
        if kind != PartyKind.MERCHANT:
            raise ValidationError({"entity_type": _("An agency must be a registered business.")})
        if not id_number or credit_code:
            raise ValidationError(
                {"id_number": _("An unregistered natural person gives an ID number.")}
            )
    elif not credit_code or id_number:
        raise ValidationError(
            {"unified_social_credit_code": _("A registered business gives its credit code.")}
        )
    file = registration.file_create(
        kind=kind,
        name=name,
        credit_code=credit_code,
        id_number=id_number,
        contact_phone=contact_phone,
        contact_email=contact_email,
        address=address,
        platform_ref=platform_ref,
        actor=actor,
    )
    profile = MerchantProfile(
        file=file,
        entity_type=entity_type,
        representative=representative.strip(),
        organisation_form=organisation_form,
        registered_address=registered_address,
        categories=sorted(set(categories or [])),
    )
    profile.full_clean()
    profile.save()
    _set_licences(file, licences or [])
    return file


@transaction.atomic
def business_file_update(
    *,
    file: RegistrationFile,
    actor: Actor,
    changes: dict | None = None,
    profile_changes: dict | None = None,
    licences: list[LicenceData] | None = None,
) -> RegistrationFile:
    """Change the working version; an approved file gets a new version (LCM Art. 15)."""
    file = registration.file_update(file=file, changes=changes or {}, actor=actor)
    if profile_changes:
        if "categories" in profile_changes:
            profile_changes = {
                **profile_changes,
                "categories": sorted(set(profile_changes["categories"])),
            }
        registration.profile_update(file.merchant_profile, profile_changes, allowed=PROFILE_FIELDS)
    if licences is not None:
        _set_licences(file, licences)
    return file


def business_details(file: RegistrationFile) -> dict:
    """What the entry checks and the sealed snapshot see of a business file."""
    profile = getattr(file, "merchant_profile", None)
    return {
        "entity_type": profile.entity_type if profile else "",
        "representative": profile.representative if profile else "",
        "organisation_form": profile.organisation_form if profile else "",
        "registered_address": profile.registered_address if profile else "",
        "categories": list(profile.categories) if profile else [],
        "licences": [
            {
                "kind": lic.kind,
                "number": lic.number,
                "issuer": lic.issuer,
                "valid_from": lic.valid_from,
                "valid_until": lic.valid_until,
                "document_id": lic.document_id,
            }
            for lic in file.licences.all()
        ],
    }


# --- products --------------------------------------------------------------------------------


def product_register(
    *,
    merchant,
    platform_ref: str,
    title: str,
    category: str,
    actor: Actor,
    ccc_certificate: str = "",
    ccc_valid_until: date | None = None,
    ad_review_number: str = "",
    ad_review_valid_until: date | None = None,
):
    """Add or update a merchant's product as the platform lists it (keyed by its reference)."""
    from merchants.models import Product

    if merchant.kind != PartyKind.MERCHANT:
        raise ValidationError({"merchant": _("Products belong to merchants.")})
    product, _created = Product.objects.update_or_create(
        merchant=merchant,
        platform_ref=platform_ref,
        defaults={
            "title": title.strip(),
            "category": category,
            "ccc_certificate": ccc_certificate,
            "ccc_valid_until": ccc_valid_until,
            "ad_review_number": ad_review_number,
            "ad_review_valid_until": ad_review_valid_until,
        },
    )
    return product


def product_set_listing_status(*, product, status: str, actor: Actor):
    """Restrict or remove a product (standard measures 2 and 3), or list it again."""
    from merchants.models import ListingStatus, Product

    if status not in ListingStatus.values:
        raise ValidationError({"listing_status": _("Unknown listing status.")})
    Product.objects.filter(pk=product.pk).update(listing_status=status)
    product.listing_status = status
    return product
