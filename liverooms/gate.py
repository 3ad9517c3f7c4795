"""The go-live gate: may this room go on air now, with these anchors and these products?

It is the platform's hot path, asked before every stream, so everything the checks read is
loaded up front in a fixed number of queries -- however many anchors and products are involved --
and each check is a pure function of that context. All reasons are reported together, each as a
machine code and a message. Like the entry checks, the gate is a registry: credit and the deposit
ledger add their checks when their apps load.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Party, PartyKind, Restriction, RestrictionKind
from anchors.checks import ADULT_AGE, MINIMUM_AGE, age_on
from anchors.models import TrainingKind, TrainingRecord
from merchants.models import (
    AD_REVIEW_CATEGORIES,
    CCC_CATEGORIES,
    REQUIRED_LICENCES,
    Licence,
    LicenceKind,
    ListingStatus,
    Product,
)

# Restrictions that keep a party off the air (LCM Arts. 12 and 14).
BARRING_LIVE = (RestrictionKind.LIVE, RestrictionKind.ACCOUNT, RestrictionKind.BLACKLIST)
# LCM Art. 10: trained before the first stream and every year.
TRAINING_VALID_DAYS = 365


@dataclass(frozen=True)
class Reason:
    code: str
    message: str
    party_id: int | None = None
    product_id: int | None = None

    def as_dict(self) -> dict:
        data = {"code": self.code, "message": self.message}
        if self.party_id is not None:
            data["party_id"] = self.party_id
        if self.product_id is not None:
            data["product_id"] = self.product_id
        return data


@dataclass
class GateContext:
    """Everything the checks may read, loaded by `load_context` in a fixed number of queries."""

    now: datetime
    today: date
    owner: Party
    anchors: list[Party]
    products: list[Product]
    ai_generated: bool
    parties: dict[int, Party] = field(default_factory=dict)
    restrictions: list[Restriction] = field(default_factory=list)
    training: dict[tuple[int, str], date] = field(default_factory=dict)
    licences: dict[int, list[Licence]] = field(default_factory=dict)
    # Filled by checks registered from other apps (credit grade, deposit) through `loaders`.
    extra: dict = field(default_factory=dict)

    @property
    def merchants(self) -> list[Party]:
        seen = {p.merchant_id for p in self.products}
        return [self.parties[pk] for pk in sorted(seen) if pk in self.parties]

    def involved(self) -> list[Party]:
        ids = {
            self.owner.pk,
            *(a.pk for a in self.anchors),
            *(p.merchant_id for p in self.products),
        }
        return [self.parties[pk] for pk in sorted(ids) if pk in self.parties]


Check = Callable[[GateContext], Iterable[Reason]]
Loader = Callable[[GateContext], None]
_checks: dict[str, Check] = {}
_loaders: list[Loader] = []


def gate_check(code: str) -> Callable[[Check], Check]:
    def register(function: Check) -> Check:
        _checks[code] = function
        return function

    return register


def gate_loader(function: Loader) -> Loader:
    """Register a function that loads what an app's checks need into `context.extra` (in a
    fixed number of queries for all the involved parties)."""
    _loaders.append(function)
    return function


def load_context(
    *, owner: Party, anchors: list[Party], products: list[Product], ai_generated: bool
) -> GateContext:
    now = timezone.now()
    context = GateContext(
        now=now,
        today=timezone.localdate(now),
        owner=owner,
        anchors=anchors,
        products=products,
        ai_generated=ai_generated,
    )
    ids = {owner.pk, *(a.pk for a in anchors), *(p.merchant_id for p in products)}
    # 1. The parties with their sealed files' anchor parts (reverse one-to-ones join in).
    context.parties = {
        p.pk: p
        for p in Party.objects.filter(pk__in=ids).select_related(
            "registration_file__anchor_profile", "registration_file__guardian_consent"
        )
    }
    # 2. Restrictions in force that keep anyone involved off the air.
    context.restrictions = list(
        Restriction.objects.in_force(now).filter(party_id__in=ids, kind__in=BARRING_LIVE)
    )
    # 3. The latest training of each kind per anchor.
    context.training = {
        (row["anchor_id"], row["kind"]): row["latest"]
        for row in TrainingRecord.objects.filter(anchor_id__in=[a.pk for a in anchors])
        .values("anchor_id", "kind")
        .annotate(latest=Max("completed_on"))
    }
    # 4. The merchants' licences, for the products' categories.
    merchant_ids = {p.merchant_id for p in products}
    for licence in Licence.objects.filter(file__party_id__in=merchant_ids).select_related("file"):
        context.licences.setdefault(licence.file.party_id, []).append(licence)
    for loader in _loaders:
        loader(context)
    return context


def decide(context: GateContext) -> list[Reason]:
    reasons: list[Reason] = []
    for check in _checks.values():
        reasons.extend(check(context))
    return reasons


# --- the checks --------------------------------------------------------------------------------


@gate_check("approval")
def _approved(context: GateContext) -> Iterable[Reason]:
    """Everyone involved holds an approved, sealed registration file in force (LCM Art. 8)."""
    for party in context.involved():
        if party.approved_at is None:
            yield Reason(
                "party_not_approved",
                _("%(party)s has no approved registration file.") % {"party": party.name},
                party_id=party.pk,
            )
        elif party.reverification_due_at and party.reverification_due_at < context.now:
            yield Reason(
                "reverification_overdue",
                _("%(party)s is overdue for its 6-monthly re-verification.")
                % {"party": party.name},
                party_id=party.pk,
            )


@gate_check("restrictions")
def _restrictions(context: GateContext) -> Iterable[Reason]:
    names = {pk: party.name for pk, party in context.parties.items()}
    for restriction in context.restrictions:
        until = (
            timezone.localtime(restriction.ends_at).strftime("%Y-%m-%d %H:%M")
            if restriction.ends_at
            else _("further notice")
        )
        yield Reason(
            f"restriction_{restriction.kind}",
            _("%(party)s is under a %(kind)s restriction until %(until)s.")
            % {
                "party": names.get(restriction.party_id, restriction.party_id),
                "kind": restriction.get_kind_display(),
                "until": until,
            },
            party_id=restriction.party_id,
        )


@gate_check("anchors")
def _anchors(context: GateContext) -> Iterable[Reason]:
    for anchor in context.anchors:
        party = context.parties.get(anchor.pk, anchor)
        if party.kind != PartyKind.ANCHOR:
            yield Reason(
                "not_an_anchor",
                _("%(party)s is not an anchor.") % {"party": party.name},
                party_id=party.pk,
            )
            continue
        file = getattr(party, "registration_file", None)
        profile = getattr(file, "anchor_profile", None) if file else None
        if profile is not None:
            age = age_on(profile.birth_date, context.today)
            if age < MINIMUM_AGE:
                yield Reason(
                    "anchor_under_age",
                    _("%(party)s is under 16.") % {"party": party.name},
                    party_id=party.pk,
                )
            elif age < ADULT_AGE and getattr(file, "guardian_consent", None) is None:
                yield Reason(
                    "guardian_consent_missing",
                    _("%(party)s is under 18 and has no guardian's consent on file.")
                    % {"party": party.name},
                    party_id=party.pk,
                )
        first = context.training.get((party.pk, TrainingKind.BEFORE_FIRST_STREAM))
        if first is None:
            yield Reason(
                "training_missing",
                _("%(party)s has not completed the training required before a first stream.")
                % {"party": party.name},
                party_id=party.pk,
            )
            continue
        latest = max(d for (pk, _kind), d in context.training.items() if pk == party.pk)
        if latest < context.today - timedelta(days=TRAINING_VALID_DAYS):
            yield Reason(
                "training_expired",
                _("%(party)s's yearly training is overdue (last on %(date)s).")
                % {"party": party.name, "date": latest.isoformat()},
                party_id=party.pk,
            )


@gate_check("ai_label")
def _ai_label(context: GateContext) -> Iterable[Reason]:
    """LCM Art. 37: a stream with an AI-generated presenter carries the label throughout."""
    for anchor in context.anchors:
        party = context.parties.get(anchor.pk, anchor)
        file = getattr(party, "registration_file", None)
        profile = getattr(file, "anchor_profile", None) if file else None
        if profile is not None and profile.is_ai_presenter and not context.ai_generated:
            yield Reason(
                "ai_label_missing",
                _("%(party)s is an AI-generated presenter: the stream must be labelled as such.")
                % {"party": party.name},
                party_id=party.pk,
            )


def _valid(until: date | None, today: date) -> bool:
    return until is None or until >= today


@gate_check("products")
def _products(context: GateContext) -> Iterable[Reason]:
    for product in context.products:
        if product.listing_status != ListingStatus.LISTED:
            yield Reason(
                f"product_{product.listing_status}",
                _("%(product)s is %(status)s and may not be shown live.")
                % {"product": product.title, "status": product.get_listing_status_display()},
                product_id=product.pk,
            )
        held = context.licences.get(product.merchant_id, [])
        for kind in REQUIRED_LICENCES.get(product.category, ()):
            licences = [lic for lic in held if lic.kind == kind]
            if not licences:
                yield Reason(
                    "licence_missing",
                    _("Selling %(product)s needs a %(licence)s.")
                    % {"product": product.title, "licence": LicenceKind(kind).label},
                    party_id=product.merchant_id,
                    product_id=product.pk,
                )
            elif not any(_valid(lic.valid_until, context.today) for lic in licences):
                yield Reason(
                    "licence_expired",
                    _("The %(licence)s needed for %(product)s has expired.")
                    % {"product": product.title, "licence": LicenceKind(kind).label},
                    party_id=product.merchant_id,
                    product_id=product.pk,
                )
        if product.category in CCC_CATEGORIES and not (
            product.ccc_certificate and _valid(product.ccc_valid_until, context.today)
        ):
            yield Reason(
                "conformity_missing",
                _("%(product)s has no valid CCC certificate (LCM Art. 27).")
                % {"product": product.title},
                product_id=product.pk,
            )
        if product.category in AD_REVIEW_CATEGORIES and not (
            product.ad_review_number and _valid(product.ad_review_valid_until, context.today)
        ):
            yield Reason(
                "ad_review_missing",
                _("%(product)s needs a valid advertising review approval before it is sold live.")
                % {"product": product.title},
                product_id=product.pk,
            )
