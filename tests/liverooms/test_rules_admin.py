"""Monitoring rules are data: drafted, tried, published and versioned in the admin."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.translation import gettext

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


def test_a_draft_older_than_the_version_in_force_is_not_published():
    """A lead's draft of version 2 while a rule pack published version 3: publishing the draft
    would put back what version 3 changed."""
    first = draft()
    services.rule_publish(rule=first, actor=TEST_ACTOR)
    stale = services.rule_new_version(rule=first, actor=TEST_ACTOR)
    shipped = draft(version=3, keywords=["抽奖送盲盒", "盲盒抽奖"])
    services.rule_publish(rule=shipped, actor=TEST_ACTOR)
    with pytest.raises(Conflict):
        services.rule_publish(rule=stale, actor=TEST_ACTOR)
    statuses = dict(MonitoringRule.objects.filter(code=first.code).values_list("version", "status"))
    assert statuses == {1: RuleStatus.RETIRED, 2: RuleStatus.DRAFT, 3: RuleStatus.PUBLISHED}


def test_a_rule_the_engine_cannot_evaluate_is_refused():
    broken = draft(kind="pattern", keywords=[], pattern="(unclosed")
    with pytest.raises(ValidationError) as refused:
        services.rule_publish(rule=broken, actor=TEST_ACTOR)
    assert list(refused.value.message_dict) == ["pattern"]  # on the field at fault
    broken.refresh_from_db()
    assert broken.status == RuleStatus.DRAFT


def test_publishing_a_broken_draft_from_the_list_says_why_in_words(client):
    broken = draft(keywords="国家级")  # stored by hand: the form would refuse it
    lead = verified_client(client, UserFactory(roles=["compliance_lead"]))
    response = lead.post(
        "/admin/liverooms/monitoringrule/",
        {"action": "publish", "_selected_action": [broken.pk]},
        follow=True,
    )
    shown = [str(m) for m in response.context["messages"]]
    refusal = next(m for m in shown if m.startswith(f"{broken}: "))
    # The message itself: no list or dict of errors around it, no field name.
    said = refusal.removeprefix(f"{broken}: ")
    assert not said.startswith(("[", "{")) and "keywords" not in said
    assert "关键词" in said
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
        services.alert_decide(alert=created, status=status, note="复核意见", actor=actor)
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


RULE_FORM = {
    "code": "gambling_terms",
    "category": "gambling",
    "severity": "high",
    "kind": "keyword",
    "keywords": '["抽奖"]',
    "aliases": "[]",
    "exclude": "[]",
    "signal_kinds": ["transcript"],
    "legal_basis": "平台规则",
    "description": "",
}


def test_adding_a_rule_whose_code_exists_is_a_form_error_not_a_crash(client):
    existing = draft()
    services.rule_publish(rule=existing, actor=TEST_ACTOR)
    lead = verified_client(client, UserFactory(roles=["compliance_lead"]))
    response = lead.post("/admin/liverooms/monitoringrule/add/", RULE_FORM)
    assert response.status_code == 200
    # In the admin's language (Chinese by default).
    expected = (
        "A rule with this code exists already. To change it, select it in the list and start a "
        "new draft version."
    )
    with translation.override(response.wsgi_request.LANGUAGE_CODE):
        assert response.context["adminform"].form.errors["code"] == [gettext(expected)]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("keywords", "[1, 2]"),
        # A string, not a list: it was saved, and the engine read it as the keywords 国, 家, 级.
        ("keywords", '"国家级"'),
        ("exclude", "[1]"),
        ("aliases", '[["a"]]'),
        ("aliases", '{"a": 1}'),
        ("signal_kinds", '[["chat"]]'),
    ],
)
def test_a_malformed_list_is_an_error_on_its_field_not_a_crash_nor_a_guess(client, field, value):
    lead = verified_client(client, UserFactory(roles=["compliance_lead"]))
    response = lead.post("/admin/liverooms/monitoringrule/add/", {**RULE_FORM, field: value})
    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == [field]
    assert not MonitoringRule.objects.filter(code="gambling_terms").exists()


def test_a_blank_list_box_is_an_empty_list(client):
    lead = verified_client(client, UserFactory(roles=["compliance_lead"]))
    response = lead.post(
        "/admin/liverooms/monitoringrule/add/", {**RULE_FORM, "aliases": "", "exclude": ""}
    )
    assert response.status_code == 302
    rule = MonitoringRule.objects.get(code="gambling_terms")
    assert (rule.aliases, rule.exclude) == ([], [])


def test_the_engine_s_refusals_are_in_the_admin_s_language(client):
    lead = verified_client(client, UserFactory(roles=["compliance_lead"]))
    add = "/admin/liverooms/monitoringrule/add/"
    empty = lead.post(add, {**RULE_FORM, "keywords": "[]"})
    assert empty.context["adminform"].form.errors == {
        "keywords": ["gambling_terms：关键词规则须有关键词或变体词"]
    }
    text = lead.post(add, {**RULE_FORM, "keywords": '"国家级"'})
    assert text.context["adminform"].form.errors == {
        "keywords": ['gambling_terms：关键词须为加引号的词语列表，例如 ["加微信", "最便宜"]']
    }


def test_a_draft_keeps_its_code_when_edited_but_cannot_take_another_rule_s(client):
    services.rule_publish(rule=draft(), actor=TEST_ACTOR)
    other = draft(code="lottery")
    lead = verified_client(client, UserFactory(roles=["compliance_lead"]))
    url = f"/admin/liverooms/monitoringrule/{other.pk}/change/"
    taken = lead.post(url, {**RULE_FORM, "code": "gambling_terms"})
    assert taken.status_code == 200 and taken.context["adminform"].form.errors["code"]
    kept = lead.post(url, {**RULE_FORM, "code": "lottery", "description": "抽奖"})
    assert kept.status_code == 302
    other.refresh_from_db()
    assert (other.code, other.description) == ("lottery", "抽奖")


def test_a_rule_s_page_and_the_list_link_to_trying_it(client):
    rule = draft()
    reviewer = verified_client(client, UserFactory(roles=["compliance_reviewer"]))
    url = f"/admin/liverooms/monitoringrule/{rule.pk}/try/"
    page = reviewer.get(f"/admin/liverooms/monitoringrule/{rule.pk}/change/")
    assert page.status_code == 200 and url in page.content.decode()
    assert url in reviewer.get("/admin/liverooms/monitoringrule/").content.decode()
    assert reviewer.get(url).status_code == 200


def test_a_lead_withdraws_a_rule_in_force_and_the_engine_drops_it(client, world):
    """A rule that floods reviewers is taken out of force with no version in its place; it is
    kept, retired, as the record of its alerts, and a new draft from it brings it back."""
    from django.contrib.admin.models import LogEntry
    from django.utils import timezone

    from liverooms.models import LiveSession

    rule = draft()
    services.rule_publish(rule=rule, actor=TEST_ACTOR)
    session = LiveSession.objects.get(pk=world.go_live().json()["id"])
    url = f"/api/v1/live-sessions/{session.pk}/signals/"

    def raised(text):
        signal = {"kind": "chat", "at": timezone.now().isoformat(), "text": text}
        response = world.api.post(url, {"signals": [signal]}, format="json")
        assert response.status_code == 200, response.content
        return [a["rule"] for a in response.json()["alerts"]]

    assert raised("抽奖送盲盒") == ["gambling_terms"]
    reviewer = verified_client(client, UserFactory(roles=["compliance_reviewer"]))
    changelist = "/admin/liverooms/monitoringrule/"
    reviewer.post(changelist, {"action": "withdraw", "_selected_action": [rule.pk]})
    rule.refresh_from_db()
    assert rule.status == RuleStatus.PUBLISHED  # a reviewer may not
    reviewer.logout()
    lead = verified_client(reviewer, UserFactory(roles=["compliance_lead"]))
    waiting = draft(code="other_terms")
    response = lead.post(
        changelist, {"action": "withdraw", "_selected_action": [rule.pk, waiting.pk]}, follow=True
    )
    shown = [str(m) for m in response.context["messages"]]
    assert any("other_terms" in m for m in shown), shown  # a draft is not in force
    rule.refresh_from_db()
    waiting.refresh_from_db()
    assert (rule.status, waiting.status) == (RuleStatus.RETIRED, RuleStatus.DRAFT)
    assert LogEntry.objects.filter(object_id=str(rule.pk), change_message="已停用").exists()
    assert raised("抽奖送盲盒 第二场") == []
    with pytest.raises(Conflict):
        services.rule_withdraw(rule=rule, actor=TEST_ACTOR)
    again = services.rule_new_version(rule=rule, actor=TEST_ACTOR)
    services.rule_publish(rule=again, actor=TEST_ACTOR)
    assert raised("抽奖送盲盒 第三场") == ["gambling_terms"]


def test_a_rule_s_signals_are_ticked_by_name_and_kept_in_their_order(client):
    lead = verified_client(client, UserFactory(roles=["compliance_lead"]))
    form = lead.get("/admin/liverooms/monitoringrule/add/").content.decode()
    assert 'type="checkbox" name="signal_kinds" value="chat"' in form and "评论" in form
    response = lead.post(
        "/admin/liverooms/monitoringrule/add/",
        {**RULE_FORM, "signal_kinds": ["listing", "transcript"]},
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    rule = MonitoringRule.objects.get(code="gambling_terms")
    assert rule.signal_kinds == ["transcript", "listing"]
    page = lead.get(f"/admin/liverooms/monitoringrule/{rule.pk}/change/").content.decode()
    assert 'value="transcript" id="id_signal_kinds_0" checked' in page
