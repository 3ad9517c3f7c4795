"""Background monitoring through the API: signals in, alerts out, against the shipped pack."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from liverooms.models import Alert, LiveSession, MonitoringRule, RuleStatus

pytestmark = pytest.mark.django_db
AT = "2026-11-23T20:15:00+08:00"


@pytest.fixture
def session(world):
    response = world.go_live()
    assert response.status_code == 201
    return LiveSession.objects.get(pk=response.json()["id"])


def send(world, session, *signals):
    return world.api.post(
        f"/api/v1/live-sessions/{session.pk}/signals/", {"signals": list(signals)}, format="json"
    )


def test_the_rule_pack_ships_published():
    codes = set(
        MonitoringRule.objects.filter(status=RuleStatus.PUBLISHED).values_list("code", flat=True)
    )
    assert {"adl9_absolute_terms", "offline_transaction_lure", "tobacco_promotion"} <= codes


def test_a_lure_to_wechat_raises_an_alert_with_the_original_excerpt(world, session):
    text = "想要便宜的家人们加 薇✨信 私聊，我给你们单独转账价"
    response = send(world, session, {"kind": "transcript", "at": AT, "text": text})
    assert response.status_code == 200, response.content
    alerts = response.json()["alerts"]
    assert alerts, "an evasion of 微信 must be caught"
    first = alerts[0]
    assert first["rule"] in {"offline_transaction_lure", "offline_contact_details"}
    assert text[first["start"] : first["end"]] in first["excerpt"]
    assert first["session_id"] == session.pk
    assert Alert.objects.filter(session=session).count() == len(alerts)


def test_ordinary_speech_raises_nothing(world, session):
    lines = [
        "大家好，欢迎来到直播间，今天给大家带来几款秋冬新品",
        "这款围巾是真丝的，摸起来很顺滑，适合送妈妈",
        "有任何问题可以在平台上联系客服，下单请走平台，不要私下转账",
        "我们第一次上架这款茶叶，大家可以先买小包装尝一尝",
    ]
    response = send(world, session, *[{"kind": "transcript", "at": AT, "text": t} for t in lines])
    assert response.status_code == 200
    assert response.json()["alerts"] == []


def test_a_discount_claim_without_a_reference_price_is_flagged(world, session):
    response = send(
        world,
        session,
        {"kind": "listing", "at": AT, "title": "限时秒杀 真丝围巾 直降 200 元", "price_fen": 19900},
    )
    assert [a["rule"] for a in response.json()["alerts"]] == ["lcm32_reference_price"]
    fine = send(
        world,
        session,
        {
            "kind": "listing",
            "at": AT,
            "title": "限时秒杀 真丝围巾",
            "price_fen": 19900,
            "reference_price_fen": 39900,
        },
    )
    assert fine.json()["alerts"] == []


def test_malformed_signals_are_a_400_and_store_nothing(world, session):
    bad = [
        {"kind": "smoke", "at": AT, "text": "x"},
        {"kind": "transcript", "at": "yesterday", "text": "x"},
        {"kind": "transcript", "at": AT},
        {"kind": "listing", "at": AT, "title": "x"},
    ]
    for signal in bad:
        assert send(world, session, signal).status_code == 400
    assert (
        world.api.post(
            f"/api/v1/live-sessions/{session.pk}/signals/", {"signals": []}, format="json"
        ).status_code
        == 400
    )
    assert not Alert.objects.exists()


def test_signals_after_the_session_ended_are_refused(world, session):
    world.api.post(f"/api/v1/live-sessions/{session.pk}/end/")
    response = send(world, session, {"kind": "chat", "at": AT, "text": "加微信"})
    assert response.status_code == 409


def test_alerts_are_listed_with_filters(world, session):
    send(world, session, {"kind": "transcript", "at": AT, "text": "国家级最好的面膜，加微信下单"})
    by_session = world.api.get("/api/v1/alerts/", {"session": session.pk}).json()["results"]
    assert by_session
    by_party = world.api.get("/api/v1/alerts/", {"party": world.anchor.pk}).json()["results"]
    assert {a["id"] for a in by_party} == {a["id"] for a in by_session}
    rule = by_session[0]["rule"]
    by_rule = world.api.get("/api/v1/alerts/", {"rule": rule}).json()["results"]
    assert all(a["rule"] == rule for a in by_rule)
    assert world.api.get("/api/v1/alerts/", {"status": "confirmed"}).json()["results"] == []


def test_a_new_published_rule_is_used_without_a_restart(world, session):
    from django.utils import timezone

    assert (
        send(world, session, {"kind": "chat", "at": AT, "text": "今晚抽奖送盲盒"}).json()["alerts"]
        == []
    )
    MonitoringRule.objects.create(
        code="blind_box_lottery",
        category="gambling",
        severity="medium",
        kind="keyword",
        keywords=["抽奖送盲盒"],
        signal_kinds=["chat"],
        legal_basis="平台规则",
        status=RuleStatus.PUBLISHED,
        published_at=timezone.now(),
    )
    alerts = send(world, session, {"kind": "chat", "at": AT, "text": "今晚抽奖送盲盒"}).json()[
        "alerts"
    ]
    assert [a["rule"] for a in alerts] == ["blind_box_lottery"]


def test_query_count_of_a_batch_does_not_grow_with_its_size(world, session):
    world.api.get("/api/v1/key/")
    send(world, session, {"kind": "chat", "at": AT, "text": "你好"})  # compile once

    def count(n):
        signals = [{"kind": "chat", "at": AT, "text": f"加微信{i}号"} for i in range(n)]
        with CaptureQueriesContext(connection) as ctx:
            assert send(world, session, *signals).status_code == 200
        return len(ctx)

    assert count(2) == count(40)


def test_clips_get_a_content_label_and_keep_the_ai_label(world):
    ai = world.go_live(ai_generated=True).json()
    response = world.api.post(
        f"/api/v1/live-sessions/{ai['id']}/clips/",
        {"kind": "video", "platform_ref": "clip-1"},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["ai_generated"] is True
    again = world.api.post(
        f"/api/v1/live-sessions/{ai['id']}/clips/",
        {"kind": "video", "platform_ref": "clip-1"},
        format="json",
    )
    assert again.json()["identifier"] == body["identifier"]
    assert body["identifier"] != ai["content_label"]
