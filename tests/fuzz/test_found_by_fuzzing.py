"""What generated requests found wrong with the API, each pinned by the request that showed it,
so that it stays fixed whatever examples the fuzzer happens to draw next."""

from __future__ import annotations

from datetime import timedelta, timezone

import pytest
from django.core.exceptions import ValidationError as DjangoValidationError
from django.test import override_settings
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from config.api.exceptions import exception_handler

HUGE = "124410478451740499048965079040"  # more than 64 bits


@pytest.fixture
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


@pytest.mark.parametrize("size", ["0", "-3", "ten", "1.5"])
def test_a_page_size_that_is_not_a_whole_number_of_rows_is_refused(api, world, size):
    response = api.get("/api/v1/parties/", {"page_size": size})
    assert response.status_code == 400
    assert list(response.json()) == ["page_size"]


def test_a_page_size_left_blank_or_too_large_still_answers(api, world):
    blank = api.get("/api/v1/parties/", {"page_size": ""})
    large = api.get("/api/v1/parties/", {"page_size": "100000"})
    assert blank.status_code == large.status_code == 200
    assert len(blank.json()["results"]) == len(large.json()["results"]) == 3


def test_a_cursor_the_list_never_handed_out_is_a_400_not_a_missing_list(api, world):
    response = api.get("/api/v1/measures/", {"cursor": "*/*"})
    assert response.status_code == 400
    assert list(response.json()) == ["cursor"]


def test_the_public_lists_page_like_every_other(world):
    anonymous = APIClient()
    rules = anonymous.get("/api/v1/public/credit/rules/", {"page_size": "ten"})
    assert rules.status_code == 400 and list(rules.json()) == ["page_size"]


@pytest.mark.parametrize("value", ["yes", "null", "2"])
def test_a_boolean_filter_refuses_what_is_neither_true_nor_false(api, world, value):
    response = api.get("/api/v1/restrictions/", {"in_force": value})
    assert response.status_code == 400
    assert list(response.json()) == ["in_force"]


def test_a_boolean_filter_filters_on_true_and_false_and_ignores_blank(api, world):
    from accounts import services
    from tests.factories import TEST_ACTOR

    services.restriction_impose(
        party=world.anchor, kind="traffic", reason="限流。", actor=TEST_ACTOR
    )
    counts = {
        value: len(api.get("/api/v1/restrictions/", {"in_force": value}).json()["results"])
        for value in ("true", "FALSE", "")
    }
    assert counts == {"true": 1, "FALSE": 0, "": 1}


@pytest.mark.parametrize("value", ["0.5", "-1.8e+127", HUGE, "0"])
def test_an_id_filter_takes_only_an_id(api, world, value):
    for url, name in [
        ("/api/v1/restrictions/", "party"),
        ("/api/v1/live-sessions/", "room"),
        ("/api/v1/evaluations/", "party"),
    ]:
        response = api.get(url, {name: value})
        assert response.status_code == 400, (url, value)
        assert list(response.json()) == [name]


@pytest.mark.parametrize(
    "url",
    [
        f"/api/v1/parties/{HUGE}/",
        f"/api/v1/merchants/{HUGE}/",
        f"/api/v1/evaluations/{HUGE}/",
        f"/api/v1/deposit-accounts/{HUGE}/entries/",
        f"/api/v1/public/credit/parties/{HUGE}/",
    ],
)
def test_an_id_too_large_for_any_row_is_not_found(api, world, url):
    response = api.get(url)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_a_time_beyond_what_the_database_stores_is_refused(api, world):
    response = api.get("/api/v1/merchants/", {"updated_after": "0001-01-01T00:00:00+06:01"})
    assert response.status_code == 400
    assert list(response.json()) == ["updated_after"]


def test_a_time_with_an_offset_the_database_refuses_is_compared_in_utc(api, world):
    from enforcement.models import Appeal
    from tests.fuzz.world import appeals

    appeals(world, 1)
    filed = Appeal.objects.get().filed_at
    just_before = filed.astimezone(timezone(-timedelta(hours=21, minutes=13))) - timedelta(
        seconds=1
    )
    response = api.get("/api/v1/appeals/", {"filed_after": just_before.isoformat()})
    assert response.status_code == 200
    assert len(response.json()["results"]) == 1


def test_a_time_of_day_that_does_not_exist_is_a_field_error(api, world):
    response = api.post(
        "/api/v1/complaints/",
        {"kind": "complaint", "platform_ref": "c-1", "received_at": "2024-01-01T12:99:00Z"},
        format="json",
    )
    assert response.status_code == 400
    assert "received_at" in response.json()


@override_settings(DATA_UPLOAD_MAX_NUMBER_FIELDS=5)
def test_a_form_with_too_many_fields_is_a_json_400(api, world):
    fields = {f"field{n}": "x" for n in range(10)}
    response = api.post("/api/v1/products/", fields, format="multipart")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "parse_error"


def test_a_refusal_that_names_no_field_keeps_the_field_error_shape():
    response = exception_handler(DjangoValidationError("Link an agency to a merchant."), {})
    assert response.status_code == 400
    assert response.data == {"non_field_errors": ["Link an agency to a merchant."]}


def test_the_schema_says_what_the_plumbing_answers(schema):
    parties = schema["paths"]["/api/v1/parties/{id}/"]["get"]["responses"]
    assert {"200", "401", "403", "404", "429"} <= set(parties)
    products = schema["paths"]["/api/v1/products/"]["post"]["responses"]
    assert {"201", "400", "401", "403", "415", "429"} <= set(products)
    feed_key = schema["paths"]["/api/v1/credit/feed/key/"]["get"]["responses"]
    # No key is needed, but a malformed one is refused; the rate limit applies to everyone.
    assert {"200", "401", "429"} <= set(feed_key) and "403" not in feed_key
    rules = schema["paths"]["/api/v1/public/credit/rules/"]["get"]["parameters"]
    page_size = next(p for p in rules if p["name"] == "page_size")
    assert page_size["schema"] == {"type": "integer", "minimum": 1}
    assert page_size["allowEmptyValue"] is True


def test_the_schema_says_what_a_batch_of_signals_answers(schema):
    ok = schema["paths"]["/api/v1/live-sessions/{id}/signals/"]["post"]["responses"]["200"]
    body = ok["content"]["application/json"]["schema"]
    name = body["$ref"].rsplit("/", 1)[-1]
    assert schema["components"]["schemas"][name]["properties"]["alerts"]["type"] == "array"


def test_a_document_not_sent_back_has_a_blank_change_reason_in_the_schema(schema):
    reason = schema["components"]["schemas"]["DocumentOut"]["properties"]["change_reason"]
    assert {"$ref": "#/components/schemas/BlankEnum"} in reason["oneOf"]
