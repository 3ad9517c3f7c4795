"""A session answers to its operator: the room's owner when it went live. A room changes hands
with its account (the platform's key names the new owner); its past sessions, their alerts, and
what complaints and inspections later raise about them stay with the owner who ran them."""

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from liverooms.models import Alert, LiveSession
from tests.accounts.test_roles import verified_client
from tests.factories import UserFactory
from tests.liverooms.conftest import approved_merchant

pytestmark = pytest.mark.django_db

LURE = "家人们加我微信私聊下单，便宜二十"


def bound_client(make_key, party) -> APIClient:
    _key, raw = make_key(party=party, name=f"bound-{party.pk}")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def move_room(world, owner):
    """The platform's key registers room-1 again under another owner."""
    return world.api.post(
        "/api/v1/live-rooms/",
        {
            "owner_id": owner.pk,
            "platform_ref": "room-1",
            "title": "西子良品直播间",
            "category": "apparel",
            "followers": 12000,
        },
        format="json",
    )


def run_a_session_with_an_alert(world) -> tuple[LiveSession, Alert]:
    opened = world.go_live()
    assert opened.status_code == 201, opened.content
    session = LiveSession.objects.get(pk=opened.json()["id"])
    sent = world.api.post(
        f"/api/v1/live-sessions/{session.pk}/signals/",
        {"signals": [{"kind": "transcript", "at": timezone.now().isoformat(), "text": LURE}]},
        format="json",
    )
    assert sent.status_code == 200, sent.content
    ended = world.api.post(f"/api/v1/live-sessions/{session.pk}/end/", {}, format="json")
    assert ended.status_code == 200, ended.content
    return session, Alert.objects.get(session=session)


def test_a_go_live_records_the_rooms_owner_as_the_operator(world):
    response = world.go_live()

    assert response.status_code == 201, response.content
    assert response.json()["owner_id"] == world.merchant.pk
    session = LiveSession.objects.get(pk=response.json()["id"])
    assert session.owner_id == world.merchant.pk


def test_a_room_on_air_does_not_change_hands_until_its_session_ends(world):
    buyer = approved_merchant(world.reviewer)
    opened = world.go_live()
    assert opened.status_code == 201

    refused = move_room(world, buyer)

    assert refused.status_code == 409, refused.content
    assert "正在直播" in refused.json()["detail"]  # "This room is on air."
    world.room.refresh_from_db()
    assert world.room.owner_id == world.merchant.pk

    session_id = opened.json()["id"]
    assert world.api.post(f"/api/v1/live-sessions/{session_id}/end/").status_code == 200
    moved = move_room(world, buyer)

    assert moved.status_code == 200, moved.content
    assert moved.json()["owner_id"] == buyer.pk
    assert LiveSession.objects.get(pk=session_id).owner_id == world.merchant.pk


def test_the_same_owner_updates_a_room_on_air(world):
    assert world.go_live().status_code == 201

    response = move_room(world, world.merchant)

    assert response.status_code == 200, response.content


def test_past_sessions_and_their_alerts_stay_with_the_owner_who_ran_them(world, make_key):
    session, alert = run_a_session_with_an_alert(world)
    buyer = approved_merchant(world.reviewer)
    assert move_room(world, buyer).status_code == 200
    seller = bound_client(make_key, world.merchant)
    new_owner = bound_client(make_key, buyer)

    # The seller still sees its own session and its alert.
    assert [s["id"] for s in seller.get("/api/v1/live-sessions/").json()["results"]] == [session.pk]
    assert seller.get(f"/api/v1/live-sessions/{session.pk}/").status_code == 200
    assert [a["id"] for a in seller.get("/api/v1/alerts/").json()["results"]] == [alert.pk]
    assert seller.get(f"/api/v1/alerts/{alert.pk}/").status_code == 200

    # The buyer, who owns the room now, sees neither.
    assert new_owner.get("/api/v1/live-sessions/").json()["results"] == []
    assert new_owner.get(f"/api/v1/live-sessions/{session.pk}/").status_code == 404
    assert new_owner.get("/api/v1/alerts/").json()["results"] == []
    assert new_owner.get(f"/api/v1/alerts/{alert.pk}/").status_code == 404

    # The platform's filter by party follows the operator too.
    by_seller = world.api.get("/api/v1/alerts/", {"party": world.merchant.pk}).json()
    by_buyer = world.api.get("/api/v1/alerts/", {"party": buyer.pk}).json()
    assert [a["id"] for a in by_seller["results"]] == [alert.pk]
    assert by_buyer["results"] == []


def test_the_new_owners_sessions_are_its_own(world, make_key):
    old, _alert = run_a_session_with_an_alert(world)
    buyer = approved_merchant(world.reviewer)
    assert move_room(world, buyer).status_code == 200
    new_owner = bound_client(make_key, buyer)

    # The buyer takes the room live with the merchant's anchor and no products of the seller.
    opened = new_owner.post(
        "/api/v1/live-sessions/",
        {
            "room_id": world.room.pk,
            "anchor_ids": [world.anchor.pk],
            "product_ids": [],
            "ai_generated": False,
            "pre_stream_checklist": {"script_reviewed": True, "set_reviewed": True},
        },
        format="json",
    )

    assert opened.status_code == 201, opened.content
    assert opened.json()["owner_id"] == buyer.pk
    listed = new_owner.get("/api/v1/live-sessions/").json()["results"]
    assert [s["id"] for s in listed] == [opened.json()["id"]]
    assert set(LiveSession.objects.values_list("pk", "owner_id")) == {
        (old.pk, world.merchant.pk),
        (opened.json()["id"], buyer.pk),
    }


def test_the_session_page_names_its_operator_after_the_room_changed_hands(world, client):
    session, _alert = run_a_session_with_an_alert(world)
    buyer = approved_merchant(world.reviewer)
    assert move_room(world, buyer).status_code == 200
    reviewer = verified_client(client, UserFactory(roles=["compliance_reviewer"]))

    page = reviewer.get(f"/admin/liverooms/livesession/{session.pk}/change/")

    assert page.status_code == 200
    text = page.content.decode()
    operator = text[text.index("field-owner") :]
    operator = operator[: operator.index("</div>\n")]
    assert world.merchant.name in operator and buyer.name not in operator


def _moved_between_read_and_write(world, buyer):
    """The gate reads the room as the seller's; the room moves to the buyer before the write."""
    from accounts.actors import Actor
    from liverooms import services
    from liverooms.models import LiveRoom
    from tests.liverooms.conftest import REVIEWED

    context = services.session_gate(
        room_id=world.room.pk,
        anchor_ids=[world.anchor.pk],
        product_ids=[world.product.pk],
        ai_generated=False,
    )
    assert context.room.owner_id == world.merchant.pk
    LiveRoom.objects.filter(pk=world.room.pk).update(owner=buyer)
    return lambda: services.session_open(
        context=context, checklist=REVIEWED, actor=Actor.system("platform")
    )


def test_a_room_that_changed_hands_after_the_gates_read_is_not_taken_live(world):
    from config.errors import Conflict

    buyer = approved_merchant(world.reviewer)
    open_session = _moved_between_read_and_write(world, buyer)

    with pytest.raises(Conflict, match="变更所属主体"):  # "changed hands"
        open_session()

    assert not LiveSession.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_go_live_racing_the_rooms_move_is_refused_not_left_on_air_for_the_old_owner(world):
    """The platform moves the room to a buyer while a go-live for it is being decided: the gate
    reads the room as the seller's (the move has not committed), and its write waits for the
    room the move holds. Once the move commits, the write finds the room no longer the
    seller's and writes nothing: a 409, and no session on air answering to the former owner in
    a room its new owner could neither see nor end."""
    from liverooms.models import LiveRoom
    from liverooms.services import room_register
    from tests.concurrency import attempt_while_held
    from tests.factories import TEST_ACTOR

    buyer = approved_merchant(world.reviewer)
    answers = []
    waited = not attempt_while_held(
        lambda: room_register(
            owner=buyer,
            platform_ref="room-1",
            title="西子良品直播间",
            category="apparel",
            actor=TEST_ACTOR,
        ),
        lambda: answers.append(world.go_live()),
    )

    [answer] = answers
    assert waited  # the write waited for the move
    assert answer.status_code == 409, answer.content
    assert not LiveSession.objects.exists()
    assert LiveRoom.objects.get(pk=world.room.pk).owner_id == buyer.pk
