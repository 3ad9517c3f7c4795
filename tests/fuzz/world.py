"""API records of every kind, built through the real services: the world the schema fuzzer
(tests/fuzz) requests against, and the rows the list endpoints' query guards
(tests/config/test_api_query_guards.py) page through.

Each entry of ROWS adds `n` records to one list endpoint, each with the related records its
serializer reads (restrictions on a party, evidence on a violation, products and an appeal on a
measure, anchors and products on a session...), so that a serializer reading them row by row
costs more queries on a larger page.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from django.utils import timezone

from accounts import services as accounts
from accounts.actors import Actor
from accounts.demo import make_credit_code
from accounts.models import Party, PartyKind
from anchors import services as anchors
from complaints import services as complaints
from complaints.models import CaseKind, Source
from credit import rulesets, sharing
from credit.rules import DEFAULT_RULES
from enforcement import services as enforcement
from enforcement.models import ViolationType
from liverooms import services as liverooms
from liverooms.models import LiveRoom, LiveSession
from merchants.models import Product
from merchants.services import LicenceData, business_file_create, product_register
from tests.factories import TEST_ACTOR, UserFactory, register_party
from tests.liverooms.conftest import approve, approved_anchor, approved_merchant

_serial = itertools.count(1)


@dataclass
class World:
    """A merchant and an anchor that may go live, their agency, a product, a room on air, and
    the staff who decide: enough for every operation of the API to find something real."""

    reviewer: Actor
    lead: Actor
    lead2: Actor
    merchant: Party
    anchor: Party
    agency: Party
    product: Product
    room: LiveRoom
    session: LiveSession


def build_world() -> World:
    reviewer = Actor.for_user(UserFactory(roles=["compliance_reviewer"]))
    lead = Actor.for_user(UserFactory(roles=["compliance_lead"]))
    lead2 = Actor.for_user(UserFactory(roles=["compliance_lead"]))
    merchant = approved_merchant(reviewer)
    anchor = approved_anchor(reviewer)
    agency = _agency(reviewer, merchant)
    product = product_register(
        merchant=merchant,
        platform_ref="sku-world",
        title="真丝围巾",
        category="general",
        actor=TEST_ACTOR,
    )
    room = _room(merchant)
    session = _go_live(room, anchor, product)
    return World(reviewer, lead, lead2, merchant, anchor, agency, product, room, session)


def _agency(reviewer: Actor, merchant: Party) -> Party:
    n = next(_serial)
    file = business_file_create(
        kind=PartyKind.AGENCY,
        entity_type="enterprise",
        name=f"机构{n}",
        credit_code=make_credit_code("330106", 70_000_000 + n),
        representative="乙",
        address="杭州",
        contact_phone="13812345678",
        licences=[LicenceData("business", f"A{n}", "局", date(2020, 1, 1))],
        actor=TEST_ACTOR,
    )
    approve(file, reviewer)
    agency = Party.objects.get(pk=file.party_id)
    anchors.agency_link_merchant(agency=agency, merchant=merchant, actor=TEST_ACTOR)
    return agency


def _room(owner: Party) -> LiveRoom:
    return liverooms.room_register(
        owner=owner,
        platform_ref=f"room-{next(_serial)}",
        title="直播间",
        category="general",
        followers=1000,
        actor=TEST_ACTOR,
    )


def _go_live(room: LiveRoom, anchor: Party, product: Product) -> LiveSession:
    decision = liverooms.session_start(
        room=room,
        anchors=[anchor],
        products=[product],
        ai_generated=False,
        checklist={"script_reviewed": True, "set_reviewed": True},
        actor=TEST_ACTOR,
    )
    assert decision.allowed, decision.reasons
    return decision.session


def _violation(world: World, party: Party | None = None):
    violation = enforcement.violation_raise(
        party=party or world.merchant,
        source="reviewer",
        facts="直播中宣称“全网最低价”。",
        actor=world.reviewer,
    )
    enforcement.evidence_link(
        violation=violation,
        reference=f"replay-{next(_serial)}@00:12:34",
        description="回放片段",
        actor=world.reviewer,
    )
    return enforcement.violation_confirm(
        violation=violation,
        vtype=ViolationType.objects.get(code="false_publicity", status="published"),
        actor=world.reviewer,
    )


def _suspension(world: World):
    """A seven-day live suspension: light, so executed as soon as it is proposed."""
    return enforcement.measure_propose(
        violation=_violation(world),
        proposal=enforcement.Proposal(
            kind="live_suspension", term_days=7, reason="直播中使用虚假宣传用语。"
        ),
        actor=world.reviewer,
    )


def _appealed(world: World):
    measure = _suspension(world)
    enforcement.appeal_file(measure=measure, grounds="宣传属实。", channel="api", actor=TEST_ACTOR)
    return measure


# --- one builder per list endpoint -----------------------------------------------------------


def parties(world: World, n: int) -> None:
    for _ in range(n):
        party = register_party(PartyKind.MERCHANT)
        accounts.restriction_impose(party=party, kind="live", reason="直播违规。", actor=TEST_ACTOR)


def restrictions(world: World, n: int) -> None:
    for _ in range(n):
        accounts.restriction_impose(
            party=register_party(PartyKind.ANCHOR),
            kind="traffic",
            reason="限流。",
            actor=TEST_ACTOR,
        )


def merchants(world: World, n: int) -> None:
    for _ in range(n):
        approved_merchant(world.reviewer)


def anchor_files(world: World, n: int) -> None:
    for _ in range(n):
        approved_anchor(
            world.reviewer,
            qualifications=[
                anchors.QualificationData("education", "教师资格", f"Q{next(_serial)}")
            ],
            agency=world.agency,
        )


def agencies(world: World, n: int) -> None:
    for _ in range(n):
        _agency(world.reviewer, world.merchant)


def products(world: World, n: int) -> None:
    for _ in range(n):
        product_register(
            merchant=world.merchant,
            platform_ref=f"sku-{next(_serial)}",
            title="茶叶",
            category="general",
            actor=TEST_ACTOR,
        )


def rooms(world: World, n: int) -> None:
    for _ in range(n):
        _room(world.merchant)


def sessions(world: World, n: int) -> None:
    for _ in range(n):
        _go_live(_room(world.merchant), world.anchor, world.product)


def alerts(world: World, n: int) -> None:
    for _ in range(n):
        # A new batch each time (a batch sent again raises nothing new), in stream time order.
        received = liverooms.signals_ingest(
            session=world.session,
            signals=[
                {
                    "kind": "transcript",
                    "at": timezone.now(),
                    "text": f"家人们加 薇✨信 私聊，单独转账价 {next(_serial)}",
                }
            ],
            actor=TEST_ACTOR,
        )
        assert received.alerts, "the shipped rule pack raises an alert for a lure off the platform"


def cases(world: World, n: int) -> None:
    for _ in range(n):
        complaints.case_file(
            data=complaints.CaseInput(
                kind=CaseKind.COMPLAINT,
                facts="直播间宣称是真丝，收到后是化纤。",
                merchant=world.merchant,
                anchor=world.anchor,
                session=world.session,
                order_number=f"ORD-{next(_serial)}",
                category="false_advertising",
                request="refund",
                contact_email="wang@example.com",
            ),
            source=Source.API,
            actor=TEST_ACTOR,
            received_at=timezone.now(),
            platform_ref=f"case-{next(_serial)}",
        )


def evaluations(world: World, n: int) -> None:
    for _ in range(n):
        complaints.evaluation_submit(
            merchant=world.merchant,
            anchor=world.anchor,
            session=world.session,
            order_number=f"ORD-{next(_serial)}",
            stars_description=4,
            stars_service=5,
            stars_logistics=3,
            stars_anchor_honesty=4,
            text="描述相符。",
            source=Source.API,
            platform_ref=f"evaluation-{next(_serial)}",
        )


def violations(world: World, n: int) -> None:
    for _ in range(n):
        _violation(world)


def measures(world: World, n: int) -> None:
    for index in range(n):
        if index % 2:
            _appealed(world)
            continue
        product = product_register(
            merchant=world.merchant,
            platform_ref=f"sku-{next(_serial)}",
            title="围巾",
            category="general",
            actor=TEST_ACTOR,
        )
        enforcement.measure_propose(
            violation=_violation(world),
            proposal=enforcement.Proposal(
                kind="remove_content", products=[product], reason="商品宣传不实。"
            ),
            actor=world.reviewer,
        )


def appeals(world: World, n: int) -> None:
    for _ in range(n):
        _appealed(world)


def deposit_accounts(world: World, n: int) -> None:
    for _ in range(n):
        party = register_party(PartyKind.MERCHANT)
        enforcement.top_up(
            party=party, amount_fen=50_000, reference=f"pay-{next(_serial)}", actor=TEST_ACTOR
        )


def ledger_entries(world: World, n: int) -> None:
    for _ in range(n):
        enforcement.top_up(
            party=world.merchant,
            amount_fen=10_000,
            reference=f"pay-{next(_serial)}",
            actor=TEST_ACTOR,
        )


def public_parties(world: World, n: int) -> None:
    merchants(world, n)


def rule_sets(world: World, n: int) -> None:
    for _ in range(n):
        draft = rulesets.ruleset_draft(
            title=f"第{next(_serial)}版", rules=DEFAULT_RULES, summary="", actor=world.lead
        )
        start = timezone.now() + timedelta(days=10 + draft.version)
        rulesets.ruleset_publish(rule_set=draft, effective_from=start, actor=world.lead)


def feed_entries(world: World, n: int) -> None:
    for _ in range(n):
        merchant = approved_merchant(world.reviewer)
        sharing.blacklist_publish(
            party_id=merchant.pk,
            source=f"test:{next(_serial)}",
            starts_at=timezone.now(),
            ends_at=timezone.now() + timedelta(days=365),
        )


# Path templates as the schema names them; path parameters are taken from the world.
ROWS: dict[str, Callable[[World, int], None]] = {
    "/api/v1/parties/": parties,
    "/api/v1/restrictions/": restrictions,
    "/api/v1/merchants/": merchants,
    "/api/v1/anchors/": anchor_files,
    "/api/v1/agencies/": agencies,
    "/api/v1/products/": products,
    "/api/v1/live-rooms/": rooms,
    "/api/v1/live-sessions/": sessions,
    "/api/v1/alerts/": alerts,
    "/api/v1/complaints/": cases,
    "/api/v1/evaluations/": evaluations,
    "/api/v1/violations/": violations,
    "/api/v1/measures/": measures,
    "/api/v1/appeals/": appeals,
    "/api/v1/deposit-accounts/": deposit_accounts,
    "/api/v1/deposit-accounts/{party_id}/entries/": ledger_entries,
    "/api/v1/public/credit/parties/": public_parties,
    "/api/v1/public/credit/rules/": rule_sets,
    "/api/v1/credit/feed/": feed_entries,
}


def path_parameters(world: World) -> dict[str, object]:
    """Values for the path parameters of the list endpoints nested under a record."""
    return {"party_id": world.merchant.pk}
