"""The catalogue of violation types: drafts, publication, new versions."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.actors import Actor
from config.errors import Conflict
from enforcement.models import (
    CatalogueStatus,
    MeasureKind,
    Severity,
    ViolationType,
)
from enforcement.services.base import require_person

CATALOGUE_FIELDS = (
    "name",
    "name_en",
    "description",
    "severity",
    "legal_basis",
    "allowed_measures",
    "default_measures",
    "default_term_days",
    "max_deduction_fen",
    "default_deduction_fen",
    "credit_points",
    "dsa_category",
    "illegal",
)


def validate_type(vtype: ViolationType) -> None:
    """Every rule a version must satisfy before it is saved or published."""
    errors: dict[str, str] = {}
    if vtype.severity not in Severity.values:
        errors["severity"] = _("Choose a severity.")
    allowed = vtype.allowed_measures
    defaults = vtype.default_measures
    if not isinstance(allowed, list) or not allowed:
        errors["allowed_measures"] = _("Allow at least one measure.")
    elif unknown := [m for m in allowed if m not in MeasureKind.values]:
        errors["allowed_measures"] = _("Unknown measures: %s") % ", ".join(map(str, unknown))
    if not isinstance(defaults, list):
        errors["default_measures"] = _("Give a list of measures.")
    elif isinstance(allowed, list) and (stray := [m for m in defaults if m not in allowed]):
        errors["default_measures"] = _("Default measures must be allowed: %s") % ", ".join(
            map(str, stray)
        )
    if (
        vtype.default_deduction_fen is not None
        and vtype.max_deduction_fen is not None
        and vtype.default_deduction_fen > vtype.max_deduction_fen
    ):
        errors["default_deduction_fen"] = _("The default deduction exceeds the largest allowed.")
    if not vtype.legal_basis.strip():
        errors["legal_basis"] = _("Give the legal basis.")
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def type_create(*, code: str, actor: Actor, **fields) -> ViolationType:
    """A new type, as a draft version 1."""
    require_person(actor, "enforcement.add_violationtype")
    if ViolationType.objects.filter(code=code).exists():
        raise ValidationError({"code": _("A violation type with this code exists already.")})
    vtype = ViolationType(code=code, version=1, created_by=actor.label, **fields)
    vtype.full_clean()
    validate_type(vtype)
    vtype.save()
    return vtype


@transaction.atomic
def type_update(*, vtype: ViolationType, actor: Actor, **fields) -> ViolationType:
    """Edit a draft. A published or retired version is never edited: violations were judged
    under it; a change is a new version."""
    require_person(actor, "enforcement.change_violationtype")
    if unknown := set(fields) - set(CATALOGUE_FIELDS):
        raise ValueError(f"not catalogue fields: {sorted(unknown)}")
    vtype = ViolationType.objects.select_for_update().get(pk=vtype.pk)
    if vtype.status != CatalogueStatus.DRAFT:
        raise Conflict(_("Only a draft can be edited; make a new version to change this one."))
    for name, value in fields.items():
        setattr(vtype, name, value)
    vtype.full_clean()
    validate_type(vtype)
    vtype.save(update_fields=[*fields])
    return vtype


@transaction.atomic
def type_new_version(*, vtype: ViolationType, actor: Actor) -> ViolationType:
    """A draft copy of a version, to edit and publish; at most one draft per code."""
    require_person(actor, "enforcement.add_violationtype")
    if ViolationType.objects.filter(code=vtype.code, status=CatalogueStatus.DRAFT).exists():
        raise Conflict(_("A draft of this violation type exists already: edit that one."))
    latest = ViolationType.objects.filter(code=vtype.code).aggregate(v=Max("version"))["v"]
    draft = ViolationType(
        code=vtype.code,
        version=latest + 1,
        created_by=actor.label,
        **{name: getattr(vtype, name) for name in CATALOGUE_FIELDS},
    )
    try:
        with transaction.atomic():
            draft.save()
    except IntegrityError:
        raise Conflict(_("Someone created a version of this type at the same moment.")) from None
    return draft


@transaction.atomic
def type_publish(*, vtype: ViolationType, actor: Actor) -> ViolationType:
    """Put a draft in force; the version before it is retired. Violations already judged keep
    pointing at the version they were judged under."""
    require_person(actor, "enforcement.change_violationtype")
    vtype = ViolationType.objects.select_for_update().get(pk=vtype.pk)
    if vtype.status != CatalogueStatus.DRAFT:
        raise Conflict(_("Only a draft can be published."))
    validate_type(vtype)
    ViolationType.objects.filter(code=vtype.code, status=CatalogueStatus.PUBLISHED).update(
        status=CatalogueStatus.RETIRED
    )
    vtype.status = CatalogueStatus.PUBLISHED
    vtype.published_at = timezone.now()
    vtype.published_by = actor.label
    vtype.save(update_fields=["status", "published_at", "published_by"])
    return vtype
