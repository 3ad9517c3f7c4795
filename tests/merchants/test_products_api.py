"""POST /api/v1/products/: the platform registers merchants' products; a key bound to a merchant
registers its own, and cannot tell another merchant's id from one that does not exist."""

import itertools

import pytest
from rest_framework.test import APIClient

from accounts.demo import make_credit_code
from accounts.models import Party, PartyKind
from merchants.models import Product
from merchants.services import business_file_create
from tests.factories import TEST_ACTOR

pytestmark = pytest.mark.django_db

_serial = itertools.count(1)


def a_merchant() -> Party:
    n = next(_serial)
    file = business_file_create(
        kind=PartyKind.MERCHANT,
        entity_type="enterprise",
        name=f"商品测试商家{n}",
        credit_code=make_credit_code("330106", 50_000_000 + n),
        representative="甲",
        address="杭州",
        contact_phone="13812345678",
        actor=TEST_ACTOR,
    )
    return Party.objects.get(pk=file.party_id)


def client_for(make_key, party=None) -> APIClient:
    _key, raw = make_key(party=party, name=f"products-{party.pk if party else 'platform'}")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def product(merchant_id, **overrides) -> dict:
    return {
        "merchant_id": merchant_id,
        "platform_ref": "sku-1",
        "title": "真丝围巾",
        "category": "apparel",
        **overrides,
    }


def test_a_bound_key_gets_the_same_answer_for_another_merchant_as_for_a_missing_one(make_key):
    own, other = a_merchant(), a_merchant()
    bound = client_for(make_key, own)

    others = bound.post("/api/v1/products/", product(other.pk), format="json")
    missing = bound.post("/api/v1/products/", product(999_999), format="json")

    assert others.status_code == missing.status_code == 400
    assert others.content == missing.content
    # DRF's field-error shape: a list of messages under the field.
    assert list(others.json()) == ["merchant_id"]
    assert isinstance(others.json()["merchant_id"], list)
    assert not Product.objects.exists()
    mine = bound.post("/api/v1/products/", product(own.pk), format="json")
    assert mine.status_code == 201, mine.json()
    assert mine.json()["merchant_id"] == own.pk


def test_the_platforms_key_registers_any_merchants_products(make_key):
    merchant = a_merchant()
    platform = client_for(make_key)

    missing = platform.post(
        "/api/v1/products/", product(999_999), format="json", HTTP_ACCEPT_LANGUAGE="en"
    )
    registered = platform.post("/api/v1/products/", product(merchant.pk), format="json")

    assert missing.status_code == 400
    assert missing.json() == {"merchant_id": ["No merchant with this id."]}
    assert registered.status_code == 201, registered.json()
    assert Product.objects.get().merchant_id == merchant.pk


def test_a_merchant_id_no_row_can_have_is_a_field_error(make_key):
    response = client_for(make_key).post("/api/v1/products/", product(10**30), format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["merchant_id"]


def test_text_and_dates_are_taken_only_as_the_schema_describes_them(make_key):
    platform = client_for(make_key)
    merchant = a_merchant()

    number_as_title = platform.post(
        "/api/v1/products/", product(merchant.pk, title=0), format="json"
    )
    empty_date = platform.post(
        "/api/v1/products/",
        product(merchant.pk, ad_review_valid_until=""),
        format="multipart",
    )
    no_date = platform.post("/api/v1/products/", product(merchant.pk), format="multipart")

    assert number_as_title.status_code == 400 and list(number_as_title.json()) == ["title"]
    assert empty_date.status_code == 400
    assert list(empty_date.json()) == ["ad_review_valid_until"]
    assert no_date.status_code == 201
    assert Product.objects.get().ad_review_valid_until is None
