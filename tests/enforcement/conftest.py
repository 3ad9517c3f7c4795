"""Enforcement fixtures: a merchant with a product and a room, an anchor, a reviewer, two leads,
and helpers that raise and confirm a violation through the real services."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from accounts.actors import Actor
from accounts.models import Party, PartyKind
from enforcement import services
from enforcement.models import Authority, Measure, Violation, ViolationType
from liverooms.services import room_register
from merchants.services import product_register
from tests.factories import TEST_ACTOR, UserFactory, register_party


@dataclass
class World:
    merchant: Party
    anchor: Party
    product: object
    room: object
    reviewer: object
    lead: object
    lead2: object

    @property
    def reviewer_actor(self) -> Actor:
        return Actor.for_user(self.reviewer)

    @property
    def lead_actor(self) -> Actor:
        return Actor.for_user(self.lead)

    @property
    def lead2_actor(self) -> Actor:
        return Actor.for_user(self.lead2)

    def violation(self, code: str = "false_publicity", party: Party | None = None) -> Violation:
        violation = services.violation_raise(
            party=party or self.merchant,
            source="reviewer",
            facts="直播中宣称“全网最低价、国家级品质”。",
            actor=self.reviewer_actor,
        )
        return services.violation_confirm(
            violation=violation,
            vtype=ViolationType.objects.get(code=code, status="published"),
            actor=self.reviewer_actor,
        )

    def propose(self, violation: Violation | None = None, actor: Actor | None = None, **fields):
        violation = violation or self.violation()
        fields.setdefault("reason", "直播中使用虚假宣传用语，误导消费者。")
        return services.measure_propose(
            violation=violation,
            proposal=services.Proposal(**fields),
            actor=actor or self.reviewer_actor,
        )

    def deduction(self, amount_fen: int = 100_000, **fields) -> Measure:
        violation = self.violation("offline_transaction")
        fields.setdefault("departure_reason", "金额按情节调整。")
        return self.propose(violation, kind="deposit_deduction", amount_fen=amount_fen, **fields)

    def authority(self, **fields) -> Authority:
        values = dict(
            name="杭州市滨江区市场监督管理局",
            kind="market_regulator",
            level="county",
            email="referrals@example.gov.cn",
        )
        values.update(fields)
        return Authority.objects.create(**values)


@pytest.fixture
def world(db, settings, tmp_path) -> World:
    settings.MEDIA_ROOT = tmp_path
    merchant = register_party(PartyKind.MERCHANT, name="西子良品")
    anchor = register_party(PartyKind.ANCHOR, name="小雨")
    product = product_register(
        merchant=merchant,
        platform_ref="sku-1",
        title="真丝围巾",
        category="apparel",
        actor=TEST_ACTOR,
    )
    room = room_register(
        owner=merchant,
        platform_ref="room-e1",
        title="西子良品直播间",
        category="apparel",
        followers=5000,
        actor=TEST_ACTOR,
    )
    reviewer = UserFactory(roles=["compliance_reviewer"], email="reviewer@example.com")
    lead = UserFactory(roles=["compliance_lead"], email="lead@example.com")
    lead2 = UserFactory(roles=["compliance_lead"], email="lead2@example.com")
    return World(merchant, anchor, product, room, reviewer, lead, lead2)


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """`with committed():` runs what the block queued for after commit (eager tasks, mail)."""

    def block():
        return django_capture_on_commit_callbacks(execute=True)

    return block
