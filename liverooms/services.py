"""Writes for live rooms: registering rooms, going live through the gate, ending sessions,
monitoring signals and alerts, patrol inspections and risk grades."""

from __future__ import annotations

import hashlib
import json
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, transaction
from django.db.models.base import ModelState
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import services as account_services
from accounts.actors import Actor
from accounts.models import Party, PartyKind
from config.errors import Conflict
from liverooms import gate, prepared, review
from liverooms.models import (
    ClipKind,
    ContentLabel,
    GoLiveRefusal,
    LiveRoom,
    LiveSession,
    RoomEvent,
    SessionAnchor,
    SessionProduct,
    SessionStatus,
    Severity,
)
from merchants.models import Product


@dataclass(frozen=True)
class RoomRegistration:
    room: LiveRoom
    # This call made the room; False when it updated one that was there, including one that
    # another request registered a moment before (the API's 200 rather than 201).
    created: bool


def room_register(**values) -> LiveRoom:
    """The room registered or updated by `room_registration`."""
    return room_registration(**values).room


def room_registration(
    *,
    owner: Party,
    platform_ref: str,
    title: str,
    category: str,
    followers: int = 0,
    monthly_sales_fen: int = 0,
    actor: Actor,
    party_id: int | None = None,
) -> RoomRegistration:
    """Register a room, or update the one with this `platform_ref` (the platform's id for it,
    unique across the platform), and say which it did.

    For the platform's own systems (no `party_id`) any room is registered or updated, and a
    different `owner` moves the room to that owner: a room changes hands with the account
    behind it, and the platform is the one that knows. Not while it is on air: the session
    answers to the owner who took it live, so that is a Conflict until the session ends.

    The room's timeline (RoomEvent) keeps its registration, each change of hands and each change
    of category, with the actor: who answers for a room, and which category's thresholds its
    go-lives must meet, are decisions with a record.

    For a key bound to a party (`party_id`) only a room that party already owns is updated, and
    it stays the party's. Any other ref -- one no room has, or another party's room -- is
    RoomNotFound, the same for both: a bound key registers no rooms, takes over none, and cannot
    learn which refs are in use."""
    if owner.kind not in (PartyKind.MERCHANT, PartyKind.ANCHOR):
        raise ValidationError({"owner": _("A live room belongs to a merchant or an anchor.")})
    if party_id is not None and owner.pk != party_id:
        raise RoomNotFound
    fields = {
        "title": title.strip(),
        "category": category,
        "followers": followers,
        "monthly_sales_fen": monthly_sales_fen,
    }
    try:
        room, created = _room_write(owner, platform_ref, fields, actor=actor, party_id=party_id)
    except IntegrityError:
        # The same new ref registered at the same moment by another request: it is a room now,
        # and this request updates it like any other.
        room, created = _room_write(owner, platform_ref, fields, actor=actor, party_id=party_id)
    return RoomRegistration(_graded(room), created)


def _room_write(
    owner: Party, platform_ref: str, fields: dict, *, actor, party_id
) -> tuple[LiveRoom, bool]:
    """The room's row and its timeline (RoomEvent), with the room held while it is decided;
    and whether the row is new."""
    with transaction.atomic():
        held = LiveRoom.objects.select_for_update().filter(platform_ref=platform_ref).first()
        if party_id is not None and (held is None or held.owner_id != party_id):
            # Not one of the bound party's rooms (or moved to another owner meanwhile).
            raise RoomNotFound
        if held is None:
            room = LiveRoom.objects.create(platform_ref=platform_ref, owner=owner, **fields)
            _room_event(
                room, RoomEvent.Kind.REGISTERED, actor, owner=owner.pk, category=room.category
            )
            return room, True
        if held.owner_id != owner.pk and held.sessions.filter(status=SessionStatus.LIVE).exists():
            # The session on air answers to the owner who took it live (LiveSession.owner);
            # the room changes hands between sessions.
            raise Conflict(
                _("This room is on air. It can change hands once its session has ended.")
            )
        former_owner, former_category = held.owner_id, held.category
        for name, value in {"owner": owner, **fields}.items():
            setattr(held, name, value)
        held.save(update_fields=["owner", *fields])
        if former_owner != owner.pk:
            _room_event(
                held, RoomEvent.Kind.CHANGED_HANDS, actor, **{"from": former_owner, "to": owner.pk}
            )
        if former_category != held.category:
            _room_event(
                held,
                RoomEvent.Kind.RECATEGORISED,
                actor,
                **{"from": former_category, "to": held.category},
            )
        return held, False


def _room_event(room: LiveRoom, kind: str, actor: Actor, **data) -> None:
    RoomEvent.objects.create(room=room, kind=kind, data=data, **actor.event_fields())


def _graded(room: LiveRoom) -> LiveRoom:
    """The room graded now: reach, sales and category are what was just registered, and a
    large room may go live before the nightly regrade (the patrol queue and its deadline for
    high-risk sessions read the grade)."""
    rooms_regrade(room_ids=[room.pk])
    room.refresh_from_db(fields=["risk_score", "risk_grade", "risk_reasons", "risk_graded_at"])
    return room


@dataclass(frozen=True)
class GoLive:
    session: LiveSession | None
    reasons: list[gate.Reason]
    # The rows written with an opened session: its anchors on air and products shown.
    anchors: list[SessionAnchor] = field(default_factory=list)
    products: list[SessionProduct] = field(default_factory=list)

    @property
    def allowed(self) -> bool:
        return self.session is not None

    def release(self) -> None:
        """Cuts the rows' links to their session, which holds them (GateContext.release)."""
        for row in (*self.anchors, *self.products):
            row._state.fields_cache.pop("session", None)


def session_start(
    *,
    room: LiveRoom,
    anchors: list[Party],
    products: list[Product],
    ai_generated: bool,
    checklist: dict,
    actor: Actor,
) -> GoLive:
    """Ask the gate; if it allows, open the session with the anchors' identities as reported
    for it (LCM Art. 28) and the pre-stream review (LCM Art. 30). A refusal is recorded."""
    if not anchors:
        raise ValidationError({"anchors": _("Name at least one anchor on air.")})
    checklist = review.clean(checklist)
    context = session_gate(
        room_id=room.pk,
        anchor_ids=[a.pk for a in anchors],
        product_ids=[p.pk for p in products],
        ai_generated=ai_generated,
    )
    return session_open(context=context, checklist=checklist, actor=actor)


class RoomNotFound(Exception):
    """The room does not exist, or is not the asking party's: the two are answered alike, so
    that a key bound to a party cannot tell which room ids exist."""


def session_gate(
    *,
    room_id: int,
    anchor_ids: list[int],
    product_ids: list[int],
    ai_generated: bool,
    owner_id: int | None = None,
) -> gate.GateContext:
    """The gate's one read for a go-live request. Ids that do not exist are field errors, named
    as the API names them. With `owner_id` (a key bound to a party) a room that is missing or
    another party's is `RoomNotFound`, before anything else about the request is said; an anchor
    or product id that names nothing is a reason of the refusal, shown to the bound key exactly
    as an id of a party or product that may not take part (`reasons_for_party`), so that naming
    ids cannot tell which exist."""
    context = gate.load_context(
        room_id=room_id, anchor_ids=anchor_ids, product_ids=product_ids, ai_generated=ai_generated
    )
    if owner_id is not None:
        if context.room is None or context.room.owner_id != owner_id:
            raise RoomNotFound
        return context
    if context.room is None:
        raise ValidationError({"room_id": _("No live room with this id.")})
    if context.missing_anchor_ids:
        missing = ", ".join(map(str, context.missing_anchor_ids))
        raise ValidationError({"anchor_ids": _("No party with ids: %s") % missing})
    if context.missing_product_ids:
        missing = ", ".join(map(str, context.missing_product_ids))
        raise ValidationError({"product_ids": _("No product with ids: %s") % missing})
    return context


def reasons_for_party(
    context: gate.GateContext, reasons: list[gate.Reason], party_id: int
) -> list[gate.Reason]:
    """A refusal as a key bound to a party may read it. Its own room, products and record are
    its business; another party's are not: a reason about another party (its restrictions,
    deposit, credit, file) or about another merchant's product says only which id is not
    cleared, so that naming ids in a go-live cannot read other parties' records (names of
    parties not yet public, deposit balances, restrictions). The refusal kept for the platform
    (GoLiveRefusal) has every reason in full."""
    merchant_of = {p.pk: p.merchant_id for p in context.products}
    # Another merchant takes part only through its products: what is wrong with it (a
    # restriction, its deposit, its grade) is said of them, as of an id that names no product,
    # so that naming a product cannot tell whether it exists or whose it is.
    foreign: dict[int, list[int]] = {}
    for product_id, merchant_id in merchant_of.items():
        if merchant_id != party_id:
            foreign.setdefault(merchant_id, []).append(product_id)
    anchors = {anchor.pk for anchor in context.anchors} | set(context.missing_anchor_ids)
    shown: list[gate.Reason] = []
    withheld_parties: set[int] = set()
    withheld_products: set[int] = set()
    for reason in reasons:
        other = reason.party_id is not None and reason.party_id != party_id
        # Another merchant's product, or an id that names no product: alike.
        if reason.product_id is not None and merchant_of.get(reason.product_id) != party_id:
            withheld_products.add(reason.product_id)
        elif other and (reason.party_id in foreign or reason.party_id in anchors):
            withheld_products.update(foreign.get(reason.party_id, []))
            if reason.party_id in anchors:
                withheld_parties.add(reason.party_id)
        elif other:
            withheld_parties.add(reason.party_id)
        else:
            shown.append(reason)
    for pk in sorted(withheld_parties):
        shown.append(
            gate.Reason(
                "party_not_cleared",
                _("Party %(id)s may not take part in this stream.") % {"id": pk},
                party_id=pk,
            )
        )
    for pk in sorted(withheld_products):
        shown.append(
            gate.Reason(
                "product_not_cleared",
                _("Product %(id)s may not be shown in this stream.") % {"id": pk},
                product_id=pk,
            )
        )
    return shown


def session_open(*, context: gate.GateContext, checklist: dict, actor: Actor) -> GoLive:
    """The gate's decision on a loaded request, and its one write: the refusal with every
    reason, or the session with the anchors on air and the products shown."""
    context.review = checklist
    reasons = gate.decide(context)
    if reasons:
        refusal = _new(
            GoLiveRefusal,
            room_id=context.room.pk,
            reasons=[r.as_dict() for r in reasons],
            requested={
                "anchors": [a.pk for a in context.anchors] + context.missing_anchor_ids,
                "products": [p.pk for p in context.products] + context.missing_product_ids,
                "ai_generated": context.ai_generated,
            },
        )
        _insert(refusal)
        return GoLive(None, reasons)
    # By id: setting a relation through its descriptor costs more than the rest of the row.
    session = _new(
        LiveSession,
        room_id=context.room.pk,
        owner_id=context.room.owner_id,
        ai_generated=context.ai_generated,
        pre_stream_checklist=checklist,
    )
    # The rows name their anchor and product by id, and get their session once it is written:
    # setting a relation through its descriptor costs more than the rest of building a row.
    on_air = [_reported_identity(party) for party in context.anchors]
    shown = [
        _new(SessionProduct, product_id=p.pk, merchant_id=p.merchant_id) for p in context.products
    ]
    try:
        _insert_session(session, on_air, shown)
    except IntegrityError:
        raise Conflict(_("This room is already on air.")) from None
    except RoomChangedHands:
        raise Conflict(
            _("This room changed hands while the go-live was being decided. Ask again.")
        ) from None
    # The caller answers with these; no need to read back what was just written.
    session._prefetched_objects_cache = {"anchors": on_air, "products": shown}
    return GoLive(session, [], on_air, shown)


def _reported_identity(party: Party) -> SessionAnchor:
    file = getattr(party, "registration_file", None)
    profile = getattr(file, "anchor_profile", None) if file else None
    return _new(
        SessionAnchor,
        anchor_id=party.pk,
        name=party.name,
        id_number_masked=file.id_number_masked if file else "",
        identity_hash=party.identity_hash,
        is_ai_presenter=bool(profile and profile.is_ai_presenter),
    )


def _new(model, **values):
    """A new row of the go-live's models, as `model(**values)` makes it: the values given by
    attribute name, every other field's default. Model.__init__'s pass over its keyword
    arguments for the five rows of an allowed go-live (a session, an anchor, three products)
    was 6 % of the decision's Python instructions (bench/README.md). These models have no
    __init__ of their own and nothing receives pre_init or post_init: a test holds both."""
    row = model.__new__(model)
    row._state = ModelState()
    attributes = row.__dict__
    for model_field, attname in _attnames(model):
        attributes[attname] = (
            values.pop(attname) if attname in values else model_field.get_default()
        )
    if values:
        raise TypeError(f"{model.__name__} has no field {', '.join(values)}")
    return row


@lru_cache(maxsize=8)
def _attnames(model) -> tuple:
    return tuple((f, f.attname) for f in model._meta.concrete_fields)


# The go-live's writes are INSERTs built from the models' metadata and, on PostgreSQL, prepared
# once per connection (liverooms/prepared.py): the ORM would compile the same statements again on
# every decision, and on PostgreSQL it takes five round trips (BEGIN, three INSERTs, COMMIT) for
# what one statement does. None of these models overrides save() or has signal receivers, so
# nothing is skipped.


@lru_cache(maxsize=16)
def _fields(model, *, but: tuple[str, ...] = ()) -> tuple:
    return tuple(f for f in model._meta.concrete_fields if not f.primary_key and f.name not in but)


def _values(obj, fields, db) -> list:
    return [f.get_db_prep_save(getattr(obj, f.attname), db) for f in fields]


def _insert_sql(model, fields) -> str:
    quote = connection.ops.quote_name
    names = ", ".join(quote(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    table = quote(model._meta.db_table)
    return f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608 - names from _meta


@lru_cache(maxsize=8)
def _insert_statement(model) -> tuple[tuple, str]:
    fields = _fields(model)
    return fields, _insert_sql(model, fields)


def _insert(obj) -> None:
    db = connections[DEFAULT_DB_ALIAS]
    fields, sql = _insert_statement(type(obj))
    values = _values(obj, fields, db)
    if db.vendor == "postgresql":
        values = prepared.params(values)
    with prepared.cursor(db) as cursor:
        cursor.execute(sql, values)


class RoomChangedHands(Exception):
    """The room's owner is no longer the one the gate read: the room changed hands between the
    gate's read and the session's write."""


@lru_cache(maxsize=1)
def _session_statement() -> str:
    """PostgreSQL: the session, its anchors and its products in one statement. The anchors and
    the products go as one JSON array each, so the text is the same for any number of them.

    The session is written only while the room still belongs to the operator the gate read
    (`owned`): a room changes hands between sessions (room_register refuses to move a room on
    air), and a move that committed after the gate's read, or that holds the room while this
    runs, would otherwise leave a session on air answering to the room's former owner. Then
    `owned` finds no row and nothing is written. FOR KEY SHARE waits for such a move and then
    reads the room as it left it; it is the lock the session's foreign key takes on the room at
    commit anyway."""
    quote = connection.ops.quote_name
    room = LiveRoom._meta
    fields = _fields(LiveSession)
    names = ", ".join(quote(f.column) for f in fields)
    typed = ", ".join(f"%s::{f.db_type(connection)}" for f in fields)
    parts = [
        f"WITH owned AS (SELECT 1 FROM {quote(room.db_table)} "  # noqa: S608 - names from _meta
        f"WHERE {quote(room.pk.column)} = %s AND {quote(room.get_field('owner').column)} = %s "
        "FOR KEY SHARE)",
        f"s AS (INSERT INTO {quote(LiveSession._meta.db_table)} ({names}) "  # noqa: S608
        f"SELECT {typed} FROM owned RETURNING id)",
    ]
    for name, model in (("a", SessionAnchor), ("p", SessionProduct)):
        fields = _fields(model, but=("session",))
        session = quote(model._meta.get_field("session").column)
        names = ", ".join(quote(f.column) for f in fields)
        record = ", ".join(f"{quote(f.column)} {f.db_type(connection)}" for f in fields)
        table = quote(model._meta.db_table)
        parts.append(
            f"{name} AS (INSERT INTO {table} ({session}, {names}) "  # noqa: S608 - from _meta
            f"SELECT s.id, {names} FROM s, json_to_recordset(%s::json) AS r({record}))"
        )
    return ", ".join(parts) + " SELECT id FROM s"  # noqa: S608 - names from the models


def _insert_session(session, on_air, shown) -> None:
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor != "postgresql":
        with transaction.atomic():
            if not LiveRoom.objects.filter(pk=session.room_id, owner_id=session.owner_id).exists():
                raise RoomChangedHands
            session.save(force_insert=True)
            for row in (*on_air, *shown):
                row.session = session
            SessionAnchor.objects.bulk_create(on_air)
            SessionProduct.objects.bulk_create(shown)
        return
    params = prepared.params(
        [session.room_id, session.owner_id, *_values(session, _fields(LiveSession), db)]
    )
    for rows, columns in (
        (on_air, _record_columns(SessionAnchor)),
        (shown, _record_columns(SessionProduct)),
    ):
        # Ids, text and flags, which JSON carries as they are (json.dumps refuses anything
        # else loudly): no field's database preparation to go through.
        params.append(json.dumps([{c: getattr(row, a) for c, a in columns} for row in rows]))
    # In autocommit the statement is its own transaction. Inside a caller's transaction it
    # runs in a savepoint, so that a conflict leaves that transaction usable.
    savepoint = transaction.atomic() if db.in_atomic_block else nullcontext()
    with savepoint, prepared.cursor(db) as cursor:
        cursor.execute(_session_statement(), params)
        written = cursor.fetchone()
        if written is None:
            raise RoomChangedHands
        session.pk = written[0]
    session._state.adding = False
    session._state.db = db.alias
    for row in (*on_air, *shown):
        # What `row.session = session` does, without the descriptor's checks of a new row.
        row.session_id = session.pk
        _SESSION_OF[type(row)].set_cached_value(row, session)


_SESSION_OF = {model: model._meta.get_field("session") for model in (SessionAnchor, SessionProduct)}


@lru_cache(maxsize=2)
def _record_columns(model) -> tuple[tuple[str, str], ...]:
    """(column, attribute) of a session row's fields but its session, as the statement's
    json_to_recordset reads them."""
    return tuple((f.column, f.attname) for f in _fields(model, but=("session",)))


def session_end(*, session: LiveSession, reason: str, actor: Actor) -> LiveSession:
    updated = LiveSession.objects.filter(pk=session.pk, status=SessionStatus.LIVE).update(
        status=SessionStatus.ENDED, ended_at=timezone.now(), ended_reason=reason[:200]
    )
    if updated != 1:
        raise Conflict(_("This session has already ended."))
    session.refresh_from_db()
    return session


def sessions_on_air_for(party_id: int):
    """Sessions on air in which the party is the operator, an anchor or a merchant."""
    from django.db.models import Q

    return (
        LiveSession.objects.filter(status=SessionStatus.LIVE)
        .filter(
            Q(owner_id=party_id)
            | Q(anchors__anchor_id=party_id)
            | Q(products__merchant_id=party_id)
        )
        .distinct()
    )


def regrade_rooms_of(restriction) -> None:
    """Called when a restriction is imposed or reversed on appeal: the party's compliance record
    changed, and with it the risk of the rooms it weighs in, now rather than at the nightly
    regrade. Those are the rooms it owns (`compliance_record`) and the rooms it was on air in as
    an anchor in the last ANCHOR_WINDOW_DAYS (`anchors_record`)."""
    from liverooms.models import SessionAnchor

    since = timezone.now() - timedelta(days=ANCHOR_WINDOW_DAYS)
    owned = LiveRoom.objects.filter(owner_id=restriction.party_id).values_list("pk", flat=True)
    streamed = SessionAnchor.objects.filter(
        anchor_id=restriction.party_id, session__started_at__gte=since
    ).values_list("session__room_id", flat=True)
    room_ids = sorted({*owned, *streamed})
    if room_ids:
        rooms_regrade(room_ids=room_ids)


def terminate_sessions_of(restriction) -> None:
    """Called when a restriction is imposed: a party barred from the air is taken off it. The
    session ends here and the platform is told, through the outbox, to cut the stream."""
    if restriction.kind not in gate.BARRING_LIVE or not restriction.is_in_force():
        return
    for session in sessions_on_air_for(restriction.party_id).select_related("room"):
        _terminate(session, restriction)


def end_barred_sessions() -> int:
    """Every minute: the sessions on air with a party a restriction in force bars from the air,
    ended with a `live.terminate` to the platform; how many.

    The restriction's own listener (`terminate_sessions_of`) ends them at once in the usual
    case. This catches the others: a go-live decided while the restriction was being imposed
    (the gate read before the restriction committed, and the listener looked for sessions before
    the go-live committed), and a restriction set to start later, in force from then."""
    from django.db.models import Exists, OuterRef

    from accounts.models import Restriction
    from liverooms.models import SessionAnchor, SessionProduct

    barring = Restriction.objects.in_force().filter(kind__in=gate.BARRING_LIVE)
    barred_anchor = SessionAnchor.objects.filter(
        session_id=OuterRef("pk"), anchor_id__in=barring.values("party_id")
    )
    barred_merchant = SessionProduct.objects.filter(
        session_id=OuterRef("pk"), merchant_id__in=barring.values("party_id")
    )
    barred = (
        LiveSession.objects.filter(status=SessionStatus.LIVE)
        .filter(
            Exists(barring.filter(party_id=OuterRef("owner_id")))
            | Exists(barred_anchor)
            | Exists(barred_merchant)
        )
        .select_related("room")
    )
    ended = 0
    for session in barred:
        parties = {
            session.owner_id,
            *session.anchors.values_list("anchor_id", flat=True),
            *session.products.values_list("merchant_id", flat=True),
        }
        restriction = barring.filter(party_id__in=parties).order_by("starts_at", "pk").first()
        if restriction is not None:  # lifted since the first read
            ended += _terminate(session, restriction)
    return ended


def _terminate(session: LiveSession, restriction) -> bool:
    """End a session on air because of `restriction` and tell the platform to cut the stream;
    False if it had ended already (by its anchor, or by the listener or the sweep before)."""
    with transaction.atomic():
        ended = LiveSession.objects.filter(pk=session.pk, status=SessionStatus.LIVE).update(
            status=SessionStatus.ENDED,
            ended_at=timezone.now(),
            ended_reason=f"restriction {restriction.pk}",
        )
        if ended:
            account_services.webhook_emit(
                topic="live.terminate",
                data={
                    "session_id": session.pk,
                    "room": session.room.platform_ref,
                    "party_id": restriction.party_id,
                    "restriction": {
                        "id": restriction.pk,
                        "kind": restriction.kind,
                        "ends_at": restriction.ends_at.isoformat() if restriction.ends_at else None,
                        "reason": restriction.reason,
                    },
                },
            )
    return bool(ended)


# --- alerts and inspections --------------------------------------------------------------------


def alert_decide(*, alert, status: str, note: str, actor: Actor):
    """Confirm or dismiss an open alert; the outcome feeds the rule's precision. A confirmed
    alert is kept as evidence as it is; a dismissed one says why it was a false alarm, as the
    rule's precision counts it against the rule and whoever reads the alert later asks."""
    from liverooms.models import Alert, AlertStatus

    if status not in (AlertStatus.CONFIRMED, AlertStatus.DISMISSED):
        raise ValidationError({"status": _("Confirm or dismiss.")})
    note = note.strip()
    if status == AlertStatus.DISMISSED and not note:
        raise ValidationError({"note": _("Say why this alert is a false alarm.")})
    with transaction.atomic():
        updated = Alert.objects.filter(pk=alert.pk, status=AlertStatus.OPEN).update(
            status=status, note=note, decided_by=actor.user, decided_at=timezone.now()
        )
        if updated != 1:
            raise Conflict(_("This alert has already been decided."))
        alert.refresh_from_db()
        # A confirmed alert weighs more in the room's risk than an open one, a dismissed one not
        # at all: the patrol queue follows the decision at once.
        room_id = LiveSession.objects.values_list("room_id", flat=True).get(pk=alert.session_id)
        rooms_regrade(room_ids=[room_id])
    return alert


# Called in the same transaction after an inspection is recorded; enforcement registers here to
# open a suspected violation when the inspector suspects one (this layer cannot import it).
_inspection_listeners: list = []


def on_inspection_recorded(listener) -> None:
    if listener not in _inspection_listeners:
        _inspection_listeners.append(listener)


NOT_ON_AIR = gettext_lazy(
    "This session is no longer on air: patrol inspects sessions while they stream."
)


@transaction.atomic
def inspection_record(
    *, session, checklist: dict, findings: str, result: str, actor: Actor, screenshot=None
):
    """A patrol inspection of a session on air (RULES.md section 3: the platform inspects live
    rooms as they stream; a correction is requested on air). A screenshot is validated and
    stored privately like any document.

    An ended session is not inspected: the coverage report counts a session off the air without
    an inspection as never inspected, and an inspection recorded afterwards would turn that
    into a late one. The session is locked until the inspection is written, so that an end
    arriving meanwhile waits for it."""
    from accounts import uploads
    from liverooms.models import Inspection, InspectionResult

    if actor.user is None:
        raise ValidationError(_("An inspection is made by a person."))
    if result not in InspectionResult.values:
        raise ValidationError({"result": _("Unknown result.")})
    if result != InspectionResult.NO_ISSUE and not findings.strip():
        raise ValidationError({"findings": _("Describe what you found.")})
    with transaction.atomic():
        live = LiveSession.objects.select_for_update().filter(
            pk=session.pk, status=SessionStatus.LIVE
        )
        if not live.exists():
            raise ValidationError(NOT_ON_AIR)
        stored = ""
        if screenshot is not None:
            image = uploads.clean_image(screenshot)
            stored = uploads.store_image(image, folder=f"inspections/{session.pk}")
        inspection = Inspection.objects.create(
            session=session,
            inspector=actor.user,
            checklist=checklist,
            findings=findings.strip(),
            result=result,
            screenshot=stored,
        )
    for listener in _inspection_listeners:
        listener(inspection)
    return inspection


# --- risk grades (LCM Arts. 11, 13, 20) ----------------------------------------------------------

# Categories whose goods affect life and health (LCM Art. 13).
HIGH_RISK_CATEGORIES = {
    "food",
    "health_food",
    "infant_formula",
    "cosmetics",
    "medical_devices",
    "drugs",
}
# Extra factors other apps add (concentrated complaints): fn(room_ids) -> {room_id: (points, why)}.
_risk_factors: list = []
# An alert of the last 30 days weighs by its severity: confirmed (kept as evidence) more than
# still open, dismissed not at all. Together at most 30 points.
ALERT_POINTS = {
    Severity.CRITICAL: (15, 6),
    Severity.HIGH: (10, 4),
    Severity.MEDIUM: (5, 2),
    Severity.LOW: (2, 1),
}
# The anchors who were on air in the room in the last 90 days bring their own record of the
# last year (LCM Art. 11: the room's compliance record is its people's too), 5 points a
# restriction, at most 20.
ANCHOR_WINDOW_DAYS = 90


def risk_factor(function):
    _risk_factors.append(function)
    return function


@risk_factor
def anchors_record(room_ids: list[int]) -> dict[int, tuple[int, str]]:
    """The restrictions of the last year on the anchors who were on air in each room in the
    last ANCHOR_WINDOW_DAYS, other than its owner (the owner's record is its own factor): 5
    points each, at most 20. Two statements for the whole batch of rooms, not one per room."""
    from django.db.models import Count

    from accounts.models import Restriction
    from liverooms.models import LiveRoom, SessionAnchor

    now = timezone.now()
    owners = dict(LiveRoom.objects.filter(pk__in=room_ids).values_list("pk", "owner_id"))
    on_air = set(
        SessionAnchor.objects.filter(
            session__room_id__in=room_ids,
            session__started_at__gte=now - timedelta(days=ANCHOR_WINDOW_DAYS),
        ).values_list("session__room_id", "anchor_id")
    )
    anchors = {anchor for _room, anchor in on_air}
    counts = dict(
        Restriction.objects.filter(
            party_id__in=anchors,
            created_at__gte=now - timedelta(days=365),
            reversed_on_appeal=False,
        )
        .order_by()
        .values("party_id")
        .annotate(n=Count("pk"))
        .values_list("party_id", "n")
    )
    found: dict[int, int] = {}
    for room, anchor in on_air:
        if anchor != owners.get(room):
            found[room] = found.get(room, 0) + counts.get(anchor, 0)
    return {room: (min(20, 5 * n), "anchors_record") for room, n in found.items() if n}


def _grade(score: int) -> str:
    from liverooms.models import RiskGrade

    if score >= 60:
        return RiskGrade.HIGH
    if score >= 30:
        return RiskGrade.MEDIUM
    return RiskGrade.LOW


def rooms_regrade(*, room_ids: list[int] | None = None, batch: int = 1000) -> int:
    """Grade rooms by compliance record, reach, sales, category, recent alerts and the factors
    other apps register. Reads are aggregated per batch of rooms, writes are bulk updates."""
    from django.db.models import Case, Count, IntegerField, OuterRef, Subquery, Sum, Value, When
    from django.db.models.functions import Coalesce

    from accounts.models import Restriction
    from liverooms.models import Alert, AlertStatus

    now = timezone.now()
    rooms = LiveRoom.objects.order_by("pk")
    if room_ids is not None:
        rooms = rooms.filter(pk__in=room_ids)
    restrictions = (
        Restriction.objects.filter(
            party_id=OuterRef("owner_id"),
            created_at__gte=now - timedelta(days=365),
            reversed_on_appeal=False,  # an appeal found it wrong: not part of the record
        )
        .values("party_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    weight = Case(
        *(
            When(status=status, severity=severity, then=Value(points[index]))
            for severity, points in ALERT_POINTS.items()
            for index, status in enumerate((AlertStatus.CONFIRMED, AlertStatus.OPEN))
        ),
        default=Value(0),
        output_field=IntegerField(),
    )
    alerts = (
        Alert.objects.filter(
            session__room_id=OuterRef("pk"), raised_at__gte=now - timedelta(days=30)
        )
        .values("session__room_id")
        .annotate(points=Sum(weight))
        .values("points")
    )
    graded = 0
    last = 0
    while True:
        with transaction.atomic():
            # The rooms' rows are locked first, and their record read in a statement of its
            # own once the locks are held: two regrades of a room at once (an alert decided
            # while a batch raises others) take turns, and the second reads what the first
            # committed instead of writing a grade from before it. (A statement that waited for
            # a lock still reads other tables as they were when it began.) FOR NO KEY UPDATE, as
            # the grade's UPDATE itself takes: a session going live in the room (its foreign key
            # takes KEY SHARE on the room) does not wait for a regrade.
            ids = list(
                rooms.filter(pk__gt=last)
                .select_for_update(no_key=True)
                .values_list("pk", flat=True)[:batch]
            )
            if not ids:
                return graded
            chunk = list(
                LiveRoom.objects.filter(pk__in=ids)
                .order_by("pk")
                .annotate(
                    restrictions_365=Coalesce(Subquery(restrictions[:1]), 0),
                    alert_points_30=Coalesce(Subquery(alerts[:1]), 0),
                )
            )
            graded += _grade_chunk(chunk, now)
        last = ids[-1]


def _grade_chunk(chunk: list, now) -> int:
    """Score and grade rooms read with their record; one bulk update."""
    extra: dict[int, list[tuple[int, str]]] = {}
    for factor in _risk_factors:
        for room_id, value in factor([r.pk for r in chunk]).items():
            extra.setdefault(room_id, []).append(value)
    for room in chunk:
        reasons = []
        score = 0
        for points, why in [
            (
                30
                if room.followers >= 1_000_000
                else 20
                if room.followers >= 100_000
                else 10
                if room.followers >= 10_000
                else 0,
                "followers",
            ),
            (
                20
                if room.monthly_sales_fen >= 1_000_000_00
                else 10
                if room.monthly_sales_fen >= 100_000_00
                else 0,
                "sales",
            ),
            (20 if room.category in HIGH_RISK_CATEGORIES else 0, "category"),
            (min(30, 10 * room.restrictions_365), "compliance_record"),
            (min(30, room.alert_points_30), "alerts"),
            *extra.get(room.pk, []),
        ]:
            if points:
                score += points
                reasons.append({"factor": why, "points": points})
        room.risk_score = min(score, 100)
        room.risk_grade = _grade(score)
        room.risk_reasons = reasons
        room.risk_graded_at = now
    LiveRoom.objects.bulk_update(
        chunk, ["risk_score", "risk_grade", "risk_reasons", "risk_graded_at"]
    )
    return len(chunk)


# --- background monitoring -----------------------------------------------------------------------


@dataclass(frozen=True)
class SignalsReceived:
    alerts: list
    # True when the batch had been received before: its alerts are those of the first time.
    replayed: bool = False


def signals_ingest(*, session: LiveSession, signals: list[dict], actor: Actor) -> SignalsReceived:
    """Match a batch of transcript, chat and listing signals against the published rules and
    record the alerts they raise (with offsets into the original text).

    A batch sent again (the same signals, after a timeout or a lost answer) raises nothing new:
    the answer is the first time's alerts. Each feed -- speech to text, chat, listing updates --
    arrives in order: a signal earlier than one of its kind already accepted in the session is a
    Conflict, one out of order within the batch, in the future (beyond the clocks' allowed skew)
    or from before the session went live is refused, and nothing of the batch is kept.

    Session rules (the unlabelled AI presenter, LCM Art. 37) are read with the session's AI label
    and raise one alert per session: none while one of the rule is open for it."""
    from liverooms.models import Alert, SignalBatch
    from liverooms.monitoring.engine import Signal
    from liverooms.rules import published

    digest = _batch_digest(signals)
    with transaction.atomic():
        # One batch of a session at a time: the clock and the digest are read under the lock.
        session = LiveSession.objects.select_for_update().get(pk=session.pk)
        first = SignalBatch.objects.filter(session=session, digest=digest).first()
        if first is not None:
            return SignalsReceived(
                alerts=list(first.alerts.select_related("rule").order_by("id")), replayed=True
            )
        if session.status != SessionStatus.LIVE:
            raise Conflict(_("This session has ended; signals are no longer accepted."))
        latest = (
            SignalBatch.objects.filter(session=session)
            .order_by("-id")
            .values_list("clock", flat=True)
            .first()
        )
        clock = _signals_clock(session, signals, latest or {})
        rules = published()
        drafts = rules.compiled.evaluate(
            [
                Signal.listing(
                    at=item["at"],
                    title=item.get("title", ""),
                    price_fen=item.get("price_fen"),
                    reference_price_fen=item.get("reference_price_fen"),
                )
                if item["kind"] == "listing"
                else Signal(kind=item["kind"], at=item["at"], text=item["text"])
                for item in signals
            ],
            ai_labelled=session.ai_generated,
        )
        drafts = _session_findings_once(session, _first_per_signal(drafts), rules.rows)
        times = [item["at"] for item in signals]
        batch = SignalBatch.objects.create(
            session=session,
            digest=digest,
            signals=len(signals),
            first_at=min(times),
            last_at=max(times),
            clock={kind: at.isoformat() for kind, at in clock.items()},
        )
        alerts = Alert.objects.bulk_create(
            Alert(
                session=session,
                batch=batch,
                rule=rules.rows[(draft.rule_code, draft.rule_version)],
                severity=draft.severity,
                signal_kind=draft.signal_kind,
                excerpt=draft.excerpt,
                start=draft.start,
                end=draft.end,
                stream_at=draft.at,
            )
            for draft in drafts
        )
        if alerts:
            # Recent alerts weigh in the room's risk: the patrol queue sees them at once.
            rooms_regrade(room_ids=[session.room_id])
    return SignalsReceived(alerts=alerts)


def _first_per_signal(drafts: list) -> list:
    """One alert per rule per signal, its first finding: a chat message that repeats 加微信 a
    hundred times is one thing for a reviewer to look at, not a hundred (a viewer could
    otherwise raise thousands of alerts with one batch)."""
    seen: set[tuple[int, str]] = set()
    kept = []
    for draft in drafts:
        key = (draft.signal_index, draft.rule_code)
        if key not in seen:
            seen.add(key)
            kept.append(draft)
    return kept


def _session_findings_once(session: LiveSession, drafts: list, rows: dict) -> list:
    """The drafts without repeats of a session rule: a finding about the whole session (it is
    not labelled AI-generated) is one alert for a reviewer, not one per sentence of the stream.
    The first draft of each session rule is kept unless an alert of that rule is still open
    for the session. Read under the session's row lock, so two batches cannot both raise it."""
    from liverooms.models import Alert, AlertStatus

    session_codes = {
        draft.rule_code
        for draft in drafts
        if rows[(draft.rule_code, draft.rule_version)].kind == "session"
    }
    if not session_codes:
        return drafts
    seen = set(
        Alert.objects.filter(
            session=session, status=AlertStatus.OPEN, rule__code__in=session_codes
        ).values_list("rule__code", flat=True)
    )
    kept = []
    for draft in drafts:
        if draft.rule_code in session_codes:
            if draft.rule_code in seen:
                continue
            seen.add(draft.rule_code)
        kept.append(draft)
    return kept


def _batch_digest(signals: list[dict]) -> str:
    """What makes two batches the same: every field of every signal, in order, times in UTC."""
    canonical = [
        [
            item["kind"],
            item["at"].astimezone(UTC).isoformat(),
            item.get("text", ""),
            item.get("title", ""),
            item.get("price_fen"),
            item.get("reference_price_fen"),
        ]
        for item in signals
    ]
    text = json.dumps(canonical, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _signals_clock(session: LiveSession, signals: list[dict], clock: dict) -> dict:
    """The session's clock (the last accepted time per kind) once this batch is accepted; refuses
    the batch if a signal is out of its time."""
    skew = timedelta(seconds=settings.MONITORING_CLOCK_SKEW_SECONDS)
    latest = {kind: datetime.fromisoformat(at) for kind, at in clock.items()}
    in_batch: set[str] = set()
    now = timezone.now()
    for index, item in enumerate(signals):
        kind, at = item["kind"], item["at"]
        where = {"index": index, "kind": kind, "at": at.isoformat()}
        if at > now + skew:
            raise ValidationError(
                {"signals": _("signals[%(index)d] (%(kind)s at %(at)s) is in the future.") % where}
            )
        if at < session.started_at - skew:
            raise ValidationError(
                {
                    "signals": _(
                        "signals[%(index)d] (%(kind)s at %(at)s) is from before the session went "
                        "live at %(start)s."
                    )
                    % {**where, "start": session.started_at.isoformat()}
                }
            )
        previous = latest.get(kind)
        if previous is not None and at < previous:
            if kind in in_batch:
                raise ValidationError(
                    {
                        "signals": _(
                            "signals[%(index)d] (%(kind)s at %(at)s) is earlier than the %(kind)s "
                            "signal before it; send each kind in the order of stream time."
                        )
                        % where
                    }
                )
            raise Conflict(
                _(
                    "signals[%(index)d] (%(kind)s at %(at)s) is earlier than the last %(kind)s "
                    "signal already accepted for this session (%(last)s); each kind is sent in "
                    "the order of stream time."
                )
                % {**where, "last": previous.isoformat()}
            )
        latest[kind] = at
        in_batch.add(kind)
    return latest


# --- monitoring rules as data ------------------------------------------------------------------


def rule_validate(rule) -> None:
    """The engine's own validation of a rule row (codes, regular expressions, kinds ...), as a
    ValidationError on the field at fault where the engine names one."""
    from liverooms.monitoring.engine import RuleError
    from liverooms.rules import to_engine_rule

    try:
        to_engine_rule(rule)
    except RuleError as exc:
        raise ValidationError({exc.field: str(exc)} if exc.field else str(exc)) from None


@transaction.atomic
def rule_publish(*, rule, actor: Actor):
    """Put a draft in force; the version it replaces is retired in the same transaction.

    A draft older than the version in force is not published: it was started from a version
    that has since been replaced (by another lead, or by a rule pack the platform shipped), and
    publishing it would silently undo that version's changes."""
    from liverooms.models import MonitoringRule, RuleStatus

    rule_validate(rule)
    with transaction.atomic():
        current = (
            MonitoringRule.objects.select_for_update()
            .filter(code=rule.code, status=RuleStatus.PUBLISHED)
            .first()
        )
        if current is not None and current.version > rule.version:
            raise Conflict(
                _(
                    "Version %(current)d of this rule is in force, newer than this draft "
                    "(version %(draft)d). Start a new draft from the version in force."
                )
                % {"current": current.version, "draft": rule.version}
            )
        MonitoringRule.objects.filter(code=rule.code, status=RuleStatus.PUBLISHED).update(
            status=RuleStatus.RETIRED
        )
        updated = MonitoringRule.objects.filter(pk=rule.pk, status=RuleStatus.DRAFT).update(
            status=RuleStatus.PUBLISHED, published_at=timezone.now(), published_by=actor.label
        )
        if updated != 1:
            raise Conflict(_("Only a draft can be published."))
    rule.refresh_from_db()
    return rule


def rule_withdraw(*, rule, actor: Actor):
    """Take a published rule out of force with no version in its place (one that floods the
    reviewers with false alarms, or whose ground has gone). It is retired, kept as the record of
    its alerts; to bring it back, a lead starts a new draft from it and publishes that. The
    engine drops it at the next batch (liverooms/rules.py counts the published rules)."""
    from liverooms.models import MonitoringRule, RuleStatus

    withdrawn = MonitoringRule.objects.filter(pk=rule.pk, status=RuleStatus.PUBLISHED).update(
        status=RuleStatus.RETIRED
    )
    if withdrawn != 1:
        raise Conflict(_("Only the version in force can be withdrawn."))
    rule.refresh_from_db()
    return rule


def rule_new_version(*, rule, actor: Actor):
    """A new draft copied from a rule; published versions are never edited."""
    from django.db.models import Max

    from liverooms.models import MonitoringRule, RuleStatus

    top = MonitoringRule.objects.filter(code=rule.code).aggregate(v=Max("version"))["v"]
    copy = MonitoringRule.objects.get(pk=rule.pk)
    copy.pk = None
    copy.version = top + 1
    copy.status = RuleStatus.DRAFT
    copy.published_at = None
    copy.published_by = ""
    copy.save()
    return copy


def rule_try(*, rule, text: str, signal_kind: str = "transcript"):
    """What a rule would raise on a sample, before it is published."""
    from liverooms.monitoring.engine import CompiledRuleSet, Signal
    from liverooms.rules import to_engine_rule

    rule_validate(rule)
    compiled = CompiledRuleSet([to_engine_rule(rule)])
    if signal_kind == "listing":
        signal = Signal.listing(at=None, title=text, price_fen=100)
    else:
        signal = Signal(kind=signal_kind, at=None, text=text)
    return compiled.evaluate([signal])


def clip_label(
    *, session: LiveSession, kind: str, platform_ref: str, ai_generated: bool, actor: Actor
) -> tuple[ContentLabel, bool]:
    """Identify a clip cut from a session; a clip of an AI-labelled stream stays labelled.

    Returns the label and whether it is new. The same clip sent again (a retry) gets the label
    it has; one sent again as AI-generated gains the AI label (LCM Art. 37: labelled as long as
    it is shown), never loses it; one sent again as another kind of content is a Conflict, as a
    clip id names one clip."""
    if kind not in ClipKind.values:
        raise ValidationError({"kind": _("Unknown clip kind.")})
    with transaction.atomic():
        label, created = ContentLabel.objects.select_for_update().get_or_create(
            session=session,
            platform_ref=platform_ref,
            defaults={"kind": kind, "ai_generated": ai_generated or session.ai_generated},
        )
        if created:
            return label, True
        if label.kind != kind:
            raise Conflict(
                _("Clip %(ref)s of this session is already labelled as %(kind)s content.")
                % {"ref": platform_ref, "kind": label.get_kind_display()}
            )
        if ai_generated and not label.ai_generated:
            label.ai_generated = True
            label.save(update_fields=["ai_generated"])
    return label, False
