"""The public side of credit: the directory, a party's credit profile, the published rules and
their history, and the public read-only API that serves the same fields, throttled per address.
Events come from their real sources (enforcement's measures, complaints' decisions)."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.settings import api_settings
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from accounts.actors import Actor
from accounts.demo import make_resident_id
from accounts.models import Party, PartyKind
from credit import rulesets, scoring
from credit.models import CreditEvent, EventKind, RuleSet
from credit.rules import DEFAULT_RULES
from tests.factories import TEST_ACTOR, UserFactory, register_party

PARTIES = "/api/v1/public/credit/parties/"
RULES = "/api/v1/public/credit/rules/"
PHONE = "13812345678"


@pytest.fixture(autouse=True)
def fresh_rules():
    scoring.forget_rules()
    yield
    scoring.forget_rules()


@pytest.fixture
def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def anonymous():
    return APIClient()


@pytest.fixture
def lead(db):
    return Actor.for_user(UserFactory(roles=["compliance_lead"]))


@pytest.fixture
def reviewer(db):
    return Actor.for_user(UserFactory(roles=["compliance_reviewer"]))


def approved(kind=PartyKind.MERCHANT, name=None, **kwargs) -> Party:
    party = register_party(kind, name=name, **kwargs)
    # Approval comes from sealing a registration file (accounts.registration); the directory
    # reads only the column that sealing sets.
    Party.objects.filter(pk=party.pk).update(approved_at=timezone.now())
    party.refresh_from_db()
    return party


_serial = iter(range(1, 10**9))


def deduct(party: Party, points: int, days_ago: float = 1) -> None:
    scoring.record(
        party=party,
        kind=EventKind.VIOLATION,
        rule="violation",
        points=points,
        source=f"test:{next(_serial)}",
        occurred_at=timezone.now() - timedelta(days=days_ago),
    )
    scoring.update_score(party.pk)


def evaluate(party: Party, stars: int, days_ago: float) -> None:
    scoring.record(
        party=party,
        kind=EventKind.EVALUATION,
        rule="evaluation",
        value=Decimal(stars),
        source=f"test:{next(_serial)}",
        occurred_at=timezone.now() - timedelta(days=days_ago),
    )


def names(html: str) -> list[str]:
    """The parties listed on a directory page, in order."""
    return re.findall(r'<li class="entry">\s*<a href="/credit/\d+/"><strong>(.*?)</strong>', html)


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def warn(party: Party, reviewer: Actor, code: str = "harassing_ads"):
    """A confirmed violation and a warning, executed at once, through enforcement's services."""
    from enforcement import services
    from enforcement.models import ViolationType

    violation = services.violation_raise(
        party=party, source="reviewer", facts="直播中宣称“全网最低价”。", actor=reviewer
    )
    violation = services.violation_confirm(
        violation=violation,
        vtype=ViolationType.objects.get(code=code, status="published"),
        actor=reviewer,
    )
    return services.measure_propose(
        violation=violation,
        proposal=services.Proposal(kind="warning", reason="消费者王女士投诉，电话 " + PHONE),
        actor=reviewer,
    )


def upheld_complaint(merchant: Party, reviewer: Actor):
    """A consumer's complaint decided for the consumer: credit records it with the case."""
    from complaints import services
    from complaints.models import CaseKind, Source

    case = services.case_file(
        data=services.CaseInput(
            kind=CaseKind.COMPLAINT,
            facts="直播间宣称是真丝，收到后是化纤。",
            merchant=merchant,
            order_number="ORD-7731",
            purchase="真丝围巾",
            category="false_advertising",
            request="refund",
            contact_name="王女士",
            contact_email="wang@example.com",
            contact_phone=PHONE,
        ),
        source=Source.WEB,
        actor=TEST_ACTOR,
    ).case
    services.case_accept(case=case, actor=reviewer)
    return services.case_decide(
        case=case, outcome="refund", note="已退款", refund_fen=100, actor=reviewer
    )


# --- the directory -------------------------------------------------------------------------------


def test_the_directory_lists_approved_parties_with_grade_and_score(english, db):
    good = approved(PartyKind.MERCHANT, name="西子良品")
    poor = approved(PartyKind.ANCHOR, name="小雨")
    register_party(PartyKind.MERCHANT, name="西子未审")  # in review: not public
    deduct(poor, -200)

    response = english.get("/credit/")

    assert response.status_code == 200
    assert names(response.content.decode()) == ["小雨", "西子良品"]
    entries = text(response.content.decode())
    assert "小雨 (Anchor) Grade C Score 800" in entries
    # Never scored: the scale's base, as the gate and the entry check take it.
    assert "西子良品 (Merchant) Grade A Score 1000" in entries
    assert f'href="/credit/{good.pk}/"' in response.content.decode()


def test_the_directory_searches_every_word_and_filters_by_kind_and_grade(client, db):
    approved(PartyKind.MERCHANT, name="杭州 西子 良品")
    approved(PartyKind.AGENCY, name="西子 传媒")
    poor = approved(PartyKind.ANCHOR, name="西子 小雨")
    approved(PartyKind.MERCHANT, name="东湖 良品")
    deduct(poor, -200)

    def found(**query):
        return names(client.get("/credit/", query).content.decode())

    assert found(q="西子 良品") == ["杭州 西子 良品"]
    assert found(q="  西子   ") == ["西子 小雨", "西子 传媒", "杭州 西子 良品"]  # newest first
    assert found(q="西子", kind="agency") == ["西子 传媒"]
    assert found(grade="C") == ["西子 小雨"]
    assert found(grade="A", kind="merchant") == ["东湖 良品", "杭州 西子 良品"]
    assert found(q="没有这个") == []


def test_the_directory_refuses_an_overlong_search_or_an_unknown_grade(english, db):
    approved(name="西子良品")

    too_long = english.get("/credit/", {"q": "西" * 61})
    unknown = english.get("/credit/", {"grade": "Z"})

    for response in (too_long, unknown):
        assert response.status_code == 200
        assert 'class="error-summary"' in response.content.decode()
        assert names(response.content.decode()) == []


def test_the_directory_pages_with_the_same_number_of_queries_whatever_the_page(client, db):
    for n in range(3):
        deduct(approved(name=f"甲{n:02d}"), -10 * n)
    scoring.rule_set_in_force()  # the rules in force are cached per process

    with CaptureQueriesContext(connection) as few:
        assert client.get("/credit/").status_code == 200
    for n in range(3, 30):
        deduct(approved(name=f"甲{n:02d}"), -10)
    with CaptureQueriesContext(connection) as full:
        first = client.get("/credit/")
    with CaptureQueriesContext(connection) as last:
        second = client.get("/credit/", {"page": 2})

    assert len(few) == len(full) == len(last)
    assert names(first.content.decode()) == [f"甲{n:02d}" for n in range(29, 4, -1)]
    assert names(second.content.decode()) == [f"甲{n:02d}" for n in range(4, -1, -1)]


# --- a party's profile ---------------------------------------------------------------------------


def test_the_profile_shows_grade_score_rules_record_evaluations_and_history(english, db, reviewer):
    merchant = approved(PartyKind.MERCHANT, name="西子良品")
    warn(merchant, reviewer)
    for stars, days_ago in ((5, 1), (4, 10), (5, 20)):
        evaluate(merchant, stars, days_ago)
    scoring.update_score(merchant.pk)
    event = CreditEvent.objects.get(party=merchant, kind=EventKind.MEASURE)
    score = merchant.credit_score

    html = english.get(f"/credit/{merchant.pk}/").content.decode()
    page = text(html)

    assert "西子良品" in page and "Merchant" in page
    assert f"Grade {score.grade} Score {score.score}" in page
    assert "the credit rules, version 1" in page and 'href="/credit/rules/1/"' in html
    day = timezone.localdate(event.occurred_at).isoformat()
    assert f"{day} Measure executed: Warning" in page
    assert f"{day} Violation confirmed: 发布骚扰、垃圾广告" in page
    average = scoring.explain(merchant).evaluation_average
    assert 4 < average < 5  # the recent fives weigh more than the older four
    assert f"3 evaluations in the last 90 days, {average:.1f} stars on average" in page
    assert f"Points from evaluations {score.evaluation_points}" in page
    assert "A new credit event" in page  # the history says why the score moved
    assert page.count(f"{score.score}") >= 2


def test_a_measure_reversed_on_appeal_stays_on_the_profile_and_says_so(english, db, reviewer):
    merchant = approved(name="西子良品")
    warn(merchant, reviewer)
    measure = CreditEvent.objects.get(party=merchant, kind=EventKind.MEASURE)
    scoring.reverse(source=measure.source, reason="申诉成立")

    page = text(english.get(f"/credit/{merchant.pk}/").content.decode())

    assert "Warning (reversed on appeal; no longer counts)" in page


def test_a_party_not_approved_or_unknown_has_no_public_profile(client, anonymous, db):
    in_review = register_party(PartyKind.ANCHOR, name="小雪")

    assert client.get(f"/credit/{in_review.pk}/").status_code == 404
    assert client.get("/credit/999999/").status_code == 404
    assert anonymous.get(f"{PARTIES}{in_review.pk}/").status_code == 404
    assert anonymous.get(f"{PARTIES}999999/").status_code == 404
    assert names(client.get("/credit/", {"q": "小雪"}).content.decode()) == []


def test_nothing_personal_reaches_the_profile_or_the_api(english, anonymous, db, reviewer):
    identifier = make_resident_id("330106", date(1991, 2, 3), 7, female=True)
    anchor = approved(PartyKind.ANCHOR, name="小雪", identifier=identifier)
    merchant = approved(PartyKind.MERCHANT, name="西子良品")
    case = upheld_complaint(merchant, reviewer)
    warn(anchor, reviewer)
    scoring.update_score(anchor.pk)
    scoring.update_score(merchant.pk)
    # The complaint was counted, under its tracking code -- which must stay in the database.
    assert CreditEvent.objects.get(party=merchant).description == case.tracking_code

    pages = [
        english.get(f"/credit/{anchor.pk}/").content.decode(),
        english.get(f"/credit/{merchant.pk}/").content.decode(),
        english.get("/credit/").content.decode(),
        json.dumps(anonymous.get(f"{PARTIES}{anchor.pk}/").json(), ensure_ascii=False),
        json.dumps(anonymous.get(f"{PARTIES}{merchant.pk}/").json(), ensure_ascii=False),
        json.dumps(anonymous.get(PARTIES).json(), ensure_ascii=False),
    ]

    for page in pages:
        for private in (
            identifier,
            anchor.identity_hash,
            merchant.identity_hash,
            case.tracking_code,
            PHONE,
            "王女士",
            "wang@example.com",
            "ORD-7731",
            "全网最低价",  # the violation's facts
            anchor.platform_ref,
        ):
            assert private not in page
    assert "小雪" in pages[0] and "西子良品" in pages[1]


# --- the published rules -------------------------------------------------------------------------


def test_the_rules_page_shows_the_rules_in_force_and_the_scheduled_version(english, db, lead):
    draft = rulesets.ruleset_draft(
        title="第二版", rules=DEFAULT_RULES, summary="直播暂停扣分加重。", actor=lead
    )
    start = timezone.now() + timedelta(days=14)
    rulesets.ruleset_publish(rule_set=draft, effective_from=start, actor=lead)
    rulesets.ruleset_draft(title="草稿", rules=DEFAULT_RULES, summary="", actor=lead)

    response = english.get("/credit/rules/")
    page = text(response.content.decode())

    assert response.status_code == 200
    assert f"In force Version 1: {scoring.FIRST_TITLE}" in page
    assert f"Takes effect on {timezone.localtime(start):%Y-%m-%d %H:%M}" in page
    assert "直播暂停扣分加重。" in page
    assert "Version 2: 第二版" in page
    assert "草稿" not in page  # drafts are not public
    assert english.get("/credit/rules/3/").status_code == 404
    version_2 = text(english.get("/credit/rules/2/").content.decode())
    assert f"Takes effect on {timezone.localtime(start):%Y-%m-%d %H:%M}." in version_2


def test_a_superseded_version_says_until_when_it_applied(english, db, lead):
    published = timezone.now() - timedelta(days=30)
    start = published + timedelta(days=8)
    # The first version, seeded when the database was made, has been in force for a while.
    RuleSet.objects.filter(version=1).update(
        published_at=published - timedelta(days=90), effective_from=published - timedelta(days=90)
    )
    draft = rulesets.ruleset_draft(title="第二版", rules=DEFAULT_RULES, summary="", actor=lead)
    rulesets.ruleset_publish(rule_set=draft, effective_from=start, actor=lead, now=published)

    page = text(english.get("/credit/rules/").content.decode())
    version_1 = text(english.get("/credit/rules/1/").content.decode())

    assert "In force Version 2: 第二版" in page
    assert f"Superseded on {timezone.localtime(start):%Y-%m-%d}" in page
    assert f"until {timezone.localtime(start):%Y-%m-%d}; superseded." in version_1


def test_a_version_reads_as_plain_language_not_json(english, db):
    page = text(english.get("/credit/rules/1/").content.decode())

    assert "starts with 1000 points" in page
    assert "A 950 to 1000" in page and "E 0 to 499" in page
    assert "Live suspension -50" in page and "Blacklisting -300" in page
    assert "A complaint upheld against the party: -10 points." in page
    assert "Serious dishonesty list -300" in page
    assert "counts in full for 365 days" in page and "after 730 days" in page
    assert "no new deduction for 180 days gets back 50%" in page
    assert "of the last 90 days count" in page and "every 30 days of its age" in page
    assert "up to 50 points either way" in page and "at least 3 in the window" in page
    assert "carries 30% of the points" in page
    assert "Infant formula B" in page and "Every other category D" in page
    assert "grade E or better" in page
    assert '"violation_factor"' not in page


def test_a_version_downloads_as_the_json_it_was_published_as(client, db):
    response = client.get("/credit/rules/1/rules.json")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert 'filename="credit-rules-v1.json"' in response["Content-Disposition"]
    body = json.loads(response.content)
    assert body["version"] == 1 and body["rules"] == RuleSet.objects.get(version=1).rules
    assert client.get("/credit/rules/9/rules.json").status_code == 404


def test_the_pages_are_chinese_by_default_and_briefly_cacheable(client, db):
    approved(name="西子良品")

    response = client.get("/credit/")

    assert response["Content-Language"] == "zh-hans"
    assert "max-age=60" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]
    assert "商家" in response.content.decode()  # the kind, as the registry names it


# --- the public API ------------------------------------------------------------------------------


def test_the_api_lists_the_directory_without_a_key(anonymous, db):
    poor = approved(PartyKind.ANCHOR, name="西子 小雨")
    good = approved(PartyKind.MERCHANT, name="西子 良品")
    register_party(PartyKind.MERCHANT, name="西子 未审")
    deduct(poor, -200)

    response = anonymous.get(PARTIES, {"q": "西子"})

    assert response.status_code == 200
    assert response.json()["results"] == [
        {"id": good.pk, "name": "西子 良品", "kind": "merchant", "grade": "A", "score": 1000},
        {"id": poor.pk, "name": "西子 小雨", "kind": "anchor", "grade": "C", "score": 800},
    ]
    assert "public" in response["Cache-Control"] and "max-age=60" in response["Cache-Control"]
    graded = anonymous.get(PARTIES, {"grade": "C"}).json()["results"]
    assert [row["id"] for row in graded] == [poor.pk]
    kinds = anonymous.get(PARTIES, {"kind": "merchant"}).json()["results"]
    assert [row["id"] for row in kinds] == [good.pk]


def test_the_api_refuses_an_unknown_grade_or_kind_or_an_overlong_search(anonymous, db):
    assert anonymous.get(PARTIES, {"grade": "Z"}).status_code == 400
    assert "grade" in anonymous.get(PARTIES, {"grade": "Z"}).json()
    assert anonymous.get(PARTIES, {"kind": "consumer"}).status_code == 400
    assert anonymous.get(PARTIES, {"q": "x" * 61}).status_code == 400


def test_the_api_pages_by_cursor_with_a_constant_number_of_queries(anonymous, db):
    for n in range(5):
        approved(name=f"乙{n:02d}")
    scoring.rule_set_in_force()
    with CaptureQueriesContext(connection) as small:
        anonymous.get(PARTIES, {"page_size": 2})
    for n in range(5, 40):
        deduct(approved(name=f"乙{n:02d}"), -5)
    with CaptureQueriesContext(connection) as large:
        first = anonymous.get(PARTIES, {"page_size": 30}).json()
    second = anonymous.get(first["next"]).json()

    assert len(small) == len(large)
    listed = [row["name"] for row in first["results"] + second["results"]]
    assert listed == [f"乙{n:02d}" for n in range(39, -1, -1)]
    assert second["next"] is None


def test_the_api_profile_has_the_pages_fields(anonymous, db, reviewer):
    merchant = approved(name="西子良品")
    warn(merchant, reviewer)
    scoring.update_score(merchant.pk)
    score = merchant.credit_score

    body = anonymous.get(f"{PARTIES}{merchant.pk}/", HTTP_ACCEPT_LANGUAGE="en").json()

    assert body["id"] == merchant.pk and body["name"] == "西子良品"
    assert body["kind"] == "merchant" and body["scored"] is True
    assert (body["grade"], body["score"]) == (score.grade, score.score)
    assert body["rule_set_version"] == 1
    assert body["points_deducted"] == score.deductions < 0
    violation = CreditEvent.objects.get(party=merchant, kind=EventKind.VIOLATION)
    assert [(line["kind"], line["label"], line["reversed"]) for line in body["record"]] == [
        ("measure", "Warning", False),  # executed after the violation was confirmed
        ("violation", violation.description, False),
    ]
    assert body["evaluations"] == {
        "average": None,
        "count": 0,
        "window_days": 90,
        "min_count": 3,
        "counted": False,
        "points": 0,
    }
    assert body["history"][0]["score"] == score.score
    assert body["history"][0]["cause"] == "A new credit event"


def test_an_unscored_party_has_the_base_under_the_rules_in_force(anonymous, db):
    party = approved(name="新店")

    body = anonymous.get(f"{PARTIES}{party.pk}/").json()

    assert (body["grade"], body["score"], body["scored"]) == ("A", 1000, False)
    assert body["rule_set_version"] == 1 and body["computed_at"] is None
    assert body["record"] == [] and body["history"] == []


def test_the_api_lists_every_published_version_with_its_standing(anonymous, db, lead):
    draft = rulesets.ruleset_draft(title="第二版", rules=DEFAULT_RULES, summary="更严", actor=lead)
    start = timezone.now() + timedelta(days=10)
    rulesets.ruleset_publish(rule_set=draft, effective_from=start, actor=lead)
    rulesets.ruleset_draft(title="草稿", rules=DEFAULT_RULES, summary="", actor=lead)

    listed = anonymous.get(RULES).json()["results"]
    detail = anonymous.get(f"{RULES}2/").json()

    assert [(row["version"], row["standing"]) for row in listed] == [
        (2, "scheduled"),
        (1, "in_force"),
    ]
    assert listed[1]["effective_until"] == listed[0]["effective_from"]
    assert detail["title"] == "第二版" and detail["summary"] == "更严"
    assert detail["rules"] == DEFAULT_RULES and detail["standing"] == "scheduled"
    assert anonymous.get(f"{RULES}3/").status_code == 404  # a draft


def test_a_stale_or_bogus_key_does_not_lock_anyone_out(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer not-a-key")

    assert client.get(RULES).status_code == 200
    assert client.get(PARTIES).status_code == 200


def test_the_api_and_the_pages_are_throttled_per_address(anonymous, client, db, monkeypatch):
    monkeypatch.setattr(
        SimpleRateThrottle,
        "THROTTLE_RATES",
        {**api_settings.DEFAULT_THROTTLE_RATES, "credit_public": "3/minute"},
    )
    approved(name="西子良品")
    for _ in range(2):
        assert anonymous.get(PARTIES).status_code == 200
    assert client.get("/credit/").status_code == 200  # the same address, the same count

    refused = anonymous.get(RULES)
    page = client.get("/credit/")
    elsewhere = APIClient(REMOTE_ADDR="203.0.113.9").get(PARTIES)

    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    assert page.status_code == 429 and int(page["Retry-After"]) >= 1
    assert "no-store" in page["Cache-Control"]
    assert elsewhere.status_code == 200


def test_the_public_endpoints_are_in_the_schema_without_authentication(anonymous, db):
    schema = anonymous.get("/api/schema/", {"format": "json"}).json()

    paths = schema["paths"]
    for path in (
        "/api/v1/public/credit/parties/",
        "/api/v1/public/credit/parties/{id}/",
        "/api/v1/public/credit/rules/",
        "/api/v1/public/credit/rules/{version}/",
    ):
        operation = paths[path]["get"]
        assert "429" in operation["responses"]
        assert "security" not in operation  # no key asked for
    assert paths["/api/v1/measures/"]["get"]["security"]  # unlike the integrators' endpoints
    listing = paths["/api/v1/public/credit/parties/"]["get"]
    assert {p["name"] for p in listing["parameters"]} >= {"q", "kind", "grade", "cursor"}
    profile = schema["components"]["schemas"]["PartyProfileOut"]["properties"]
    assert {"grade", "score", "rule_set_version", "record", "evaluations", "history"} <= set(
        profile
    )


def test_the_landing_page_links_to_the_directory_and_the_rules(client, db):
    html = client.get("/").content.decode()

    assert 'href="/credit/"' in html and 'href="/credit/rules/"' in html
