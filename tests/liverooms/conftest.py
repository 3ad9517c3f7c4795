"""A world that may go live: an approved merchant with a listed product and a room, and an
approved, trained adult anchor. Each gate test breaks one thing."""

import itertools
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import registration
from accounts.actors import Actor
from accounts.demo import demo_image, make_credit_code, make_resident_id
from accounts.models import Party, PartyKind
from anchors.services import anchor_file_create, training_record
from liverooms.services import room_register
from merchants.models import Product
from merchants.services import LicenceData, business_file_create, product_register
from tests.factories import TEST_ACTOR, UserFactory

_serial = itertools.count(1)


def approve(file, reviewer):
    if file.status != "submitted":
        result = registration.file_submit(file=file, actor=TEST_ACTOR)
        assert result.accepted, result.failures
    registration.file_approve(file=file, actor=reviewer)


def approved_merchant(reviewer, categories=("general",), licences=None) -> Party:
    n = next(_serial)
    file = business_file_create(
        kind=PartyKind.MERCHANT,
        entity_type="enterprise",
        name=f"直播商家{n}",
        credit_code=make_credit_code("330106", 80_000_000 + n),
        representative="甲",
        address="杭州",
        contact_phone="13812345678",
        categories=list(categories),
        licences=licences
        if licences is not None
        else [LicenceData("business", f"B{n}", "局", date(2020, 1, 1))],
        actor=TEST_ACTOR,
    )
    registration.document_add(
        file=file, kind="business_licence", upload=demo_image("licence"), actor=TEST_ACTOR
    )
    approve(file, reviewer)
    return Party.objects.get(pk=file.party_id)


def approved_anchor(reviewer, *, birth=date(1995, 5, 5), trained=True, **kwargs) -> Party:
    n = next(_serial)
    file = anchor_file_create(
        name=f"主播{n}",
        id_number=make_resident_id("330106", birth, n % 500, female=True),
        address="杭州",
        contact_phone="13812345678",
        actor=TEST_ACTOR,
        **kwargs,
    )
    approve(file, reviewer)
    party = Party.objects.get(pk=file.party_id)
    if trained:
        training_record(
            anchor=party,
            kind="before_first_stream",
            completed_on=timezone.localdate() - timedelta(days=30),
            provider="平台培训",
            hours=Decimal("4"),
            actor=TEST_ACTOR,
        )
    return party


# A pre-stream review that confirms what LCM Art. 30 asks (liverooms/review.py).
REVIEWED = {"script_reviewed": True, "set_reviewed": True}


@dataclass
class World:
    reviewer: Actor
    merchant: Party
    anchor: Party
    product: Product
    room: object
    api: APIClient

    def go_live(self, headers=None, **overrides):
        body = {
            "room_id": self.room.pk,
            "anchor_ids": [self.anchor.pk],
            "product_ids": [self.product.pk],
            "ai_generated": False,
            "pre_stream_checklist": REVIEWED,
        }
        body.update(overrides)
        return self.api.post("/api/v1/live-sessions/", body, format="json", **(headers or {}))


@pytest.fixture
def world(db, settings, tmp_path, make_key):
    settings.MEDIA_ROOT = tmp_path
    reviewer = Actor.for_user(UserFactory(roles=["compliance_reviewer"]))
    merchant = approved_merchant(reviewer)
    anchor = approved_anchor(reviewer)
    product = product_register(
        merchant=merchant,
        platform_ref="sku-1",
        title="真丝围巾",
        category="apparel",
        actor=TEST_ACTOR,
    )
    room = room_register(
        owner=merchant,
        platform_ref="room-1",
        title="西子良品直播间",
        category="apparel",
        followers=12000,
        actor=TEST_ACTOR,
    )
    _key, raw = make_key()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return World(reviewer, merchant, anchor, product, room, client)


def warm_process_caches() -> None:
    """What each process keeps for a minute -- the credit rules in force, the deposit
    requirements, the parties peers have blacklisted -- loaded before a test counts a decision's
    queries, as a running server has them."""
    from credit.scoring import rule_set_in_force
    from credit.sharing import shared_blacklisted_parties
    from enforcement.checks import requirements

    rule_set_in_force()
    requirements()
    shared_blacklisted_parties(today=timezone.localdate())
