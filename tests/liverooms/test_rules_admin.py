"""Monitoring rules are data: drafted, tried, published and versioned in the admin."""

import pytest
from django.core.exceptions import ValidationError

from accounts.actors import Actor
from config.errors import Conflict
from liverooms import services
from liverooms.models import Alert, AlertStatus, MonitoringRule, RuleStatus
from tests.accounts.test_roles import verified_client
from tests.factories import TEST_ACTOR, UserFactory

pytestmark = pytest.mark.django_db


def draft(**overrides):
    values = {
        "code": "gambling_terms",
        "category": "gambling",
        "severity": "medium",
        "kind": "keyword",
        "keywords": ["抽奖送盲盒"],
        "signal_kinds": ["transcript", "chat"],
        "legal_basis": "平台规则",
    }
    values.update(overrides)
    return MonitoringRule.objects.create(**values)


def test_publishing_a_new_version_retires_the_old_one():
    first = draft()
    services.rule_publish(rule=first, actor=TEST_ACTOR)
    second = services.rule_new_version(rule=first, actor=TEST_ACTOR)
    assert (second.version, second.status) == (2, RuleStatus.DRAFT)
    services.rule_publish(rule=second, actor=TEST_ACTOR)
    first.refresh_from_db()
    assert first.status == RuleStatus.RETIRED
    assert MonitoringRule.objects.filter(code="gambling_terms", status="published").get() == second
    with pytest.raises(Conflict):
        services.rule_publish(rule=second, actor=TEST_ACTOR)


def test_a_rule_the_engine_cannot_evaluate_is_refused():
    broken = draft(kind="pattern", keywords=[], pattern="(unclosed")
    with pytest.raises(ValidationError):
        services.rule_publish(rule=broken, actor=TEST_ACTOR)
    broken.refresh_from_db()
    assert broken.status == RuleStatus.DRAFT


def test_a_lead_tries_a_draft_on_sample_text_in_the_admin(client):
    rule = draft()
    lead = verified_client(client, UserFactory(roles=["compliance_lead"]))
    url = f"/admin/liverooms/monitoringrule/{rule.pk}/try/"
    hit = lead.post(url, {"text": "今晚八点 抽奖 送 盲盒", "signal_kind": "chat"})
    assert hit.status_code == 200
    assert [h.rule_code for h in hit.context["hits"]] == ["gambling_terms"]
    miss = lead.post(url, {"text": "今晚八点上新", "signal_kind": "chat"})
    assert miss.context["hits"] == []


def test_published_rules_cannot_be_edited_and_reviewers_cannot_publish(client):
    rule = draft()
    services.rule_publish(rule=rule, actor=TEST_ACTOR)
    lead = verified_client(client, UserFactory(roles=["compliance_lead"]))
    response = lead.post(f"/admin/liverooms/monitoringrule/{rule.pk}/change/", {"code": "x"})
    assert response.status_code == 403
    lead.logout()
    reviewer = verified_client(lead, UserFactory(roles=["compliance_reviewer"]))
    other = draft(code="other_terms")
    reviewer.post(
        "/admin/liverooms/monitoringrule/", {"action": "publish", "_selected_action": [other.pk]}
    )
    other.refresh_from_db()
    assert other.status == RuleStatus.DRAFT


def test_each_rule_shows_its_precision(client, world):
    from liverooms.models import LiveSession

    session = LiveSession.objects.get(pk=world.go_live().json()["id"])
    rule = draft()
    actor = Actor.for_user(UserFactory(roles=["compliance_reviewer"]))
    for status in ("confirmed", "confirmed", "confirmed", "dismissed"):
        created = Alert.objects.create(
            session=session,
            rule=rule,
            severity="medium",
            signal_kind="chat",
            excerpt="x",
            start=0,
            end=1,
            stream_at=session.started_at,
        )
        services.alert_decide(alert=created, status=status, note="", actor=actor)
    Alert.objects.create(
        session=session,
        rule=rule,
        severity="medium",
        signal_kind="chat",
        excerpt="y",
        start=0,
        end=1,
        stream_at=session.started_at,
    )
    lead = verified_client(client, UserFactory(roles=["compliance_lead"]))
    response = lead.get("/admin/liverooms/monitoringrule/", {"q": "gambling_terms"})
    row = next(r for r in response.context["cl"].result_list if r.pk == rule.pk)
    assert (row.confirmed_count, row.dismissed_count) == (3, 1)
    assert "75%" in response.content.decode()
    assert Alert.objects.filter(rule=rule, status=AlertStatus.OPEN).count() == 1
