"""The merchants' entry checks (see accounts.entry_checks)."""

from collections.abc import Iterable

from django.utils.translation import gettext as _

from accounts.entry_checks import Candidate, Failure, entry_check
from accounts.models import PartyKind
from merchants.models import REQUIRED_LICENCES, Category, EntityType, LicenceKind

KINDS = (PartyKind.MERCHANT, PartyKind.AGENCY)


@entry_check("licences_required", kinds=KINDS)
def required_licences(candidate: Candidate) -> Iterable[Failure]:
    """A registered business shows its business licence; regulated categories their permits."""
    details = candidate.details
    held = {licence["kind"] for licence in details.get("licences", [])}
    needed: set[str] = set()
    if details.get("entity_type", EntityType.ENTERPRISE) != EntityType.NATURAL_PERSON:
        needed.add(LicenceKind.BUSINESS)
    for category in details.get("categories", []):
        needed.update(REQUIRED_LICENCES.get(category, ()))
    return [
        Failure(
            "licence_missing",
            _("A %(licence)s is required.") % {"licence": LicenceKind(kind).label},
            "licences",
        )
        for kind in sorted(needed - held)
    ]


@entry_check("licences_valid", kinds=KINDS)
def licences_valid(candidate: Candidate) -> Iterable[Failure]:
    failures = []
    for licence in candidate.details.get("licences", []):
        label = LicenceKind(licence["kind"]).label
        if licence["valid_from"] > candidate.today:
            failures.append(
                Failure(
                    "licence_not_yet_valid",
                    _("The %(licence)s %(number)s is not valid before %(date)s.")
                    % {
                        "licence": label,
                        "number": licence["number"],
                        "date": licence["valid_from"].isoformat(),
                    },
                    "licences",
                )
            )
        until = licence["valid_until"]
        if until is not None and until < candidate.today:
            failures.append(
                Failure(
                    "licence_expired",
                    _("The %(licence)s %(number)s expired on %(date)s.")
                    % {"licence": label, "number": licence["number"], "date": until.isoformat()},
                    "licences",
                )
            )
    return failures


@entry_check("categories_known", kinds=(PartyKind.MERCHANT,))
def categories_known(candidate: Candidate) -> Iterable[Failure]:
    unknown = [c for c in candidate.details.get("categories", []) if c not in Category.values]
    if unknown:
        return [Failure("category_unknown", _("Unknown categories: %s") % ", ".join(unknown))]
    if not candidate.details.get("categories"):
        return [
            Failure("category_missing", _("Name at least one business category."), "categories")
        ]
    return []
