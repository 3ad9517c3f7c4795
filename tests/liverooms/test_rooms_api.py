"""POST /api/v1/live-rooms/: register a room, or update the one with the same platform_ref. The
platform's own key registers any room and may move one to another owner; a key bound to a party
only updates its own rooms, and cannot tell which ids and refs are in use."""

import pytest
from django.db import IntegrityError
from rest_framework.test import APIClient

from accounts.actors import Actor
from liverooms import services
from liverooms.models import LiveRoom
from tests.liverooms.conftest import approved_merchant

pytestmark = pytest.mark.django_db


def client_for(make_key, party=None) -> APIClient:
    _key, raw = make_key(party=party, name=f"rooms-{party.pk if party else 'platform'}")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def room(owner_id, platform_ref, **overrides) -> dict:
    return {
        "owner_id": owner_id,
        "platform_ref": platform_ref,
        "title": "西子良品直播间",
        "category": "apparel",
        "followers": 12000,
        **overrides,
    }


def stored_rooms() -> list[tuple]:
    return list(LiveRoom.objects.order_by("pk").values_list("platform_ref", "owner_id", "title"))


def test_posting_a_rooms_platform_ref_again_updates_that_room(world):
    created = world.api.post(
        "/api/v1/live-rooms/", room(world.merchant.pk, "room-2"), format="json"
    )
    again = world.api.post(
        "/api/v1/live-rooms/",
        room(world.merchant.pk, "room-2", title="新标题", followers=15000),
        format="json",
    )

    assert created.status_code == 201, created.json()
    assert again.status_code == 200, again.json()
    assert again.json()["id"] == created.json()["id"]
    assert (again.json()["title"], again.json()["followers"]) == ("新标题", 15000)
    assert LiveRoom.objects.filter(platform_ref="room-2").count() == 1


def test_a_new_ref_that_another_request_registers_first_is_answered_as_an_update(
    world, monkeypatch
):
    # Both requests see a new ref; the other commits first, and this one's insert meets the
    # unique ref and updates that room. The answer says what this request did: 200, not 201.
    real = services._room_write

    def racing(owner, platform_ref, fields, **kwargs):
        monkeypatch.setattr(services, "_room_write", real)
        real(owner, platform_ref, fields, actor=Actor.system("other-request"), party_id=None)
        raise IntegrityError("duplicate key value violates unique constraint")

    monkeypatch.setattr(services, "_room_write", racing)

    response = world.api.post(
        "/api/v1/live-rooms/", room(world.merchant.pk, "room-race", title="抢注"), format="json"
    )

    assert response.status_code == 200, response.json()
    assert LiveRoom.objects.filter(platform_ref="room-race").count() == 1
    assert response.json()["id"] == LiveRoom.objects.get(platform_ref="room-race").pk


def test_the_platforms_key_moves_a_room_to_the_owner_it_names(world):
    # A room changes hands with the account behind it; the platform is the one that knows.
    buyer = approved_merchant(world.reviewer)

    response = world.api.post("/api/v1/live-rooms/", room(buyer.pk, "room-1"), format="json")

    assert response.status_code == 200, response.json()
    assert (response.json()["id"], response.json()["owner_id"]) == (world.room.pk, buyer.pk)
    world.room.refresh_from_db()
    assert world.room.owner_id == buyer.pk


def test_a_bound_key_gets_the_same_answer_for_another_owner_as_for_a_missing_one(world, make_key):
    other = approved_merchant(world.reviewer)
    bound = client_for(make_key, other)
    before = stored_rooms()

    others = bound.post("/api/v1/live-rooms/", room(world.merchant.pk, "x-1"), format="json")
    missing = bound.post("/api/v1/live-rooms/", room(999_999, "x-1"), format="json")

    assert others.status_code == missing.status_code == 400
    assert others.content == missing.content
    assert list(others.json()) == ["owner_id"]
    assert isinstance(others.json()["owner_id"], list)
    assert stored_rooms() == before


def test_a_bound_key_updates_its_own_room(world, make_key):
    bound = client_for(make_key, world.merchant)

    response = bound.post(
        "/api/v1/live-rooms/", room(world.merchant.pk, "room-1", title="改名"), format="json"
    )

    assert response.status_code == 200, response.json()
    assert (response.json()["id"], response.json()["title"]) == (world.room.pk, "改名")


def test_a_bound_key_cannot_take_over_another_partys_room_nor_tell_its_ref_exists(world, make_key):
    other = approved_merchant(world.reviewer)
    bound = client_for(make_key, other)
    before = stored_rooms()

    taken = bound.post("/api/v1/live-rooms/", room(other.pk, "room-1"), format="json")
    unused = bound.post("/api/v1/live-rooms/", room(other.pk, "no-such-room"), format="json")

    assert taken.status_code == unused.status_code == 403
    assert taken.content == unused.content
    assert stored_rooms() == before
    world.room.refresh_from_db()
    assert (world.room.owner_id, world.room.title) == (world.merchant.pk, "西子良品直播间")


def test_a_bound_key_cannot_update_its_former_room_once_moved_to_another_owner(world, make_key):
    bound = client_for(make_key, world.merchant)
    buyer = approved_merchant(world.reviewer)
    assert (
        world.api.post("/api/v1/live-rooms/", room(buyer.pk, "room-1"), format="json").status_code
        == 200
    )

    response = bound.post("/api/v1/live-rooms/", room(world.merchant.pk, "room-1"), format="json")

    assert response.status_code == 403
    world.room.refresh_from_db()
    assert world.room.owner_id == buyer.pk


def test_the_schema_says_a_repeated_ref_is_a_200_and_a_new_one_a_201():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    responses = schema["paths"]["/api/v1/live-rooms/"]["post"]["responses"]

    assert {"200", "201", "400", "403"} <= set(responses)
    request = schema["components"]["schemas"]["RoomRequest"]
    assert request["properties"]["platform_ref"]["maxLength"] == 64
