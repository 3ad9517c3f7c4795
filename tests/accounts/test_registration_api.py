"""The registration endpoints: /api/v1/merchants/, /anchors/ and /agencies/ -- creating, refusing
bad input without storing anything, documents, submission, filters, query counts, scopes and
changes to an approved file."""

import itertools
import json
import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient
from stdnum.cn import ric

from accounts import registration
from accounts.demo import make_credit_code, make_resident_id
from accounts.models import (
    DocumentKind,
    FileDocument,
    FileEvent,
    FileStatus,
    Party,
    PartyKind,
    RegistrationFile,
)
from anchors import services as anchor_services
from anchors.services import GuardianData, QualificationData
from merchants import services as merchant_services
from merchants.models import Category, EntityType, LicenceKind
from merchants.services import LicenceData
from tests.accounts.conftest import png_bytes
from tests.factories import TEST_ACTOR

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_media")]

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI)
REGION = "110105"
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_serial = itertools.count(1)

COMMON_FIELDS = {
    "id",
    "platform_ref",
    "status",
    "version",
    "sealed_version",
    "name",
    "contact_phone",
    "contact_email",
    "address",
    "submitted_at",
    "decided_at",
    "approved_at",
    "reverification_due_at",
    "change_review_due",
    "change_review_due_estimated",
    "last_check_results",
    "documents",
    "created_at",
    "updated_at",
}
MERCHANT_FIELDS = COMMON_FIELDS | {
    "unified_social_credit_code",
    "id_number_masked",
    "profile",
    "licences",
}
ANCHOR_FIELDS = COMMON_FIELDS | {
    "id_number_masked",
    "profile",
    "qualifications",
    "guardian",
    "agency_id",
}
# No birth date: with the first and last four characters the masked ID number shows, it would
# leave about three candidates for the whole number.
ANCHOR_PROFILE_FIELDS = {
    "age",
    "is_minor",
    "sex",
    "job_title",
    "topics",
    "is_ai_presenter",
    "ai_operator_id",
}
AGENCY_FIELDS = MERCHANT_FIELDS | {"anchor_ids", "merchant_ids"}
MASKED = re.compile(r"^\d{4}\*{10}[\dX]{4}$")


@pytest.fixture(autouse=True)
def _today(time_machine):
    time_machine.move_to(NOW)


# --- payloads ----------------------------------------------------------------------------------


def credit_code() -> str:
    return make_credit_code(REGION, 70_000_000 + next(_serial))


def resident_id(birth: date = date(1995, 4, 1), female: bool = True) -> str:
    return make_resident_id(REGION, birth, next(_serial) % 500, female)


def licence_payload(**overrides) -> dict:
    return {
        "kind": "business",
        "number": "110105000654321",
        "issuer": "北京市朝阳区市场监督管理局",
        "valid_from": "2021-03-01",
        **overrides,
    }


def enterprise_payload(**overrides) -> dict:
    """A valid merchant that passes every entry check."""
    return {
        "entity_type": "enterprise",
        "name": "北京好物商贸有限公司",
        "unified_social_credit_code": credit_code(),
        "representative": "张三",
        "business_address": "北京市朝阳区建国路 1 号",
        "contact_phone": "13812345678",
        "contact_email": "shop@example.com",
        "categories": ["general"],
        "licences": [licence_payload()],
        **overrides,
    }


def natural_person_payload(**overrides) -> dict:
    """A valid unregistered natural person selling general merchandise (no licence needed)."""
    payload = enterprise_payload(entity_type="natural_person", id_number=resident_id())
    del payload["unified_social_credit_code"], payload["licences"]
    return {**payload, **overrides}


def anchor_payload(**overrides) -> dict:
    """A valid adult anchor that passes every entry check."""
    return {
        "name": "李四",
        "id_number": resident_id(),
        "habitual_residence": "北京市朝阳区望京街 2 号",
        "contact_phone": "13900001111",
        "job_title": "主播",
        **overrides,
    }


def guardian_payload(**overrides) -> dict:
    return {
        "name": "李大",
        "relation": "父亲",
        "id_number": resident_id(date(1978, 2, 3)),
        **overrides,
    }


def agency_payload(**overrides) -> dict:
    payload = enterprise_payload(name="北京星光文化传媒有限公司")
    del payload["categories"]
    return {**payload, **overrides}


def stored() -> tuple[int, int, int]:
    return Party.objects.count(), RegistrationFile.objects.count(), FileEvent.objects.count()


def client_with(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def create(api, path: str, payload: dict) -> dict:
    response = api.post(path, payload, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def merchant(api, **overrides) -> dict:
    return create(api, "/api/v1/merchants/", enterprise_payload(**overrides))


def upload(name: str, content: bytes, content_type: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


# --- creating ----------------------------------------------------------------------------------


def test_creating_an_enterprise_merchant_returns_its_draft_file(api):
    payload = enterprise_payload(platform_ref="shop-001", categories=["food", "general"])
    payload["licences"].append(licence_payload(kind="food_business", valid_until="2031-02-28"))

    response = api.post("/api/v1/merchants/", payload, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == MERCHANT_FIELDS
    assert body["id"] == Party.objects.get(kind=PartyKind.MERCHANT, platform_ref="shop-001").pk
    assert (body["status"], body["version"], body["sealed_version"]) == ("draft", 1, None)
    assert body["unified_social_credit_code"] == payload["unified_social_credit_code"]
    assert body["id_number_masked"] == ""
    assert body["address"] == "北京市朝阳区建国路 1 号"
    assert body["profile"] == {
        "entity_type": "enterprise",
        "representative": "张三",
        "organisation_form": "",
        "registered_address": "",
        "categories": ["food", "general"],
    }
    assert {(lic["kind"], lic["valid_until"]) for lic in body["licences"]} == {
        ("business", None),
        ("food_business", "2031-02-28"),
    }
    assert (body["documents"], body["last_check_results"]) == ([], [])


def test_a_natural_persons_id_number_is_stored_encrypted_and_only_ever_shown_masked(api):
    payload = natural_person_payload()
    id_number = payload["id_number"]

    response = api.post("/api/v1/merchants/", payload, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == MERCHANT_FIELDS
    assert body["unified_social_credit_code"] == ""
    assert MASKED.match(body["id_number_masked"])
    assert body["id_number_masked"] == id_number[:4] + "*" * 10 + id_number[-4:]
    for shown in (
        response,
        api.get(f"/api/v1/merchants/{body['id']}/"),
        api.get("/api/v1/merchants/"),
    ):
        assert id_number not in shown.content.decode()
    file = RegistrationFile.objects.get(party_id=body["id"])
    row = RegistrationFile.objects.filter(pk=file.pk).values().get()
    assert id_number not in row["id_number_encrypted"]
    assert all(id_number not in str(value) for value in row.values())
    assert registration.file_id_number(file) == id_number


def test_creating_an_anchor_derives_age_and_sex_from_the_id_number(api):
    id_number = resident_id(date(1995, 4, 1), female=True)
    payload = anchor_payload(id_number=id_number, birth_date="1995-04-01", topics=["finance"])
    payload["qualifications"] = [{"topic": "finance", "name": "证券从业资格", "number": "S-1"}]

    response = api.post("/api/v1/anchors/", payload, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == ANCHOR_FIELDS
    assert "id_number" not in body
    assert id_number not in response.content.decode()
    assert MASKED.match(body["id_number_masked"])
    assert set(body["profile"]) == ANCHOR_PROFILE_FIELDS
    assert (body["profile"]["sex"], body["profile"]["age"]) == ("female", 31)
    assert body["profile"]["is_minor"] is False
    assert body["qualifications"] == [
        {"topic": "finance", "name": "证券从业资格", "number": "S-1", "document_id": None}
    ]
    assert (body["guardian"], body["agency_id"]) == (None, None)


def test_a_guardians_id_number_is_only_shown_masked(api):
    guardian_id = resident_id(date(1978, 2, 3), female=False)
    payload = anchor_payload(
        id_number=resident_id(date(2009, 6, 1)),
        guardian={"name": "李大", "relation": "父亲", "id_number": guardian_id},
    )

    response = api.post("/api/v1/anchors/", payload, format="json")

    assert response.status_code == 201, response.json()
    guardian = response.json()["guardian"]
    assert guardian == {
        "name": "李大",
        "relation": "父亲",
        "id_number_masked": guardian_id[:4] + "*" * 10 + guardian_id[-4:],
        "document_id": None,
    }
    assert guardian_id not in response.content.decode()


def test_an_anchors_birth_date_is_never_shown_only_the_age_and_whether_a_minor(api):
    # Digits 7-14 of an ID number are the birth date: beside the first and last four that the
    # mask shows, it would leave two digits to guess and the check digit to weed them out.
    adult = create(
        api,
        "/api/v1/anchors/",
        anchor_payload(id_number=resident_id(date(1995, 4, 1)), birth_date="1995-04-01"),
    )
    minor = create(
        api,
        "/api/v1/anchors/",
        anchor_payload(
            id_number=resident_id(date(2009, 6, 1)),
            guardian=guardian_payload(),
        ),
    )

    shown = [
        api.get(f"/api/v1/anchors/{adult['id']}/"),
        api.get(f"/api/v1/anchors/{minor['id']}/"),
        api.get("/api/v1/anchors/"),
    ]

    for response in shown:
        assert response.status_code == 200
        text = response.content.decode()
        for birth in ("1995-04-01", "19950401", "2009-06-01", "20090601", "birth"):
            assert birth not in text
    profiles = {a["id"]: a["profile"] for a in shown[2].json()["results"]}
    assert set(profiles[adult["id"]]) == ANCHOR_PROFILE_FIELDS
    assert (profiles[adult["id"]]["age"], profiles[adult["id"]]["is_minor"]) == (31, False)
    assert (profiles[minor["id"]]["age"], profiles[minor["id"]]["is_minor"]) == (17, True)


def test_an_anchor_comes_of_age_on_the_date_in_china(api, time_machine):
    # Born 2008-11-23: 18 from midnight in Beijing, which is 16:00 UTC on the 22nd.
    time_machine.move_to(datetime(2026, 11, 22, 12, 0, tzinfo=SHANGHAI))
    anchor = create(
        api,
        "/api/v1/anchors/",
        anchor_payload(
            id_number=resident_id(date(2008, 11, 23)),
            guardian=guardian_payload(),
        ),
    )
    assert (anchor["profile"]["age"], anchor["profile"]["is_minor"]) == (17, True)

    time_machine.move_to(datetime(2026, 11, 22, 16, 30, tzinfo=ZoneInfo("UTC")))
    profile = api.get(f"/api/v1/anchors/{anchor['id']}/").json()["profile"]

    assert (profile["age"], profile["is_minor"]) == (18, False)


def test_the_schema_takes_a_birth_date_in_and_never_gives_one_out():
    schemas = SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]

    assert set(schemas["AnchorProfileOut"]["properties"]) == ANCHOR_PROFILE_FIELDS
    assert "birth_date" in schemas["AnchorInRequest"]["properties"]


def test_creating_an_agency_links_its_merchants_and_then_its_anchors(api):
    first, second = merchant(api), merchant(api)

    response = api.post(
        "/api/v1/agencies/",
        agency_payload(merchant_ids=[second["id"], first["id"]]),
        format="json",
    )

    assert response.status_code == 201, response.json()
    agency = response.json()
    assert set(agency) == AGENCY_FIELDS
    assert agency["merchant_ids"] == sorted([first["id"], second["id"]])
    assert agency["anchor_ids"] == []
    anchor = create(api, "/api/v1/anchors/", anchor_payload(agency_id=agency["id"]))
    assert anchor["agency_id"] == agency["id"]
    assert api.get(f"/api/v1/agencies/{agency['id']}/").json()["anchor_ids"] == [anchor["id"]]


# --- refusing bad input ------------------------------------------------------------------------


def _other_check_character(code: str) -> str:
    return code[:-1] + next(c for c in USCC_ALPHABET if c != code[-1])


def _other_check_digit(number: str) -> str:
    return number[:-1] + ("0" if number[-1] != "0" else "1")


def _month_13() -> str:
    body = f"{REGION}19901301123"
    return body + ric.calc_check_digit(body + "0")


def _an_anchor_party_id() -> int:
    file = anchor_services.anchor_file_create(
        name="王五",
        id_number=resident_id(),
        contact_phone="13900002222",
        address="北京",
        actor=TEST_ACTOR,
    )
    return file.party_id


BAD_INPUT = {
    "wrong credit-code check character": lambda: (
        "/api/v1/merchants/",
        enterprise_payload(unified_social_credit_code=_other_check_character(credit_code())),
        "unified_social_credit_code",
    ),
    "wrong ID check digit (merchant)": lambda: (
        "/api/v1/merchants/",
        natural_person_payload(id_number=_other_check_digit(resident_id())),
        "id_number",
    ),
    "wrong ID check digit (anchor)": lambda: (
        "/api/v1/anchors/",
        anchor_payload(id_number=_other_check_digit(resident_id())),
        "id_number",
    ),
    "birth month 13 in the ID number": lambda: (
        "/api/v1/anchors/",
        anchor_payload(id_number=_month_13()),
        "id_number",
    ),
    "birth date not the one in the ID": lambda: (
        "/api/v1/anchors/",
        anchor_payload(id_number=resident_id(date(1995, 4, 1)), birth_date="1995-04-02"),
        "birth_date",
    ),
    "anchor under 16": lambda: (
        "/api/v1/anchors/",
        anchor_payload(id_number=resident_id(date(2012, 5, 5))),
        "id_number",
    ),
    "bad phone (merchant)": lambda: (
        "/api/v1/merchants/",
        enterprise_payload(contact_phone="12345"),
        "contact_phone",
    ),
    "bad phone (anchor)": lambda: (
        "/api/v1/anchors/",
        anchor_payload(contact_phone="+1 555 0100"),
        "contact_phone",
    ),
    "natural person with a credit code": lambda: (
        "/api/v1/merchants/",
        natural_person_payload(unified_social_credit_code=credit_code()),
        "unified_social_credit_code",
    ),
    "natural person without an ID number": lambda: (
        "/api/v1/merchants/",
        natural_person_payload(id_number=""),
        "id_number",
    ),
    "enterprise with an ID number": lambda: (
        "/api/v1/merchants/",
        enterprise_payload(id_number=resident_id()),
        "id_number",
    ),
    "unknown category": lambda: (
        "/api/v1/merchants/",
        enterprise_payload(categories=["general", "fireworks"]),
        "categories",
    ),
    "unknown agency": lambda: (
        "/api/v1/anchors/",
        anchor_payload(agency_id=999_999),
        "agency_id",
    ),
    "an anchor given as agency": lambda: (
        "/api/v1/anchors/",
        anchor_payload(agency_id=_an_anchor_party_id()),
        "agency_id",
    ),
    "unknown merchant": lambda: (
        "/api/v1/agencies/",
        agency_payload(merchant_ids=[999_999]),
        "merchant_ids",
    ),
    "an anchor given as merchant": lambda: (
        "/api/v1/agencies/",
        agency_payload(merchant_ids=[_an_anchor_party_id()]),
        "merchant_ids",
    ),
    "licence ending before it starts": lambda: (
        "/api/v1/merchants/",
        enterprise_payload(
            licences=[licence_payload(valid_from="2024-01-01", valid_until="2023-12-31")]
        ),
        "licences",
    ),
    "agency as a natural person": lambda: (
        "/api/v1/agencies/",
        agency_payload(entity_type="natural_person"),
        "entity_type",
    ),
}


@pytest.mark.parametrize("case", BAD_INPUT)
def test_bad_input_is_refused_with_field_errors_and_nothing_is_stored(api, case):
    path, payload, field = BAD_INPUT[case]()
    before = stored()

    response = api.post(path, payload, format="json", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert stored() == before


@pytest.mark.parametrize(
    "path, payload",
    [
        ("/api/v1/merchants/", enterprise_payload),
        ("/api/v1/agencies/", agency_payload),
        ("/api/v1/anchors/", anchor_payload),
    ],
)
def test_a_duplicate_identity_is_refused_and_nothing_is_stored(api, path, payload):
    first = payload()
    create(api, path, first)
    before = stored()

    second = payload(name="同一主体另一名称")
    for field in ("unified_social_credit_code", "id_number"):
        if field in first:
            second[field] = first[field]
    response = api.post(path, second, format="json", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 400
    assert "already registered" in json.dumps(response.json())
    assert stored() == before


def test_a_platform_ref_already_used_is_refused_and_nothing_is_stored(api):
    merchant(api, platform_ref="shop-001")
    before = stored()

    response = api.post(
        "/api/v1/merchants/", enterprise_payload(platform_ref="shop-001"), format="json"
    )

    assert response.status_code == 400
    assert stored() == before


@pytest.mark.parametrize(
    "path, payload, change",
    [
        ("/api/v1/merchants/", enterprise_payload, {"unified_social_credit_code": None}),
        ("/api/v1/merchants/", enterprise_payload, {"entity_type": "individual_business"}),
        ("/api/v1/anchors/", anchor_payload, {"id_number": None}),
        ("/api/v1/anchors/", anchor_payload, {"birth_date": "1995-04-01"}),
    ],
)
def test_identity_fields_cannot_be_patched(api, path, payload, change):
    created = create(api, path, payload())
    field, value = next(iter(change.items()))
    if value is None:
        value = credit_code() if field == "unified_social_credit_code" else resident_id()

    response = api.patch(f"{path}{created['id']}/", {field: value}, format="json")

    assert response.status_code == 400
    assert field in response.json()
    after = api.get(f"{path}{created['id']}/").json()
    assert after == created
    assert not FileEvent.objects.filter(kind=FileEvent.Kind.UPDATED).exists()


@pytest.mark.parametrize(
    "path, payload, field, value",
    [
        ("/api/v1/merchants/", enterprise_payload, "licences", [{"kind": "business"}]),
        (
            "/api/v1/merchants/",
            enterprise_payload,
            "licences",
            [{"kind": "business", "number": "1", "issuer": "局", "valid_until": "2030-01-01"}],
        ),
        ("/api/v1/anchors/", anchor_payload, "qualifications", [{"topic": "law"}]),
        ("/api/v1/anchors/", anchor_payload, "guardian", {"name": "李大"}),
    ],
)
def test_patching_an_incomplete_nested_item_is_a_400_not_a_500(api, path, payload, field, value):
    api.raise_request_exception = False
    created = create(api, path, payload())

    response = api.patch(f"{path}{created['id']}/", {field: value}, format="json")

    assert response.status_code == 400
    assert field in response.json()


TOO_LARGE_ID = 10**30  # no primary key holds it; SQLite cannot even bind it in an IN (...)


@pytest.mark.parametrize(
    "path, payload, field, value",
    [
        (
            "/api/v1/merchants/",
            enterprise_payload,
            "licences",
            [licence_payload(document_id=TOO_LARGE_ID)],
        ),
        (
            "/api/v1/anchors/",
            anchor_payload,
            "qualifications",
            [
                {
                    "topic": "law",
                    "name": "法律职业资格",
                    "number": "A-1",
                    "document_id": TOO_LARGE_ID,
                }
            ],
        ),
        (
            "/api/v1/anchors/",
            anchor_payload,
            "guardian",
            {"name": "李大", "relation": "父亲", "id_number": "", "document_id": TOO_LARGE_ID},
        ),
    ],
    ids=["licence", "qualification", "guardian consent"],
)
@pytest.mark.parametrize("method", ["post", "patch"])
def test_a_document_id_no_row_can_have_is_a_field_error_not_a_500(
    api, path, payload, field, value, method
):
    api.raise_request_exception = False
    if field == "guardian":
        value = {**value, "id_number": resident_id(date(1978, 2, 3))}
    if method == "post":
        before = stored()
        response = api.post(
            path, payload(**{field: value}), format="json", HTTP_ACCEPT_LANGUAGE="en"
        )
        assert stored() == before
    else:
        created = create(api, path, payload())
        response = api.patch(
            f"{path}{created['id']}/", {field: value}, format="json", HTTP_ACCEPT_LANGUAGE="en"
        )
        assert api.get(f"{path}{created['id']}/").json() == created

    assert response.status_code == 400, response.content
    errors = response.json()[field]
    item = errors if field == "guardian" else errors["0"]  # the first item's errors
    assert list(item) == ["document_id"]
    assert "less than or equal to" in item["document_id"][0]


def test_a_document_id_no_row_can_have_is_refused_by_the_services_too():
    file = merchant_services.business_file_create(
        kind=PartyKind.MERCHANT,
        entity_type=EntityType.ENTERPRISE,
        name="服务层商家",
        credit_code=credit_code(),
        representative="甲",
        address="北京",
        contact_phone="13812345678",
        actor=TEST_ACTOR,
    )
    anchor = anchor_services.anchor_file_create(
        name="服务层主播",
        id_number=resident_id(),
        contact_phone="13900002222",
        address="北京",
        actor=TEST_ACTOR,
    )
    licence = LicenceData(
        LicenceKind.BUSINESS, "B-1", "局", date(2020, 1, 1), document_id=TOO_LARGE_ID
    )

    with pytest.raises(ValidationError):
        merchant_services.business_file_update(file=file, actor=TEST_ACTOR, licences=[licence])
    with pytest.raises(ValidationError):
        anchor_services.anchor_file_update(
            file=anchor,
            actor=TEST_ACTOR,
            qualifications=[QualificationData("law", "法律职业资格", "A-1", TOO_LARGE_ID)],
        )
    with pytest.raises(ValidationError):
        anchor_services.anchor_file_update(
            file=anchor,
            actor=TEST_ACTOR,
            guardian=GuardianData("李大", "父亲", resident_id(date(1978, 2, 3)), TOO_LARGE_ID),
        )


def test_error_messages_follow_the_requested_language(api):
    payload = {"entity_type": "enterprise", "unified_social_credit_code": "911101050000000000"}

    with translation.override("zh-hans"):
        english = api.post("/api/v1/merchants/", payload, format="json", HTTP_ACCEPT_LANGUAGE="en")
        chinese = api.post(
            "/api/v1/merchants/", payload, format="json", HTTP_ACCEPT_LANGUAGE="zh-hans"
        )

    assert english.status_code == chinese.status_code == 400
    assert set(english.json()) == set(chinese.json())
    assert english.json() != chinese.json()
    assert english.json()["name"] == ["This field is required."]
    assert "unified social credit code" in english.json()["unified_social_credit_code"][0]


# --- documents ---------------------------------------------------------------------------------


def test_an_uploaded_image_is_attached_to_the_file(api):
    file = merchant(api)

    response = api.post(
        f"/api/v1/merchants/{file['id']}/documents/",
        {"kind": "business_licence", "file": upload("执照.png", png_bytes(), "image/png")},
        format="multipart",
    )

    assert response.status_code == 201, response.json()
    document = response.json()
    assert (document["kind"], document["version"], document["review"]) == (
        "business_licence",
        1,
        "pending",
    )
    assert (document["content_type"], document["width"], document["height"]) == (
        "image/png",
        8,
        8,
    )
    assert re.fullmatch(r"[0-9a-f]{64}", document["sha256"])
    assert api.get(f"/api/v1/merchants/{file['id']}/").json()["documents"] == [document]


SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
NOT_IMAGES = {
    "svg": ("licence.svg", SVG, "image/svg+xml"),
    "text": ("licence.png", b"just some text, not an image", "image/png"),
}


@pytest.mark.parametrize("kind", NOT_IMAGES)
def test_a_file_that_is_no_accepted_image_is_refused_and_nothing_is_stored(
    api, private_media, kind
):
    file = merchant(api)

    response = api.post(
        f"/api/v1/merchants/{file['id']}/documents/",
        {"kind": "business_licence", "file": upload(*NOT_IMAGES[kind])},
        format="multipart",
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 400
    assert "JPEG, PNG or WebP" in response.json()["file"][0]
    assert not FileDocument.objects.exists()
    assert not [p for p in private_media.rglob("*") if p.is_file()]
    assert not FileEvent.objects.filter(kind=FileEvent.Kind.DOCUMENT_ADDED).exists()


def test_a_document_of_an_unknown_kind_is_refused(api, private_media):
    file = merchant(api)

    response = api.post(
        f"/api/v1/merchants/{file['id']}/documents/",
        {"kind": "selfie", "file": upload("a.png", png_bytes(), "image/png")},
        format="multipart",
    )

    assert response.status_code == 400
    assert "kind" in response.json()
    assert not FileDocument.objects.exists()
    assert not [p for p in private_media.rglob("*") if p.is_file()]


# --- submitting --------------------------------------------------------------------------------


def test_submitting_a_complete_file_sends_it_to_review(api):
    file = merchant(api)

    response = api.post(f"/api/v1/merchants/{file['id']}/submit/")

    assert response.status_code == 200
    assert response.json() == {"accepted": True, "status": "submitted", "checks": []}
    assert api.get(f"/api/v1/merchants/{file['id']}/").json()["status"] == "submitted"


def test_submitting_an_incomplete_file_answers_400_with_the_checks(api):
    file = merchant(api, licences=[], categories=["drugs"])

    response = api.post(f"/api/v1/merchants/{file['id']}/submit/", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 400
    body = response.json()
    assert (body["accepted"], body["status"]) == (False, "draft")
    assert [(c["code"], c["field"]) for c in body["checks"]] == [
        ("licence_missing", "licences"),
        ("licence_missing", "licences"),
    ]
    assert all(set(c) == {"code", "message", "field"} for c in body["checks"])


def test_submitting_a_file_already_submitted_is_a_409(api):
    file = merchant(api)
    api.post(f"/api/v1/merchants/{file['id']}/submit/")

    response = api.post(f"/api/v1/merchants/{file['id']}/submit/")

    assert response.status_code == 409
    assert response.json()["code"] == "conflict"


# --- lists: filters, pagination, query counts --------------------------------------------------


def ids(response) -> list[int]:
    assert response.status_code == 200, response.json()
    return [item["id"] for item in response.json()["results"]]


def test_files_filter_by_status(api):
    waiting = merchant(api)
    draft = merchant(api)
    api.post(f"/api/v1/merchants/{waiting['id']}/submit/")

    assert ids(api.get("/api/v1/merchants/", {"status": "submitted"})) == [waiting["id"]]
    assert ids(api.get("/api/v1/merchants/", {"status": "draft"})) == [draft["id"]]
    assert api.get("/api/v1/merchants/", {"status": "sleeping"}).status_code == 400


def test_files_filter_by_updated_after_and_a_change_moves_a_file_into_the_window(api, time_machine):
    time_machine.move_to(datetime(2026, 11, 1, 10, 0, tzinfo=SHANGHAI))
    old = merchant(api)
    time_machine.move_to(datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI))
    new = merchant(api)
    since = {"updated_after": "2026-11-10T00:00:00+08:00"}

    assert ids(api.get("/api/v1/merchants/", since)) == [new["id"]]

    time_machine.move_to(datetime(2026, 11, 21, 10, 0, tzinfo=SHANGHAI))
    api.post(f"/api/v1/merchants/{old['id']}/submit/")
    assert ids(api.get("/api/v1/merchants/", since)) == [new["id"], old["id"]]


def test_files_filter_by_platform_ref(api):
    merchant(api, platform_ref="shop-1")
    wanted = merchant(api, platform_ref="shop-2")
    anchor = create(api, "/api/v1/anchors/", anchor_payload(platform_ref="shop-2"))

    assert ids(api.get("/api/v1/merchants/", {"platform_ref": "shop-2"})) == [wanted["id"]]
    assert ids(api.get("/api/v1/anchors/", {"platform_ref": "shop-2"})) == [anchor["id"]]


def test_cursor_pages_cover_every_file_once_newest_first(api):
    created = [merchant(api)["id"] for _ in range(7)]
    seen, url = [], "/api/v1/merchants/?page_size=3"
    while url:
        body = api.get(url).json()
        assert len(body["results"]) <= 3
        seen += [item["id"] for item in body["results"]]
        url = body["next"]

    assert seen == sorted(created, reverse=True)


def populate(count: int = 15) -> None:
    """Files of each kind with every related part filled in: licences, documents,
    qualifications, guardian consents, agency memberships and agency merchants."""
    for n in range(count):
        shop = merchant_services.business_file_create(
            kind=PartyKind.MERCHANT,
            entity_type=EntityType.ENTERPRISE,
            name=f"商户{n}",
            credit_code=credit_code(),
            representative="张三",
            contact_phone="13812345678",
            address="北京",
            categories=[Category.FOOD],
            licences=[
                LicenceData(LicenceKind.BUSINESS, f"B{n}", "朝阳区市监局", date(2021, 1, 1)),
                LicenceData(LicenceKind.FOOD_BUSINESS, f"F{n}", "朝阳区市监局", date(2021, 1, 1)),
            ],
            actor=TEST_ACTOR,
        )
        registration.document_add(
            file=shop,
            kind=DocumentKind.BUSINESS_LICENCE,
            upload=upload("a.png", png_bytes(), "image/png"),
            actor=TEST_ACTOR,
        )
        agency = merchant_services.business_file_create(
            kind=PartyKind.AGENCY,
            entity_type=EntityType.ENTERPRISE,
            name=f"机构{n}",
            credit_code=credit_code(),
            representative="李四",
            contact_phone="13812345678",
            address="北京",
            licences=[LicenceData(LicenceKind.BUSINESS, f"A{n}", "朝阳区市监局", date(2021, 1, 1))],
            actor=TEST_ACTOR,
        )
        anchor_services.agency_link_merchant(
            agency=agency.party, merchant=shop.party, actor=TEST_ACTOR
        )
        anchor_services.anchor_file_create(
            name=f"主播{n}",
            id_number=resident_id(date(2009, 6, 1)),
            contact_phone="13900001111",
            address="北京",
            topics=["law"],
            qualifications=[QualificationData(topic="law", name="法律职业资格", number=f"L{n}")],
            guardian=GuardianData(
                name="监护人", relation="母亲", id_number=resident_id(date(1980, 1, 1))
            ),
            agency=agency.party,
            actor=TEST_ACTOR,
        )


@pytest.mark.parametrize("path", ["/api/v1/merchants/", "/api/v1/anchors/", "/api/v1/agencies/"])
def test_list_query_count_does_not_grow_with_the_page(api, path):
    populate(15)

    def queries(page_size: int) -> int:
        api.get("/api/v1/key/")  # settle last_used_at so it is not written during the count
        with CaptureQueriesContext(connection) as ctx:
            response = api.get(path, {"page_size": page_size})
        assert len(response.json()["results"]) == page_size
        return len(ctx)

    assert queries(2) == queries(15)


# --- scopes and party binding ------------------------------------------------------------------


def test_a_read_only_key_can_read_but_not_write(api, make_key):
    file = merchant(api)
    _key, raw = make_key(scopes=["registration:read"], name="reader")
    reader = client_with(raw)
    before = stored()

    assert reader.get("/api/v1/merchants/").status_code == 200
    assert reader.get(f"/api/v1/merchants/{file['id']}/").status_code == 200
    refused = [
        reader.post("/api/v1/merchants/", enterprise_payload(), format="json"),
        reader.patch(f"/api/v1/merchants/{file['id']}/", {"name": "新名称"}, format="json"),
        reader.post(f"/api/v1/merchants/{file['id']}/submit/"),
        reader.post(
            f"/api/v1/merchants/{file['id']}/documents/",
            {"kind": "business_licence", "file": upload("a.png", png_bytes(), "image/png")},
            format="multipart",
        ),
    ]

    assert [r.status_code for r in refused] == [403, 403, 403, 403]
    assert stored() == before
    assert not FileDocument.objects.exists()
    assert RegistrationFile.objects.get(party_id=file["id"]).status == FileStatus.DRAFT


def test_a_key_without_registration_scopes_cannot_read_files(api, make_key):
    _key, raw = make_key(scopes=["parties:read"], name="registry-only")

    assert client_with(raw).get("/api/v1/merchants/").status_code == 403


def test_a_party_bound_key_reaches_only_its_own_file(api, make_key):
    own, other = merchant(api), merchant(api)
    create(api, "/api/v1/anchors/", anchor_payload())
    _key, raw = make_key(party=Party.objects.get(pk=own["id"]), name="own-shop")
    bound = client_with(raw)

    assert ids(bound.get("/api/v1/merchants/")) == [own["id"]]
    assert ids(bound.get("/api/v1/anchors/")) == []
    assert bound.get(f"/api/v1/merchants/{own['id']}/").status_code == 200
    assert bound.get(f"/api/v1/merchants/{other['id']}/").status_code == 404
    patched = bound.patch(f"/api/v1/merchants/{other['id']}/", {"name": "x"}, format="json")
    assert patched.status_code == 404
    assert bound.post(f"/api/v1/merchants/{other['id']}/submit/").status_code == 404
    assert RegistrationFile.objects.get(party_id=other["id"]).status == FileStatus.DRAFT
    assert RegistrationFile.objects.get(party_id=other["id"]).name == other["name"]
    assert bound.post(f"/api/v1/merchants/{own['id']}/submit/").status_code == 200


def _answer(response) -> tuple[int, bytes]:
    return response.status_code, response.content


def test_an_agencys_own_key_cannot_link_merchants_nor_tell_which_ids_exist(api, make_key):
    linked, other = merchant(api), merchant(api)
    agency = create(api, "/api/v1/agencies/", agency_payload(merchant_ids=[linked["id"]]))
    _key, raw = make_key(party=Party.objects.get(pk=agency["id"]), name="own-agency")
    bound = client_with(raw)
    path = f"/api/v1/agencies/{agency['id']}/"

    existing = bound.patch(path, {"merchant_ids": [other["id"]]}, format="json")
    missing = bound.patch(path, {"merchant_ids": [999_999]}, format="json")
    mixed = bound.patch(path, {"merchant_ids": [linked["id"], other["id"]]}, format="json")

    assert existing.status_code == 400
    assert list(existing.json()) == ["merchant_ids"]
    assert _answer(existing) == _answer(missing) == _answer(mixed)
    assert api.get(path).json()["merchant_ids"] == [linked["id"]]
    assert not FileEvent.objects.filter(kind=FileEvent.Kind.UPDATED).exists()
    # What is linked already may be sent again; nothing changes.
    again = bound.patch(path, {"name": "新名称", "merchant_ids": [linked["id"]]}, format="json")
    assert again.status_code == 200, again.json()
    assert (again.json()["name"], again.json()["merchant_ids"]) == ("新名称", [linked["id"]])
    # The platform's key links the merchants an agency has verified.
    linked_by_platform = api.patch(path, {"merchant_ids": [other["id"]]}, format="json")
    assert linked_by_platform.status_code == 200, linked_by_platform.json()
    assert linked_by_platform.json()["merchant_ids"] == sorted([linked["id"], other["id"]])


def test_the_platform_is_told_every_id_that_is_no_merchant(api):
    first = merchant(api)
    anchor_id = _an_anchor_party_id()
    agency = create(api, "/api/v1/agencies/", agency_payload())

    response = api.patch(
        f"/api/v1/agencies/{agency['id']}/",
        {"merchant_ids": [first["id"], 999_999, anchor_id]},
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 400
    assert response.json() == {
        "merchant_ids": ["No Merchant with id 999999.", f"No Merchant with id {anchor_id}."]
    }
    assert api.get(f"/api/v1/agencies/{agency['id']}/").json()["merchant_ids"] == []


def test_linking_merchants_takes_the_same_queries_for_2_as_for_40(api):
    def merchant_ids(count: int) -> list[int]:
        return [
            merchant_services.business_file_create(
                kind=PartyKind.MERCHANT,
                entity_type=EntityType.ENTERPRISE,
                name=f"批量商家{n}",
                credit_code=credit_code(),
                representative="甲",
                address="北京",
                contact_phone="13812345678",
                actor=TEST_ACTOR,
            ).party_id
            for n in range(count)
        ]

    def queries(count: int) -> int:
        agency = create(api, "/api/v1/agencies/", agency_payload())
        ids_ = merchant_ids(count)
        with CaptureQueriesContext(connection) as ctx:
            response = api.patch(
                f"/api/v1/agencies/{agency['id']}/", {"merchant_ids": ids_}, format="json"
            )
        assert response.status_code == 200, response.json()
        assert response.json()["merchant_ids"] == sorted(ids_)
        return len(ctx)

    assert queries(2) == queries(40)


def test_an_anchors_own_key_cannot_name_another_party_as_its_ai_operator(api, make_key):
    operator, other = merchant(api), merchant(api)
    anchor = create(
        api,
        "/api/v1/anchors/",
        anchor_payload(is_ai_presenter=True, ai_operator_id=operator["id"]),
    )
    _key, raw = make_key(party=Party.objects.get(pk=anchor["id"]), name="own-anchor")
    bound = client_with(raw)
    path = f"/api/v1/anchors/{anchor['id']}/"

    existing = bound.patch(path, {"ai_operator_id": other["id"]}, format="json")
    missing = bound.patch(path, {"ai_operator_id": 999_999}, format="json")
    cleared = bound.patch(path, {"ai_operator_id": None}, format="json")

    assert existing.status_code == 400
    assert list(existing.json()) == ["ai_operator_id"]
    assert _answer(existing) == _answer(missing) == _answer(cleared)
    assert api.get(path).json()["profile"]["ai_operator_id"] == operator["id"]
    # The operator already named may be sent again.
    again = bound.patch(
        path, {"job_title": "数字人", "ai_operator_id": operator["id"]}, format="json"
    )
    assert again.status_code == 200, again.json()
    assert again.json()["profile"]["ai_operator_id"] == operator["id"]
    # The platform's key names the operator.
    moved = api.patch(path, {"ai_operator_id": other["id"]}, format="json")
    assert moved.status_code == 200, moved.json()
    assert moved.json()["profile"]["ai_operator_id"] == other["id"]


# --- changing a file -------------------------------------------------------------------------


def test_patching_an_approved_file_opens_version_2_while_version_1_stays_in_force(api, reviewer):
    file = merchant(api)
    assert api.post(f"/api/v1/merchants/{file['id']}/submit/").status_code == 200
    registration.file_approve(
        file=RegistrationFile.objects.get(party_id=file["id"]), actor=reviewer
    )
    approved = api.get(f"/api/v1/merchants/{file['id']}/").json()
    assert (approved["status"], approved["sealed_version"]) == ("approved", 1)

    response = api.patch(
        f"/api/v1/merchants/{file['id']}/",
        {"contact_phone": "13900002222", "business_address": "北京市朝阳区新址 9 号"},
        format="json",
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["status"], body["version"], body["sealed_version"]) == ("draft", 2, 1)
    assert (body["contact_phone"], body["address"]) == ("13900002222", "北京市朝阳区新址 9 号")
    assert body["approved_at"] == approved["approved_at"]


def test_patching_a_file_under_review_is_a_409(api, reviewer):
    file = merchant(api)
    api.post(f"/api/v1/merchants/{file['id']}/submit/")
    registration.file_take(file=RegistrationFile.objects.get(party_id=file["id"]), actor=reviewer)

    response = api.patch(f"/api/v1/merchants/{file['id']}/", {"name": "新名称"}, format="json")

    assert response.status_code == 409
    assert api.get(f"/api/v1/merchants/{file['id']}/").json()["name"] == file["name"]


def test_a_duplicate_platform_reference_is_a_field_error(api):
    from accounts.demo import make_credit_code

    def payload(serial):
        return {
            "entity_type": "enterprise",
            "name": f"平台编号测试{serial}",
            "unified_social_credit_code": make_credit_code("330106", 70_000_000 + serial),
            "representative": "甲",
            "business_address": "杭州",
            "contact_phone": "13812345678",
            "categories": ["general"],
            "platform_ref": "shop-1",
        }

    assert api.post("/api/v1/merchants/", payload(1), format="json").status_code == 201
    response = api.post("/api/v1/merchants/", payload(2), format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"platform_ref"}


def test_a_duplicate_identity_is_reported_under_the_field_that_carried_it(api):
    from accounts.demo import make_credit_code

    code = make_credit_code("330106", 70_000_100)
    body = {
        "entity_type": "enterprise",
        "name": "重复身份",
        "unified_social_credit_code": code,
        "representative": "甲",
        "business_address": "杭州",
        "contact_phone": "13812345678",
        "categories": ["general"],
    }
    assert api.post("/api/v1/merchants/", body, format="json").status_code == 201
    response = api.post("/api/v1/merchants/", body, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"unified_social_credit_code"}


def test_a_phone_typed_in_full_width_is_stored_in_ascii_and_other_scripts_digits_are_refused(
    api,
):
    file = merchant(api, contact_phone="１３８１２３４５６７８")
    assert file["contact_phone"] == "13812345678"

    arabic_indic = api.post(
        "/api/v1/merchants/",
        enterprise_payload(contact_phone="١٣٨١٢٣٤٥٦٧٨"),
        format="json",
    )
    assert arabic_indic.status_code == 400
    assert list(arabic_indic.json()) == ["contact_phone"]
