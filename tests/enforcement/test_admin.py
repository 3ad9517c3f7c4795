"""The enforcement workbench: who may open which page, every action through the admin (each calls
the service, which checks again), the four-eyes rule and the appeal's independence shown as
messages, the exports, the write-only secret, the liaison's read-only view, and list pages whose
query count does not grow with their rows."""

import hashlib
import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.actors import Actor
from complaints import services as complaint_services
from complaints.models import CaseKind, Source
from enforcement import services
from enforcement.models import (
    AppealStatus,
    Authority,
    DepositAccount,
    Evidence,
    LedgerEntry,
    Measure,
    MeasureStatus,
    Reconciliation,
    Referral,
    ReferralStatus,
    Violation,
    ViolationStatus,
    ViolationType,
)
from liverooms.models import LiveSession
from liverooms.services import inspection_record
from merchants.services import product_register
from tests.accounts.conftest import png_bytes
from tests.accounts.test_roles import verified_client
from tests.factories import TEST_ACTOR, UserFactory, register_party

ADMIN = "/admin/enforcement"
PNG = png_bytes()  # a real image: evidence images are checked to their last chunk


def login(user) -> Client:
    return verified_client(Client(), user)


def last_level(response) -> str:
    """The level of the admin's latest message ("error", "success"), whatever the language."""
    return [m.level_tag for m in get_messages(response.wsgi_request)][-1]


def messages_of(response) -> str:
    return " ".join(str(m) for m in get_messages(response.wsgi_request))


def act(client, model: str, obj, slug: str, data=None):
    return client.post(f"{ADMIN}/{model}/{obj.pk}/act/{slug}/", data or {})


def queue_counts(client) -> dict[str, int]:
    return {q["key"]: q["count"] for q in client.get("/admin/").context["queues"]}


def suspected(world, facts="直播中引导用户添加微信私下交易。", party=None) -> Violation:
    return services.violation_raise(
        party=party or world.merchant, source="reviewer", facts=facts, actor=world.reviewer_actor
    )


def published(code: str) -> ViolationType:
    return ViolationType.objects.get(code=code, status="published")


def funded(world, amount_fen=300_000, reference="pay-1"):
    return services.top_up(
        party=world.merchant, amount_fen=amount_fen, reference=reference, actor=world.lead_actor
    )


# --- Who may open what ------------------------------------------------------------------------


LISTS = [
    "violationtype",
    "violation",
    "measure",
    "appeal",
    "depositaccount",
    "depositrequirement",
    "reconciliation",
    "authority",
    "referral",
]
EXPECTED_LISTS = {
    "compliance_reviewer": {name: 200 for name in LISTS} | {"reconciliation": 403},
    "compliance_lead": dict.fromkeys(LISTS, 200),
    "auditor": dict.fromkeys(LISTS, 200),
    "authority_liaison": dict.fromkeys(LISTS, 403) | {"authority": 200, "referral": 200},
}


@pytest.mark.parametrize("role", sorted(EXPECTED_LISTS))
def test_each_list_opens_for_the_roles_that_may_see_it(world, role):
    client = login(UserFactory(roles=[role]))
    statuses = {name: client.get(f"{ADMIN}/{name}/").status_code for name in LISTS}
    assert statuses == EXPECTED_LISTS[role]


@pytest.mark.parametrize("role", ["consumer", "merchant_staff"])
def test_public_roles_are_sent_to_the_login(world, role):
    client = login(UserFactory(roles=[role]))
    for name in ("violation", "measure", "referral"):
        response = client.get(f"{ADMIN}/{name}/")
        assert response.status_code == 302
        assert response.url.startswith("/admin/login/")


def test_each_page_renders_for_a_reviewer_and_a_lead(world, committed):
    funded(world)
    with committed():
        measure = world.propose(kind="live_suspension", term_days=7)
    appeal = services.appeal_file(
        measure=measure, grounds="误判。", channel="web", actor=Actor(label="web")
    )
    services.reconcile()
    pages = [
        f"{ADMIN}/violation/{measure.violation_id}/change/",
        f"{ADMIN}/violation/{measure.violation_id}/act/propose/",
        f"{ADMIN}/measure/{measure.pk}/change/",
        f"{ADMIN}/appeal/{appeal.pk}/change/",
        f"{ADMIN}/depositaccount/{world.merchant.deposit_account.pk}/change/",
        f"{ADMIN}/violationtype/{published('false_publicity').pk}/change/",
        f"{ADMIN}/violation/add/",
    ]
    for user in (world.reviewer, world.lead):
        client = login(user)
        for page in pages:
            assert client.get(page).status_code == 200, page
    lead = login(world.lead)
    for page in (
        f"{ADMIN}/reconciliation/{Reconciliation.objects.get().pk}/change/",
        f"{ADMIN}/measure/export/",
        f"{ADMIN}/depositaccount/top-up/",
        f"{ADMIN}/authority/add/",
        f"{ADMIN}/violationtype/add/",
    ):
        assert lead.get(page).status_code == 200, page


def test_lead_only_pages_are_refused_to_a_reviewer(world):
    measure = world.propose(kind="live_suspension", term_days=7)
    client = login(world.reviewer)
    for page in (
        f"{ADMIN}/measure/export/",
        f"{ADMIN}/depositaccount/top-up/",
        f"{ADMIN}/authority/add/",
        f"{ADMIN}/violationtype/add/",
        f"{ADMIN}/measure/{measure.pk}/act/approve/",
    ):
        assert client.get(page).status_code == 403, page


def test_nothing_is_added_or_deleted_by_hand_even_by_a_superuser(world):
    funded(world)
    measure = world.propose(kind="live_suspension", term_days=7)
    client = login(UserFactory(is_superuser=True, is_staff=True))
    for name in ("measure", "appeal", "depositaccount", "referral", "reconciliation"):
        assert client.get(f"{ADMIN}/{name}/add/").status_code == 403, name
    account = world.merchant.deposit_account
    for name, obj in (("measure", measure), ("depositaccount", account)):
        assert client.post(f"{ADMIN}/{name}/{obj.pk}/delete/", {"post": "yes"}).status_code == 403
    assert (
        client.post(f"{ADMIN}/measure/{measure.pk}/change/", {"reason": "改写"}).status_code == 403
    )
    measure.refresh_from_db()
    assert measure.reason != "改写"
    assert Measure.objects.filter(pk=measure.pk).exists()
    assert LedgerEntry.objects.count() == 1


# --- Front-page queues ------------------------------------------------------------------------


def test_the_queues_count_the_work_and_list_it(world, committed, settings):
    old = suspected(world, facts="第一条")
    suspected(world, facts="第二条")
    world.violation()  # confirmed: not in the triage queue
    funded(world)
    deduction = world.deduction(amount_fen=50_000)
    notice = world.propose(
        world.violation("absolute_terms"),
        kind="notice_to_correct",
        correct_by=timezone.localdate() + timedelta(days=3),
    )
    services.escalate_overdue_notices(today=timezone.localdate() + timedelta(days=5))
    services.appeal_file(measure=notice, grounds="已整改。", channel="web", actor=Actor(label="w"))
    Reconciliation.objects.create(accounts_checked=1, mismatches=[{"account_id": 1}])

    lead = login(world.lead)
    counts = queue_counts(lead)
    assert {key: counts[key] for key in counts if key in ENFORCEMENT_QUEUES} == {
        "violations_suspected": 2,
        "measures_awaiting_approval": 1,
        "notices_overdue": 1,
        "appeals_pending": 1,
        "referrals_failed": 0,
        "ledger_differences": 1,
    }
    triage = lead.get(f"{ADMIN}/violation/", {"queue": "triage"}).context["cl"].result_list
    assert [v.facts for v in triage] == ["第一条", "第二条"]
    assert triage[0] == old
    approvals = lead.get(f"{ADMIN}/measure/", {"queue": "approvals"}).context["cl"].result_list
    assert list(approvals) == [deduction]
    overdue = lead.get(f"{ADMIN}/measure/", {"queue": "overdue_notices"}).context["cl"]
    assert list(overdue.result_list) == [notice]

    reviewer_keys = set(queue_counts(login(world.reviewer)))
    assert reviewer_keys & ENFORCEMENT_QUEUES == {"violations_suspected"}


ENFORCEMENT_QUEUES = {
    "violations_suspected",
    "measures_awaiting_approval",
    "notices_overdue",
    "appeals_pending",
    "referrals_failed",
    "ledger_differences",
}


# --- Violations -------------------------------------------------------------------------------


def test_confirming_from_the_violation_page_sets_the_type(world):
    violation = suspected(world)
    client = login(world.reviewer)
    page = client.get(f"{ADMIN}/violation/{violation.pk}/change/")
    assert 'id="action-confirm"' in page.content.decode()
    response = act(
        client, "violation", violation, "confirm", {"type": published("offline_transaction").pk}
    )
    assert response.status_code == 302
    violation.refresh_from_db()
    assert (violation.status, violation.type.code) == ("confirmed", "offline_transaction")
    assert violation.confirmed_by == world.reviewer
    # Confirmed: the page offers a proposal, and no longer the triage forms.
    content = client.get(f"{ADMIN}/violation/{violation.pk}/change/").content.decode()
    assert f"/violation/{violation.pk}/act/propose/" in content
    assert 'id="action-confirm"' not in content


def test_a_draft_type_cannot_be_chosen_when_confirming(world):
    violation = suspected(world)
    draft = services.type_new_version(vtype=published("absolute_terms"), actor=world.lead_actor)
    response = act(login(world.reviewer), "violation", violation, "confirm", {"type": draft.pk})
    assert response.status_code == 200
    assert response.context["action"]["form"].errors["type"]
    violation.refresh_from_db()
    assert violation.status == ViolationStatus.SUSPECTED


def test_dismissing_needs_a_reason_and_changes_nothing_without_one(world):
    violation = suspected(world)
    client = login(world.reviewer)
    response = act(client, "violation", violation, "dismiss", {"reason": " "})
    assert response.status_code == 200
    assert response.context["action"]["form"].errors["reason"]
    assert last_level(response) == "error"
    violation.refresh_from_db()
    assert violation.status == ViolationStatus.SUSPECTED

    response = act(client, "violation", violation, "dismiss", {"reason": "回放核实无此情节"})
    assert response.status_code == 302
    violation.refresh_from_db()
    assert (violation.status, violation.dismissed_reason) == ("dismissed", "回放核实无此情节")
    # Twice is refused, with the service's message, and nothing changes.
    response = act(client, "violation", violation, "dismiss", {"reason": "再次"})
    assert (response.status_code, last_level(response)) == (302, "error")
    violation.refresh_from_db()
    assert violation.dismissed_reason == "回放核实无此情节"


def test_triage_of_a_selection_from_the_list(world):
    first, second = suspected(world, facts="一"), suspected(world, facts="二")
    already = world.violation()
    client = login(world.reviewer)
    selection = {"action": "bulk_confirm", "_selected_action": [first.pk, second.pk, already.pk]}
    page = client.post(f"{ADMIN}/violation/", {**selection, "index": "0"})
    assert page.status_code == 200
    assert "type" in page.context["action"]["form"].fields
    assert Violation.objects.filter(status="suspected").count() == 2

    vtype = published("harassing_ads")
    response = client.post(f"{ADMIN}/violation/", {**selection, "apply": "1", "type": vtype.pk})
    assert response.status_code == 302
    assert set(Violation.objects.filter(type=vtype).values_list("pk", flat=True)) == {
        first.pk,
        second.pk,
    }
    # The one confirmed already is refused, and said so.
    assert "warning" in [m.level_tag for m in get_messages(response.wsgi_request)]


def test_triage_is_refused_to_an_auditor(world):
    violation = suspected(world)
    client = login(UserFactory(roles=["auditor"]))
    page = client.get(f"{ADMIN}/violation/{violation.pk}/change/")
    assert page.status_code == 200
    assert 'id="object-actions"' not in page.content.decode()
    assert act(client, "violation", violation, "confirm", {"type": 1}).status_code == 403
    violation.refresh_from_db()
    assert violation.status == ViolationStatus.SUSPECTED


def test_a_reviewer_records_their_own_finding_with_a_party_found_by_search(world):
    client = login(world.reviewer)
    found = client.get(
        "/admin/autocomplete/",
        {
            "term": "西子",
            "app_label": "enforcement",
            "model_name": "violation",
            "field_name": "party",
        },
    )
    assert [r["id"] for r in found.json()["results"]] == [str(world.merchant.pk)]

    response = client.post(f"{ADMIN}/violation/add/", {"party": world.merchant.pk, "facts": " "})
    assert response.status_code == 200
    assert not Violation.objects.exists()
    response = client.post(
        f"{ADMIN}/violation/add/",
        {"party": world.merchant.pk, "facts": "巡查发现直播间展示无3C认证的充电宝。"},
    )
    violation = Violation.objects.get()
    assert response.status_code == 302
    assert response.url == f"{ADMIN}/violation/{violation.pk}/change/"
    assert (violation.source, violation.status, violation.created_by) == (
        "reviewer",
        "suspected",
        f"user:{world.reviewer.username}",
    )
    # Only with the permission to raise violations.
    liaison = login(UserFactory(roles=["authority_liaison"]))
    assert liaison.get(f"{ADMIN}/violation/add/").status_code == 403


def test_an_uploaded_evidence_file_is_shown_with_its_digest_and_downloaded_privately(world):
    violation = suspected(world)
    client = login(world.reviewer)
    upload = io.BytesIO(PNG)
    upload.name = "screenshot.png"
    response = act(
        client, "violation", violation, "add_file", {"file": upload, "description": "直播截图"}
    )
    assert response.status_code == 302
    evidence = Evidence.objects.get(violation=violation)
    digest = hashlib.sha256(PNG).hexdigest()
    assert evidence.sha256 == digest
    page = client.get(f"{ADMIN}/violation/{violation.pk}/change/").content.decode()
    assert digest in page
    url = f"{ADMIN}/violation/evidence/{evidence.pk}/"
    assert url in page

    download = client.get(url)
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment")
    assert b"".join(download.streaming_content) == PNG
    assert login(UserFactory(roles=["authority_liaison"])).get(url).status_code == 403


def test_a_file_that_is_not_evidence_is_refused_on_the_form(world):
    violation = suspected(world)
    upload = io.BytesIO(b"<html><script>alert(1)</script></html>")
    upload.name = "page.html"
    response = act(
        login(world.reviewer),
        "violation",
        violation,
        "add_file",
        {"file": upload, "description": "x"},
    )
    assert response.status_code == 200
    assert response.context["action"]["form"].errors["file"]
    assert not Evidence.objects.exists()


def test_linking_a_platform_record_or_a_complaint(world):
    violation = suspected(world)
    client = login(world.reviewer)
    response = act(client, "violation", violation, "link", {"reference": "order-1"})
    assert response.status_code == 200  # a platform record needs a description
    response = act(client, "violation", violation, "link", {})
    assert response.status_code == 200  # exactly one record
    assert not Evidence.objects.exists()

    response = act(
        client, "violation", violation, "link", {"reference": "order-1", "description": "订单截图"}
    )
    assert response.status_code == 302
    case = _decided_case(world)
    response = act(client, "violation", violation, "link", {"case": case.tracking_code.lower()})
    assert response.status_code == 302
    linked = list(Evidence.objects.filter(violation=violation).values_list("kind", "reference"))
    assert linked == [("link", "order-1"), ("complaint", "")]
    response = act(client, "violation", violation, "link", {"case": "CAAAAAAAAA"})
    assert response.context["action"]["form"].errors["case"]


def test_a_violation_from_an_inspection_shows_its_sources_and_offers_the_sessions_inspections(
    world,
):
    session = LiveSession.objects.create(room=world.room, owner=world.room.owner)
    inspector = Actor.for_user(world.reviewer)
    first = inspection_record(
        session=session,
        checklist={},
        findings="主播称“国家级品质”。",
        result="violation_suspected",
        actor=inspector,
    )
    later = inspection_record(
        session=session,
        checklist={},
        findings="已当场纠正。",
        result="correction_requested",
        actor=inspector,
    )
    violation = Violation.objects.get(inspection=first)
    client = login(world.reviewer)
    page = client.get(f"{ADMIN}/violation/{violation.pk}/change/")
    content = page.content.decode()
    assert f"/admin/liverooms/livesession/{session.pk}/change/" in content
    link_form = next(a["form"] for a in page.context["object_actions"] if a["slug"] == "link")
    assert set(link_form.fields["inspection"].queryset) == {first, later}

    response = act(client, "violation", violation, "link", {"inspection": later.pk})
    assert response.status_code == 302
    assert list(
        Evidence.objects.filter(violation=violation).values_list("inspection_id", flat=True)
    ) == [first.pk, later.pk]


def _decided_case(world, compensation_fen=None):
    case = complaint_services.case_file(
        data=complaint_services.CaseInput(
            kind=CaseKind.COMPLAINT,
            facts="直播间宣称是真丝，收到后是化纤。",
            merchant=world.merchant,
            order_number="ORD-1",
            purchase="真丝围巾",
            category="false_advertising",
            request="refund",
            contact_name="王女士",
            contact_email="wang@example.com",
        ),
        source=Source.WEB,
        actor=TEST_ACTOR,
    ).case
    if compensation_fen is not None:
        complaint_services.case_accept(case=case, actor=world.reviewer_actor)
        case = complaint_services.case_decide(
            case=case,
            outcome="compensation",
            note="商家赔偿。",
            compensation_fen=compensation_fen,
            actor=world.reviewer_actor,
        )
    return case


# --- Proposing a measure ----------------------------------------------------------------------


def test_the_proposal_page_shows_the_partys_history_and_the_catalogues_defaults(world):
    earlier = world.propose(kind="live_suspension", term_days=7)
    violation = world.violation("false_publicity")
    page = login(world.reviewer).get(f"{ADMIN}/violation/{violation.pk}/act/propose/")
    assert page.status_code == 200
    assert page.context["confirmed_violations"] == 2
    assert dict(page.context["past_measures"]) == {earlier.get_kind_display(): 1}
    content = page.content.decode()
    assert 'id="party-history"' in content and 'id="catalogue-defaults"' in content
    form = page.context["action"]["form"]
    # The first default is chosen, with the default term; only allowed measures are offered.
    assert form["kind"].value() == "remove_content"
    assert form["term_days"].value() == 7
    assert {value for value, _label in form.fields["kind"].choices} == set(
        violation.type.allowed_measures
    )


def test_a_proposal_that_departs_needs_a_reason(world, committed):
    violation = world.violation("false_publicity")
    client = login(world.reviewer)
    url = f"{ADMIN}/violation/{violation.pk}/act/propose/"
    proposal = {"kind": "live_suspension", "term_days": "10", "reason": "虚假宣传，情节较重。"}
    response = client.post(url, proposal)
    assert response.status_code == 200
    assert response.context["action"]["form"].errors["departure_reason"]
    assert not Measure.objects.exists()

    with committed():
        response = client.post(url, {**proposal, "departure_reason": "三个月内第二次。"})
    measure = Measure.objects.get()
    assert response.status_code == 302
    assert response.url == f"{ADMIN}/measure/{measure.pk}/change/"
    assert measure.departs_from_default
    assert (measure.status, measure.term_days) == (MeasureStatus.EXECUTED, 10)
    assert measure.proposed_by == world.reviewer


def test_a_proposal_on_the_default_needs_no_reason_and_ignores_fields_it_does_not_take(world):
    violation = world.violation("false_publicity")
    response = login(world.reviewer).post(
        f"{ADMIN}/violation/{violation.pk}/act/propose/",
        {
            "kind": "live_suspension",
            "term_days": "7",
            "reason": "虚假宣传。",
            # Left filled in from another choice: not part of a suspension.
            "amount_yuan": "100",
            "correct_by": "2030-01-01",
        },
    )
    assert response.status_code == 302
    measure = Measure.objects.get()
    assert not measure.departs_from_default
    assert (measure.amount_fen, measure.correct_by) == (None, None)


def test_takedowns_name_only_the_partys_own_products_by_reference(world):
    other = register_party("merchant", name="别家")
    product_register(
        merchant=other, platform_ref="sku-x", title="别家商品", category="apparel", actor=TEST_ACTOR
    )
    violation = world.violation("prohibited_goods")
    client = login(world.reviewer)
    url = f"{ADMIN}/violation/{violation.pk}/act/propose/"
    proposal = {
        "kind": "remove_content",
        "reason": "销售禁售商品。",
        "departure_reason": "按情节。",
    }
    response = client.post(url, {**proposal, "products": "sku-x"})
    assert response.status_code == 200
    assert "sku-x" in str(response.context["action"]["form"].errors["products"])
    assert not Measure.objects.exists()

    response = client.post(url, {**proposal, "products": "sku-1"})
    assert response.status_code == 302
    assert list(Measure.objects.get().products.all()) == [world.product]


def test_referral_authorities_are_the_active_ones(world):
    world.authority(name="在用的市场监管局")
    world.authority(name="撤销的机构", is_active=False)
    violation = world.violation("prohibited_goods")
    page = login(world.lead).get(f"{ADMIN}/violation/{violation.pk}/act/propose/")
    offered = page.context["action"]["form"].fields["authorities"].queryset
    assert [a.name for a in offered] == ["在用的市场监管局"]


def test_proposing_is_refused_on_a_suspected_violation(world):
    violation = suspected(world)
    client = login(world.reviewer)
    response = client.get(f"{ADMIN}/violation/{violation.pk}/act/propose/")
    assert (response.status_code, last_level(response)) == (302, "error")
    response = client.post(
        f"{ADMIN}/violation/{violation.pk}/act/propose/", {"kind": "warning", "reason": "x"}
    )
    assert (response.status_code, last_level(response)) == (302, "error")
    assert not Measure.objects.exists()


# --- Four eyes, execution, correction ---------------------------------------------------------


def test_a_severe_measure_is_approved_by_a_second_lead_never_its_proposer(world, committed):
    funded(world)
    measure = world.deduction(amount_fen=100_000, actor=world.lead_actor)
    proposer = login(world.lead)
    page = proposer.get(f"{ADMIN}/measure/{measure.pk}/change/")
    assert 'id="action-approve"' in page.content.decode()

    response = act(proposer, "measure", measure, "approve", {"note": "同意"})
    assert (response.status_code, last_level(response)) == (302, "error")
    assert _("A severe measure is approved by someone other than its proposer.") in messages_of(
        response
    )
    measure.refresh_from_db()
    assert measure.status == MeasureStatus.PROPOSED

    reviewer = login(world.reviewer)
    assert act(reviewer, "measure", measure, "approve").status_code == 403

    with committed():
        response = act(login(world.lead2), "measure", measure, "approve", {"note": "同意"})
    assert (response.status_code, last_level(response)) == (302, "success")
    measure.refresh_from_db()
    assert measure.status == MeasureStatus.EXECUTED
    assert (measure.decided_by, measure.decision_note) == (world.lead2, "同意")
    assert LedgerEntry.objects.get(measure=measure).amount_fen == -100_000
    page = login(world.lead2).get(f"{ADMIN}/measure/{measure.pk}/change/").content.decode()
    assert "¥-1,000.00" in page  # the ledger entry it caused


def test_rejecting_needs_a_note(world):
    measure = world.deduction(amount_fen=100_000)
    client = login(world.lead)
    response = act(client, "measure", measure, "reject", {"note": ""})
    assert response.status_code == 200
    assert response.context["action"]["form"].errors["note"]
    response = act(client, "measure", measure, "reject", {"note": "金额与情节不相称。"})
    assert response.status_code == 302
    measure.refresh_from_db()
    assert (measure.status, measure.decision_note) == ("rejected", "金额与情节不相称。")


def test_a_failed_measure_is_carried_out_again(world):
    funded(world)
    measure = world.deduction(amount_fen=100_000)
    services.measure_approve(measure=measure, actor=world.lead_actor)
    services.measure_fail(measure=measure, reason="worker lost", actor=TEST_ACTOR)
    client = login(world.lead)
    assert (
        'id="action-retry"' in client.get(f"{ADMIN}/measure/{measure.pk}/change/").content.decode()
    )
    response = act(client, "measure", measure, "retry")
    assert response.status_code == 302
    measure.refresh_from_db()
    assert (measure.status, measure.failure_reason) == (MeasureStatus.EXECUTING, "")
    assert services.deduction_carry_out(measure.pk) == "executed"


def test_a_lead_marks_a_stuck_deduction_failed_and_carries_it_out_again(world):
    funded(world)
    measure = world.deduction(amount_fen=100_000)
    services.measure_approve(measure=measure, actor=world.lead_actor)  # the worker never ran
    page = f"{ADMIN}/measure/{measure.pk}/change/"
    assert 'id="action-fail"' not in login(world.reviewer).get(page).content.decode()
    assert act(login(world.reviewer), "measure", measure, "fail", {"reason": "x"}).status_code == (
        403
    )
    client = login(world.lead)
    assert 'id="action-fail"' in client.get(page).content.decode()
    response = act(client, "measure", measure, "fail", {"reason": ""})
    assert response.status_code == 200 and response.context["action"]["form"].errors["reason"]
    measure.refresh_from_db()
    assert measure.status == MeasureStatus.EXECUTING

    response = act(client, "measure", measure, "fail", {"reason": "记账服务超时，稍后重试。"})
    assert (response.status_code, last_level(response)) == (302, "success")
    measure.refresh_from_db()
    assert (measure.status, measure.failure_reason) == (
        MeasureStatus.FAILED,
        "记账服务超时，稍后重试。",
    )
    failed = client.get(f"{ADMIN}/measure/", {"queue": "failed"}).context["cl"].result_list
    assert list(failed) == [measure]
    assert 'id="action-fail"' not in client.get(page).content.decode()
    assert act(client, "measure", measure, "retry").status_code == 302
    assert services.deduction_carry_out(measure.pk) == "executed"
    assert LedgerEntry.objects.get(measure=measure).amount_fen == -100_000


def test_a_notice_to_correct_is_marked_corrected(world):
    measure = world.propose(
        world.violation("absolute_terms"),
        kind="notice_to_correct",
        correct_by=timezone.localdate() + timedelta(days=3),
    )
    reviewer = login(world.reviewer)
    assert act(reviewer, "measure", measure, "corrected", {"note": "已删除"}).status_code == 403
    client = login(world.lead)
    response = act(client, "measure", measure, "corrected", {"note": ""})
    assert response.status_code == 200
    response = act(client, "measure", measure, "corrected", {"note": "商家已下架宣传页。"})
    assert response.status_code == 302
    measure.refresh_from_db()
    assert measure.status == MeasureStatus.LIFTED and measure.corrected_at is not None


def test_the_measure_page_shows_what_the_measure_did(world):
    measure = world.propose(kind="live_suspension", term_days=7)
    page = login(world.reviewer).get(f"{ADMIN}/measure/{measure.pk}/change/")
    content = page.content.decode()
    restriction = world.merchant.restrictions.get()
    assert f"/admin/accounts/restriction/{restriction.pk}/change/" in content
    # The timeline, read-only.
    formset = next(
        f for f in page.context["inline_admin_formsets"] if f.opts.model.__name__ == "MeasureEvent"
    )
    assert [form.original.kind for form in formset] == [
        "proposed",
        "approved",
        "execution_started",
        "executed",
    ]
    assert not formset.has_add_permission and not formset.has_delete_permission


# --- Appeals ----------------------------------------------------------------------------------


def test_an_appeal_is_decided_by_a_lead_who_took_no_part(world, committed):
    measure = world.propose(kind="live_suspension", term_days=7, actor=world.lead_actor)
    appeal = services.appeal_file(
        measure=measure, grounds="回放可证明无违规。", channel="web", actor=Actor(label="web")
    )
    queue = login(world.lead2).get(f"{ADMIN}/appeal/", {"status__exact": "pending"})
    assert list(queue.context["cl"].result_list) == [appeal]

    involved = login(world.lead)
    response = act(involved, "appeal", appeal, "decide", {"decision": "reverse", "reason": "x"})
    assert (response.status_code, last_level(response)) == (302, "error")
    assert _("An appeal is decided by someone who took no part in the measure.") in messages_of(
        response
    )
    appeal.refresh_from_db()
    assert appeal.status == AppealStatus.PENDING

    client = login(world.lead2)
    response = act(client, "appeal", appeal, "decide", {"decision": "reverse", "reason": ""})
    assert response.status_code == 200
    with committed():
        response = act(
            client,
            "appeal",
            appeal,
            "decide",
            {"decision": "reverse", "reason": "回放显示无违规。"},
        )
    assert response.status_code == 302
    appeal.refresh_from_db()
    measure.refresh_from_db()
    assert (appeal.status, appeal.decided_by) == (AppealStatus.REVERSED, world.lead2)
    assert measure.status == MeasureStatus.REVERSED
    assert act(login(world.reviewer), "appeal", appeal, "decide").status_code == 403


# --- The deposit ledger -----------------------------------------------------------------------


def test_a_top_up_is_recorded_once_per_payment_reference(world):
    client = login(world.lead)
    url = f"{ADMIN}/depositaccount/top-up/"
    page = client.get(url, {"party": world.merchant.pk})
    assert page.context["action"]["form"]["party"].value() == str(world.merchant.pk)
    payment = {"party": world.merchant.pk, "amount_yuan": "1500.00", "reference": "PAY-77"}
    response = client.post(url, {**payment, "reference": ""})
    assert response.status_code == 200
    assert not DepositAccount.objects.filter(balance_fen__gt=0).exists()

    response = client.post(url, payment)
    account = DepositAccount.objects.get(party=world.merchant)
    assert response.status_code == 302
    assert response.url == f"{ADMIN}/depositaccount/{account.pk}/change/"
    assert account.balance_fen == 150_000
    response = client.post(url, payment)
    assert last_level(response) == "warning"
    account.refresh_from_db()
    assert account.balance_fen == 150_000
    assert login(world.reviewer).post(url, payment).status_code == 403


def test_a_payment_reference_recorded_for_another_party_is_a_message_not_an_error(world):
    client = login(world.lead)
    url = f"{ADMIN}/depositaccount/top-up/"
    other = register_party("merchant", name="别家")
    payment = {"party": world.merchant.pk, "amount_yuan": "1500.00", "reference": "PAY-78"}
    assert client.post(url, payment).status_code == 302

    response = client.post(url, {**payment, "party": other.pk})
    assert (response.status_code, last_level(response)) == (200, "error")
    assert _("This payment reference was recorded already, for another party or amount.") in (
        messages_of(response)
    )
    assert not LedgerEntry.objects.filter(account__party=other).exists()


def test_a_payment_recorded_twice_at_the_same_moment_is_a_message_not_an_error(world, monkeypatch):
    from django.db import IntegrityError

    def raced(**kwargs):
        raise IntegrityError("UNIQUE constraint failed: enforcement_ledgerentry.idempotency_key")

    monkeypatch.setattr(services, "top_up", raced)
    payment = {"party": world.merchant.pk, "amount_yuan": "1500.00", "reference": "PAY-79"}
    response = login(world.lead).post(f"{ADMIN}/depositaccount/top-up/", payment)
    assert (response.status_code, last_level(response)) == (200, "error")
    assert "UNIQUE" not in messages_of(response)
    assert response.context["action"]["form"].non_field_errors()


def test_compensation_for_a_complaint_comes_out_of_the_partys_deposit(world):
    funded(world, amount_fen=100_000)
    account = world.merchant.deposit_account
    case = _decided_case(world, compensation_fen=20_000)
    client = login(world.lead)
    response = act(
        client,
        "depositaccount",
        account,
        "compensation",
        {"case": case.tracking_code, "amount_yuan": "300"},
    )
    assert response.status_code == 200  # more than the complaint decided
    assert response.context["action"]["form"].errors["amount_yuan"]
    response = act(
        client,
        "depositaccount",
        account,
        "compensation",
        {"case": case.tracking_code, "amount_yuan": "200"},
    )
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.balance_fen == 80_000
    entry = LedgerEntry.objects.get(kind="compensation")
    assert (entry.case, entry.amount_fen) == (case, -20_000)

    # Another party's deposit does not pay for this complaint.
    other = register_party("merchant", name="别家")
    services.top_up(party=other, amount_fen=50_000, reference="o-1", actor=world.lead_actor)
    response = act(
        client,
        "depositaccount",
        other.deposit_account,
        "compensation",
        {"case": case.tracking_code, "amount_yuan": "10"},
    )
    assert response.context["action"]["form"].errors["case"]


def test_ledger_entries_are_shown_and_never_editable(world):
    funded(world)
    account = world.merchant.deposit_account
    page = login(world.lead).get(f"{ADMIN}/depositaccount/{account.pk}/change/")
    [formset] = page.context["inline_admin_formsets"]
    assert [form.original.kind for form in formset] == ["top_up"]
    assert not (formset.has_add_permission or formset.has_change_permission)
    assert not formset.has_delete_permission
    assert "¥3,000.00" in page.content.decode()


def test_a_lead_sets_a_deposit_requirement_and_is_recorded_as_its_author(world):
    client = login(world.lead)
    response = client.post(
        f"{ADMIN}/depositrequirement/add/", {"category": "food", "amount_fen": "500000"}
    )
    assert response.status_code == 302
    from enforcement.models import DepositRequirement

    requirement = DepositRequirement.objects.get()
    assert requirement.updated_by == f"user:{world.lead.username}"
    reviewer = login(world.reviewer)
    assert (
        reviewer.post(
            f"{ADMIN}/depositrequirement/{requirement.pk}/change/",
            {"category": "food", "amount_fen": "1"},
        ).status_code
        == 403
    )


def test_reconciliation_differences_are_listed_read_only(world):
    funded(world)
    run = Reconciliation.objects.create(
        accounts_checked=1,
        mismatches=[
            {
                "account_id": world.merchant.deposit_account.pk,
                "party_id": world.merchant.pk,
                "balance_fen": 300_000,
                "entries_fen": 200_000,
            }
        ],
    )
    client = login(world.lead)
    listed = client.get(f"{ADMIN}/reconciliation/", {"differences": "latest"}).context["cl"]
    assert list(listed.result_list) == [run]
    page = client.get(f"{ADMIN}/reconciliation/{run.pk}/change/").content.decode()
    assert "¥3,000.00" in page and "¥2,000.00" in page
    services.reconcile()  # a clean run since: the queue is empty again
    assert queue_counts(client)["ledger_differences"] == 0


# --- Catalogue --------------------------------------------------------------------------------


def test_a_new_version_is_a_draft_edited_with_checkboxes_and_published_by_a_lead(world):
    current = published("absolute_terms")
    client = login(world.lead)
    response = act(client, "violationtype", current, "new_version")
    draft = ViolationType.objects.get(code="absolute_terms", status="draft")
    assert response.status_code == 302
    assert response.url == f"{ADMIN}/violationtype/{draft.pk}/change/"

    page = client.get(response.url)
    assert 'type="checkbox" name="allowed_measures" value="warning"' in page.content.decode()
    values = {
        name: value
        for name, value in page.context["adminform"].form.initial.items()
        if value is not None and name not in ("allowed_measures", "default_measures")
    }
    edit = {
        **values,
        "allowed_measures": ["warning", "notice_to_correct"],
        "default_measures": ["blacklist"],
    }
    response = client.post(response.url, edit)
    assert response.status_code == 200  # a default that is not allowed
    assert response.context["adminform"].form.errors["default_measures"]
    response = client.post(
        f"{ADMIN}/violationtype/{draft.pk}/change/", {**edit, "default_measures": ["warning"]}
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert (draft.allowed_measures, draft.default_measures) == (
        ["warning", "notice_to_correct"],
        ["warning"],
    )

    response = act(client, "violationtype", draft, "publish")
    assert response.status_code == 302
    draft.refresh_from_db()
    current.refresh_from_db()
    assert (draft.status, current.status) == ("published", "retired")


def test_a_lead_adds_a_type_as_a_first_draft(world):
    client = login(world.lead)
    data = {
        "code": "unpriced_discount",
        "name": "折扣宣传未标示参考价",
        "name_en": "Discount claims without a reference price",
        "severity": "minor",
        "legal_basis": "《直播电商监督管理办法》第三十二条",
        "allowed_measures": ["warning", "live_suspension"],
        "default_measures": ["warning"],
        "credit_points": "30",
        "illegal": "on",
    }
    response = client.post(f"{ADMIN}/violationtype/add/", data)
    assert response.status_code == 302
    vtype = ViolationType.objects.get(code="unpriced_discount")
    assert (vtype.version, vtype.status, vtype.created_by) == (
        1,
        "draft",
        f"user:{world.lead.username}",
    )
    response = client.post(f"{ADMIN}/violationtype/add/", {**data, "code": "absolute_terms"})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["code"]
    assert ViolationType.objects.filter(code="absolute_terms").count() == 1


def test_published_versions_are_read_only(world):
    current = published("absolute_terms")
    client = login(world.lead)
    page = client.get(f"{ADMIN}/violationtype/{current.pk}/change/")
    assert not page.context["has_change_permission"]
    response = client.post(f"{ADMIN}/violationtype/{current.pk}/change/", {"name": "改名"})
    assert response.status_code == 403
    current.refresh_from_db()
    assert current.name == "使用绝对化用语"
    assert act(login(world.reviewer), "violationtype", current, "new_version").status_code == 403
    assert not ViolationType.objects.filter(status="draft").exists()


# --- Exports ----------------------------------------------------------------------------------


def test_sanctions_export_as_csv_per_level(world):
    suspension = world.propose(kind="live_suspension", term_days=7)
    blacklisting = world.propose(
        world.violation("offline_transaction"),
        kind="blacklist",
        term_days=365,
        actor=world.lead_actor,
        departure_reason="屡次违规。",
    )
    services.measure_approve(measure=blacklisting, actor=world.lead2_actor)
    today = timezone.localdate().isoformat()
    period = {"start": today, "end": today, "output": "csv"}
    client = login(world.lead)

    county = client.get(f"{ADMIN}/measure/export/", {**period, "level": "county"})
    assert county.status_code == 200
    assert county["Content-Type"].startswith("text/csv")
    assert county["Content-Disposition"].startswith('attachment; filename="sanctions-county-')
    rows = b"".join(county.streaming_content).decode("utf-8-sig").splitlines()
    assert rows[0].startswith("measure_id,puid,party_id")
    assert sorted(int(row.split(",")[0]) for row in rows[1:]) == [suspension.pk, blacklisting.pk]

    provincial = client.get(f"{ADMIN}/measure/export/", {**period, "level": "provincial"})
    rows = b"".join(provincial.streaming_content).decode("utf-8-sig").splitlines()
    assert [int(row.split(",")[0]) for row in rows[1:]] == [blacklisting.pk]

    statements = client.get(
        f"{ADMIN}/measure/export/", {**period, "level": "county", "output": "jsonl"}
    )
    lines = b"".join(statements.streaming_content).decode().splitlines()
    assert {json.loads(line)["puid"] for line in lines} == {
        str(suspension.puid),
        str(blacklisting.puid),
    }


def test_the_export_is_refused_without_the_permission_and_checks_the_period(world):
    today = timezone.localdate()
    period = {
        "start": today.isoformat(),
        "end": today.isoformat(),
        "level": "county",
        "output": "csv",
    }
    assert login(world.reviewer).get(f"{ADMIN}/measure/export/", period).status_code == 403
    backwards = {**period, "start": (today + timedelta(days=1)).isoformat()}
    response = login(world.lead).get(f"{ADMIN}/measure/export/", backwards)
    assert response.status_code == 200
    assert response.context["action"]["form"].errors


# --- Authorities and referrals ----------------------------------------------------------------


def test_the_shared_secret_is_write_only(world):
    client = login(world.lead)
    secret = "s3cret-" + "k" * 30
    response = client.post(
        f"{ADMIN}/authority/add/",
        {
            "name": "浙江省市场监督管理局",
            "kind": "market_regulator",
            "level": "provincial",
            "endpoint_url": "https://referrals.example.gov.cn/in",
            "shared_secret": secret,
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    authority = Authority.objects.get()
    assert authority.shared_secret == secret
    page = client.get(f"{ADMIN}/authority/{authority.pk}/change/")
    assert secret not in page.content.decode()

    # Saved again with the field left empty: the secret stays.
    response = client.post(
        f"{ADMIN}/authority/{authority.pk}/change/",
        {
            "name": "浙江省市场监督管理局",
            "kind": "market_regulator",
            "level": "provincial",
            "endpoint_url": "https://referrals.example.gov.cn/in",
            "shared_secret": "",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    authority.refresh_from_db()
    assert authority.shared_secret == secret
    for user in (world.reviewer, UserFactory(roles=["authority_liaison"])):
        content = login(user).get(f"{ADMIN}/authority/{authority.pk}/change/").content.decode()
        assert secret not in content


def _referral(world, committed, settings, *, endpoint: str = "") -> Referral:
    fields = {"endpoint_url": endpoint, "shared_secret": "k" * 32, "email": ""} if endpoint else {}
    authority = world.authority(**fields)
    violation = world.violation("prohibited_goods")
    with committed():
        measure = world.propose(
            violation,
            kind="refer_authority",
            authorities=[authority],
            actor=world.lead_actor,
            departure_reason="单独移送。",
        )
        services.measure_approve(measure=measure, actor=world.lead2_actor)
    return Referral.objects.get(measure=measure)


def test_a_failed_referral_is_sent_again_by_a_lead(world, committed, settings):
    settings.REFERRAL_MAX_ATTEMPTS = 1
    referral = _referral(world, committed, settings, endpoint="http://127.0.0.1:9/referrals")
    assert referral.status == ReferralStatus.FAILED
    lead = login(world.lead)
    assert queue_counts(lead)["referrals_failed"] == 1
    listed = lead.get(f"{ADMIN}/referral/", {"status__exact": "failed"}).context["cl"]
    assert list(listed.result_list) == [referral]

    liaison = login(UserFactory(roles=["authority_liaison"]))
    assert act(liaison, "referral", referral, "requeue").status_code == 403
    response = act(lead, "referral", referral, "requeue")
    assert response.status_code == 302
    referral.refresh_from_db()
    assert (referral.status, referral.attempts) == (ReferralStatus.PENDING, 0)
    # Only a failed one: again is refused with the service's message.
    response = act(lead, "referral", referral, "requeue")
    assert last_level(response) == "error"


def test_a_delivered_referral_is_acknowledged_with_the_authoritys_reference(
    world, committed, settings
):
    referral = _referral(world, committed, settings)
    assert referral.status == ReferralStatus.DELIVERED  # by e-mail
    client = login(world.lead)
    response = act(client, "referral", referral, "acknowledge", {"reference": ""})
    assert response.status_code == 200
    response = act(
        client, "referral", referral, "acknowledge", {"reference": "浙市监移〔2026〕12号"}
    )
    assert response.status_code == 302
    referral.refresh_from_db()
    assert (referral.status, referral.acknowledgement) == ("acknowledged", "浙市监移〔2026〕12号")


def test_the_liaison_reads_referrals_and_downloads_dossiers_and_changes_nothing(
    world, committed, settings
):
    referral = _referral(world, committed, settings)
    client = login(UserFactory(roles=["authority_liaison"]))
    page = client.get(f"{ADMIN}/referral/{referral.pk}/change/")
    assert page.status_code == 200
    content = page.content.decode()
    assert 'id="object-actions"' not in content
    assert f"/measure/{referral.measure_id}/change/" not in content  # a page they may not open
    assert client.get(f"{ADMIN}/measure/{referral.measure_id}/change/").status_code == 403
    assert client.get(f"{ADMIN}/authority/{referral.authority_id}/change/").status_code == 200

    download = client.get(f"{ADMIN}/referral/{referral.pk}/dossier/")
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment")
    data = b"".join(download.streaming_content)
    assert hashlib.sha256(data).hexdigest() == referral.dossier_sha256
    assert "dossier.json" in zipfile.ZipFile(io.BytesIO(data)).namelist()

    response = act(client, "referral", referral, "acknowledge", {"reference": "x"})
    assert response.status_code == 403
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.DELIVERED
    assert client.get("/admin/").context["queues"] == []


# --- Query counts -----------------------------------------------------------------------------


def _count_queries(client, url, django_assert_max_num_queries, limit=None):
    with django_assert_max_num_queries(limit or 100) as captured:
        assert client.get(url).status_code == 200
    return len(captured.captured_queries)


def test_the_violation_and_measure_lists_do_not_grow_with_their_rows(
    world, django_assert_max_num_queries
):
    world.propose(kind="live_suspension", term_days=7)
    client = login(world.lead)
    for url in (f"{ADMIN}/violation/", f"{ADMIN}/measure/"):
        client.get(url)  # warm the per-process caches (content types, sessions)
    small = {
        url: _count_queries(client, url, django_assert_max_num_queries)
        for url in (f"{ADMIN}/violation/", f"{ADMIN}/measure/")
    }
    for n in range(29):
        party = register_party("anchor", name=f"主播{n}")
        world.propose(world.violation(party=party), kind="warning", departure_reason="轻微。")
    for url, queries in small.items():
        with django_assert_max_num_queries(queries):
            response = client.get(url)
        assert len(response.context["cl"].result_list) == 30


def test_conflicts_from_a_stale_page_are_messages_not_errors(world):
    violation = suspected(world)
    services.violation_dismiss(violation=violation, reason="已核实", actor=world.reviewer_actor)
    response = act(
        login(world.reviewer),
        "violation",
        violation,
        "confirm",
        {"type": published("absolute_terms").pk},
    )
    assert (response.status_code, last_level(response)) == (302, "error")
    violation.refresh_from_db()
    assert (violation.status, violation.type) == (ViolationStatus.DISMISSED, None)
