"""Each registered entry check, seen through submission (services or POST /submit/), and that
every failure of a file is reported at once."""

import itertools
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from accounts import registration, services
from accounts.demo import make_credit_code, make_resident_id
from accounts.entry_checks import Candidate, registered_checks, run_entry_checks
from accounts.identity import identity_hash
from accounts.models import DocumentKind, Party, PartyKind, RegistrationFile, RestrictionKind
from anchors import services as anchor_services
from anchors.models import Topic
from anchors.services import GuardianData, QualificationData
from credit.services import sanctions_import_csv
from merchants import services as merchant_services
from merchants.models import Category, EntityType, LicenceKind
from merchants.services import LicenceData
from tests.factories import TEST_ACTOR

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_media")]

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI)
TODAY = NOW.date()
REGION = "110105"
_serial = itertools.count(1)


@pytest.fixture(autouse=True)
def _today(time_machine):
    time_machine.move_to(NOW, tick=False)


# --- building files ----------------------------------------------------------------------------


def credit_code(**kwargs) -> str:
    return make_credit_code(REGION, 60_000_000 + next(_serial), **kwargs)


def resident_id(birth: date = date(1992, 7, 8), female: bool = True) -> str:
    return make_resident_id(REGION, birth, next(_serial) % 500, female)


def licence(kind: str = LicenceKind.BUSINESS, **overrides) -> LicenceData:
    fields = {
        "kind": kind,
        "number": f"JY{next(_serial):012d}",
        "issuer": "北京市朝阳区市场监督管理局",
        "valid_from": date(2021, 3, 1),
        "valid_until": None,
    }
    return LicenceData(**{**fields, **overrides})


def merchant_file(**overrides) -> RegistrationFile:
    """An enterprise selling general merchandise with its business licence: passes every check."""
    fields = {
        "kind": PartyKind.MERCHANT,
        "entity_type": EntityType.ENTERPRISE,
        "name": "北京优选食品有限公司",
        "representative": "王五",
        "contact_phone": "13812345678",
        "address": "北京市朝阳区光华路 5 号",
        "categories": [Category.GENERAL],
        "licences": [licence()],
        "actor": TEST_ACTOR,
    }
    fields.update(overrides)
    if "id_number" not in fields:
        fields.setdefault("credit_code", credit_code())
    return merchant_services.business_file_create(**fields)


def anchor_file(birth: date = date(1995, 4, 1), **overrides) -> RegistrationFile:
    """An adult anchor on unregulated topics: passes every check."""
    fields = {
        "name": "赵六",
        "contact_phone": "13900001111",
        "address": "北京市朝阳区望京街 2 号",
        "actor": TEST_ACTOR,
    }
    fields.update(overrides)
    fields.setdefault("id_number", resident_id(birth))
    return anchor_services.anchor_file_create(**fields)


def guardian(document_id: int | None = None) -> GuardianData:
    return GuardianData(
        name="赵大",
        relation="父亲",
        id_number=resident_id(date(1978, 2, 3), female=False),
        document_id=document_id,
    )


def failures(file: RegistrationFile) -> list:
    """Submit the file; the failures found (empty when it went to review)."""
    with translation.override("en"):
        result = registration.file_submit(file=file, actor=TEST_ACTOR)
    assert result.accepted == (not result.failures)
    return result.failures


def codes(file: RegistrationFile) -> list[str]:
    return sorted(f.code for f in failures(file))


def sanction(identifier: str, decided_on: date, *, kind="false_ad_endorsement", ends_on=""):
    content = (
        "kind,name,identifier,authority,reference,decided_on,ends_on\n"
        f"{kind},赵六,{identifier},北京市市场监督管理局,京市监罚〔{decided_on.year}〕"
        f"{next(_serial)}号,{decided_on.isoformat()},{ends_on}\n"
    ).encode()
    report = sanctions_import_csv(content=content, actor=TEST_ACTOR)
    assert (report.created, report.errors) == (1, [])


def anchor_payload(id_number: str, **overrides) -> dict:
    payload = {
        "name": "赵六",
        "id_number": id_number,
        "habitual_residence": "北京市朝阳区望京街 2 号",
        "contact_phone": "13900001111",
    }
    return {**payload, **overrides}


def test_every_registered_entry_check_is_covered_here():
    assert {check.code for check in registered_checks()} == {
        "identity_banned",
        "duplicate_identity",
        "licences_required",
        "licences_valid",
        "categories_known",
        "anchor_age",
        "qualifications",
        "ai_presenter_operator",
        "false_ad_endorsement",
        "credit_grade",  # tested in tests/credit
        "shared_blacklist",  # tested in tests/credit/test_sharing.py
    }


# --- licences ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "category, needed, label",
    [
        (Category.FOOD, LicenceKind.FOOD_BUSINESS, "Food business licence"),
        (Category.HEALTH_FOOD, LicenceKind.FOOD_BUSINESS, "Food business licence"),
        (Category.INFANT_FORMULA, LicenceKind.FOOD_BUSINESS, "Food business licence"),
        (Category.MEDICAL_DEVICES, LicenceKind.MEDICAL_DEVICE_BUSINESS, "Medical device"),
        (Category.DRUGS, LicenceKind.DRUG_BUSINESS, "Drug business licence"),
    ],
)
def test_a_regulated_category_needs_its_administrative_licence(category, needed, label):
    without = merchant_file(categories=[category])
    with_it = merchant_file(categories=[category], licences=[licence(), licence(needed)])

    missing = failures(without)

    assert [(f.code, f.field) for f in missing] == [("licence_missing", "licences")]
    assert label in missing[0].message
    assert failures(with_it) == []


@pytest.mark.parametrize("entity_type", [EntityType.ENTERPRISE, EntityType.INDIVIDUAL_BUSINESS])
def test_a_registered_business_needs_its_business_licence(entity_type):
    individual = entity_type == EntityType.INDIVIDUAL_BUSINESS
    file = merchant_file(
        entity_type=entity_type,
        credit_code=credit_code(individual_business=individual),
        licences=[],
    )

    missing = failures(file)

    assert [f.code for f in missing] == ["licence_missing"]
    assert "Business licence" in missing[0].message


def test_a_natural_person_needs_no_business_licence():
    file = merchant_file(
        entity_type=EntityType.NATURAL_PERSON, id_number=resident_id(), licences=[]
    )

    assert failures(file) == []


def test_a_natural_person_selling_food_still_needs_the_food_licence():
    file = merchant_file(
        entity_type=EntityType.NATURAL_PERSON,
        id_number=resident_id(),
        categories=[Category.FOOD],
        licences=[],
    )

    missing = failures(file)

    assert [f.code for f in missing] == ["licence_missing"]
    assert "Food business licence" in missing[0].message


def test_an_agency_needs_a_business_licence_but_no_categories():
    without = merchant_file(kind=PartyKind.AGENCY, categories=[], licences=[])
    with_it = merchant_file(kind=PartyKind.AGENCY, categories=[])

    assert codes(without) == ["licence_missing"]
    assert codes(with_it) == []


@pytest.mark.parametrize(
    "valid_until, expected",
    [
        pytest.param(TODAY - timedelta(days=1), ["licence_expired"], id="expired yesterday"),
        pytest.param(TODAY, [], id="last day today"),
    ],
)
def test_an_expired_licence_fails(valid_until, expected):
    file = merchant_file(licences=[licence(valid_until=valid_until)])

    found = failures(file)

    assert [f.code for f in found] == expected
    if expected:
        assert "expired on 2026-11-22" in found[0].message


@pytest.mark.parametrize(
    "valid_from, expected",
    [
        pytest.param(TODAY + timedelta(days=1), ["licence_not_yet_valid"], id="from tomorrow"),
        pytest.param(TODAY, [], id="from today"),
    ],
)
def test_a_licence_not_yet_valid_fails(valid_from, expected):
    file = merchant_file(licences=[licence(valid_from=valid_from)])

    found = failures(file)

    assert [f.code for f in found] == expected
    if expected:
        assert "not valid before 2026-11-24" in found[0].message


def test_a_merchant_names_at_least_one_category():
    found = failures(merchant_file(categories=[]))

    assert [(f.code, f.field) for f in found] == [("category_missing", "categories")]


def test_an_unknown_category_fails():
    # The API refuses unknown categories; the check guards the services' other callers.
    assert codes(merchant_file(categories=["fireworks"])) == ["category_unknown"]


# --- anchors: age and guardian consent ---------------------------------------------------------


@pytest.mark.parametrize(
    "birth, status",
    [
        pytest.param(date(2010, 11, 24), 400, id="16 tomorrow"),
        pytest.param(date(2012, 1, 1), 400, id="14"),
        pytest.param(date(2010, 11, 23), 201, id="16 today"),
    ],
)
def test_an_anchor_under_16_is_refused_at_creation_and_nothing_is_stored(api, birth, status):
    parties, files = Party.objects.count(), RegistrationFile.objects.count()

    response = api.post(
        "/api/v1/anchors/", anchor_payload(resident_id(birth)), HTTP_ACCEPT_LANGUAGE="en"
    )

    assert response.status_code == status, response.json()
    if status == 400:
        assert "at least 16" in response.json()["id_number"][0]
        assert (Party.objects.count(), RegistrationFile.objects.count()) == (parties, files)
    else:
        assert response.json()["profile"]["age"] == 16


def test_the_age_check_refuses_an_anchor_under_16_at_submission():
    # A file created past the API (by another service) is still stopped at submission.
    file = anchor_file(birth=date(2011, 1, 1))

    found = failures(file)

    assert [(f.code, f.field) for f in found] == [("under_age", "id_number")]
    assert "this one is 15" in found[0].message


def test_an_anchor_aged_17_without_a_guardian_fails():
    assert codes(anchor_file(birth=date(2009, 6, 1))) == ["guardian_consent_missing"]


def test_an_anchor_aged_17_with_an_unsigned_guardian_consent_fails():
    file = anchor_file(birth=date(2009, 6, 1), guardian=guardian())

    assert codes(file) == ["guardian_consent_unsigned"]


def test_an_anchor_aged_17_with_a_signed_guardian_consent_passes(png):
    file = anchor_file(birth=date(2009, 6, 1))
    signed = registration.document_add(
        file=file, kind=DocumentKind.GUARDIAN_CONSENT, upload=png(), actor=TEST_ACTOR
    )
    anchor_services.anchor_file_update(
        file=file, actor=TEST_ACTOR, guardian=guardian(document_id=signed.pk)
    )

    assert failures(file) == []


@pytest.mark.parametrize(
    "birth, expected",
    [
        pytest.param(date(2008, 11, 23), [], id="18 today"),
        pytest.param(date(2008, 11, 24), ["guardian_consent_missing"], id="18 tomorrow"),
    ],
)
def test_an_anchor_of_18_needs_no_guardian(birth, expected):
    assert codes(anchor_file(birth=birth)) == expected


# --- anchors: qualifications and AI presenters -------------------------------------------------


@pytest.mark.parametrize("topic", Topic.values)
def test_a_regulated_topic_needs_a_filed_qualification(topic):
    without = anchor_file(topics=[topic])
    qualified = anchor_file(
        topics=[topic],
        qualifications=[QualificationData(topic=topic, name="执业资格", number="Q-2024-0001")],
    )

    found = failures(without)

    assert [(f.code, f.field) for f in found] == [("qualification_missing", "qualifications")]
    with translation.override("en"):
        assert str(Topic(topic).label) in found[0].message
    assert failures(qualified) == []


def test_each_unqualified_topic_is_named_separately():
    file = anchor_file(
        topics=[Topic.MEDICINE, Topic.FINANCE, Topic.LAW],
        qualifications=[QualificationData(topic=Topic.FINANCE, name="证券从业", number="S-1")],
    )

    found = failures(file)

    assert [f.code for f in found] == ["qualification_missing", "qualification_missing"]
    with translation.override("en"):
        labels = {topic: str(Topic(topic).label) for topic in Topic.values}
    named = sorted(topic for f in found for topic, label in labels.items() if label in f.message)
    assert named == [Topic.LAW, Topic.MEDICINE]


def test_an_ai_presenter_without_an_operator_fails_the_check():
    # The API and the database both refuse such a profile (below); the check is the last line.
    adult = date(1990, 1, 1)
    candidate = Candidate(
        kind=PartyKind.ANCHOR,
        identity_hash=identity_hash("AI-PRESENTER-1"),
        identifier="AI-PRESENTER-1",
        details={"birth_date": adult, "is_ai_presenter": True, "ai_operator_id": None},
    )

    assert [f.code for f in run_entry_checks(candidate)] == ["ai_operator_missing"]


def test_an_ai_presenter_without_an_operator_cannot_be_registered(api):
    files = RegistrationFile.objects.count()

    response = api.post(
        "/api/v1/anchors/", anchor_payload(resident_id(), is_ai_presenter=True), format="json"
    )
    with pytest.raises(ValidationError):
        anchor_file(is_ai_presenter=True, ai_operator=None)

    assert response.status_code == 400
    assert "ai_operator_id" in response.json()
    assert RegistrationFile.objects.count() == files


def test_an_ai_presenter_operated_by_a_registered_party_passes():
    operator = merchant_file()

    file = anchor_file(is_ai_presenter=True, ai_operator=operator.party)

    assert failures(file) == []


# --- the sanctions list (Advertising Law Art. 38) ----------------------------------------------


@pytest.mark.parametrize(
    "decided_on, ends_on, kind, barred",
    [
        pytest.param(date(2023, 11, 24), "", "false_ad_endorsement", True, id="3 years - 1 day"),
        pytest.param(date(2025, 6, 1), "", "false_ad_endorsement", True, id="last year"),
        pytest.param(date(2023, 11, 22), "", "false_ad_endorsement", False, id="3 years + 1 day"),
        pytest.param(date(2022, 1, 1), "2027-01-01", "false_ad_endorsement", True, id="longer bar"),
        pytest.param(date(2026, 1, 1), "", "administrative_penalty", False, id="other kind"),
    ],
)
def test_a_recent_false_advertisement_endorsement_bars_an_anchor(decided_on, ends_on, kind, barred):
    id_number = resident_id()
    sanction(id_number, decided_on, kind=kind, ends_on=ends_on)
    file = anchor_file(id_number=id_number)

    found = failures(file)

    assert [f.code for f in found] == (["false_ad_endorsement"] if barred else [])
    if barred:
        assert decided_on.isoformat() in found[0].message


def test_the_sanctions_list_finds_a_business_by_its_credit_code():
    code = credit_code()
    sanction(code, date(2025, 3, 1))

    assert codes(merchant_file(credit_code=code)) == ["false_ad_endorsement"]


# --- bans and blacklists (LCM Arts. 12 and 14) -------------------------------------------------


@pytest.mark.parametrize(
    "kind, ends_at, code, wording",
    [
        (RestrictionKind.RE_REGISTRATION, None, "re_registration_banned", "indefinitely"),
        (RestrictionKind.BLACKLIST, NOW + timedelta(days=365), "blacklisted", "until 2027-11-23"),
    ],
)
def test_an_identity_banned_under_any_kind_of_party_fails(kind, ends_at, code, wording):
    id_number = resident_id()
    file = anchor_file(id_number=id_number)
    # The same person, registered as a natural-person merchant, is banned there.
    merchant = merchant_file(
        entity_type=EntityType.NATURAL_PERSON, id_number=id_number, licences=[]
    )
    services.restriction_impose(
        party=merchant.party, kind=kind, reason="售假", ends_at=ends_at, actor=TEST_ACTOR
    )

    found = failures(file)

    assert [f.code for f in found] == [code]
    assert wording in found[0].message


def test_a_restriction_that_is_no_ban_does_not_block_registration():
    file = anchor_file()
    services.restriction_impose(
        party=file.party, kind=RestrictionKind.LIVE, reason="暂停直播", actor=TEST_ACTOR
    )

    assert failures(file) == []


# --- every failure at once ---------------------------------------------------------------------


def test_a_merchant_with_several_problems_gets_every_failure_at_once(api):
    created = api.post(
        "/api/v1/merchants/",
        {
            "entity_type": "enterprise",
            "name": "北京问题食品有限公司",
            "unified_social_credit_code": credit_code(),
            "representative": "钱七",
            "business_address": "北京市朝阳区 1 号",
            "contact_phone": "13812345678",
            "categories": ["food"],
            "licences": [
                {
                    "kind": "other",
                    "number": "X-1",
                    "issuer": "某局",
                    "valid_from": "2019-01-01",
                    "valid_until": "2025-12-31",
                }
            ],
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    party_id = created.json()["id"]
    services.restriction_impose(
        party=Party.objects.get(pk=party_id),
        kind=RestrictionKind.BLACKLIST,
        reason="严重失信",
        actor=TEST_ACTOR,
    )

    response = api.post(f"/api/v1/merchants/{party_id}/submit/", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 400
    body = response.json()
    assert (body["accepted"], body["status"]) == (False, "draft")
    assert sorted(c["code"] for c in body["checks"]) == [
        "blacklisted",
        "licence_expired",
        "licence_missing",
        "licence_missing",
    ]
    messages = " ".join(c["message"] for c in body["checks"])
    assert "Business licence" in messages and "Food business licence" in messages
    stored = api.get(f"/api/v1/merchants/{party_id}/").json()
    assert stored["status"] == "draft"
    assert stored["last_check_results"] == body["checks"]


def test_an_anchor_with_several_problems_gets_every_failure_at_once(api):
    id_number = resident_id(date(2009, 6, 1))
    sanction(id_number, date(2025, 1, 1))
    created = api.post(
        "/api/v1/anchors/", anchor_payload(id_number, topics=["finance"]), format="json"
    )
    assert created.status_code == 201, created.json()

    response = api.post(f"/api/v1/anchors/{created.json()['id']}/submit/")

    assert response.status_code == 400
    assert sorted(c["code"] for c in response.json()["checks"]) == [
        "false_ad_endorsement",
        "guardian_consent_missing",
        "qualification_missing",
    ]
