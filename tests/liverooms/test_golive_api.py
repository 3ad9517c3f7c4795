"""POST /api/v1/live-sessions/ through its hot path (liverooms/api/golive.py): the same rules and
the same answers as the REST framework view, which still answers whatever the hot path does not
vouch for."""

import json
import re

import pytest
from django.db import connection
from django.db.models import signals
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from liverooms import services
from liverooms.api import golive
from liverooms.api.serializers import SessionOut
from liverooms.api.views import SessionViewSet
from liverooms.models import GoLiveRefusal, LiveSession, SessionAnchor, SessionProduct
from tests.liverooms.conftest import REVIEWED

pytestmark = pytest.mark.django_db

URL = "/api/v1/live-sessions/"


@pytest.fixture
def answered_by(monkeypatch):
    """Records which path answered each go-live: the hot path, or the REST framework view."""
    seen = []
    answer, create = golive.answer, SessionViewSet.create

    def hot(view, request):
        response = answer(view, request)
        seen.append("hot" if response is not None else "handed back")
        return response

    def rest(self, request, *args, **kwargs):
        seen.append("rest framework")
        return create(self, request, *args, **kwargs)

    monkeypatch.setattr(golive, "answer", hot)
    monkeypatch.setattr(SessionViewSet, "create", rest)
    return seen


def test_an_allowed_go_live_answers_exactly_what_the_session_serializer_would(world, answered_by):
    response = world.go_live()
    assert response.status_code == 201, response.content
    assert answered_by == ["hot"]
    body = response.json()
    session = LiveSession.objects.prefetch_related("anchors", "products").get(pk=body["id"])
    assert body == {"allowed": True, **SessionOut(session).data}
    assert response["Content-Type"] == "application/json"
    assert response["Allow"] == "GET, POST, HEAD, OPTIONS"


def test_the_hot_paths_answers_are_the_rest_frameworks_bytes_and_headers(world, answered_by):
    """The hot path builds plain responses; the REST framework view (an id sent as a string
    goes to it) renders its own. Byte for byte and header for header they must not differ."""
    from rest_framework.renderers import JSONRenderer

    from liverooms.services import session_end
    from merchants.services import product_set_listing_status
    from tests.factories import TEST_ACTOR

    english = {"HTTP_ACCEPT_LANGUAGE": "en"}
    hot = world.go_live(headers=english)
    session_end(session=LiveSession.objects.get(pk=hot.json()["id"]), reason="x", actor=TEST_ACTOR)
    rest = world.go_live(headers=english, room_id=str(world.room.pk))
    product_set_listing_status(product=world.product, status="removed", actor=TEST_ACTOR)
    hot_refusal = world.go_live(headers=english)
    rest_refusal = world.go_live(headers=english, room_id=str(world.room.pk))

    assert answered_by == ["hot", "handed back", "rest framework"] * 2
    assert [r.status_code for r in (hot, rest, hot_refusal, rest_refusal)] == [201, 201, 403, 403]
    # Two sessions differ in id and time, so in length; nothing else.
    assert {**hot.headers, "Content-Length": ""} == {**rest.headers, "Content-Length": ""}
    assert hot.content == JSONRenderer().render(hot.json())
    assert list(hot.json()) == list(rest.json())
    assert dict(hot_refusal.headers) == dict(rest_refusal.headers)
    assert hot_refusal.content == rest_refusal.content


def test_a_refusal_is_recorded_not_logged_as_a_failed_request(world, caplog):
    """A refusal is a decision (a GoLiveRefusal row); Django's request log keeps its WARNING for
    requests that failed."""
    from merchants.services import product_set_listing_status
    from tests.factories import TEST_ACTOR

    product_set_listing_status(product=world.product, status="removed", actor=TEST_ACTOR)
    with caplog.at_level("WARNING", logger="django.request"):
        refused = world.go_live()
        missing = world.go_live(room_id=world.room.pk + 1000)
    assert (refused.status_code, missing.status_code) == (403, 400)
    assert GoLiveRefusal.objects.filter(room=world.room).count() == 1
    logged = [r.getMessage() for r in caplog.records if r.name == "django.request"]
    assert logged == [f"Bad Request: {URL}"]


def test_a_refusal_keeps_its_shape_and_is_recorded(world, answered_by):
    from merchants.services import product_set_listing_status
    from tests.factories import TEST_ACTOR

    product_set_listing_status(product=world.product, status="removed", actor=TEST_ACTOR)
    response = world.go_live(headers={"HTTP_ACCEPT_LANGUAGE": "en"})
    assert response.status_code == 403
    assert answered_by == ["hot"]
    body = response.json()
    assert body == {
        "allowed": False,
        "reasons": [
            {
                "code": "product_removed",
                "message": "真丝围巾 is Removed and may not be shown live.",
                "product_id": world.product.pk,
            }
        ],
    }
    refusal = GoLiveRefusal.objects.get(room=world.room)
    assert refusal.reasons == body["reasons"]
    assert refusal.requested == {
        "anchors": [world.anchor.pk],
        "products": [world.product.pk],
        "ai_generated": False,
    }


def test_unknown_ids_are_field_errors_named_as_before(world, answered_by):
    def errors(**overrides):
        response = world.go_live(headers={"HTTP_ACCEPT_LANGUAGE": "en"}, **overrides)
        assert response.status_code == 400
        return response.json()

    assert errors(room_id=999999) == {"room_id": ["No live room with this id."]}
    assert errors(anchor_ids=[999999, world.anchor.pk, 999998]) == {
        "anchor_ids": ["No party with ids: 999999, 999998"]
    }
    assert errors(product_ids=[999999]) == {"product_ids": ["No product with ids: 999999"]}
    # An id no 64-bit key can hold names nothing either.
    assert errors(room_id=2**70) == {"room_id": ["No live room with this id."]}
    assert answered_by == ["hot"] * 4
    assert not GoLiveRefusal.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "status"),
    [
        ({"room_id": "ROOM"}, 201),  # an id sent as a string: GoLiveIn coerces it
        ({"ai_generated": "false"}, 201),
        ({"anchor_ids": []}, 400),
        ({"anchor_ids": [True]}, 400),
        ({"anchor_ids": "1"}, 400),
        ({"product_ids": None}, 400),
        ({"pre_stream_checklist": ["not", "a", "dict"]}, 400),
        ({"pre_stream_checklist": {"script_reviewed": True}}, 400),  # the set not said
        ({"pre_stream_checklist": {**REVIEWED, "script": "ok"}}, 400),  # not an item
        ({"pre_stream_checklist": {**REVIEWED, "reviewer": " 李晓"}}, 201),  # trimmed there
        ({"pre_stream_checklist": {**REVIEWED, "set_reviewed": "true"}}, 201),
    ],
)
def test_bodies_the_hot_path_cannot_vouch_for_go_to_the_rest_framework(
    world, answered_by, overrides, status
):
    if overrides.get("room_id") == "ROOM":
        overrides = {"room_id": str(world.room.pk)}
    response = world.go_live(**overrides)
    assert response.status_code == status, response.content
    assert answered_by == ["handed back", "rest framework"]
    if status == 400:
        assert set(response.json()) == set(overrides)


def test_a_missing_field_is_the_serializers_field_error(world, answered_by):
    response = world.api.post(
        URL, {"anchor_ids": [world.anchor.pk], "pre_stream_checklist": REVIEWED}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()) == {"room_id"}
    assert answered_by == ["handed back", "rest framework"]


def test_another_content_type_or_accept_header_goes_to_the_rest_framework(world, answered_by):
    assert world.go_live(headers={"HTTP_ACCEPT": "text/html"}).status_code == 406
    form = world.api.post(URL, {"room_id": world.room.pk}, format="multipart")
    assert form.status_code == 400
    # The REST framework refuses the first before the view's action runs.
    assert answered_by == ["handed back", "handed back", "rest framework"]


def test_no_key_a_bad_key_or_a_key_without_the_scope_is_answered_as_before(
    world, make_key, answered_by
):
    body = {
        "room_id": world.room.pk,
        "anchor_ids": [world.anchor.pk],
        "pre_stream_checklist": REVIEWED,
    }
    anonymous = APIClient().post(URL, body, format="json")
    assert anonymous.status_code == 401
    assert anonymous["WWW-Authenticate"] == 'Bearer realm="api"'
    stranger = APIClient()
    stranger.credentials(HTTP_AUTHORIZATION="Bearer lcc_not-a-real-key")
    assert stranger.post(URL, body, format="json").status_code == 401
    _key, raw = make_key(scopes=["live:read"], name="read-only")
    reader = APIClient()
    reader.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    refused = reader.post(URL, body, format="json")
    assert refused.status_code == 403
    assert refused.json()["code"] == "permission_denied"
    # The REST framework refuses them before the view's action runs.
    assert answered_by == ["handed back"] * 3
    assert not LiveSession.objects.exists()


def test_the_throttle_counts_each_go_live_once_whichever_path_answers(
    world, answered_by, monkeypatch
):
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(
        SimpleRateThrottle, "THROTTLE_RATES", {"api_key": "2/minute", "anonymous": "2/minute"}
    )
    assert world.go_live(room_id=str(world.room.pk)).status_code == 201  # the REST framework
    LiveSession.objects.update(status="ended")
    assert world.go_live().status_code == 201  # the hot path
    LiveSession.objects.update(status="ended")
    throttled = world.go_live()
    assert throttled.status_code == 429
    assert throttled.json()["code"] == "throttled"
    assert int(throttled["Retry-After"]) >= 1
    assert answered_by == ["handed back", "rest framework", "hot", "hot"]


def test_the_hot_path_and_the_view_answer_the_same_to_a_party_bound_key(world, make_key):
    from tests.liverooms.conftest import approved_merchant

    other = approved_merchant(world.reviewer)
    _key, raw = make_key(party=other, name="other-merchant")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    body = {"anchor_ids": [world.anchor.pk], "pre_stream_checklist": REVIEWED}
    hot = client.post(URL, {**body, "room_id": world.room.pk}, "json")
    rest = client.post(URL, {**body, "room_id": str(world.room.pk)}, "json")
    assert hot.status_code == rest.status_code == 404
    assert hot.content == rest.content == b""
    assert "Content-Type" not in hot
    assert not LiveSession.objects.exists()


def test_a_party_bound_key_cannot_tell_a_missing_room_from_another_partys(world, make_key):
    from tests.liverooms.conftest import approved_merchant

    other = approved_merchant(world.reviewer)
    _key, raw = make_key(party=other, name="other-merchant")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    answers = [
        client.post(
            URL,
            {"room_id": room_id, "anchor_ids": anchors, "pre_stream_checklist": REVIEWED},
            "json",
        )
        for room_id, anchors in [
            (world.room.pk, [world.anchor.pk]),  # someone else's room
            (world.room.pk + 10_000, [world.anchor.pk]),  # no such room
            (world.room.pk, [world.anchor.pk + 10_000]),  # someone else's, with a bad anchor
            (world.room.pk + 10_000, [world.anchor.pk + 10_000]),
        ]
    ]
    assert {(a.status_code, a.content) for a in answers} == {(404, b"")}
    assert not LiveSession.objects.exists()


def test_a_party_bound_key_cannot_tell_an_id_that_names_nothing_from_one_not_cleared(
    world, make_key, answered_by
):
    """An anchor or product id that names nothing is answered to a bound key as an id of a party
    or product that may not take part: a 400 "No party with ids" would tell which ids exist."""
    from merchants.services import product_register, product_set_listing_status
    from tests.factories import TEST_ACTOR
    from tests.liverooms.conftest import approved_merchant

    other = approved_merchant(world.reviewer)  # a party, but not an anchor
    theirs = product_register(
        merchant=other, platform_ref="sku-x", title="围巾", category="apparel", actor=TEST_ACTOR
    )
    product_set_listing_status(product=theirs, status="removed", actor=TEST_ACTOR)
    _key, raw = make_key(party=world.merchant, name="room-owner")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    nothing = max(other.pk, theirs.pk) + 10_000

    def refusal(anchor_id, product_id, *, rest_framework=False):
        room_id = str(world.room.pk) if rest_framework else world.room.pk  # a string: the view
        body = {
            "room_id": room_id,
            "anchor_ids": [anchor_id],
            "product_ids": [product_id],
            "pre_stream_checklist": REVIEWED,
        }
        response = client.post(URL, body, "json")
        assert response.status_code == 403, response.content
        return response.json()

    def shape(answer, party, product):
        """The answer with the ids it names taken out."""
        text = json.dumps(answer, ensure_ascii=False)
        text = re.sub(rf"(?<!\d){party}(?!\d)", "<party>", text)
        return re.sub(rf"(?<!\d){product}(?!\d)", "<product>", text)

    not_cleared = refusal(other.pk, theirs.pk)
    assert [r["code"] for r in not_cleared["reasons"]] == [
        "party_not_cleared",
        "product_not_cleared",
    ]
    for rest_framework in (False, True):
        unknown = refusal(nothing, nothing + 1, rest_framework=rest_framework)
        assert shape(unknown, nothing, nothing + 1) == shape(not_cleared, other.pk, theirs.pk)
        mixed = refusal(other.pk, nothing + 1, rest_framework=rest_framework)
        assert shape(mixed, other.pk, nothing + 1) == shape(not_cleared, other.pk, theirs.pk)
    assert answered_by == ["hot"] * 3 + ["handed back", "rest framework"] * 2
    assert not LiveSession.objects.exists()
    # The platform keeps what was asked and why, in full.
    kept = GoLiveRefusal.objects.order_by("pk").last()
    assert [r["code"] for r in kept.reasons] == ["product_unknown", "not_an_anchor"]


@pytest.mark.parametrize("trouble", ["restricted", "deposit_short", "grade_for_its_category"])
def test_a_bound_key_learns_nothing_of_another_merchants_product_that_an_unknown_id_hides(
    world, make_key, trouble
):
    """Another merchant's product brings that merchant into the checks: what is wrong with it,
    or what the product's category asks of the key's own party, is said of the product, as of
    an id that names nothing."""
    from datetime import timedelta

    from django.utils import timezone

    from accounts.models import RestrictionKind
    from accounts.services import restriction_impose
    from enforcement.checks import forget_requirements
    from enforcement.models import DepositRequirement
    from merchants.services import product_register
    from tests.factories import TEST_ACTOR
    from tests.liverooms.conftest import approved_merchant
    from tests.liverooms.test_credit_gate import _lower

    other = approved_merchant(world.reviewer)
    category = "infant_formula" if trouble == "grade_for_its_category" else "apparel"
    theirs = product_register(
        merchant=other,
        platform_ref="sku-x",
        title="婴儿配方奶粉" if category == "infant_formula" else "围巾",
        category=category,
        ad_review_number="X" if category == "infant_formula" else "",
        ad_review_valid_until=timezone.localdate() + timedelta(days=300),
        actor=TEST_ACTOR,
    )
    if trouble == "restricted":
        restriction_impose(party=other, kind=RestrictionKind.LIVE, reason="停播", actor=TEST_ACTOR)
    elif trouble == "deposit_short":
        DepositRequirement.objects.create(category="apparel", amount_fen=500_000, updated_by="t")
        forget_requirements()
    else:
        _lower(world.merchant, -200)  # grade C: enough for apparel, not for infant formula
    _key, raw = make_key(party=world.merchant, name="room-owner")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")

    def answer(product_id):
        body = {
            "room_id": world.room.pk,
            "anchor_ids": [world.anchor.pk],
            "product_ids": [product_id],
            "pre_stream_checklist": REVIEWED,
        }
        response = client.post(URL, body, "json")
        assert response.status_code == 403, response.content
        text = json.dumps(response.json(), ensure_ascii=False)
        return re.sub(rf"(?<!\d){product_id}(?!\d)", "<product>", text)

    nothing = theirs.pk + 10_000
    unknown = answer(nothing)
    assert re.findall(r'"code": "(\w+)"', unknown) == ["product_not_cleared"]
    assert answer(theirs.pk) == unknown


def test_a_decision_is_one_read_and_one_write_however_many_anchors_and_products(world):
    from merchants.services import product_register
    from tests.factories import TEST_ACTOR
    from tests.liverooms.conftest import approved_anchor, warm_process_caches

    anchors = [approved_anchor(world.reviewer) for _ in range(4)]
    products = [
        product_register(
            merchant=world.merchant,
            platform_ref=f"p{i}",
            title=f"商品{i}",
            category="apparel",
            actor=TEST_ACTOR,
        )
        for i in range(8)
    ]
    # The deposit check is in play (its rows come with the read, never a query of its own).
    from enforcement.checks import forget_requirements
    from enforcement.models import DepositRequirement
    from enforcement.services import top_up

    DepositRequirement.objects.create(category="apparel", amount_fen=100_000, updated_by="t")
    top_up(party=world.merchant, amount_fen=100_000, reference="pay-1", actor=TEST_ACTOR)
    forget_requirements()
    world.api.get("/api/v1/key/")  # the key is looked up and its use recorded
    warm_process_caches()

    def statements(expected, **overrides):
        with CaptureQueriesContext(connection) as ctx:
            response = world.go_live(**overrides)
        assert response.status_code == expected, response.content
        LiveSession.objects.update(status="ended")
        # Transaction control aside (the test's savepoints, SQLite's write transaction).
        sql = [q["sql"] for q in ctx if not q["sql"].upper().startswith(("SAVEPOINT", "RELEASE"))]
        return [s.split(None, 1)[0].upper() for s in sql]

    few = statements(201)
    many = statements(201, anchor_ids=[a.pk for a in anchors], product_ids=[p.pk for p in products])
    assert few == many
    # One read; on PostgreSQL one INSERT (a WITH ... INSERT, the room's owner checked in it),
    # elsewhere the owner's check and one INSERT per table.
    if connection.vendor == "postgresql":
        assert few == ["WITH", "WITH"]
    else:
        assert few == ["WITH", "SELECT", "INSERT", "INSERT", "INSERT"]
    from accounts import services

    services.restriction_impose(party=anchors[0], kind="live", reason="违规", actor=TEST_ACTOR)
    refused_few = statements(403, anchor_ids=[anchors[0].pk])
    refused_many = statements(
        403, anchor_ids=[a.pk for a in anchors], product_ids=[p.pk for p in products]
    )
    assert refused_few == refused_many == ["WITH", "INSERT"]
    # A merchant short of its deposit is refused by the same two statements.
    DepositRequirement.objects.filter(category="apparel").update(amount_fen=100_001)
    forget_requirements()
    warm_process_caches()
    short = statements(403, product_ids=[p.pk for p in products])
    assert short == ["WITH", "INSERT"]
    assert GoLiveRefusal.objects.order_by("pk").last().reasons[0]["code"] == "deposit_short"
    forget_requirements()


def test_without_a_valid_key_the_body_is_never_parsed(world, client):
    deep = "[" * 100_000 + "]" * 100_000  # would raise RecursionError in json.loads
    for authorization in ({}, {"HTTP_AUTHORIZATION": "Bearer lcc_not-a-key"}):
        response = client.post(
            "/api/v1/live-sessions/", deep, content_type="application/json", **authorization
        )
        assert response.status_code == 401
    assert not LiveSession.objects.exists()


def test_bodies_the_view_would_refuse_are_refused_by_both_paths(world, rf):
    body = json.dumps(
        {
            "room_id": world.room.pk,
            "anchor_ids": [world.anchor.pk],
            "ai_generated": False,
            "pre_stream_checklist": REVIEWED,
        }
    )
    # UTF-16 (which json.loads alone would accept) is the REST framework's 400, as before.
    utf16 = world.api.post(
        "/api/v1/live-sessions/", body.encode("utf-16"), content_type="application/json"
    )
    assert utf16.status_code == 400
    # Nested too deep to decode: a 400 from either path, never a 500.
    deep = world.api.post(
        "/api/v1/live-sessions/", "[" * 100_000 + "]" * 100_000, content_type="application/json"
    )
    assert deep.status_code == 400
    # NaN, Infinity and a byte-order mark are not JSON the REST framework's parser takes, even
    # where any value would do.
    checked = body  # its review's two "true"s stand for any value below
    for text in (
        checked.replace("true", "NaN"),
        checked.replace("true", "-Infinity"),
        "\ufeff" + checked,
    ):
        request = rf.post("/api/v1/live-sessions/", text.encode(), content_type="application/json")
        assert golive._body(request) is None
        answer = world.api.post(
            "/api/v1/live-sessions/", text.encode(), content_type="application/json"
        )
        assert answer.status_code == 400
    assert not LiveSession.objects.exists()
    assert golive._body(rf.post(URL, checked, content_type="application/json")) is not None
    # A body over the cap is never read by the hot path.
    large = rf.post("/api/v1/live-sessions/", body, content_type="application/json")
    large.META["CONTENT_LENGTH"] = str(golive.MAX_BODY_BYTES + 1)
    assert golive._body(large) is None
    small = rf.post("/api/v1/live-sessions/", body, content_type="application/json")
    assert golive._body(small) is not None


@pytest.mark.parametrize(
    "text",
    ["审核\u0000通过", "\ud800", "审核\udfff"],
    ids=["nul", "lone high surrogate", "lone low surrogate"],
)
def test_a_nul_or_a_lone_surrogate_in_the_checklist_is_a_field_error(world, answered_by, text):
    """Neither can be stored or sent back as UTF-8: the serializer refuses both, and the hot
    path hands them to it. A surrogate the hot path took stored the session, then failed to
    answer (a 500), and left the room on air and the session list failing for everyone."""
    for item in ("notes", "reviewer"):
        body = {
            "room_id": world.room.pk,
            "anchor_ids": [world.anchor.pk],
            "product_ids": [world.product.pk],
            "pre_stream_checklist": {**REVIEWED, item: text},
        }
        # Escaped as \\uXXXX, as a client would send it: a lone surrogate has no UTF-8 form.
        response = world.api.post(URL, json.dumps(body), content_type="application/json")
        assert response.status_code == 400, response.content
        assert item in response.json()["pre_stream_checklist"]
    assert answered_by == ["handed back", "rest framework"] * 2
    assert not LiveSession.objects.exists()
    assert world.go_live().status_code == 201


@pytest.mark.parametrize(
    ("model", "values"),
    [
        (LiveSession, {"room_id": 7, "ai_generated": True, "pre_stream_checklist": {"a": True}}),
        (
            SessionAnchor,
            {
                "anchor_id": 3,
                "name": "主播",
                "id_number_masked": "1101**********0011",
                "identity_hash": "ab" * 32,
                "is_ai_presenter": False,
            },
        ),
        (SessionProduct, {"product_id": 5, "merchant_id": 9}),
        (GoLiveRefusal, {"room_id": 7, "reasons": [{"code": "c", "message": "m"}]}),
    ],
)
def test_the_gates_new_rows_are_what_the_models_constructor_makes(model, values):
    built, made = services._new(model, **values), model(**values)
    # Two defaults differ between any two rows: the start time and the content label.
    varying = {"_state", "started_at", "content_label", "at"}
    assert {k: v for k, v in built.__dict__.items() if k not in varying} == {
        k: v for k, v in made.__dict__.items() if k not in varying
    }
    assert built.__dict__.keys() == made.__dict__.keys()
    assert (built._state.adding, built._state.db) == (made._state.adding, made._state.db)
    if model is LiveSession:
        assert built.content_label != made.content_label
        assert built.started_at <= timezone.now()
    # What `_new` leaves out of Model.__init__: a receiver here would need it back.
    assert not signals.pre_init.receivers and not signals.post_init.receivers
    with pytest.raises(TypeError, match="no field session"):
        services._new(model, session=None)


@pytest.mark.parametrize("refused", [False, True], ids=["allowed", "refused"])
def test_a_go_live_leaves_nothing_for_the_cycle_collector(world, refused, rf, make_key):
    """The hot path cuts the reference cycles of its rows and of its view (GateContext.release,
    golive.unbind_handlers), so that a decision is freed by reference counting: left to the
    cycle collector, it ran every seventh decision under load. Called through the project's WSGI
    handler as a server calls it; the test client keeps cycles of its own."""
    import gc

    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    from accounts import services as accounts
    from config.handler import Handler
    from tests.factories import TEST_ACTOR
    from tests.liverooms.conftest import warm_process_caches

    if refused:
        accounts.restriction_impose(
            party=world.anchor, kind="live", reason="违规", actor=TEST_ACTOR
        )
    handler = Handler()  # config.wsgi's, with the go-live's route taken flat
    assert handler.flat_routes
    _key, raw = make_key(name="cycles")
    body = {
        "room_id": world.room.pk,
        "anchor_ids": [world.anchor.pk],
        "product_ids": [world.product.pk],
        "pre_stream_checklist": REVIEWED,
    }
    # Built before the collector is watched: the request factory's own objects are not the
    # decision's.
    first, second = (
        rf.post(URL, body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {raw}")
        for _ in range(2)
    )

    def go_live(environ: dict) -> str:
        statuses = []
        answer = handler(environ, lambda status, headers, exc_info=None: statuses.append(status))
        b"".join(answer)
        answer.close()
        LiveSession.objects.update(status="ended")
        return statuses[0]

    # As the test client does: the test's transaction would have Django close the connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        warm_process_caches()
        go_live(first.environ)  # what is built once per process
        environ = second.environ
        del first, second
        gc.collect()
        gc.set_debug(gc.DEBUG_SAVEALL)
        try:
            status = go_live(environ)
            gc.collect()
            left = sorted({type(o).__qualname__ for o in gc.garbage})
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    assert status.startswith("403" if refused else "201")
    assert left == []
