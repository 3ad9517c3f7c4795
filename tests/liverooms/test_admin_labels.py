"""The patrol workbench speaks Chinese (the admin's default language): field labels, an alert's
signal and how a sample matched a rule show their translated labels, not the attribute names and
codes behind them."""

import re

import pytest
from django.utils import timezone

from accounts.actors import Actor
from liverooms import services
from liverooms.models import Alert, LiveSession, MonitoringRule, SignalKind
from liverooms.monitoring import SIGNAL_KINDS
from tests.accounts.test_roles import verified_client
from tests.factories import UserFactory
from tests.liverooms.conftest import REVIEWED

pytestmark = pytest.mark.django_db


@pytest.fixture
def session_with_alert(world):
    """A session on air with an alert raised by the rule pack on its transcript, and an
    inspection."""
    response = world.go_live()
    assert response.status_code == 201, response.content
    session = LiveSession.objects.get(pk=response.json()["id"])
    signal = {"kind": "transcript", "at": timezone.now().isoformat(), "text": "全网最低价"}
    raised = world.api.post(
        f"/api/v1/live-sessions/{session.pk}/signals/", {"signals": [signal]}, format="json"
    )
    assert raised.status_code == 200 and raised.json()["alerts"], raised.content
    actor = Actor.for_user(UserFactory(roles=["compliance_reviewer"]))
    services.inspection_record(
        session=session, checklist={}, findings="", result="no_issue", actor=actor
    )
    return session


def html(response) -> str:
    """The page with the white space around its tags dropped, so labels can be looked up as
    they are marked up."""
    assert response.status_code == 200
    return re.sub(r"\s*(<|>)\s*", r"\1", response.content.decode())


def test_a_session_s_page_labels_its_room_alerts_inspections_and_anchors(
    client, session_with_alert
):
    lead = verified_client(client, UserFactory(roles=["compliance_lead"]))
    page = html(lead.get(f"/admin/liverooms/livesession/{session_with_alert.pk}/change/"))
    for shown in (
        "<label>直播间:</label>",
        '<th class="column-is_ai_presenter">AI 数字人主播</th>',
        '<th class="column-rule">监测规则</th>',
        "<p>口播</p>",  # the alert's signal, not "transcript"
        '<th class="column-at">巡查时间</th>',
        '<th class="column-inspector">巡查员</th>',
    ):
        assert shown in page, shown
    assert "transcript" not in page


def test_an_alert_s_page_labels_its_session_rule_batch_and_decision(client, session_with_alert):
    alert = Alert.objects.get(session=session_with_alert)
    lead = verified_client(client, UserFactory(roles=["compliance_lead"]))
    page = html(lead.get(f"/admin/liverooms/alert/{alert.pk}/change/"))
    for label in ("直播场次", "监测规则", "信号批次", "决定人", "决定时间"):
        assert f"<label>{label}:</label>" in page, label
    assert '<div class="readonly">口播</div>' in page
    assert "transcript" not in page
    listed = html(lead.get("/admin/liverooms/alert/"))
    assert '<td class="field-signal_kind">口播</td>' in listed
    assert "transcript" not in listed


def test_refused_go_lives_and_rooms_label_their_columns_and_filters(client, world):
    refused = world.go_live(pre_stream_checklist={**REVIEWED, "script_reviewed": False})
    assert refused.status_code != 201
    lead = verified_client(client, UserFactory(roles=["compliance_lead"]))
    refusals = html(lead.get("/admin/liverooms/goliverefusal/"))
    # The date filter said "按 at".
    assert 'data-filter-title="拒绝时间"' in refusals
    assert ">拒绝时间</a>" in refusals and ">直播间</a>" in refusals
    rooms = html(lead.get("/admin/liverooms/liveroom/"))
    assert ">风险评级时间</a>" in rooms


def test_trying_a_rule_says_how_the_sample_matched_in_chinese(client):
    rule = MonitoringRule.objects.create(
        code="contact_lure",
        category="offline_transaction",
        severity="high",
        kind="keyword",
        keywords=["加微信"],
        match_pinyin=True,
        signal_kinds=["chat"],
        legal_basis="平台规则",
    )
    lead = verified_client(client, UserFactory(roles=["compliance_lead"]))
    url = f"/admin/liverooms/monitoringrule/{rule.pk}/try/"
    page = html(lead.post(url, {"text": "加微信 或者 加薇信", "signal_kind": "chat"}))
    assert "<td>关键词或变体词（原样）</td>" in page and "<td>同音词（拼音相同）</td>" in page
    assert "<td>term</td>" not in page and "<td>homophone</td>" not in page


def test_the_alert_signal_kinds_are_the_engine_s():
    assert set(SignalKind.values) == set(SIGNAL_KINDS)
