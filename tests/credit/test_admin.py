"""The credit workbench: who may open which page; drafts written as JSON and checked by the rules'
parser; publication at least 7 days ahead; events and scores that nobody edits, a score page that
explains itself; the full recompute as a job with its progress; peers' keys checked; disputes
decided through the sharing service; list pages whose query count does not grow with their rows."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.conf import settings
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.actors import Actor
from credit import rulesets, scoring, sharing
from credit.admin.rulesets import earliest_start
from credit.models import (
    CreditEvent,
    CreditScore,
    Dispute,
    FeedEntry,
    Job,
    Peer,
    PeerRecord,
    RuleSet,
    ScoreChange,
)
from credit.rules import DEFAULT_RULES
from tests.accounts.test_roles import verified_client
from tests.factories import UserFactory, register_party

ADMIN = "/admin/credit"


@pytest.fixture(autouse=True)
def fresh_rules():
    scoring.forget_rules()
    yield
    scoring.forget_rules()


def login(role: str | None = None, **user_fields) -> Client:
    """A verified admin session in English, so that the assertions read the English strings."""
    user = UserFactory(roles=[role] if role else [], **user_fields)
    client = verified_client(Client(), user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    client.user = user
    return client


@pytest.fixture
def reviewer(db):
    return login("compliance_reviewer")


@pytest.fixture
def lead(db):
    return login("compliance_lead")


def messages_of(response) -> str:
    return " ".join(str(m) for m in get_messages(response.wsgi_request))


_serial = iter(range(1, 10**9))


def event(party, points=-50, days_ago=3, rule="violation", kind="violation", value=None):
    return scoring.record(
        party=party,
        kind=kind,
        rule=rule,
        points=points,
        value=value,
        source=f"test:{next(_serial)}",
        occurred_at=timezone.now() - timedelta(days=days_ago),
        description=f"测试事件 {rule}",
    )


def public_key(raw: bytes | None = None) -> str:
    if raw is None:
        raw = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def peer(name="友台") -> Peer:
    return Peer.objects.create(
        name=name, feed_url="https://peer.example.com/feed", public_key=public_key()
    )


@pytest.fixture
def world(db):
    """One of every record the workbench lists."""
    merchant = register_party(name="西子良品")
    violation = event(merchant, -100)
    scoring.reverse(source=violation.source, reason="申诉撤销")
    event(merchant, -30, rule="measure.warning", kind="measure")
    scoring.update_score(merchant.pk)
    other = peer()
    record = PeerRecord.objects.create(
        peer=other,
        remote_seq=7,
        kind="blacklist",
        consortium_hash="a" * 64,
        valid_from=timezone.localdate(),
        party=merchant,
    )
    entry = FeedEntry.objects.create(
        kind="serious_dishonesty",
        consortium_hash="b" * 64,
        party=merchant,
        source="enforcement.measure:1",
        valid_from=timezone.localdate(),
    )
    dispute = sharing.dispute_file(
        party=merchant, grounds="已整改完毕。", actor=Actor.system("tests"), feed_entry=entry
    )
    job = Job.objects.create(kind="recompute_all", started_by="user:lead")
    return {
        "party": merchant,
        "event": violation,
        "score": CreditScore.objects.get(party=merchant),
        "change": ScoreChange.objects.filter(party=merchant).first(),
        "rule_set": RuleSet.objects.get(version=1),
        "peer": other,
        "peer_record": record,
        "feed_entry": entry,
        "dispute": dispute,
        "job": job,
    }


# --- who may open what ---------------------------------------------------------------------

MODELS = {
    "ruleset": "rule_set",
    "creditevent": "event",
    "creditscore": "score",
    "scorechange": "change",
    "job": "job",
    "peer": "peer",
    "peerrecord": "peer_record",
    "feedentry": "feed_entry",
    "dispute": "dispute",
}


@pytest.mark.parametrize("role", ["compliance_reviewer", "compliance_lead", "auditor"])
@pytest.mark.parametrize("model", sorted(MODELS))
def test_every_list_and_record_page_opens_for_the_staff_roles(world, role, model):
    client = login(role)
    assert client.get(f"{ADMIN}/{model}/").status_code == 200
    obj = world[MODELS[model]]
    assert client.get(f"{ADMIN}/{model}/{obj.pk}/change/").status_code == 200


@pytest.mark.parametrize("model", sorted(MODELS))
def test_the_authority_liaison_sees_no_credit_page(world, model):
    client = login("authority_liaison")
    assert client.get(f"{ADMIN}/{model}/").status_code == 403


def test_the_sanctions_list_still_opens_with_its_import_for_leads(world, reviewer, lead):
    assert reviewer.get(f"{ADMIN}/sanctionentry/").status_code == 200
    assert reviewer.get(f"{ADMIN}/sanctionentry/import/").status_code == 403
    assert lead.get(f"{ADMIN}/sanctionentry/import/").status_code == 200


def test_the_leads_pages_are_refused_to_reviewers(world, reviewer):
    draft = rulesets.ruleset_draft(
        title="草案",
        rules=DEFAULT_RULES,
        summary="",
        actor=Actor.for_user(UserFactory(roles=["compliance_lead"])),
    )
    paths = [
        f"{ADMIN}/ruleset/add/",
        f"{ADMIN}/ruleset/{draft.pk}/publish/",
        f"{ADMIN}/job/start/recompute_all/",
        f"{ADMIN}/peer/add/",
        f"{ADMIN}/dispute/{world['dispute'].pk}/decide/",
    ]
    for path in paths:
        assert reviewer.get(path).status_code == 403, path
        assert reviewer.post(path, {}).status_code == 403, path
    # A reviewer sees a draft but cannot change it.
    response = reviewer.post(f"{ADMIN}/ruleset/{draft.pk}/change/", {"title": "改"})
    assert response.status_code == 403
    assert RuleSet.objects.get(pk=draft.pk).title == "草案"
    assert not Job.objects.exclude(pk=world["job"].pk).exists()


def test_the_leads_see_open_disputes_among_their_queues(world, lead, reviewer):
    queues = {q["key"]: q["count"] for q in lead.get("/admin/").context["queues"]}
    assert queues["disputes_open"] == 1
    keys = [q["key"] for q in reviewer.get("/admin/").context["queues"]]
    assert "disputes_open" not in keys


# --- rule sets -------------------------------------------------------------------------------


def rules_form(rules, title="第二版", summary="提高警告扣分。") -> dict:
    text = rules if isinstance(rules, str) else json.dumps(rules, ensure_ascii=False)
    return {"title": title, "summary": summary, "rules": text}


def test_a_new_draft_starts_from_the_rules_in_force(db, lead):
    response = lead.get(f"{ADMIN}/ruleset/add/")
    form = response.context["adminform"].form
    assert form.initial["rules"] == DEFAULT_RULES
    # Indented for reading, not one long line.
    assert '\n  "scale": {' in form["rules"].value() or "\n  " in str(form["rules"])


def test_a_draft_with_malformed_json_is_refused_on_the_field(db, lead):
    response = lead.post(f"{ADMIN}/ruleset/add/", rules_form('{"scale": {'))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["rules"]
    # The text as typed comes back for correction.
    assert "{&quot;scale&quot;: {</textarea>" in response.content.decode()
    assert RuleSet.objects.count() == 1


def test_a_draft_the_rules_parser_refuses_shows_the_parsers_errors(db, lead):
    rules = json.loads(json.dumps(DEFAULT_RULES))
    rules["scale"]["grades"] = [["A", 500], ["B", 900], ["E", 0]]
    rules["entry_grade"] = "Z"
    response = lead.post(f"{ADMIN}/ruleset/add/", rules_form(rules))
    assert response.status_code == 200
    errors = " ".join(response.context["adminform"].form.errors["rules"])
    assert "Grades must be listed from the highest threshold down" in errors
    assert "Unknown grades: C, D, Z" in errors
    incomplete = {k: v for k, v in DEFAULT_RULES.items() if k != "decay"}
    response = lead.post(f"{ADMIN}/ruleset/add/", rules_form(incomplete))
    assert "incomplete or malformed" in " ".join(response.context["adminform"].form.errors["rules"])
    assert RuleSet.objects.count() == 1


def test_a_lead_drafts_and_edits_a_rule_set_through_the_service(db, lead):
    rules = json.loads(json.dumps(DEFAULT_RULES))
    rules["points"]["measure"]["warning"] = -8
    response = lead.post(f"{ADMIN}/ruleset/add/", rules_form(rules))
    assert response.status_code == 302
    draft = RuleSet.objects.get(version=2)
    assert draft.rules["points"]["measure"]["warning"] == -8
    assert draft.created_by == f"user:{lead.user.username}"
    assert not draft.is_published

    rules["points"]["measure"]["warning"] = -9
    response = lead.post(
        f"{ADMIN}/ruleset/{draft.pk}/change/", rules_form(rules, title="第二版（修订）")
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert (draft.title, draft.rules["points"]["measure"]["warning"]) == ("第二版（修订）", -9)

    # An invalid edit changes nothing.
    rules["repair"]["share"] = 2
    response = lead.post(f"{ADMIN}/ruleset/{draft.pk}/change/", rules_form(rules))
    assert "Repair needs a clean period" in " ".join(
        response.context["adminform"].form.errors["rules"]
    )
    draft.refresh_from_db()
    assert draft.rules["repair"]["share"] == DEFAULT_RULES["repair"]["share"]


def test_a_published_rule_set_is_read_only_even_for_a_lead(db, lead):
    in_force = RuleSet.objects.get(version=1)
    response = lead.get(f"{ADMIN}/ruleset/{in_force.pk}/change/")
    content = response.content.decode()
    assert 'name="rules"' not in content
    assert 'class="credit-rules"' in content
    assert "Draft a new version from this one" in content
    response = lead.post(f"{ADMIN}/ruleset/{in_force.pk}/change/", rules_form(DEFAULT_RULES))
    assert response.status_code == 403
    assert lead.get(f"{ADMIN}/ruleset/{in_force.pk}/publish/").status_code == 302


def test_the_list_tells_drafts_scheduled_in_force_and_superseded_apart(db, lead):
    actor = Actor.for_user(lead.user)
    month_ago = timezone.now() - timedelta(days=30)
    RuleSet.objects.filter(version=1).update(published_at=month_ago, effective_from=month_ago)
    first = RuleSet.objects.get(version=1)
    second = rulesets.ruleset_draft(title="二", rules=DEFAULT_RULES, summary="", actor=actor)
    rulesets.ruleset_publish(
        rule_set=second,
        effective_from=timezone.now() - timedelta(days=1),
        actor=actor,
        now=timezone.now() - timedelta(days=9),
    )
    third = rulesets.ruleset_draft(title="三", rules=DEFAULT_RULES, summary="", actor=actor)
    rulesets.ruleset_publish(
        rule_set=third, effective_from=timezone.now() + timedelta(days=8), actor=actor
    )
    fourth = rulesets.ruleset_draft(title="四", rules=DEFAULT_RULES, summary="", actor=actor)
    response = lead.get(f"{ADMIN}/ruleset/")
    admin_ = response.context["cl"].model_admin
    states = {obj.pk: str(admin_.state(obj)) for obj in response.context["cl"].result_list}
    assert states == {
        first.pk: "superseded",
        second.pk: "in force",
        third.pk: "scheduled",
        fourth.pk: "draft",
    }


def publish(client, rule_set, when):
    local = timezone.localtime(when)
    return client.post(
        f"{ADMIN}/ruleset/{rule_set.pk}/publish/",
        {
            "effective_from_0": local.strftime("%Y-%m-%d"),
            "effective_from_1": local.strftime("%H:%M:%S"),
        },
    )


@pytest.fixture
def draft(db, lead):
    rules = json.loads(json.dumps(DEFAULT_RULES))
    rules["points"]["complaint_upheld"] = -15
    return rulesets.ruleset_draft(
        title="第二版", rules=rules, summary="投诉成立扣分提高。", actor=Actor.for_user(lead.user)
    )


def test_the_publish_page_offers_a_start_at_least_7_days_ahead_and_shows_the_changes(draft, lead):
    response = lead.get(f"{ADMIN}/ruleset/{draft.pk}/publish/")
    start = response.context["form"].initial["effective_from"]
    assert start >= timezone.now() + timedelta(days=7)
    assert start <= timezone.now() + timedelta(days=8, minutes=1)
    assert timezone.localtime(start).strftime("%H:%M") == "00:00"
    assert response.context["changes"] == [("points.complaint_upheld", -10, -15)]
    assert "points.complaint_upheld" in response.content.decode()


def test_a_start_sooner_than_7_days_is_refused_on_the_field(draft, lead):
    response = publish(lead, draft, timezone.now() + timedelta(days=6, hours=23))
    assert response.status_code == 200
    errors = " ".join(response.context["form"].errors["effective_from"])
    assert "at least 7 days after they are published" in errors
    draft.refresh_from_db()
    assert not draft.is_published


def test_a_start_7_days_ahead_publishes_the_draft(draft, lead):
    when = (timezone.now() + timedelta(days=7, minutes=5)).replace(second=0, microsecond=0)
    response = publish(lead, draft, when)
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.is_published and draft.effective_from == when
    assert draft.published_by == f"user:{lead.user.username}"
    assert "in force from" in messages_of(response)
    # The default the page offers is accepted too.
    other = rulesets.ruleset_draft(
        title="三", rules=DEFAULT_RULES, summary="", actor=Actor.for_user(lead.user)
    )
    assert (
        publish(lead, other, earliest_start(timezone.now()) + timedelta(days=1)).status_code == 302
    )


# --- events and scores: read-only ----------------------------------------------------------


def test_events_are_never_added_changed_or_deleted_here_not_even_by_a_superuser(world):
    admin_user = login(is_superuser=True, is_staff=True)
    ev = world["event"]
    response = admin_user.get(f"{ADMIN}/creditevent/")
    assert response.context["has_add_permission"] is False
    assert "delete_selected" not in response.context["cl"].model_admin.get_actions(
        response.wsgi_request
    )
    assert admin_user.post(f"{ADMIN}/creditevent/add/", {}).status_code == 403
    assert admin_user.post(f"{ADMIN}/creditevent/{ev.pk}/change/", {"points": 0}).status_code == 403
    assert (
        admin_user.post(f"{ADMIN}/creditevent/{ev.pk}/delete/", {"post": "yes"}).status_code == 403
    )
    response = admin_user.post(
        f"{ADMIN}/creditevent/", {"action": "delete_selected", "_selected_action": [ev.pk]}
    )
    assert CreditEvent.objects.filter(pk=ev.pk, points=-100).exists()
    for model, obj in [("creditscore", world["score"]), ("scorechange", world["change"])]:
        assert admin_user.post(f"{ADMIN}/{model}/{obj.pk}/change/", {}).status_code == 403
        assert (
            admin_user.post(f"{ADMIN}/{model}/{obj.pk}/delete/", {"post": "yes"}).status_code == 403
        )
    assert CreditScore.objects.filter(pk=world["score"].pk).exists()


def test_the_event_list_links_reversals_both_ways_and_shows_source_and_version(world, reviewer):
    response = reviewer.get(f"{ADMIN}/creditevent/")
    content = response.content.decode()
    original = world["event"]
    reversal = CreditEvent.objects.get(reverses=original)
    assert f"reversed by #{reversal.pk}" in content
    assert f"reverses #{original.pk}" in content
    assert original.source in content
    assert "v1" in content


def test_the_event_list_filters_by_party_rule_and_kind(world, reviewer):
    other = register_party(name="别家")
    event(other, -20)
    party = world["party"]
    listed = reviewer.get(f"{ADMIN}/creditevent/", {"party": party.pk}).context["cl"].result_list
    assert {e.party_id for e in listed} == {party.pk} and len(listed) == 3
    listed = reviewer.get(f"{ADMIN}/creditevent/", {"rule": "measure.warning"}).context["cl"]
    assert [e.rule for e in listed.result_list] == ["measure.warning"]
    listed = reviewer.get(f"{ADMIN}/creditevent/", {"kind__exact": "reversal"}).context["cl"]
    assert [e.kind for e in listed.result_list] == ["reversal"]
    # Anything but a number finds nothing, rather than failing.
    assert not reviewer.get(f"{ADMIN}/creditevent/", {"party": "x"}).context["cl"].result_list
    # The party filter keeps the other filters in force.
    response = reviewer.get(f"{ADMIN}/creditevent/", {"party": party.pk, "kind__exact": "measure"})
    assert 'name="kind__exact" value="measure"' in response.content.decode()


def test_the_score_list_filters_by_grade(world, reviewer):
    low = register_party(name="低分")
    event(low, -400)
    scoring.update_score(low.pk)
    response = reviewer.get(f"{ADMIN}/creditscore/", {"grade": "D"})
    assert [s.party_id for s in response.context["cl"].result_list] == [low.pk]
    response = reviewer.get(f"{ADMIN}/creditscore/", {"grade": "A"})
    assert [s.party_id for s in response.context["cl"].result_list] == [world["party"].pk]


def test_the_score_page_explains_every_event_and_the_evaluations(db, reviewer):
    party = register_party(name="解释")
    recent = event(party, -100, days_ago=10)
    fading = event(party, -100, days_ago=365 + 182.5)
    for days, stars in [(1, "5"), (2, "5"), (3, "4")]:
        event(party, 0, days, rule="evaluation", kind="evaluation", value=Decimal(stars))
    scoring.update_score(party.pk)
    response = reviewer.get(f"{ADMIN}/creditscore/{party.pk}/change/")
    lines = {line["event_id"]: line for line in response.context["explanation_lines"]}
    assert (lines[recent.pk]["points"], lines[recent.pk]["weight"]) == (-100, "100%")
    assert (lines[fading.pk]["weight"], lines[fading.pk]["counted"]) == ("50%", "-50.0")
    explanation = response.context["explanation"]
    assert explanation.evaluation_count == 3 and explanation.evaluation_points > 0
    content = response.content.decode()
    assert "Evaluations in the window: 3" in content
    assert f'href="/admin/credit/creditevent/{recent.pk}/change/"' in content
    # The history beside it: one change, the score now.
    assert [c.score for c in response.context["history"]] == [explanation.score]
    assert response.context["stale"] is False


def test_an_agencys_page_shows_its_anchors_share(db, reviewer):
    from anchors.models import AgencyMembership

    agency = register_party("agency", name="机构")
    anchor = register_party("anchor", name="主播")
    AgencyMembership.objects.create(anchor=anchor, agency=agency)
    violation = event(anchor, -100)
    scoring.update_score(anchor.pk)
    response = reviewer.get(f"{ADMIN}/creditscore/{agency.pk}/change/")
    (line,) = response.context["explanation_lines"]
    assert line["event_id"] == violation.pk and line["counted"] == "-30.0"
    assert "share" in line["kind"]


def test_a_lead_recomputes_one_party_and_a_reviewer_may_not(world, lead, reviewer):
    party = world["party"]
    event(party, -200)  # its score follows after commit, which the test never reaches
    assert CreditScore.objects.get(party=party).score == 970
    url = f"{ADMIN}/creditscore/{party.pk}/recompute/"
    assert reviewer.post(url).status_code == 403
    assert CreditScore.objects.get(party=party).score == 970
    page = reviewer.get(f"{ADMIN}/creditscore/{party.pk}/change/")
    assert page.context["stale"] is True and url not in page.content.decode()

    response = lead.post(url)
    assert response.status_code == 302
    assert CreditScore.objects.get(party=party).score == 770
    change = ScoreChange.objects.filter(party=party).first()
    assert (change.score, change.cause) == (770, f"admin:{lead.user.username}")
    assert "was 970" in messages_of(response)


def test_a_lead_recomputes_a_selection_from_the_list(world, lead, reviewer):
    party = world["party"]
    event(party, -200)
    data = {"action": "recompute_selected", "_selected_action": [party.pk]}
    reviewer.post(f"{ADMIN}/creditscore/", data)
    assert CreditScore.objects.get(party=party).score == 970
    response = lead.post(f"{ADMIN}/creditscore/", data)
    assert response.status_code == 302
    assert CreditScore.objects.get(party=party).score == 770


@pytest.mark.parametrize("model", ["creditevent", "creditscore", "scorechange"])
def test_list_pages_query_count_does_not_grow_with_rows(db, reviewer, model):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert reviewer.get(f"{ADMIN}/{model}/").status_code == 200
        return len(captured)

    def add_parties(n):
        for _ in range(n):
            party = register_party()
            event(party, -10)
            scoring.update_score(party.pk)

    add_parties(2)
    few = queries()
    add_parties(12)
    assert queries() == few


# --- jobs ------------------------------------------------------------------------------------


def test_a_lead_starts_a_full_recompute_and_the_job_ends_done(
    db, lead, django_capture_on_commit_callbacks
):
    party = register_party()
    event(party, -300)
    assert lead.get(f"{ADMIN}/job/start/recompute_all/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = lead.post(f"{ADMIN}/job/start/recompute_all/")
    job = Job.objects.get()
    assert response.status_code == 302
    assert response.url == f"{ADMIN}/job/{job.pk}/change/"
    assert (job.kind, job.status, job.started_by) == (
        "recompute_all",
        "done",
        f"user:{lead.user.username}",
    )
    assert job.total > 0 and job.done == job.total
    assert job.result["changed"] >= 1 and job.finished_at is not None
    assert CreditScore.objects.get(party=party).score == 700
    page = lead.get(response.url)
    content = page.content.decode()
    assert 'http-equiv="refresh"' not in content
    assert f'<progress value="{job.done}" max="{job.total}">' in content


def test_a_running_jobs_page_refreshes_itself_and_a_second_one_is_refused(db, lead):
    running = Job.objects.create(
        kind="recompute_all", status="running", done=2, total=5, started_by="user:x"
    )
    page = lead.get(f"{ADMIN}/job/{running.pk}/change/").content.decode()
    assert '<meta http-equiv="refresh" content="2">' in page
    assert "2 / 5 (40%)" in page
    response = lead.post(f"{ADMIN}/job/start/recompute_all/")
    assert response.status_code == 302
    assert "already queued or running" in messages_of(response)
    assert Job.objects.count() == 1
    # A job lost with its worker long ago no longer blocks a new one.
    Job.objects.filter(pk=running.pk).update(created_at=timezone.now() - timedelta(hours=2))
    lead.post(f"{ADMIN}/job/start/recompute_all/")
    assert Job.objects.count() == 2


def test_the_job_list_offers_the_start_only_to_those_who_may(db, lead, reviewer):
    link = f"{ADMIN}/job/start/recompute_all/"
    assert link in lead.get(f"{ADMIN}/job/").content.decode()
    assert link not in reviewer.get(f"{ADMIN}/job/").content.decode()
    assert lead.get(f"{ADMIN}/job/start/nothing/").status_code == 404


def test_a_failed_job_shows_its_error(db, reviewer):
    job = Job.objects.create(
        kind="recompute_all", status="failed", error="division by zero", started_by="system"
    )
    content = reviewer.get(f"{ADMIN}/job/{job.pk}/change/").content.decode()
    assert "division by zero" in content and 'http-equiv="refresh"' not in content


# --- peers -----------------------------------------------------------------------------------


def peer_form(key: str, name="同行平台") -> dict:
    return {
        "name": name,
        "feed_url": "https://peer.example.com/credit/feed",
        "public_key": key,
        "is_active": "on",
    }


KEY_ERROR = "Give the Ed25519 public key as base64 of its 32 raw bytes."


@pytest.mark.parametrize(
    "key",
    [
        "not base64!",
        public_key(b"\x01" * 31),
        public_key(b"\x01" * 33),
        base64.b64encode(b"\x01" * 32).decode()[:-1],  # its padding cut off
    ],
)
def test_a_peers_key_must_be_a_base64_ed25519_public_key_of_32_bytes(db, lead, key):
    response = lead.post(f"{ADMIN}/peer/add/", peer_form(key))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["public_key"] == [KEY_ERROR]
    assert not Peer.objects.exists()


def test_a_peers_feed_is_read_over_https_only(db, lead):
    form = {**peer_form(public_key()), "feed_url": "http://peer.example.com/feed"}
    response = lead.post(f"{ADMIN}/peer/add/", form)
    assert response.context["adminform"].form.errors["feed_url"]
    assert not Peer.objects.exists()


def test_a_lead_registers_a_peer_through_the_service_with_its_key_as_pasted(db, lead, reviewer):
    key = public_key()
    wrapped = f"  {key[:20]}\n{key[20:]} "
    response = lead.post(f"{ADMIN}/peer/add/", peer_form(wrapped))
    assert response.status_code == 302
    registered = Peer.objects.get()
    assert registered.public_key == key and registered.is_active
    assert response.url == f"{ADMIN}/peer/"
    # What the pull job writes is shown, never typed.
    page = lead.get(f"{ADMIN}/peer/{registered.pk}/change/").content.decode()
    assert 'name="last_seq"' not in page and 'name="last_error"' not in page
    # A lead rotates the key or pauses the peer; a bad key is refused on change too.
    new_key = public_key()
    form = {**peer_form(new_key), "is_active": ""}
    assert lead.post(f"{ADMIN}/peer/{registered.pk}/change/", form).status_code == 302
    registered.refresh_from_db()
    assert (registered.public_key, registered.is_active) == (new_key, False)
    bad = lead.post(f"{ADMIN}/peer/{registered.pk}/change/", peer_form("AAAA"))
    assert bad.context["adminform"].form.errors["public_key"] == [KEY_ERROR]
    assert Peer.objects.get().public_key == new_key
    # Reviewers read; nobody deletes.
    assert reviewer.post(f"{ADMIN}/peer/add/", peer_form(public_key(), "别台")).status_code == 403
    assert lead.post(f"{ADMIN}/peer/{registered.pk}/delete/", {"post": "yes"}).status_code == 403


def test_a_peer_registered_inactive_stays_inactive(db, lead):
    lead.post(f"{ADMIN}/peer/add/", {**peer_form(public_key()), "is_active": ""})
    assert Peer.objects.get().is_active is False


def test_shared_records_are_read_only(world, lead):
    for model, obj in [("peerrecord", world["peer_record"]), ("feedentry", world["feed_entry"])]:
        response = lead.get(f"{ADMIN}/{model}/")
        assert response.context["has_add_permission"] is False
        assert lead.post(f"{ADMIN}/{model}/{obj.pk}/change/", {}).status_code == 403


# --- disputes --------------------------------------------------------------------------------


def test_a_dispute_page_offers_the_decision_to_leads_only(world, lead, reviewer):
    dispute = world["dispute"]
    url = f"{ADMIN}/dispute/{dispute.pk}/decide/"
    assert url in lead.get(f"{ADMIN}/dispute/{dispute.pk}/change/").content.decode()
    assert url not in reviewer.get(f"{ADMIN}/dispute/{dispute.pk}/change/").content.decode()
    page = lead.get(url)
    assert page.status_code == 200 and "已整改完毕。" in page.content.decode()


def test_a_decision_without_reasons_is_asked_again(world, lead):
    dispute = world["dispute"]
    response = lead.post(f"{ADMIN}/dispute/{dispute.pk}/decide/", {"outcome": "reject"})
    assert response.status_code == 200
    assert response.context["form"].errors["decision"]
    assert Dispute.objects.get(pk=dispute.pk).status == "open"


def decide(client, dispute, outcome, decision="经核实，该记录有误，予以撤销。"):
    return client.post(
        f"{ADMIN}/dispute/{dispute.pk}/decide/", {"outcome": outcome, "decision": decision}
    )


def test_upholding_a_dispute_of_our_record_revokes_it_in_our_feed(world, lead):
    dispute, entry = world["dispute"], world["feed_entry"]
    response = decide(lead, dispute, "uphold")
    assert response.status_code == 302
    assert response.url == f"{ADMIN}/dispute/{dispute.pk}/change/"
    dispute.refresh_from_db()
    assert (dispute.status, dispute.decided_by) == ("upheld", f"user:{lead.user.username}")
    assert dispute.decision == "经核实，该记录有误，予以撤销。"
    revocation = FeedEntry.objects.get(revokes=entry)
    assert revocation.kind == "blacklist_lifted"
    # Decided once: the page is not offered again, and a second post changes nothing.
    assert "decide/" not in lead.get(response.url).content.decode()
    again = decide(lead, dispute, "reject")
    assert again.status_code == 302 and "decided already" in messages_of(again)
    assert Dispute.objects.get(pk=dispute.pk).status == "upheld"


def test_rejecting_a_dispute_leaves_the_record_standing(world, lead):
    dispute = world["dispute"]
    assert decide(lead, dispute, "reject", "记录属实。").status_code == 302
    dispute.refresh_from_db()
    assert (dispute.status, dispute.decision) == ("rejected", "记录属实。")
    assert not FeedEntry.objects.filter(revokes=world["feed_entry"]).exists()


def test_upholding_a_dispute_of_a_peers_record_reverses_its_credit_here(world, lead):
    record, party = world["peer_record"], world["party"]
    shared = scoring.record(
        party=party,
        kind="shared_record",
        rule="shared.blacklist",
        points=-300,
        source=f"credit.peerrecord:{record.pk}",
        occurred_at=timezone.now(),
    )
    dispute = sharing.dispute_file(
        party=party, grounds="并非本人。", actor=Actor.system("tests"), peer_record=record
    )
    assert decide(lead, dispute, "uphold").status_code == 302
    assert Dispute.objects.get(pk=dispute.pk).status == "upheld"
    assert CreditEvent.objects.get(reverses=shared).points == 300


@pytest.mark.postgres
def test_the_unfiltered_event_list_is_counted_from_the_statistics_on_postgresql(
    db, reviewer, monkeypatch
):
    from accounts.admin_paging import BoundedCountPaginator

    party = register_party()
    for _ in range(3):
        event(party, -1)
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's statistics only")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE credit_creditevent")
    monkeypatch.setattr(BoundedCountPaginator, "estimate_above", 0)
    with CaptureQueriesContext(connection) as captured:
        response = reviewer.get(f"{ADMIN}/creditevent/")
    assert response.context["cl"].result_count == 3
    sql = " ".join(q["sql"] for q in captured)
    assert "reltuples" in sql and 'COUNT(*) AS "__count" FROM "credit_creditevent"' not in sql
    # A filtered list is counted exactly.
    response = reviewer.get(f"{ADMIN}/creditevent/", {"party": party.pk})
    assert response.context["cl"].result_count == 3


def test_a_job_that_cannot_be_queued_says_so(
    db, lead, django_capture_on_commit_callbacks, monkeypatch
):
    from credit import tasks

    def broker_down(*args, **kwargs):
        raise ConnectionError("Error 111 connecting to redis:6379")

    monkeypatch.setattr(tasks.recompute_all, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        response = lead.post(f"{ADMIN}/job/start/recompute_all/")
    job = Job.objects.get()
    assert response.status_code == 302
    assert job.status == "failed" and "connecting to redis" in job.error
