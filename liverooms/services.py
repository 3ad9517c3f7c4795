"""Writes for live rooms: registering rooms, going live through the gate, ending sessions,
monitoring signals and alerts, patrol inspections and risk grades."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import services as account_services
from accounts.actors import Actor
from accounts.models import Party, PartyKind
from config.errors import Conflict
from liverooms import gate
from liverooms.models import (
    GoLiveRefusal,
    LiveRoom,
    LiveSession,
    SessionAnchor,
    SessionProduct,
    SessionStatus,
)
from merchants.models import Product


def room_register(
    *,
    owner: Party,
    platform_ref: str,
    title: str,
    category: str,
    followers: int = 0,
    monthly_sales_fen: int = 0,
    actor: Actor,
) -> LiveRoom:
    if owner.kind not in (PartyKind.MERCHANT, PartyKind.ANCHOR):
        raise ValidationError({"owner": _("A live room belongs to a merchant or an anchor.")})
    room, _created = LiveRoom.objects.update_or_create(
        platform_ref=platform_ref,
        defaults={
            "owner": owner,
            "title": title.strip(),
            "category": category,
            "followers": followers,
            "monthly_sales_fen": monthly_sales_fen,
        },
    )
    return room


@dataclass(frozen=True)
class GoLive:
    session: LiveSession | None
    reasons: list[gate.Reason]

    @property
    def allowed(self) -> bool:
        return self.session is not None


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
    context = gate.load_context(
        owner=room.owner, anchors=anchors, products=products, ai_generated=ai_generated
    )
    reasons = gate.decide(context)
    requested = {
        "anchors": [a.pk for a in anchors],
        "products": [p.pk for p in products],
        "ai_generated": ai_generated,
    }
    if reasons:
        GoLiveRefusal.objects.create(
            room=room, reasons=[r.as_dict() for r in reasons], requested=requested
        )
        return GoLive(None, reasons)
    try:
        with transaction.atomic():
            session = LiveSession.objects.create(
                room=room, ai_generated=ai_generated, pre_stream_checklist=checklist
            )
            SessionAnchor.objects.bulk_create(
                _reported_identity(session, context.parties[a.pk]) for a in anchors
            )
            SessionProduct.objects.bulk_create(
                SessionProduct(session=session, product=p, merchant_id=p.merchant_id)
                for p in products
            )
    except IntegrityError:
        raise Conflict(_("This room is already on air.")) from None
    return GoLive(session, [])


def _reported_identity(session: LiveSession, party: Party) -> SessionAnchor:
    file = getattr(party, "registration_file", None)
    profile = getattr(file, "anchor_profile", None) if file else None
    return SessionAnchor(
        session=session,
        anchor=party,
        name=party.name,
        id_number_masked=file.id_number_masked if file else "",
        identity_hash=party.identity_hash,
        is_ai_presenter=bool(profile and profile.is_ai_presenter),
    )


def session_end(*, session: LiveSession, reason: str, actor: Actor) -> LiveSession:
    updated = LiveSession.objects.filter(pk=session.pk, status=SessionStatus.LIVE).update(
        status=SessionStatus.ENDED, ended_at=timezone.now(), ended_reason=reason[:200]
    )
    if updated != 1:
        raise Conflict(_("This session has already ended."))
    session.refresh_from_db()
    return session


def sessions_on_air_for(party_id: int):
    """Sessions on air in which the party is the room's owner, an anchor or a merchant."""
    from django.db.models import Q

    return (
        LiveSession.objects.filter(status=SessionStatus.LIVE)
        .filter(
            Q(room__owner_id=party_id)
            | Q(anchors__anchor_id=party_id)
            | Q(products__merchant_id=party_id)
        )
        .distinct()
    )


def terminate_sessions_of(restriction) -> None:
    """Called when a restriction is imposed: a party barred from the air is taken off it. The
    session ends here and the platform is told, through the outbox, to cut the stream."""
    if restriction.kind not in gate.BARRING_LIVE or not restriction.is_in_force():
        return
    for session in sessions_on_air_for(restriction.party_id).select_related("room"):
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
