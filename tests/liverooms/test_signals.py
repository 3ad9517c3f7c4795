"""Background monitoring through the API: signals in, alerts out, against the shipped pack."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation
from rest_framework.test import APIClient

from liverooms import services
from liverooms.api.views import PLATFORM_ONLY
from liverooms.models import (
    Alert,
    AlertStatus,
    ContentLabel,
    LiveSession,
    MonitoringRule,
    RuleStatus,
)
from liverooms.monitoring import rules

pytestmark = pytest.mark.django_db


@pytest.fixture
def session(world):
    response = world.go_live()
    assert response.status_code == 201
    return LiveSession.objects.get(pk=response.json()["id"])


def now() -> str:
    """A stream time: signals are sent as they happen, in order."""
    return timezone.now().isoformat()


def send(world, session, *signals):
    return world.api.post(
        f"/api/v1/live-sessions/{session.pk}/signals/", {"signals": list(signals)}, format="json"
    )


def test_the_rule_pack_ships_published():
    codes = set(
        MonitoringRule.objects.filter(status=RuleStatus.PUBLISHED).values_list("code", flat=True)
    )
    assert {"adl9_absolute_terms", "offline_transaction_lure", "tobacco_promotion"} <= codes


def test_the_published_rules_are_the_pack_as_it_is_now():
    # The pack's changes ship as new versions (migration 0007_rulepack_2); a new database
    # holds the pack as it is now, each rule in force once.
    for rule in rules():
        row = MonitoringRule.objects.get(code=rule.code, status=RuleStatus.PUBLISHED)
        assert {**rule.to_dict(), "version": row.version} == {
            name: getattr(row, name) for name in rule.to_dict()
        }, rule.code


AI_SPEECH = "大家好，我是AI数字人主播小美，今天由我来带货"
AI_PRESENTER = "lcm37_ai_presenter_unlabelled"


def ai_alerts(session):
    return Alert.objects.filter(session=session, rule__code=AI_PRESENTER)


def test_an_ai_presenter_in_a_session_not_labelled_ai_generated_raises_one_alert(world, session):
    response = send(
        world,
        session,
        {"kind": "transcript", "at": now(), "text": AI_SPEECH},
        {"kind": "chat", "at": now(), "text": "主播说她是虚拟主播小美"},
        {"kind": "transcript", "at": now(), "text": "我是虚拟主播，二十四小时为你讲解"},
    )
    assert response.status_code == 200, response.content
    raised = [a for a in response.json()["alerts"] if a["rule"] == AI_PRESENTER]
    assert len(raised) == 1  # one finding about the session, not one per sentence
    (alert,) = ai_alerts(session)
    assert alert.batch == session.signal_batches.get()
    assert alert.signal_kind == "transcript"
    assert AI_SPEECH[alert.start : alert.end] == "AI数字人主播"
    assert alert.rule.version == 3

    # Later batches raise no other while it is open, and the rest of the pack still works.
    later = send(
        world,
        session,
        {"kind": "transcript", "at": now(), "text": "我是AI主播小美，全网最低价"},
    )
    assert [a["rule"] for a in later.json()["alerts"]] == ["adl9_absolute_terms"]
    assert ai_alerts(session).count() == 1

    # Once a reviewer has decided it, the presenter saying it again is a new alert.
    services.alert_decide(
        alert=alert, status=AlertStatus.CONFIRMED, note="数字人，未标注", actor=world.reviewer
    )
    again = send(world, session, {"kind": "transcript", "at": now(), "text": "我是AI主播小美"})
    assert [a["rule"] for a in again.json()["alerts"]] == [AI_PRESENTER]
    assert ai_alerts(session).filter(status=AlertStatus.OPEN).count() == 1


def test_an_ai_presenter_in_a_session_labelled_ai_generated_raises_nothing(world):
    labelled = LiveSession.objects.get(pk=world.go_live(ai_generated=True).json()["id"])
    response = send(
        world,
        labelled,
        {"kind": "transcript", "at": now(), "text": AI_SPEECH},
        {"kind": "chat", "at": now(), "text": "我是虚拟主播"},
    )
    assert response.status_code == 200, response.content
    assert response.json()["alerts"] == []
    assert not Alert.objects.filter(session=labelled).exists()


def test_a_batch_with_an_ai_presenter_sent_again_replays_its_alert(world, session):
    batch = {"kind": "transcript", "at": now(), "text": AI_SPEECH}
    first = send(world, session, batch).json()
    again = send(world, session, batch).json()
    assert again["replayed"] is True
    assert [a["id"] for a in again["alerts"]] == [a["id"] for a in first["alerts"]]
    assert ai_alerts(session).count() == 1


def test_a_lure_to_wechat_raises_an_alert_with_the_original_excerpt(world, session):
    text = "想要便宜的家人们加 薇✨信 私聊，我给你们单独转账价"
    response = send(world, session, {"kind": "transcript", "at": now(), "text": text})
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
    response = send(
        world, session, *[{"kind": "transcript", "at": now(), "text": t} for t in lines]
    )
    assert response.status_code == 200
    assert response.json()["alerts"] == []


def test_a_discount_claim_without_a_reference_price_is_flagged(world, session):
    response = send(
        world,
        session,
        {
            "kind": "listing",
            "at": now(),
            "title": "限时秒杀 真丝围巾 直降 200 元",
            "price_fen": 19900,
        },
    )
    assert [a["rule"] for a in response.json()["alerts"]] == ["lcm32_reference_price"]
    fine = send(
        world,
        session,
        {
            "kind": "listing",
            "at": now(),
            "title": "限时秒杀 真丝围巾",
            "price_fen": 19900,
            "reference_price_fen": 39900,
        },
    )
    assert fine.json()["alerts"] == []


def test_an_alerts_offsets_point_into_the_text_as_sent_spaces_included(world, session):
    text = "   \n  大家加微信聊"
    response = send(world, session, {"kind": "chat", "at": now(), "text": text})
    assert response.status_code == 200, response.content
    alert = response.json()["alerts"][0]
    assert (alert["start"], alert["end"]) == (8, 11)
    assert text[alert["start"] : alert["end"]] == "加微信"
    # The same words without the spaces are another batch, not a replay of this one.
    again = send(world, session, {"kind": "chat", "at": now(), "text": text.strip()})
    assert again.json()["replayed"] is False


def test_malformed_signals_are_a_400_and_store_nothing(world, session):
    bad = [
        {"kind": "smoke", "at": now(), "text": "x"},
        {"kind": "transcript", "at": "yesterday", "text": "x"},
        {"kind": "transcript", "at": now()},
        {"kind": "listing", "at": now(), "title": "x"},
        # Text and only text, and some of it: a number is not coerced to its digits.
        {"kind": "chat", "at": now(), "text": 12345},
        {"kind": "chat", "at": now(), "text": " \n\t "},
        {"kind": "listing", "at": now(), "title": 1, "price_fen": 100},
        {"kind": "listing", "at": now(), "title": "   ", "price_fen": 100},
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


def test_an_end_reason_or_a_clip_id_sent_as_a_number_is_a_400(world, session):
    end = world.api.post(f"/api/v1/live-sessions/{session.pk}/end/", {"reason": 123}, format="json")
    assert end.status_code == 400 and "reason" in end.json()
    clip = world.api.post(
        f"/api/v1/live-sessions/{session.pk}/clips/",
        {"kind": "video", "platform_ref": 42},
        format="json",
    )
    assert clip.status_code == 400 and "platform_ref" in clip.json()
    session.refresh_from_db()
    assert session.status == "live" and not session.clips.exists()


def test_signals_after_the_session_ended_are_refused(world, session):
    world.api.post(f"/api/v1/live-sessions/{session.pk}/end/")
    response = send(world, session, {"kind": "chat", "at": now(), "text": "加微信"})
    assert response.status_code == 409


def stored(session):
    return (session.signal_batches.count(), Alert.objects.filter(session=session).count())


def test_a_batch_sent_again_answers_with_its_first_alerts_and_raises_nothing_new(world, session):
    batch = [
        {"kind": "transcript", "at": now(), "text": "国家级最好的面膜"},
        {"kind": "chat", "at": now(), "text": "加 薇✨信 私聊"},
    ]
    first = send(world, session, *batch)
    assert first.status_code == 200, first.content
    assert first.json()["replayed"] is False
    raised = first.json()["alerts"]
    assert raised
    assert stored(session) == (1, len(raised))

    again = send(world, session, *batch)
    assert again.status_code == 200, again.content
    assert again.json()["replayed"] is True
    assert [a["id"] for a in again.json()["alerts"]] == sorted(a["id"] for a in raised)
    assert stored(session) == (1, len(raised))

    # One field changed is another batch, with alerts of its own.
    changed = [batch[0], {**batch[1], "text": "加 薇✨信 私聊 详谈"}]
    other = send(world, session, *changed)
    assert other.status_code == 200, other.content
    assert other.json()["replayed"] is False
    assert {a["id"] for a in other.json()["alerts"]}.isdisjoint(a["id"] for a in raised)


def test_a_batch_sent_again_after_the_session_ended_still_gets_its_answer(world, session):
    batch = {"kind": "chat", "at": now(), "text": "加微信下单"}
    raised = send(world, session, batch).json()["alerts"]
    world.api.post(f"/api/v1/live-sessions/{session.pk}/end/")
    again = send(world, session, batch)
    assert again.status_code == 200, again.content
    assert [a["id"] for a in again.json()["alerts"]] == [a["id"] for a in raised]
    new = send(world, session, {"kind": "chat", "at": now(), "text": "加微信下单"})
    assert new.status_code == 409


def test_a_signal_earlier_than_one_already_accepted_is_a_409_and_stores_nothing(world, session):
    earlier = now()
    assert send(world, session, {"kind": "chat", "at": now(), "text": "你好"}).status_code == 200
    before = stored(session)
    late = send(
        world,
        session,
        {"kind": "transcript", "at": now(), "text": "国家级最好的面膜"},
        {"kind": "chat", "at": earlier, "text": "加微信下单"},
    )
    assert late.status_code == 409, late.content
    assert "signals[1]" in late.json()["detail"]
    assert stored(session) == before


def test_each_kind_of_signal_keeps_its_own_order(world, session):
    # Speech to text lags behind chat: a transcript segment older than the last chat message
    # is in order for its own feed.
    spoken_at = now()
    assert send(world, session, {"kind": "chat", "at": now(), "text": "你好"}).status_code == 200
    response = send(world, session, {"kind": "transcript", "at": spoken_at, "text": "欢迎"})
    assert response.status_code == 200, response.content
    # The same time again is not out of order.
    again = send(world, session, {"kind": "transcript", "at": spoken_at, "text": "大家好"})
    assert again.status_code == 200, again.content


def test_signals_out_of_order_in_the_future_or_before_the_stream_are_a_400(world, session):
    from datetime import timedelta

    live_at = session.started_at
    ahead = timezone.now() + timedelta(minutes=5)
    cases = {
        "out of order within the batch": [
            {"kind": "chat", "at": (live_at + timedelta(seconds=9)).isoformat(), "text": "你好"},
            {"kind": "chat", "at": (live_at + timedelta(seconds=3)).isoformat(), "text": "加微信"},
        ],
        "in the future": [{"kind": "chat", "at": ahead.isoformat(), "text": "加微信"}],
        "before the stream": [
            {"kind": "chat", "at": (live_at - timedelta(minutes=5)).isoformat(), "text": "加微信"}
        ],
    }
    for case, signals in cases.items():
        response = send(world, session, *signals)
        assert response.status_code == 400, (case, response.content)
        assert "signals[" in str(response.json()), case
    assert stored(session) == (0, 0)
    # Within the allowed skew of the two clocks a signal is taken.
    near = (timezone.now() + timedelta(seconds=20)).isoformat()
    assert send(world, session, {"kind": "chat", "at": near, "text": "你好"}).status_code == 200


@pytest.mark.parametrize(
    "at",
    [
        "2026-11-23T20:15:00",  # no offset: which day in China?
        "0001-01-01T00:00:00",  # naive at the calendar's edge (an OverflowError, a 500)
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-12:00",
        "2026-11-23T25:00:00+08:00",
        "tomorrow",
        "",
        1764500000,
    ],
)
def test_a_stream_time_without_its_offset_or_out_of_the_calendar_is_a_400(world, session, at):
    response = send(world, session, {"kind": "chat", "at": at, "text": "你好"})
    assert response.status_code == 400, response.content
    assert "at" in str(response.json())
    assert stored(session) == (0, 0)


@pytest.mark.parametrize(
    "price",
    # Numbers as text, a whole number as a float, full-width digits: the schema says integer.
    [-1, 12.5, "12.5", "abc", True, 10**11, 2**63, None, "19900", 19900.0, "1_000", "１００"],
)
def test_malformed_listing_prices_are_a_400(world, session, price):
    signal = {"kind": "listing", "at": now(), "title": "真丝围巾", "price_fen": price}
    assert send(world, session, signal).status_code == 400
    reference = {**signal, "price_fen": 19900, "reference_price_fen": price}
    if price is not None:  # no reference price is allowed: it is what a rule looks for
        assert send(world, session, reference).status_code == 400
    assert stored(session) == (0, 0)


def test_an_oversized_batch_is_a_400(world, session):
    signals = [{"kind": "chat", "at": now(), "text": "你好"} for _ in range(501)]
    assert send(world, session, *signals).status_code == 400
    assert stored(session) == (0, 0)


def test_a_message_repeating_a_lure_raises_one_alert_per_rule(world, session):
    spam = "加微信 " * 500  # 3,500 characters of one word
    response = send(world, session, {"kind": "chat", "at": now(), "text": spam})
    assert response.status_code == 200, response.content
    rules = [a["rule"] for a in response.json()["alerts"]]
    assert rules and len(rules) == len(set(rules))
    (first,) = [a for a in response.json()["alerts"] if a["rule"] == "offline_transaction_lure"]
    assert first["start"] == 0  # the first finding is the one kept


def test_alerts_are_listed_with_filters(world, session):
    send(
        world, session, {"kind": "transcript", "at": now(), "text": "国家级最好的面膜，加微信下单"}
    )
    by_session = world.api.get("/api/v1/alerts/", {"session": session.pk}).json()["results"]
    assert by_session
    by_party = world.api.get("/api/v1/alerts/", {"party": world.anchor.pk}).json()["results"]
    assert {a["id"] for a in by_party} == {a["id"] for a in by_session}
    rule = by_session[0]["rule"]
    by_rule = world.api.get("/api/v1/alerts/", {"rule": rule}).json()["results"]
    assert all(a["rule"] == rule for a in by_rule)
    assert world.api.get("/api/v1/alerts/", {"status": "confirmed"}).json()["results"] == []


def test_a_new_published_rule_is_used_without_a_restart(world, session):
    assert (
        send(world, session, {"kind": "chat", "at": now(), "text": "今晚抽奖送盲盒"}).json()[
            "alerts"
        ]
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
    alerts = send(world, session, {"kind": "chat", "at": now(), "text": "今晚抽奖送盲盒"}).json()[
        "alerts"
    ]
    assert [a["rule"] for a in alerts] == ["blind_box_lottery"]


def test_query_count_of_a_batch_does_not_grow_with_its_size(world, session):
    world.api.get("/api/v1/key/")
    send(world, session, {"kind": "chat", "at": now(), "text": "你好"})  # compile once

    def count(n):
        signals = [{"kind": "chat", "at": now(), "text": f"加微信{i}号"} for i in range(n)]
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
    assert again.status_code == 200, again.content  # a retry: the label it has
    assert again.json()["identifier"] == body["identifier"]
    assert body["identifier"] != ai["content_label"]


def clip(world, session_id, **body):
    return world.api.post(f"/api/v1/live-sessions/{session_id}/clips/", body, format="json")


def test_a_clip_sent_again_as_ai_generated_gains_the_label_and_never_loses_it(world, session):
    first = clip(world, session.pk, kind="audio", platform_ref="a-1")
    assert first.status_code == 201 and first.json()["ai_generated"] is False
    gained = clip(world, session.pk, kind="audio", platform_ref="a-1", ai_generated=True)
    assert gained.status_code == 200, gained.content
    assert gained.json() == {**first.json(), "ai_generated": True}
    kept = clip(world, session.pk, kind="audio", platform_ref="a-1", ai_generated=False)
    assert kept.status_code == 200 and kept.json()["ai_generated"] is True
    assert ContentLabel.objects.get(session=session, platform_ref="a-1").ai_generated


def test_a_clip_id_sent_again_as_another_kind_of_content_is_a_conflict(world, session):
    first = clip(world, session.pk, kind="video", platform_ref="v-1")
    assert first.status_code == 201
    response = clip(world, session.pk, kind="graphic", platform_ref="v-1", ai_generated=True)
    assert response.status_code == 409, response.content
    assert response.json()["code"] == "conflict"
    assert "v-1" in response.json()["detail"]
    label = ContentLabel.objects.get(session=session, platform_ref="v-1")
    assert (label.kind, label.ai_generated, str(label.identifier)) == (
        "video",
        False,
        first.json()["identifier"],
    )


def test_a_key_bound_to_the_monitored_party_cannot_send_signals_or_label_clips(
    world, session, make_key
):
    """The room owner's key, with every scope, would otherwise move the chat clock a minute
    ahead and have the platform's own signals refused as out of order."""
    from datetime import timedelta

    _key, raw = make_key(party=world.merchant, name="room-owner")
    owner = APIClient()
    owner.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    ahead = (timezone.now() + timedelta(seconds=55)).isoformat()
    url = f"/api/v1/live-sessions/{session.pk}/"
    refused = owner.post(
        url + "signals/", {"signals": [{"kind": "chat", "at": ahead, "text": "你好"}]}, "json"
    )
    assert refused.status_code == 403, refused.content
    with translation.override("zh-hans"):  # the API's default language
        assert refused.json()["detail"] == str(PLATFORM_ONLY)
    labelled = owner.post(url + "clips/", {"kind": "video", "platform_ref": "c-1"}, "json")
    assert labelled.status_code == 403, labelled.content
    assert not ContentLabel.objects.filter(session=session).exists()
    assert not session.signal_batches.exists() and not session.alerts.exists()
    # The owner's key still reads its own session, and the platform's signal goes through.
    assert owner.get(url).status_code == 200
    sent = send(world, session, {"kind": "chat", "at": now(), "text": "加微信私下转账"})
    assert sent.status_code == 200, sent.content
    assert [a["rule"] for a in sent.json()["alerts"]] == ["offline_transaction_lure"]


@pytest.mark.parametrize("pk", ["999999", str(2**63), "abc", "²", "①", "-" + str(2**63)])
def test_signals_for_a_session_that_does_not_exist_are_a_404_and_store_nothing(world, pk):
    response = world.api.post(
        f"/api/v1/live-sessions/{pk}/signals/",
        {"signals": [{"kind": "chat", "at": now(), "text": "加微信"}]},
        format="json",
    )
    assert response.status_code == 404
    assert not Alert.objects.exists()


@pytest.mark.parametrize("pk", ["999999", str(2**63), "²"])
def test_ending_a_session_that_does_not_exist_is_a_404(world, pk):
    assert world.api.post(f"/api/v1/live-sessions/{pk}/end/").status_code == 404
