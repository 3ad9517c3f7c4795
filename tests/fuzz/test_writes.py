"""The writes generated requests never get through, made valid from the world's records.

A generated body cannot carry a checksummed credit code or resident ID number, nor the id of a
record that exists, so these operations only ever refuse the fuzzer, and their success answers
would go unchecked. Here each is sent a body that passes, through the same schema and with the
same checks (less the one about invalid input), and its success answer must keep to the schema.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import pytest
from django.utils import timezone
from schemathesis.specs.openapi.checks import negative_data_rejection

from accounts.demo import make_credit_code, make_resident_id
from liverooms.services import room_register
from tests.factories import TEST_ACTOR
from tests.fuzz.conftest import SENT
from tests.fuzz.test_api_schema import CHECKS, schema
from tests.fuzz.world import World

SUCCESS_CHECKS = [check for check in CHECKS if check is not negative_data_rejection]
_serial = itertools.count(1)


@dataclass
class Write:
    """A valid request to one operation, the success code it documents, and fields of the
    answer that show the write took effect."""

    body: dict
    status: int
    shows: dict
    path_parameters: dict = field(default_factory=dict)
    media_type: str = "application/json"


def _ref(prefix: str) -> str:
    return f"{prefix}-write-{next(_serial)}"


def _credit_code() -> str:
    return make_credit_code("330106", 60_000_000 + next(_serial))


def _resident_id() -> str:
    return make_resident_id("330106", date(1992, 3, 14), next(_serial) % 500, female=False)


def _business(ref: str) -> dict:
    return {
        "entity_type": "enterprise",
        "name": "杭州好物商贸有限公司",
        "unified_social_credit_code": _credit_code(),
        "representative": "张三",
        "business_address": "杭州市西湖区文三路 1 号",
        "contact_phone": "13812345678",
        "contact_email": "shop@example.com",
        "licences": [
            {
                "kind": "business",
                "number": "330106000654321",
                "issuer": "西湖区市场监督管理局",
                "valid_from": "2021-03-01",
            }
        ],
        "platform_ref": ref,
    }


def merchant_create(world: World) -> Write:
    ref = _ref("shop")
    body = {**_business(ref), "categories": ["general"]}
    return Write(body, 201, {"platform_ref": ref, "status": "draft", "version": 1})


def anchor_create(world: World) -> Write:
    ref = _ref("anchor")
    body = {
        "name": "李四",
        "id_number": _resident_id(),
        "habitual_residence": "杭州市西湖区文二路 2 号",
        "contact_phone": "13900001111",
        "job_title": "主播",
        "agency_id": world.agency.pk,
        "platform_ref": ref,
    }
    return Write(body, 201, {"platform_ref": ref, "agency_id": world.agency.pk})


def agency_create(world: World) -> Write:
    ref = _ref("mcn")
    merchants = [world.merchant.pk]
    body = {**_business(ref), "name": "杭州星光文化传媒有限公司", "merchant_ids": merchants}
    return Write(body, 201, {"platform_ref": ref, "merchant_ids": merchants})


def _change(party_id: int, body: dict) -> Write:
    """A change to an approved file: it opens version 2 while version 1 stays in force."""
    return Write(
        body,
        200,
        {"contact_phone": body["contact_phone"], "version": 2, "sealed_version": 1},
        path_parameters={"id": party_id},
    )


def merchant_change(world: World) -> Write:
    body = {"contact_phone": "13900002222", "business_address": "杭州市西湖区新址 9 号"}
    return _change(world.merchant.pk, body)


def anchor_change(world: World) -> Write:
    body = {"contact_phone": "13900003333", "habitual_residence": "杭州市滨江区 3 号"}
    return _change(world.anchor.pk, body)


def agency_change(world: World) -> Write:
    body = {"contact_phone": "13900004444", "business_address": "杭州市上城区 4 号"}
    return _change(world.agency.pk, body)


def complaint_file(world: World) -> Write:
    ref = _ref("case")
    body = {
        "kind": "complaint",
        "platform_ref": ref,
        "received_at": timezone.now().isoformat(),
        "merchant_id": world.merchant.pk,
        "anchor_id": world.anchor.pk,
        "session_id": world.session.pk,
        "order_number": "ORD-88001",
        "purchase": "真丝围巾",
        "category": "false_advertising",
        "request": "refund",
        "request_detail": "全额退款",
        "facts": "直播间宣称100%桑蚕丝，收到后检测为化纤。",
        "contact": {"name": "王女士", "email": "wang@example.com", "phone": "13812345678"},
    }
    return Write(body, 201, {"platform_ref": ref, "session_id": world.session.pk})


def evaluation_submit(world: World) -> Write:
    ref = _ref("evaluation")
    body = {
        "platform_ref": ref,
        "merchant_id": world.merchant.pk,
        "anchor_id": world.anchor.pk,
        "session_id": world.session.pk,
        "order_number": "ORD-77",
        "stars_description": 4,
        "stars_service": 5,
        "stars_logistics": 3,
        "stars_anchor_honesty": 2,
        "text": "围巾质量不错，物流有点慢。",
    }
    return Write(body, 201, {"platform_ref": ref, "stars_anchor_honesty": 2})


def room_create(world: World) -> Write:
    ref = _ref("room")
    body = {
        "owner_id": world.merchant.pk,
        "platform_ref": ref,
        "title": "西子良品直播间",
        "category": "general",
        "followers": 12000,
    }
    return Write(body, 201, {"platform_ref": ref, "owner_id": world.merchant.pk})


def room_update(world: World) -> Write:
    """A key bound to a party registers no rooms; it updates its own, named by platform_ref."""
    body = {
        "owner_id": world.merchant.pk,
        "platform_ref": world.room.platform_ref,
        "title": "西子良品直播间",
        "category": "general",
        "followers": 15000,
    }
    return Write(body, 200, {"id": world.room.pk, "followers": 15000})


def go_live(world: World) -> Write:
    """In a room of the merchant's that is off air: the world's own room is on air already."""
    room = room_register(
        owner=world.merchant,
        platform_ref=_ref("room"),
        title="第二直播间",
        category="general",
        followers=1000,
        actor=TEST_ACTOR,
    )
    body = {
        "room_id": room.pk,
        "anchor_ids": [world.anchor.pk],
        "product_ids": [world.product.pk],
        "ai_generated": False,
        "pre_stream_checklist": {"script_reviewed": True, "set_reviewed": True},
    }
    return Write(body, 201, {"room_id": room.pk, "status": "live"})


def signals(world: World) -> Write:
    """Signals at this moment of the world's session: generated stream times are almost never
    between its going live and now."""
    body = {
        "signals": [
            {"kind": "transcript", "at": timezone.now().isoformat(), "text": "家人们晚上好"},
            {"kind": "chat", "at": timezone.now().isoformat(), "text": f"加微信{next(_serial)}"},
        ]
    }
    return Write(body, 200, {"replayed": False}, {"id": world.session.pk})


def product_register(world: World) -> Write:
    ref = _ref("sku")
    body = {
        "merchant_id": world.merchant.pk,
        "platform_ref": ref,
        "title": "真丝睡衣",
        "category": "general",
    }
    # The one write sent as a form, so that the answer to a form is checked too.
    return Write(body, 201, {"platform_ref": ref}, media_type="multipart/form-data")


WRITES: dict[tuple[str, str], Callable[[World], Write]] = {
    ("/api/v1/merchants/", "POST"): merchant_create,
    ("/api/v1/anchors/", "POST"): anchor_create,
    ("/api/v1/agencies/", "POST"): agency_create,
    ("/api/v1/merchants/{id}/", "PATCH"): merchant_change,
    ("/api/v1/anchors/{id}/", "PATCH"): anchor_change,
    ("/api/v1/agencies/{id}/", "PATCH"): agency_change,
    ("/api/v1/complaints/", "POST"): complaint_file,
    ("/api/v1/evaluations/", "POST"): evaluation_submit,
    ("/api/v1/live-rooms/", "POST"): room_create,
    ("/api/v1/live-sessions/", "POST"): go_live,
    ("/api/v1/live-sessions/{id}/signals/", "POST"): signals,
    ("/api/v1/products/", "POST"): product_register,
}
# A key bound to the merchant writes only for the merchant: registering parties and rooms, and
# forwarding complaints or evaluations about it, are the platform's.
OWN_WRITES: dict[tuple[str, str], Callable[[World], Write]] = {
    ("/api/v1/merchants/{id}/", "PATCH"): merchant_change,
    ("/api/v1/live-rooms/", "POST"): room_update,
    ("/api/v1/live-sessions/", "POST"): go_live,
    ("/api/v1/products/", "POST"): product_register,
}


def _label(operation: tuple[str, str]) -> str:
    path, method = operation
    return f"{method} {path}"


def _write(operation: tuple[str, str], write: Write, raw_key: str, key: str) -> None:
    path, method = operation
    case = schema[path][method].Case(
        body=write.body, path_parameters=write.path_parameters, media_type=write.media_type
    )
    headers = {"Authorization": f"Bearer {raw_key}"}
    response = case.call(headers=headers)
    SENT[(key, case.operation.label, "explicit", response.status_code // 100)] += 1

    assert response.status_code == write.status, response.text
    case.validate_response(response, checks=SUCCESS_CHECKS, headers=headers)
    answer = response.json()
    assert {name: answer.get(name) for name in write.shows} == write.shows


@pytest.mark.parametrize("operation", WRITES, ids=_label)
def test_a_valid_write_succeeds_as_the_schema_says(world, platform_key, operation):
    _write(operation, WRITES[operation](world), platform_key, "platform key")


@pytest.mark.parametrize("operation", OWN_WRITES, ids=_label)
def test_a_valid_write_with_a_party_s_own_key_succeeds_as_the_schema_says(
    world, merchant_key, operation
):
    _write(operation, OWN_WRITES[operation](world), merchant_key, "merchant's key")
