"""POST /api/v1/live-sessions/, the go-live gate, without the REST framework's machinery.

The gate is asked before every stream; the target is 1,000 decisions a second on two cores
(bench/README.md). The REST framework's request wrapper, content negotiation, parser, class
instances and serializers take a large share of that budget, so `SessionViewSet.dispatch` hands
a go-live to `answer` first. It applies the same rules
as the view: the Bearer key (ApiKeyAuthentication), the `live:write` scope (HasScopes), the
per-key throttle (ApiKeyRateThrottle), GoLiveIn's field rules, the party-bound-key rule, the same
service calls and the same answers.

It only answers what it can vouch for: a JSON body from an active key holding the scope, whose
fields already have exactly the types GoLiveIn would produce. Anything else -- no key or an
unknown one, a missing scope, another content type or Accept header, malformed JSON, an id sent
as a string -- is handed back before anything is counted or written, and the REST framework view
answers it as it always has. `decide` is shared by both paths.
"""

from __future__ import annotations

import json
from datetime import datetime

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from rest_framework import exceptions, serializers, status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from accounts.actors import Actor
from accounts.api.authentication import ApiKeyAuthentication
from accounts.models import ApiKey
from config.api.exceptions import exception_handler
from config.api.throttling import ApiKeyRateThrottle
from config.errors import Conflict
from liverooms import gate, review, services
from liverooms.api.serializers import GoLiveIn

_FIELDS = GoLiveIn().fields
_ANCHORS = _FIELDS["anchor_ids"]
_PRODUCTS = _FIELDS["product_ids"]
_RENDERER = JSONRenderer()
MAX_BODY_BYTES = 64 * 1024


def answer(view, request: HttpRequest) -> HttpResponse | None:
    """The answer to a go-live this path can vouch for; None hands the request to the view."""
    # The key and its scope first (the key is cached): a caller without them never costs this
    # process a body read or a JSON parse, as with the REST framework's own order.
    try:
        authenticated = ApiKeyAuthentication().authenticate(request)
    except exceptions.AuthenticationFailed:
        return None
    if authenticated is None:
        return None
    user, key = authenticated
    if not set(view.required_scopes) <= set(key.scopes):
        return None
    data = _body(request)
    if data is None:
        return None
    # From here on this path answers, as the view would from the same point.
    request.user, request.auth = user, key
    throttle = ApiKeyRateThrottle()
    if not throttle.allow_request(request, view):
        return _error(view, request, exceptions.Throttled(throttle.wait()))
    try:
        return decide(view, key, data)
    except (DjangoValidationError, Conflict) as exc:
        return _error(view, request, exc)


def decide(view, key: ApiKey, data: dict) -> HttpResponse:
    """Load, check the key's party, decide, write and answer; for both paths."""
    try:
        context = services.session_gate(
            room_id=data["room_id"],
            anchor_ids=data["anchor_ids"],
            product_ids=data["product_ids"],
            ai_generated=data["ai_generated"],
            owner_id=key.party_id,
        )
    except services.RoomNotFound:
        # A key bound to a party reaches only its own rooms; whether another id is a room at
        # all, someone else's, is not disclosed.
        return _finish(view, Response(status=status.HTTP_404_NOT_FOUND))
    outcome = services.session_open(
        context=context, checklist=data["pre_stream_checklist"], actor=Actor.for_api_key(key)
    )
    try:
        return _answer(view, key, context, outcome)
    finally:
        # The answer is built: the rows' reference cycles go, so that reference counting frees
        # them now rather than the cycle collector later (GateContext.release).
        context.release()
        outcome.release()


def _answer(view, key: ApiKey, context: gate.GateContext, outcome: services.GoLive) -> HttpResponse:
    if not outcome.allowed:
        reasons = outcome.reasons
        if key.party_id is not None:
            reasons = services.reasons_for_party(context, reasons, key.party_id)
        body = {"allowed": False, "reasons": [r.as_dict() for r in reasons]}
        refused = _json(body, status.HTTP_403_FORBIDDEN)
        # A refusal is the gate's decision, kept with its reasons as a GoLiveRefusal row, not a
        # failed request: Django's request log (a WARNING for every 4xx) leaves it out. That
        # line cost about a seventh of a refused decision's CPU (bench/README.md).
        refused._has_been_logged = True
        return _finish(view, refused)
    body = {"allowed": True, **session_data(outcome.session, outcome.anchors, outcome.products)}
    return _finish(view, _json(body, status.HTTP_201_CREATED))


def unbind_handlers(view) -> None:
    """Takes back the handlers the REST framework's `as_view` bound to the view instance
    (`view.post = view.create`, one per method of the route). Each holds the view, and the view
    holds the request, with the WSGI server's objects in its environ: a cycle that left some 60
    objects a decision for the cycle collector (GateContext.release). Called once the view has
    answered, when nothing dispatches on it any more."""
    for method in view.action_map:
        view.__dict__.pop(method, None)


def _json(body: dict, code: int) -> HttpResponse:
    """The REST framework's answer to `body` -- the same bytes, from its JSON renderer, and the
    same content type -- without the template response it renders through (about 5 % of a
    decision's Python)."""
    return HttpResponse(_RENDERER.render(body), status=code, content_type=_RENDERER.media_type)


def session_data(session, anchors, products) -> dict:
    """SessionOut's representation of a session just opened with these anchor and product rows
    (a test holds them equal), without building a ModelSerializer's fields on every decision."""
    zone = timezone.get_current_timezone()
    return {
        "id": session.pk,
        "room_id": session.room_id,
        "owner_id": session.owner_id,
        "status": session.status,
        "started_at": _iso(session.started_at, zone),
        "ended_at": _iso(session.ended_at, zone),
        "ended_reason": session.ended_reason,
        "ai_generated": session.ai_generated,
        "content_label": str(session.content_label),
        "pre_stream_checklist": session.pre_stream_checklist,
        "anchors": [
            {
                "anchor_id": row.anchor_id,
                "name": row.name,
                "id_number_masked": row.id_number_masked,
                "is_ai_presenter": row.is_ai_presenter,
            }
            for row in anchors
        ],
        "products": [
            {"product_id": row.product_id, "merchant_id": row.merchant_id} for row in products
        ],
    }


def _iso(value: datetime | None, zone) -> str | None:
    """What the REST framework's DateTimeField gives for an aware datetime (ISO 8601 in the
    current time zone, UTC as 'Z'), with the zone looked up once per answer, not per field."""
    if value is None:
        return None
    text = value.astimezone(zone).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _body(request: HttpRequest) -> dict | None:
    """The validated body, when it is JSON whose fields have exactly GoLiveIn's types; None for
    anything GoLiveIn would have to coerce or refuse."""
    if request.content_type != "application/json":
        return None
    if request.content_params.get("charset", "utf-8").lower() not in ("utf-8", "utf8"):
        return None
    # The REST framework would pick another renderer, or refuse with 406.
    if request.META.get("HTTP_ACCEPT", "*/*") not in ("*/*", "application/json"):
        return None
    # A go-live is a few hundred bytes; anything much larger is the view's to refuse.
    try:
        if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_BODY_BYTES:
            return None
    except ValueError:
        return None
    try:
        # Decoded as UTF-8 here: json.loads would guess UTF-16 or a BOM that the view refuses.
        data = _DECODER.decode(request.body.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None
    if type(data) is not dict:
        return None
    room_id = data.get("room_id")
    anchor_ids = data.get("anchor_ids")
    product_ids = data.get("product_ids", [])
    ai_generated = data.get("ai_generated", False)
    checklist = review.plain(data.get("pre_stream_checklist"))
    if (
        type(room_id) is not int
        or not _ids(anchor_ids, _ANCHORS)
        or not _ids(product_ids, _PRODUCTS)
        or type(ai_generated) is not bool
        or checklist is None
    ):
        return None
    return {
        "room_id": room_id,
        "anchor_ids": anchor_ids,
        "product_ids": product_ids,
        "ai_generated": ai_generated,
        "pre_stream_checklist": checklist,
    }


def _ids(value, field: serializers.ListField) -> bool:
    # `type(...) is int` leaves out booleans, which GoLiveIn refuses.
    return (
        type(value) is list
        and (field.min_length or 0) <= len(value) <= (field.max_length or len(value))
        and all(type(pk) is int for pk in value)
    )


def _no_constants(name: str):
    # NaN and Infinity are not JSON; the REST framework's parser refuses them.
    raise ValueError(name)


# Built once: json.loads with an argument builds a decoder on every call, half its time here.
_DECODER = json.JSONDecoder(parse_constant=_no_constants)


def _error(view, request, exc: Exception) -> Response:
    response = exception_handler(exc, {"view": view, "request": request})
    return _finish(view, response)


def _finish(view, response: HttpResponse) -> HttpResponse:
    """What the REST framework's dispatch adds to a response: its renderer (to one it still
    has to render) and the view's headers (`Allow`)."""
    if isinstance(response, Response):
        response.accepted_renderer = _RENDERER
        response.accepted_media_type = _RENDERER.media_type
        response.renderer_context = {}
    for name, value in view.default_response_headers.items():
        response[name] = value
    return response
