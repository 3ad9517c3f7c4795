"""A room's timeline (RoomEvent): its registration, each change of hands and each change of
category, with who made it -- the decisions that say who answers for a room and which
category's thresholds its go-lives must meet."""

import pytest
from django.db import IntegrityError
from rest_framework.test import APIClient

from accounts.actors import Actor
from liverooms import services
from liverooms.models import LiveRoom, RoomEvent
from tests.accounts.test_roles import verified_client
from tests.factories import UserFactory
from tests.liverooms.conftest import approved_merchant

pytestmark = pytest.mark.django_db


def register(client, owner, ref="room-9", **overrides):
    body = {
        "owner_id": owner.pk,
        "platform_ref": ref,
        "title": "湖畔好物直播间",
        "category": "apparel",
        "followers": 300,
        **overrides,
    }
    return client.post("/api/v1/live-rooms/", body, format="json")


def timeline(ref="room-9") -> list[tuple]:
    return list(
        RoomEvent.objects.filter(room__platform_ref=ref)
        .order_by("at", "pk")
        .values_list("kind", "data", "actor_label")
    )


@pytest.fixture
def platform(make_key):
    _key, raw = make_key(name="platform-sync")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def test_a_room_is_registered_with_its_owner_category_and_who_registered_it(world, platform):
    response = register(platform, world.merchant)

    assert response.status_code == 201, response.content
    assert timeline() == [
        ("registered", {"owner": world.merchant.pk, "category": "apparel"}, "api:platform-sync")
    ]


def test_a_change_of_hands_and_of_category_are_each_recorded(world, platform):
    buyer = approved_merchant(world.reviewer)
    register(platform, world.merchant)

    moved = register(platform, buyer)
    recategorised = register(platform, buyer, category="food")

    assert (moved.status_code, recategorised.status_code) == (200, 200)
    assert timeline()[1:] == [
        ("changed_hands", {"from": world.merchant.pk, "to": buyer.pk}, "api:platform-sync"),
        ("recategorised", {"from": "apparel", "to": "food"}, "api:platform-sync"),
    ]


def test_a_sync_of_title_followers_and_sales_is_not_an_event(world, platform):
    register(platform, world.merchant)

    again = register(platform, world.merchant, title="新标题", followers=90000)

    assert again.status_code == 200
    assert [kind for kind, _data, _actor in timeline()] == ["registered"]


def test_a_move_refused_while_on_air_records_nothing(world):
    before = timeline("room-1")
    assert world.go_live().status_code == 201

    refused = register(world.api, approved_merchant(world.reviewer), ref="room-1")

    assert refused.status_code == 409
    assert timeline("room-1") == before
    assert LiveRoom.objects.get(platform_ref="room-1").owner_id == world.merchant.pk


def test_a_bound_key_recategorising_its_own_room_is_recorded_under_its_name(world, make_key):
    _key, raw = make_key(party=world.merchant, name="seller-erp")
    bound = APIClient()
    bound.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")

    response = register(bound, world.merchant, ref="room-1", category="food")

    assert response.status_code == 200, response.content
    assert timeline("room-1")[-1] == (
        "recategorised",
        {"from": "apparel", "to": "food"},
        "api:seller-erp",
    )


def test_a_registration_racing_another_for_the_same_ref_updates_the_room_it_made(
    world, monkeypatch
):
    # Two requests register one new ref at once: the other commits first, and this one's insert
    # meets the unique ref. It takes the room as registered and updates it.
    buyer = approved_merchant(world.reviewer)
    real = services._room_write
    other = Actor.system("other-request")

    def racing(owner, platform_ref, fields, **kwargs):
        monkeypatch.setattr(services, "_room_write", real)
        real(world.merchant, platform_ref, fields, actor=other, party_id=None)
        raise IntegrityError("duplicate key value violates unique constraint")

    monkeypatch.setattr(services, "_room_write", racing)

    registration = services.room_registration(
        owner=buyer,
        platform_ref="room-race",
        title="抢注直播间",
        category="apparel",
        actor=Actor.system("this-request"),
    )

    assert (registration.room.owner_id, registration.created) == (buyer.pk, False)
    assert [(kind, actor) for kind, _data, actor in timeline("room-race")] == [
        ("registered", "system:other-request"),
        ("changed_hands", "system:this-request"),
    ]


def test_the_rooms_page_shows_its_timeline_in_words(world, platform, client):
    buyer = approved_merchant(world.reviewer)
    register(platform, world.merchant)
    register(platform, buyer, category="food")
    room = LiveRoom.objects.get(platform_ref="room-9")
    reviewer = verified_client(client, UserFactory(roles=["compliance_reviewer"]))

    page = reviewer.get(f"/admin/liverooms/liveroom/{room.pk}/change/")

    assert page.status_code == 200
    text = page.content.decode()
    history = text[text.index('id="events-group"') :]
    for words in (
        "已登记",  # registered
        f"{world.merchant.name}</a> → <a",
        buyer.name,
        "服装配饰",  # apparel and accessories
        "食品",  # food
        "api:platform-sync",
    ):
        assert words in history, words


def test_the_timeline_reads_the_parties_it_names_once_however_long_it_is(world, platform, client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    register(platform, world.merchant)
    room = LiveRoom.objects.get(platform_ref="room-9")
    reviewer = verified_client(client, UserFactory(roles=["compliance_reviewer"]))
    url = f"/admin/liverooms/liveroom/{room.pk}/change/"

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert reviewer.get(url).status_code == 200
        return len(captured)

    queries()  # the session's and the second factor's first reads
    short = queries()
    for _ in range(4):
        register(platform, approved_merchant(world.reviewer))

    assert RoomEvent.objects.filter(room=room).count() == 5
    assert queries() == short
