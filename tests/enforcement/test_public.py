"""The public side of enforcement: the notices of measures (ECL Art. 36) and the statement of
reasons a party opens from its private link, with the appeal form."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.demo import make_resident_id
from accounts.models import PartyKind
from enforcement import services, views
from enforcement.models import Appeal, Measure, MeasureStatus
from enforcement.services import statements
from tests.factories import UserFactory, register_party

REASON = "消费者王女士（电话 13812345678）投诉：主播称“全网最低价”。"


@pytest.fixture
def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def suspend(world, party=None, term_days: int | None = 7, **fields) -> Measure:
    """A live suspension, executed at once (up to 30 days needs no second person)."""
    violation = world.violation("false_publicity", party=party)
    fields.setdefault("reason", REASON)
    if term_days != 7:
        fields.setdefault("departure_reason", "情节不同。")
    return world.propose(violation, kind="live_suspension", term_days=term_days, **fields)


def warn(world, party=None) -> Measure:
    return world.propose(world.violation("harassing_ads", party=party), kind="warning")


def statement_path(measure: Measure, token: str | None = None) -> str:
    return reverse("enforcement:statement", args=[measure.puid, token or statements.token(measure)])


def entries(html: str) -> list[str]:
    """The notices on a page, in order, as text."""
    return [
        re.sub(r"<[^>]+>|\s+", " ", item)
        for item in re.findall(r"<li class=\"entry\">(.*?)</li>", html, re.S)
    ]


# --- Public notices ------------------------------------------------------------------------------


def test_notices_list_the_published_measures_newest_first_in_chinese(client, world):
    suspension = suspend(world)
    warning = warn(world, party=world.anchor)
    Measure.objects.filter(pk=suspension.pk).update(executed_at=timezone.now() - timedelta(days=1))
    world.propose(
        world.violation("absolute_terms"),
        kind="notice_to_correct",
        correct_by=timezone.localdate() + timedelta(days=5),
    )
    world.deduction()  # severe: waits for a lead, never published before execution

    response = client.get("/notices/")

    assert response.status_code == 200
    assert response["Content-Language"] == "zh-hans"
    found = entries(response.content.decode())
    assert len(found) == 2
    newest, older = found
    assert world.anchor.name in newest and "发布骚扰、垃圾广告" in newest
    assert "《网络直播营销管理办法（试行）》第十八条" in newest
    assert world.merchant.name in older and "虚假或者引人误解的宣传" in older
    assert timezone.localdate(suspension.ends_at).isoformat() in older
    assert timezone.localdate(warning.executed_at).isoformat() in newest
    assert "False or misleading claims" not in response.content.decode()


def test_notices_name_the_violation_in_english_after_the_language_switch(english, world):
    suspend(world)

    html = english.get("/notices/").content.decode()

    assert "False or misleading claims" in html
    assert "虚假或者引人误解的宣传" not in html
    assert "Live suspension" in html and "In effect" in html


def test_nothing_personal_or_internal_is_published(client, world):
    identifier = make_resident_id("330106", date(1991, 2, 3), 7, female=True)
    anchor = register_party(PartyKind.ANCHOR, name="小雪", identifier=identifier)
    measure = suspend(world, party=anchor)

    html = client.get("/notices/").content.decode()

    assert "小雪" in html
    for private in (
        REASON,
        "13812345678",
        "全网最低价",  # the violation's facts
        identifier,
        anchor.identity_hash,
        str(measure.puid),
        world.reviewer.username,
    ):
        assert private not in html


def test_lifted_and_reversed_measures_stay_published_and_say_so(english, world):
    lifted = suspend(world)
    reversed_ = warn(world, party=world.anchor)
    later = timezone.now() + timedelta(days=8)
    services.lift_expired(now=later)
    appeal = services.appeal_file(
        measure=reversed_, grounds="误判。", channel="api", actor=world.lead_actor
    )
    services.appeal_decide(
        appeal=appeal, reverse=True, reason="证据不足。", actor=world.lead2_actor
    )

    found = entries(english.get("/notices/").content.decode())

    [suspension] = [text for text in found if world.merchant.name in text]
    [warning] = [text for text in found if world.anchor.name in text]
    assert f"Lifted ({timezone.localdate(later).isoformat()})" in suspension
    assert "Reversed on appeal" in warning and "In effect" not in warning
    lifted.refresh_from_db()
    assert lifted.status == MeasureStatus.LIFTED


def test_an_indefinite_suspension_says_so_and_a_warning_has_no_term(english, world):
    measure = suspend(world, term_days=None)
    services.measure_approve(measure=measure, actor=world.lead_actor)
    warn(world, party=world.anchor)

    found = entries(english.get("/notices/").content.decode())

    suspension = next(text for text in found if world.merchant.name in text)
    warning = next(text for text in found if world.anchor.name in text)
    assert "Indefinite" in suspension
    assert "Indefinite" not in warning and "—" in warning


def test_notices_are_found_by_party_name_and_by_measure(english, world):
    other = register_party(PartyKind.MERCHANT, name="义乌好物")
    suspend(world)
    suspend(world, party=other)
    warn(world, party=world.anchor)

    by_name = entries(english.get("/notices/", {"q": " 义乌 好物 "}).content.decode())
    by_kind = entries(english.get("/notices/", {"kind": "warning"}).content.decode())
    nothing = english.get("/notices/", {"q": "不存在的店"}).content.decode()

    assert len(by_name) == 1 and "义乌好物" in by_name[0]
    assert len(by_kind) == 1 and world.anchor.name in by_kind[0]
    assert entries(nothing) == [] and "No notice matches this search." in nothing


@pytest.mark.parametrize("query", [{"q": "店" * 61}, {"kind": "deposit_deduction"}])
def test_a_search_beyond_its_bounds_is_refused_with_the_field_named(english, world, query):
    suspend(world)

    html = english.get("/notices/", query).content.decode()

    assert entries(html) == []
    assert "error-summary" in html


def test_pages_keep_the_filter_and_their_queries_do_not_grow(english, world, monkeypatch):
    monkeypatch.setattr(views, "NOTICES_PER_PAGE", 3)
    suspend(world)

    def queries_for_page(page: int) -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            response = english.get("/notices/", {"kind": "live_suspension", "page": page})
        assert response.status_code == 200
        return len(captured)

    one_row = queries_for_page(1)
    for n in range(6):
        suspend(world, party=register_party(PartyKind.ANCHOR, name=f"主播{n}"))
    full_page = queries_for_page(1)
    html = english.get("/notices/", {"kind": "live_suspension", "page": 2}).content.decode()

    assert full_page == one_row <= 3
    assert len(entries(html)) == 3
    assert "Page 2 of 3" in html
    assert "kind=live_suspension&amp;page=3" in html
    assert "kind=live_suspension&amp;page=1" in html


def test_the_landing_page_links_to_the_notices(client, db):
    assert 'href="/notices/"' in client.get("/").content.decode()


# --- The statement of reasons --------------------------------------------------------------------


def test_the_statement_opens_with_its_link_with_private_headers(client, world):
    measure = suspend(world)

    response = client.get(statement_path(measure))

    html = response.content.decode()
    assert response.status_code == 200
    assert "处置决定书" in html and REASON in html
    assert "《直播电商监督管理办法》第三十四条" in html
    assert 'name="grounds"' in html and "csrfmiddlewaretoken" in html
    assert response["Cache-Control"] == "no-store, private"
    assert response["Referrer-Policy"] == "strict-origin"
    assert "noindex" in response["X-Robots-Tag"]


def test_the_statement_shows_markup_in_names_and_reasons_as_text(client, world):
    party = register_party(PartyKind.MERCHANT, name="<script>alert(1)</script>良品")
    measure = world.propose(
        world.violation("harassing_ads", party=party),
        kind="warning",
        reason='弹窗广告。\n<img src=x onerror="alert(2)">',
    )

    html = client.get(statement_path(measure)).content.decode()

    assert "<script>alert(1)</script>" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;良品" in html
    assert "弹窗广告。<br>&lt;img src=x onerror=&quot;alert(2)&quot;&gt;" in html


def test_the_statement_is_in_english_after_the_language_switch(english, world):
    html = english.get(statement_path(suspend(world))).content.decode()

    assert "Statement of reasons" in html and "False or misleading claims" in html
    assert "处置决定书" not in html


def test_every_wrong_link_gets_the_same_404(client, world):
    measure = suspend(world)
    other = warn(world, party=world.anchor)
    pending = world.deduction()  # not executed: it has no statement yet
    token = statements.token(measure)
    wrong = [
        statement_path(measure, statements.token(other)),
        statement_path(measure, "0" * 32),
        statement_path(measure, token[:-1]),
        f"/statements/{'1' * 8}-1111-1111-1111-{'1' * 12}/{token}/",
        statement_path(pending),
    ]

    responses = [client.get(link) for link in wrong]

    assert {r.status_code for r in responses} == {404}
    bodies = {
        re.sub(r'name="(csrfmiddlewaretoken|next)" value="[^"]+"', "", r.content.decode())
        for r in responses
    }
    assert len(bodies) == 1
    assert REASON not in bodies.pop()
    assert all(r["Cache-Control"] == "no-store, private" for r in responses)


def test_an_appeal_is_filed_through_the_form_and_shown(english, world):
    measure = suspend(world)

    response = english.post(
        statement_path(measure), {"grounds": "回放显示并无此话术。", "contact": "shop@example.com"}
    )

    assert response.status_code == 302 and response["Location"] == statement_path(measure)
    appeal = Appeal.objects.get(measure=measure)
    assert (appeal.channel, appeal.grounds, appeal.contact) == (
        "web",
        "回放显示并无此话术。",
        "shop@example.com",
    )
    measure.refresh_from_db()
    assert measure.status == MeasureStatus.APPEALED
    page = english.get(response["Location"])
    html = page.content.decode()
    assert "Your appeal has been received." in html
    assert "回放显示并无此话术。" in html and "Waiting for a decision" in html
    assert 'name="grounds"' not in html
    assert page["Cache-Control"] == "no-store, private"


def test_a_second_appeal_is_refused(english, world):
    measure = suspend(world)
    english.post(statement_path(measure), {"grounds": "误判。"})

    response = english.post(statement_path(measure), {"grounds": "再次申诉。"}, follow=True)

    assert Appeal.objects.filter(measure=measure).count() == 1
    assert "a measure is appealed once" in response.content.decode()
    assert Appeal.objects.get(measure=measure).grounds == "误判。"


def test_an_appeal_after_the_window_is_refused(english, world):
    measure = suspend(world)
    Measure.objects.filter(pk=measure.pk).update(executed_at=timezone.now() - timedelta(days=200))

    page = english.get(statement_path(measure)).content.decode()
    response = english.post(statement_path(measure), {"grounds": "迟到的申诉。"}, follow=True)

    assert 'name="grounds"' not in page and "The appeal window closed on" in page
    assert "The appeal window closed on" in response.content.decode()
    assert not Appeal.objects.exists()


@pytest.mark.parametrize("grounds", ["", "   \n  "])
def test_an_empty_appeal_is_refused_and_does_not_count(english, world, settings, grounds):
    settings.ENFORCEMENT_APPEALS_PER_ADDRESS_HOUR = 1
    measure = suspend(world)

    refused = english.post(statement_path(measure), {"grounds": grounds})
    filed = english.post(statement_path(measure), {"grounds": "误判。"})

    assert refused.status_code == 200
    assert "error-summary" in refused.content.decode()
    assert filed.status_code == 302
    assert Appeal.objects.count() == 1


def test_appeals_from_one_address_are_limited(english, world, settings):
    settings.ENFORCEMENT_APPEALS_PER_ADDRESS_HOUR = 1
    first, second = suspend(world), warn(world, party=world.anchor)
    english.post(statement_path(first), {"grounds": "误判。"})

    refused = english.post(statement_path(second), {"grounds": "误判。"})
    elsewhere = english.post(
        statement_path(second), {"grounds": "误判。"}, REMOTE_ADDR="203.0.113.9"
    )

    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert "at most 1 appeal per hour" in refused.content.decode()
    assert refused["Cache-Control"] == "no-store, private"
    assert elsewhere.status_code == 302
    assert Appeal.objects.count() == 2


def test_links_that_open_nothing_are_limited_per_address(english, world, settings):
    settings.ENFORCEMENT_STATEMENT_MISSES_PER_ADDRESS_HOUR = 2
    measure = suspend(world)

    misses = [english.get(statement_path(measure, "f" * 32)).status_code for _ in range(2)]
    then = english.get(statement_path(measure))

    assert misses == [404, 404]
    assert then.status_code == 429 and "Retry-After" in then
    assert english.get(statement_path(measure), REMOTE_ADDR="203.0.113.9").status_code == 200


def test_a_token_that_is_not_ascii_is_a_wrong_token_and_counts_as_a_miss(client, world, settings):
    settings.ENFORCEMENT_STATEMENT_MISSES_PER_ADDRESS_HOUR = 2
    measure = suspend(world)
    token = statements.token(measure)

    misses = [
        client.get(statement_path(measure, "é" * 32)).status_code,
        client.post(statement_path(measure, token[:-1] + "ä"), {"grounds": "误判。"}).status_code,
    ]
    then = client.get(statement_path(measure))

    assert misses == [404, 404]
    assert then.status_code == 429
    assert not Appeal.objects.exists()


def test_the_appeal_form_needs_the_csrf_token_and_keeps_the_origin(world):
    """`strict-origin`, as on the tracking pages: the page's own form post carries its origin,
    which the CSRF check needs, and never the path with the token."""
    measure = suspend(world)
    client = Client(enforce_csrf_checks=True)
    token = client.get(statement_path(measure)).cookies["csrftoken"].value

    without = client.post(statement_path(measure), {"grounds": "误判。"})
    with_token = client.post(
        statement_path(measure),
        {"grounds": "误判。", "csrfmiddlewaretoken": token},
        HTTP_ORIGIN="http://testserver",
    )

    assert without.status_code == 403
    assert with_token.status_code == 302
    assert Appeal.objects.count() == 1


def test_the_decision_on_the_appeal_is_shown(english, world):
    measure = suspend(world)
    english.post(statement_path(measure), {"grounds": "误判。"})
    third = UserFactory(roles=["compliance_lead"])
    from accounts.actors import Actor

    services.appeal_decide(
        appeal=Appeal.objects.get(measure=measure),
        reverse=False,
        reason="回放第 12 分钟可见该话术，维持原决定。",
        actor=Actor.for_user(third),
    )

    html = english.get(statement_path(measure)).content.decode()

    assert "Upheld" in html and "回放第 12 分钟可见该话术，维持原决定。" in html
    assert third.username not in html
    assert 'name="grounds"' not in html
