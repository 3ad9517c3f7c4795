"""The go-live gate: may this room go on air now, with these anchors and these products?

It is the platform's hot path, asked before every stream (the target: 1,000 decisions a second on
two cores, bench/README.md). So everything the checks read -- the room, the parties with their
files, anchor profiles and guardians' consents, the products, the restrictions in force, the
training and the licences -- comes back from one SQL statement, whatever the number of anchors and
products, and each check is a pure function of that context. All reasons are reported together,
each as a machine code and a message. Like the entry checks, the gate is a registry: credit and the
deposit ledger add their checks (`gate_check`), the rows those checks read to the one statement
(`gate_read`), and what they make of them (`gate_loader`) when their apps load.

What the gate reads of a file is the version in force (LCM Arts. 8 and 15): a change to an
approved file opens a new version that takes effect only once a reviewer approves it, so while
one is pending the licences, the anchor's profile and the guardian's consent come from the sealed
snapshot of the approved version, not from the rows being edited.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.db.models.base import ModelState
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import (
    FileStatus,
    FileVersion,
    Party,
    PartyKind,
    RegistrationFile,
    Restriction,
    RestrictionKind,
)
from anchors.checks import ADULT_AGE, MINIMUM_AGE, age_on
from anchors.models import AnchorProfile, GuardianConsent, TrainingKind, TrainingRecord
from credit.models import CreditScore
from liverooms import prepared, review
from liverooms.models import LiveRoom
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
    """Everything the checks may read: the gate's own in one statement (`load_context`), what
    other apps' checks need through their loaders."""

    now: datetime
    today: date
    room: LiveRoom | None
    owner: Party | None
    anchors: list[Party]
    products: list[Product]
    ai_generated: bool
    # The pre-stream review the request confirms (liverooms/review.py), set by the session's
    # opening (services.session_open); None where the gate is asked without one.
    review: dict | None = None
    parties: dict[int, Party] = field(default_factory=dict)
    restrictions: list[Restriction] = field(default_factory=list)
    training: dict[tuple[int, str], date] = field(default_factory=dict)
    licences: dict[int, list[Licence]] = field(default_factory=dict)
    # Credit scores of the parties that have one (credit.CreditScore), as (grade, score, the id
    # of the rule set they were computed under); the credit check (liverooms/credit_gate.py)
    # reads them.
    grades: dict[int, tuple[str, int, int]] = field(default_factory=dict)
    # Asked for but not found. The platform's keys are answered with field errors before any
    # check runs; for a key bound to a party they are reasons (`_unknown`), answered like ids
    # of parties and products that may not take part (services.reasons_for_party).
    missing_anchor_ids: list[int] = field(default_factory=list)
    missing_product_ids: list[int] = field(default_factory=list)
    # The rows of the parts other apps add to the one read (`gate_read`), by kind: model
    # instances holding the columns the part named.
    rows: dict[str, list] = field(default_factory=dict)
    # Filled by checks registered from other apps (credit grade, deposit) through `loaders`.
    extra: dict = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        """Every id asked for exists."""
        return (
            self.room is not None and not self.missing_anchor_ids and not self.missing_product_ids
        )

    @property
    def merchants(self) -> list[Party]:
        seen = {p.merchant_id for p in self.products}
        return [self.parties[pk] for pk in sorted(seen) if pk in self.parties]

    def release(self) -> None:
        """Cuts the links that make the rows' reference cycles, once the decision is answered.

        A party and its registration file point at each other, as select_related leaves them,
        and so do a file and its profile or consent. Reference counting cannot free a cycle: it
        waits for Python's cycle collector, which runs after every 700 objects left so. With the
        request the go-live view held in a cycle of its own (SessionViewSet.dispatch), that was
        every seventh decision, and under load the collector took 0.075 to 0.09 ms per decision
        in each worker (bench/README.md). Cut, the rows are freed as soon as the answer is
        sent."""
        for party in self.parties.values():
            file = party._state.fields_cache.pop("registration_file", None)
            if file is not None:
                file._state.fields_cache.clear()

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
    """Register a function that loads what an app's checks need into `context.extra`, in a
    fixed number of queries for all the involved parties. It runs after the gate's own read, so
    it can take the ids from `context.involved()`."""
    _loaders.append(function)
    return function


@dataclass(frozen=True)
class ReadPart:
    kind: str
    columns: _Columns
    where: str


_parts: dict[str, ReadPart] = {}


def gate_read(kind: str, model, alias: str, columns: Iterable[str], where: str) -> None:
    """Add a part to the gate's one read: the named columns of `model`'s rows (as `alias`) that
    `where` selects, into `GateContext.rows[kind]` as model instances. `where` may name the
    read's `room`, `product` and `involved` (the ids of every party in the request) and takes
    no parameters, so the statement's text stays the same for any request. `{in_involved}` and
    `{in_merchants}` in `where` are membership tests of a key in those ids and in the merchants
    of the products, written for an index look-up on each database (see `_READ`). An app's checks
    read what they need here rather than in a query of their own: a query that ran only for
    some requests would tell a caller by its time what the answer does not say."""
    if kind in _KINDS:
        raise ValueError(f"{kind!r} is one of the gate's own kinds of row")
    _parts[kind] = ReadPart(kind, _Columns(model, alias, columns), where)
    _statement.cache_clear()


def load_context(
    *, room_id: int, anchor_ids: list[int], product_ids: list[int], ai_generated: bool
) -> GateContext:
    """Read everything the checks need in one statement. Ids that do not exist are left out and
    listed in the context (`room` None, `missing_*_ids`); the loaders and checks run only on a
    complete request, so the caller reports those first."""
    now = timezone.now()
    anchor_ids = list(dict.fromkeys(anchor_ids))
    product_ids = list(dict.fromkeys(product_ids))
    # An id beyond a 64-bit integer names nothing; PostgreSQL would refuse it as a bigint.
    room_key = room_id if _is_key(room_id) else None
    anchor_keys = [pk for pk in anchor_ids if _is_key(pk)]
    product_keys = [pk for pk in product_ids if _is_key(pk)]
    db = connections[DEFAULT_DB_ALIAS]
    rows = _read(db, room_key, anchor_keys, product_keys, now)
    alias = db.alias

    room = None
    products: dict[int, Product] = {}
    parties: dict[int, Party] = {}
    restrictions: list[Restriction] = []
    training: dict[tuple[int, str], date] = {}
    licences: dict[int, list[Licence]] = {}
    licence_files: list[tuple[Licence, int]] = []
    grades: dict[int, tuple[str, int, int]] = {}
    rows_of: dict[str, list] = {kind: [] for kind in _parts}
    # The rows come back as text, decoded here in one call rather than one per row.
    decoded = json.loads("[" + ",".join(text for _kind, text in rows) + "]")
    for (kind, _text), row in zip(rows, decoded, strict=True):
        if kind == "party":
            party, sealed_licences = _party_with_file(row, alias)
            parties[party.pk] = party
            if sealed_licences is not None:
                licences[party.pk] = sealed_licences
        elif kind == "product":
            product = _PRODUCT.build(row, alias)
            products[product.pk] = product
        elif kind == "restriction":
            restrictions.append(_RESTRICTION.build(row, alias))
        elif kind == "training":
            anchor_id, training_kind, latest = row
            training[(anchor_id, training_kind)] = date.fromisoformat(latest)
        elif kind == "licence":
            licence = _LICENCE.build(row, alias)
            licence_files.append((licence, row[_LICENCE_PARTY]))
        elif kind == "room":
            room = _ROOM.build(row, alias)
        elif kind == "grade":
            party_id, grade, score, rule_set = row
            grades[party_id] = (grade, score, rule_set)
        else:
            rows_of.setdefault(kind, []).append(_parts[kind].columns.build(row, alias))
    for licence, party_id in licence_files:
        owner_file = getattr(parties.get(party_id), "registration_file", None)
        if owner_file is not None:
            _LICENCE_FILE.set_cached_value(licence, owner_file)
        licences.setdefault(party_id, []).append(licence)
    for held in licences.values():
        held.sort(key=lambda lic: (lic.kind, lic.valid_until is None, lic.valid_until or now))
    # The order the checks have always reported them in: the latest restriction first.
    restrictions.sort(key=lambda r: (r.starts_at, r.pk), reverse=True)

    context = GateContext(
        now=now,
        today=timezone.localdate(now),
        room=room,
        owner=parties.get(room.owner_id) if room else None,
        anchors=[parties[pk] for pk in anchor_ids if pk in parties],
        products=[products[pk] for pk in product_ids if pk in products],
        ai_generated=ai_generated,
        parties=parties,
        restrictions=restrictions,
        training=training,
        licences=licences,
        missing_anchor_ids=[pk for pk in anchor_ids if pk not in parties],
        missing_product_ids=[pk for pk in product_ids if pk not in products],
        grades=grades,
        rows=rows_of,
    )
    # Without the room there is nothing to decide (the caller answers 400 or 404). The loaders
    # run when only anchors or products are missing, so that a bound key's refusal names the
    # rest of the request's reasons whether or not its ids exist.
    if context.room is not None:
        for loader in _loaders:
            loader(context)
    return context


def decide(context: GateContext) -> list[Reason]:
    reasons: list[Reason] = []
    for check in _checks.values():
        reasons.extend(check(context))
    return reasons


# --- the one read --------------------------------------------------------------------------------
#
# Rows of seven kinds come back in one result set: each SELECT of a UNION ALL yields (kind, the
# row's values as a JSON array, as text). JSON is what lets rows of different shapes share the
# columns, on PostgreSQL and on SQLite (development and the test suite) alike; only the name of
# the function differs. On PostgreSQL the statement is prepared once per connection
# (liverooms/prepared.py).

_MAX_KEY = 2**63 - 1


def _is_key(value: int) -> bool:
    return -_MAX_KEY <= value <= _MAX_KEY


def _from_json(field: models.Field) -> Callable | None:
    """How a column's JSON value becomes the field's Python value; None: as it is."""
    kind = field.get_internal_type()
    if kind == "DateTimeField":
        return _datetime
    if kind == "DateField":
        return _date
    if kind == "BooleanField":
        return bool  # SQLite stores 0 and 1
    return None


def _datetime(value: str | None) -> datetime | None:
    if value is None:
        return None
    parsed = datetime.fromisoformat(value)
    # PostgreSQL writes the offset (the connection is in UTC); SQLite stores naive UTC.
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _date(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


class _Columns:
    """Some columns of one model, selected as consecutive values of a JSON array and turned back
    into a model instance. Columns not read are deferred, as with `.only()`."""

    def __init__(self, model, alias: str, names: Iterable[str] | None = None):
        wanted = set(names) if names is not None else None
        self.fields = [f for f in model._meta.concrete_fields if wanted is None or f.name in wanted]
        self.model = model
        self.alias = alias
        slots = [(i, f.attname, _from_json(f)) for i, f in enumerate(self.fields)]
        self.as_is = [(i, attname) for i, attname, convert in slots if convert is None]
        self.converted = [slot for slot in slots if slot[2] is not None]

    def __len__(self) -> int:
        return len(self.fields)

    def index(self, attname: str) -> int:
        return next(i for i, f in enumerate(self.fields) if f.attname == attname)

    def values(self, quote: Callable[[str], str]) -> str:
        return ", ".join(f"{self.alias}.{quote(f.column)}" for f in self.fields)

    def build(self, row: list, db: str, start: int = 0):
        # What Model.from_db makes -- the loaded values in the instance's __dict__, the others
        # deferred, the state of a saved row -- without Model.__init__'s pass over every field
        # and its signals (no receivers for these models): a fifth of the cost, and a decision
        # builds a dozen of these.
        instance = self.model.__new__(self.model)
        state = instance._state = ModelState()
        state.adding = False
        state.db = db
        values = instance.__dict__
        for i, attname in self.as_is:
            values[attname] = row[start + i]
        for i, attname, convert in self.converted:
            values[attname] = convert(row[start + i])
        return instance


_ROOM = _Columns(
    LiveRoom,
    "r",
    [
        *("id", "owner", "platform_ref", "title", "category", "followers", "monthly_sales_fen"),
        *("risk_grade", "risk_score", "risk_graded_at", "created_at"),
    ],
)
_PRODUCT = _Columns(Product, "pr")
_PARTY = _Columns(Party, "pa")
# The file's identity columns only: never the encrypted ID number, nor the check results.
_FILE = _Columns(
    RegistrationFile,
    "f",
    ["id", "party", "kind", "status", "version", "name", "id_number_masked", "sealed_version"],
)
_PROFILE = _Columns(
    AnchorProfile,
    "ap",
    ["id", "file", "birth_date", "sex", "is_ai_presenter", "ai_operator"],
)
_CONSENT = _Columns(
    GuardianConsent,
    "gc",
    ["id", "file", "guardian_name", "relation", "guardian_id_masked", "document"],
)
_RESTRICTION = _Columns(
    Restriction,
    "re",
    ["id", "party", "kind", "starts_at", "ends_at", "reason", "legal_basis", "lifted_at"],
)
_LICENCE = _Columns(
    Licence, "li", ["id", "file", "kind", "number", "issuer", "valid_from", "valid_until"]
)
# The relations the read fills in, as select_related would: reading them never queries.
_PARTY_FILE = Party._meta.get_field("registration_file")
_FILE_PARTY = RegistrationFile._meta.get_field("party")
_FILE_PROFILE = RegistrationFile._meta.get_field("anchor_profile")
_PROFILE_FILE = AnchorProfile._meta.get_field("file")
_FILE_CONSENT = RegistrationFile._meta.get_field("guardian_consent")
_CONSENT_FILE = GuardianConsent._meta.get_field("file")
_LICENCE_FILE = Licence._meta.get_field("file")


# A party's row: its columns, then its file's, its profile's and its consent's, then the sealed
# snapshot of the version in force (null unless a change is pending).
_FILE_AT = len(_PARTY)
_PROFILE_AT = _FILE_AT + len(_FILE)
_CONSENT_AT = _PROFILE_AT + len(_PROFILE)
_SEALED_AT = _CONSENT_AT + len(_CONSENT)
_FILE_ID = _FILE_AT + _FILE.index("id")
_PROFILE_ID = _PROFILE_AT + _PROFILE.index("id")
_CONSENT_ID = _CONSENT_AT + _CONSENT.index("id")
# A licence's row: its columns, then the id of the party whose file holds it.
_LICENCE_PARTY = len(_LICENCE)


def _party_with_file(row: list, db: str) -> tuple[Party, list[Licence] | None]:
    """The party with its file, profile and consent as select_related would give them; and,
    for a file with a change pending, the licences of the version in force (None: the file is
    the version in force, and its licences are the licence rows the read returned)."""
    party = _PARTY.build(row, db)
    if row[_FILE_ID] is None:
        _PARTY_FILE.set_cached_value(party, None)
        return party, None
    file = _FILE.build(row, db, _FILE_AT)
    _PARTY_FILE.set_cached_value(party, file)
    _FILE_PARTY.set_cached_value(file, party)
    sealed = row[_SEALED_AT]
    if sealed is not None:
        profile, consent, licences = _in_force(sealed["details"], file)
    else:
        profile = _PROFILE.build(row, db, _PROFILE_AT) if row[_PROFILE_ID] is not None else None
        consent = _CONSENT.build(row, db, _CONSENT_AT) if row[_CONSENT_ID] is not None else None
        licences = None
    _FILE_PROFILE.set_cached_value(file, profile)
    if profile is not None:
        _PROFILE_FILE.set_cached_value(profile, file)
    _FILE_CONSENT.set_cached_value(file, consent)
    if consent is not None:
        _CONSENT_FILE.set_cached_value(consent, file)
    return party, licences


def _in_force(details: dict, file: RegistrationFile):
    """The profile, consent and licences of a sealed version (accounts.registration.snapshot:
    anchors.services.anchor_details, merchants.services.business_details), as unsaved rows."""
    profile = consent = None
    if details.get("birth_date"):
        profile = AnchorProfile(
            birth_date=date.fromisoformat(details["birth_date"]),
            sex=details.get("sex", ""),
            is_ai_presenter=bool(details.get("is_ai_presenter")),
            ai_operator_id=details.get("ai_operator_id"),
        )
    if details.get("guardian_consent"):
        given = details["guardian_consent"]
        consent = GuardianConsent(
            guardian_name=given["guardian_name"],
            relation=given["relation"],
            guardian_id_masked=given["guardian_id_masked"],
            document_id=given.get("document_id"),
        )
    licences = []
    for held in details.get("licences", []):
        licence = Licence(
            kind=held["kind"],
            number=held["number"],
            issuer=held["issuer"],
            valid_from=_date(held["valid_from"]),
            valid_until=_date(held["valid_until"]),
            document_id=held.get("document_id"),
        )
        _LICENCE_FILE.set_cached_value(licence, file)
        licences.append(licence)
    return profile, consent, licences


def _read(db, room_id, anchor_ids, product_ids, now) -> list[tuple[str, str]]:
    at = db.ops.adapt_datetimefield_value(now)
    if db.vendor == "postgresql":
        sql = _statement("postgresql")
        anchors = prepared.ids(anchor_ids)
        params = [
            *prepared.params([room_id]),
            prepared.ids(product_ids),
            anchors,
            _BARRING_ARRAY,
            at,
            at,
            anchors,
        ]
    else:
        sql = _statement(db.vendor, len(anchor_ids), len(product_ids))
        params = [room_id, *product_ids, *anchor_ids, *BARRING_LIVE, at, at, *anchor_ids]
    return prepared.read(sql, params)


_BARRING_ARRAY = "{" + ",".join(BARRING_LIVE) + "}"


# Column names are Django's defaults for these models; table names come from their metadata. The
# restriction test is RestrictionQuerySet.in_force, written out. A table the ids come to by
# primary or unique key alone is read with `{in_involved}`, on PostgreSQL `= ANY(ARRAY(SELECT
# ...))`: the generic plan cannot know how few ids a CTE holds (it guesses 21), and with
# `IN (SELECT ...)` it hashed them against a sequential scan of the credit scores, which took
# 40 % of the read's execution on the benchmark's database (bench/README.md); the array is an
# index look-up whatever the table's size. `{products}`, `{anchors}` and
# `{barring}` are membership tests: `= ANY(array)` on PostgreSQL, so that the text is the same for
# any number of ids, and `IN (...)` elsewhere.
_READ = """
WITH room AS (
    SELECT * FROM {room_table} WHERE id = %s
), product AS (
    SELECT * FROM {product_table} WHERE id {products}
), involved AS (
    SELECT owner_id AS id FROM room
    UNION SELECT merchant_id FROM product
    UNION SELECT id FROM {party_table} WHERE id {anchors}
)
SELECT 'room', {room} FROM room r
UNION ALL
SELECT 'product', {product} FROM product pr
UNION ALL
SELECT 'party', {party}
    FROM {party_table} pa
    LEFT JOIN {file_table} f ON f.party_id = pa.id
    LEFT JOIN {profile_table} ap ON ap.file_id = f.id
    LEFT JOIN {consent_table} gc ON gc.file_id = f.id
    LEFT JOIN {version_table} fv ON fv.id = f.sealed_version_id AND f.status <> '{approved}'
    WHERE pa.id IN (SELECT id FROM involved)
UNION ALL
SELECT 'restriction', {restriction}
    FROM {restriction_table} re
    WHERE re.party_id IN (SELECT id FROM involved) AND re.kind {barring}
      AND re.lifted_at IS NULL AND re.starts_at <= %s AND (re.ends_at IS NULL OR re.ends_at > %s)
UNION ALL
SELECT 'training', {training}
    FROM {training_table} t
    WHERE t.anchor_id {anchors}
    GROUP BY t.anchor_id, t.kind
UNION ALL
SELECT 'licence', {licence}
    FROM {licence_table} li
    JOIN {file_table} lf ON lf.id = li.file_id
    WHERE lf.party_id IN (SELECT merchant_id FROM product) AND lf.status = '{approved}'
UNION ALL
SELECT 'grade', {grade}
    FROM {score_table} cs
    WHERE cs.party_id {in_involved}{parts}
"""
_KINDS = frozenset({"room", "product", "party", "restriction", "training", "licence", "grade"})


@lru_cache(maxsize=256)
def _statement(vendor: str, anchors: int = 0, products: int = 0) -> str:
    quote = connection.ops.quote_name
    postgresql = vendor == "postgresql"
    # A row's values as a JSON array, in the order `_Columns.build` reads them: without the
    # keys of an object, PostgreSQL builds it in less time and Python decodes it in less than
    # half (bench/README.md).
    function = "json_build_array" if postgresql else "json_array"
    # The sealed snapshot of the version in force, for a file with a change pending (else null).
    sealed = "fv.snapshot" if postgresql else "json(fv.snapshot)"

    def array(*values: str) -> str:
        return f"{function}({', '.join(values)}){'::text' if postgresql else ''}"

    def obj(*columns: _Columns, extra: str = "") -> str:
        return array(*(c.values(quote) for c in columns), *([extra] if extra else []))

    def among(n: int, array_type: str = "bigint") -> str:
        if postgresql:
            return f"= ANY(%s::{array_type}[])"
        return "IN (" + (", ".join(["%s"] * n) if n else "NULL") + ")"  # IN (NULL): none

    def member(subquery: str) -> str:
        return f"= ANY(ARRAY({subquery}))" if postgresql else f"IN ({subquery})"

    members = {
        "in_involved": member("SELECT id FROM involved"),
        "in_merchants": member("SELECT merchant_id FROM product"),
    }
    parts = "".join(
        f"\nUNION ALL\nSELECT '{part.kind}', {obj(part.columns)}\n"
        f"    FROM {quote(part.columns.model._meta.db_table)} {part.columns.alias}\n"
        f"    WHERE {part.where.format(**members)}"
        for part in _parts.values()
    )
    return _READ.format(
        parts=parts,
        in_involved=members["in_involved"],
        room_table=quote(LiveRoom._meta.db_table),
        product_table=quote(Product._meta.db_table),
        party_table=quote(Party._meta.db_table),
        file_table=quote(RegistrationFile._meta.db_table),
        profile_table=quote(AnchorProfile._meta.db_table),
        consent_table=quote(GuardianConsent._meta.db_table),
        restriction_table=quote(Restriction._meta.db_table),
        training_table=quote(TrainingRecord._meta.db_table),
        licence_table=quote(Licence._meta.db_table),
        version_table=quote(FileVersion._meta.db_table),
        approved=FileStatus.APPROVED.value,
        products=among(products),
        anchors=among(anchors),
        barring=among(len(BARRING_LIVE), "text"),
        room=obj(_ROOM),
        product=obj(_PRODUCT),
        party=obj(_PARTY, _FILE, _PROFILE, _CONSENT, extra=sealed),
        restriction=obj(_RESTRICTION),
        training=array("t.anchor_id", "t.kind", "MAX(t.completed_on)"),
        licence=obj(_LICENCE, extra="lf.party_id"),
        score_table=quote(CreditScore._meta.db_table),
        grade=array("cs.party_id", "cs.grade", "cs.score", "cs.rule_set_id"),
    )


# --- the checks --------------------------------------------------------------------------------


@gate_check("unknown")
def _unknown(context: GateContext) -> Iterable[Reason]:
    """Ids that name nothing: reasons only on a bound key's request (the platform's keys are
    told with a field error first, services.session_gate)."""
    for pk in context.missing_anchor_ids:
        yield Reason("party_unknown", _("No party with id %(id)s.") % {"id": pk}, party_id=pk)
    for pk in context.missing_product_ids:
        yield Reason("product_unknown", _("No product with id %(id)s.") % {"id": pk}, product_id=pk)


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
                "kind": RestrictionKind(restriction.kind).label,
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


def _licence_in_force(licence: Licence, today: date) -> bool:
    """In force today: from its first day to its last, both included."""
    return licence.valid_from <= today and _valid(licence.valid_until, today)


@gate_check("products")
def _products(context: GateContext) -> Iterable[Reason]:
    for product in context.products:
        if product.listing_status != ListingStatus.LISTED:
            yield Reason(
                f"product_{product.listing_status}",
                _("%(product)s is %(status)s and may not be shown live.")
                % {"product": product.title, "status": ListingStatus(product.listing_status).label},
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
            elif not any(_licence_in_force(lic, context.today) for lic in licences):
                # None in force: a renewal that starts later is named before an expired one.
                later = [lic.valid_from for lic in licences if lic.valid_from > context.today]
                if later:
                    yield Reason(
                        "licence_not_yet_valid",
                        _("The %(licence)s needed for %(product)s is not valid before %(date)s.")
                        % {
                            "product": product.title,
                            "licence": LicenceKind(kind).label,
                            "date": min(later).isoformat(),
                        },
                        party_id=product.merchant_id,
                        product_id=product.pk,
                    )
                else:
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


@gate_check("pre_stream_review")
def _pre_stream_review(context: GateContext) -> Iterable[Reason]:
    if context.review is None:
        return
    for item in review.unconfirmed(context.review):
        yield Reason("pre_stream_review_incomplete", str(review.REQUIRED[item]))
