"""A refused go-live reads in words in the admin: what the gate said, and who and what asked."""

import pytest

from liverooms.models import GoLiveRefusal
from merchants.services import product_set_listing_status
from tests.accounts.test_roles import verified_client
from tests.factories import TEST_ACTOR, UserFactory

pytestmark = pytest.mark.django_db

LIST = "/admin/liverooms/goliverefusal/"


def refused(world) -> GoLiveRefusal:
    product_set_listing_status(product=world.product, status="removed", actor=TEST_ACTOR)
    assert world.go_live().status_code == 403
    return GoLiveRefusal.objects.get()


def test_the_list_shows_each_reason_as_the_gate_said_it(world, client):
    refused(world)
    reviewer = verified_client(client, UserFactory(roles=["compliance_reviewer"]))
    page = reviewer.get(LIST).content.decode()
    assert (
        "真丝围巾 当前上架状态为“已下架”，不得在直播中展示。 <code>product_removed</code>" in page
    )


def test_the_page_names_the_anchors_and_products_asked_for(world, client):
    refusal = refused(world)
    reviewer = verified_client(client, UserFactory(roles=["compliance_reviewer"]))
    page = reviewer.get(f"{LIST}{refusal.pk}/change/").content.decode()
    assert f'<div class="readonly">{world.anchor}</div>' in page
    assert f'<div class="readonly">{world.product}</div>' in page
    assert "出镜主播" in page and "AI 生成" in page
    assert "&quot;code&quot;" not in page  # not the stored JSON


def test_an_id_that_named_nothing_is_shown_as_itself(world, client):
    refusal = GoLiveRefusal.objects.create(
        room=world.room,
        reasons=[
            {"code": "party_unknown", "message": "No party with id 999999.", "party_id": 999999}
        ],
        requested={"anchors": [world.anchor.pk, 999999], "products": [], "ai_generated": True},
    )
    reviewer = verified_client(client, UserFactory(roles=["compliance_reviewer"]))
    page = reviewer.get(f"{LIST}{refusal.pk}/change/").content.decode()
    assert f"{world.anchor}, #999999（无此记录）" in page
