"""The reviewers' workbench for complaints, reports and evaluations: queues, the role matrix,
every action on the case page through the admin, evaluations that nobody deletes, reporters."""

import io
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from PIL import Image

from accounts.actors import Actor
from accounts.demo import demo_image
from accounts.uploads import clean_image
from accounts.workdays import add_working_days, working_days_between
from complaints import services
from complaints.models import (
    Case,
    CaseEvent,
    CaseStatus,
    Evaluation,
    ReplyTemplate,
    ReporterReputation,
    ReviewerCapacity,
)
from tests.accounts.test_roles import verified_client
from tests.factories import UserFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Mon 3 Nov 2025: acceptance due Wed 12 Nov (7 working days), resolution Mon 17 Nov (10); no
# holiday in between (tests/complaints/test_deadlines.py counts these by hand).
MONDAY = date(2025, 11, 3)
LIST = "/admin/complaints/case/"


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI)


def login(user) -> Client:
    """A fresh TOTP-verified admin session (taken after any time travel, so it is not expired)."""
    return verified_client(Client(), user)


def change_url(case) -> str:
    return f"{LIST}{case.pk}/change/"


def act(client, case, slug, data=None):
    return client.post(f"{LIST}{case.pk}/act/{slug}/", data or {})


def queue_counts(client) -> dict[str, int]:
    return {q["key"]: q["count"] for q in client.get("/admin/").context["queues"]}


def queue_codes(client, queue) -> list[str]:
    response = client.get(LIST, {"queue": queue})
    assert response.status_code == 200
    return [case.tracking_code for case in response.context["cl"].result_list]


def last_level(response) -> str:
    """The level of the admin's latest message ("error", "success"), whatever the language."""
    return [m.level_tag for m in get_messages(response.wsgi_request)][-1]


def image(label: str, colour: str = "#f4f1e8"):
    return clean_image(demo_image(label, colour))


@pytest.fixture
def reviewer(scene) -> Actor:
    return Actor.for_user(scene.reviewer)


# --- Queues -------------------------------------------------------------------------------------


def test_each_queue_lists_its_cases_and_the_index_counts_them(scene, reviewer, time_machine):
    time_machine.move_to(at(MONDAY), tick=False)
    other = UserFactory(roles=["compliance_reviewer"])
    accepted_by_other = scene.file(order_number="ORD-D", contact_email="d@example.com")
    services.case_accept(case=accepted_by_other, actor=reviewer)
    services.case_assign(case=accepted_by_other, assignee=other, actor=reviewer)
    # Filed between the two accepted ones: by filing order it would be in the middle of the
    # overdue queue either way round; only its escalation can put it at the head.
    new = scene.file(order_number="ORD-A", contact_email="a@example.com")
    accepted = scene.file(order_number="ORD-B", contact_email="b@example.com")
    services.case_accept(case=accepted, actor=reviewer)
    waiting = scene.file(order_number="ORD-C", contact_email="c@example.com")
    services.case_request_info(case=waiting, message="请补充订单截图", actor=reviewer)
    assert new.acceptance_due == date(2025, 11, 12)
    assert accepted.resolution_due == date(2025, 11, 17)

    time_machine.move_to(at(date(2025, 11, 12)), tick=False)
    client = login(scene.reviewer)
    assert queue_codes(client, "new") == [new.tracking_code]
    assert queue_codes(client, "due_today") == [new.tracking_code]
    assert queue_codes(client, "overdue") == []
    assert set(queue_codes(client, "mine")) == {
        new.tracking_code,
        accepted.tracking_code,
        waiting.tracking_code,
    }
    assert queue_codes(client, "awaiting_consumer") == [waiting.tracking_code]
    counts = queue_counts(client)
    assert {key: counts[key] for key in counts if key.startswith("cases_")} == {
        "cases_new": 1,
        "cases_due_today": 1,
        "cases_overdue": 0,
        "cases_mine": 3,
        "cases_awaiting_consumer": 1,
        # No worker runs here: every case's notices are still owed a day and more later.
        "cases_notice_undelivered": 4,
    }

    # The next day the acceptance clock has run out; the beat task escalates it to the leads.
    time_machine.move_to(at(date(2025, 11, 13)), tick=False)
    assert services.escalate_overdue(actor=Actor.system("tests")) == 1
    # Past the resolution target too: both accepted cases are overdue, the escalated one first;
    # the case waiting for the consumer is not (its clocks are stopped).
    time_machine.move_to(at(date(2025, 11, 18)), tick=False)
    client = login(scene.lead)
    overdue = queue_codes(client, "overdue")
    assert overdue[0] == new.tracking_code
    assert set(overdue) == {
        new.tracking_code,
        accepted.tracking_code,
        accepted_by_other.tracking_code,
    }
    counts = queue_counts(client)
    assert counts["cases_overdue"] == 3
    assert counts["cases_due_today"] == 0
    assert counts["cases_mine"] == 0  # the lead holds none
    assert queue_codes(client, "due_today") == []


def test_the_list_marks_overdue_dates_and_possible_duplicates(scene, time_machine):
    time_machine.move_to(at(MONDAY), tick=False)
    first = scene.file()
    second = scene.file(facts="又买了一条，还是化纤。")  # same contact, same order
    assert second.possible_duplicate_of == first
    time_machine.move_to(at(date(2025, 11, 13)), tick=False)
    page = login(scene.reviewer).get(LIST).content.decode()
    assert f"⚑ {first.tracking_code}" in page
    assert page.count('class="case-overdue"') == 2  # both acceptance dates, nothing else


def test_the_change_list_query_count_does_not_grow_with_the_page(
    scene, django_assert_max_num_queries
):
    for n in range(3):
        scene.file(order_number=f"ORD-{n}", contact_email=f"p{n}@example.com")
    client = login(scene.reviewer)
    client.get(LIST)  # warm the per-process caches (content types, the calendar)
    with django_assert_max_num_queries(10) as small:
        assert client.get(LIST).status_code == 200
    for n in range(3, 30):
        scene.file(
            order_number=f"ORD-{n}",
            contact_email=f"p{n}@example.com",
            anchor=scene.anchor,
        )
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(LIST, {"queue": "mine"})
    assert len(response.context["cl"].result_list) == 30


def test_search_by_tracking_code_in_any_case_order_number_or_party_name(scene):
    case = scene.file()
    other = scene.file(
        order_number="ORD-9", contact_email="o@example.com", merchant=None, anchor=scene.anchor
    )
    client = login(scene.reviewer)

    def found(term):
        response = client.get(LIST, {"q": term})
        return {c.pk for c in response.context["cl"].result_list}

    assert found(case.tracking_code.lower()) == {case.pk}
    assert found("ord-1001") == {case.pk}
    assert found("小雨") == {other.pk}
    assert found("西子") == {case.pk}


# --- Who may do what ----------------------------------------------------------------------------


def test_a_reviewer_sees_the_action_forms_and_an_auditor_only_the_case(scene):
    case = scene.file()
    page = login(scene.reviewer).get(change_url(case))
    assert page.status_code == 200
    content = page.content.decode()
    assert 'id="case-actions"' in content
    assert 'id="action-accept"' in content
    # Contact details are masked, never shown in full.
    assert "w***@example.com" in content
    assert "wang@example.com" not in content
    assert "13812345678" not in content

    auditor = login(UserFactory(roles=["auditor"]))
    page = auditor.get(change_url(case))
    assert page.status_code == 200
    assert case.facts in page.content.decode()
    assert 'id="case-actions"' not in page.content.decode()
    assert act(auditor, case, "accept").status_code == 403
    assert auditor.post(change_url(case), {"facts": "改写"}).status_code == 403
    case.refresh_from_db()
    assert case.status == CaseStatus.NEW
    assert case.facts == "直播间宣称是真丝，收到后是化纤。"


@pytest.mark.parametrize("slug", ["consumer", "merchant_staff"])
def test_public_roles_have_no_access_to_the_workbench(scene, slug):
    case = scene.file()
    client = login(UserFactory(roles=[slug]))
    for url in (LIST, change_url(case), "/admin/complaints/evaluation/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith("/admin/login/")
    assert act(client, case, "accept").status_code == 302
    case.refresh_from_db()
    assert case.status == CaseStatus.NEW


def test_cases_cannot_be_added_or_deleted_in_the_admin_even_by_a_superuser(scene):
    case = scene.file()
    admin_user = UserFactory(is_superuser=True, is_staff=True)
    client = login(admin_user)
    assert client.get(f"{LIST}add/").status_code == 403
    assert client.post(f"{LIST}{case.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Case.objects.filter(pk=case.pk).exists()


def test_reporter_reputation_is_for_leads(scene):
    assert login(scene.reviewer).get("/admin/complaints/reporterreputation/").status_code == 403
    assert login(scene.lead).get("/admin/complaints/reporterreputation/").status_code == 200


# --- Actions on the case page -------------------------------------------------------------------


def test_accept(scene):
    case = scene.file()
    response = act(login(scene.reviewer), case, "accept", {"message": "已受理"})
    assert response.status_code == 302
    assert response.url == change_url(case)
    case.refresh_from_db()
    assert case.status == CaseStatus.ACCEPTED
    event = case.events.get(kind=CaseEvent.Kind.ACCEPTED)
    assert (event.actor_user, event.message) == (scene.reviewer, "已受理")


def test_not_accepting_needs_a_reason_and_changes_nothing_without_one(scene):
    case = scene.file()
    client = login(scene.reviewer)
    response = act(client, case, "not_accept", {"reason": "  "})
    assert response.status_code == 200
    assert response.context["action"]["form"].errors["reason"]
    assert last_level(response) == "error"
    case.refresh_from_db()
    assert case.status == CaseStatus.NEW
    assert not case.events.filter(kind=CaseEvent.Kind.NOT_ACCEPTED).exists()

    response = act(client, case, "not_accept", {"reason": "不属于平台受理范围"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == CaseStatus.NOT_ACCEPTED


def test_a_withdrawal_by_phone_is_recorded_with_how_it_was_made(scene):
    case = scene.file()
    client = login(scene.reviewer)
    response = act(client, case, "record_withdrawal", {"reason": ""})
    assert response.context["action"]["form"].errors["reason"]
    case.refresh_from_db()
    assert case.status == CaseStatus.NEW

    response = act(client, case, "record_withdrawal", {"reason": "11月29日来电撤回，已和解"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == CaseStatus.WITHDRAWN
    event = case.events.get(kind=CaseEvent.Kind.WITHDRAWN)
    assert (event.actor_user, event.message) == (scene.reviewer, "11月29日来电撤回，已和解")


def test_an_action_the_status_no_longer_allows_is_an_error_and_changes_nothing(scene, reviewer):
    case = scene.file()
    services.case_accept(case=case, actor=reviewer)
    client = login(scene.reviewer)
    response = act(client, case, "not_accept", {"reason": "晚了"})
    assert response.status_code == 302
    assert last_level(response) == "error"
    case.refresh_from_db()
    assert case.status == CaseStatus.ACCEPTED


def test_requesting_information_pauses_the_clocks(scene, time_machine):
    time_machine.move_to(at(MONDAY), tick=False)
    case = scene.file()
    response = act(login(scene.reviewer), case, "request_info", {"message": "请补充商品照片"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == CaseStatus.AWAITING_CONSUMER
    assert case.paused_at is not None
    # Past its acceptance date it is still not overdue: the clock is stopped.
    time_machine.move_to(at(date(2025, 11, 20)), tick=False)
    assert queue_codes(login(scene.reviewer), "overdue") == []


def test_resuming_moves_the_due_dates_on_by_the_working_days_paused(scene, reviewer, time_machine):
    time_machine.move_to(at(MONDAY), tick=False)
    case = scene.file()
    services.case_accept(case=case, actor=reviewer)
    services.case_start_appraisal(case=case, message="送检", actor=reviewer)
    case.refresh_from_db()
    before = case.resolution_due

    resumed_on = date(2025, 11, 6)  # Thursday: three working days of appraisal
    time_machine.move_to(at(resumed_on), tick=False)
    response = act(login(scene.reviewer), case, "resume", {"message": "检测完成"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == CaseStatus.ACCEPTED
    paused = working_days_between(MONDAY, resumed_on)
    assert paused == 3
    assert case.resolution_due == add_working_days(before, paused).due == date(2025, 11, 20)


def test_a_standard_reply_is_sent_in_the_consumers_language(scene):
    template = ReplyTemplate.objects.create(
        name="收到材料",
        body_zh="您好，我们已收到您的材料。",
        body_en="Hello, we have your documents.",
    )
    case = scene.file(language="en")
    client = login(scene.reviewer)

    # "Insert" puts the English text in the box to edit; nothing is sent yet.
    response = act(client, case, "reply", {"template": template.pk, "text": "", "_load": "1"})
    assert response.status_code == 200
    assert response.context["action"]["form"]["text"].value() == template.body_en
    assert not case.events.filter(kind=CaseEvent.Kind.REPLY).exists()

    response = act(client, case, "reply", {"template": template.pk, "text": ""})
    assert response.status_code == 302
    reply = case.events.get(kind=CaseEvent.Kind.REPLY)
    assert (reply.message, reply.public) == (template.body_en, True)

    # An edited text is sent as edited.
    act(client, case, "reply", {"template": template.pk, "text": "Hello, please wait."})
    assert case.events.filter(message="Hello, please wait.").exists()


def test_an_empty_reply_is_refused(scene):
    case = scene.file()
    response = act(login(scene.reviewer), case, "reply", {"text": " "})
    assert response.status_code == 200
    assert not case.events.filter(kind=CaseEvent.Kind.REPLY).exists()


def test_an_internal_note_is_on_the_staff_timeline_but_never_the_consumers(scene):
    case = scene.file()
    client = login(scene.reviewer)
    response = act(client, case, "note", {"text": ""})
    assert (response.status_code, last_level(response)) == (200, "error")
    assert not case.events.filter(kind=CaseEvent.Kind.NOTE).exists()
    assert act(client, case, "note", {"text": "商家电话无人接听"}).status_code == 302
    note = case.events.get(kind=CaseEvent.Kind.NOTE)
    assert note.public is False
    assert not case.events.filter(public=True, message="商家电话无人接听").exists()
    assert "商家电话无人接听" in client.get(change_url(case)).content.decode()


def test_merging_moves_the_evidence_and_closes_the_duplicate(scene):
    first = scene.file(evidence=[image("a", "#aa0000")])
    duplicate = scene.file(evidence=[image("a", "#aa0000"), image("b", "#00aa00")])
    assert duplicate.possible_duplicate_of == first
    client = login(scene.reviewer)

    page = client.get(change_url(duplicate))
    merge_form = next(a["form"] for a in page.context["case_actions"] if a["slug"] == "merge")
    assert merge_form["into"].value() == first.tracking_code  # the suggestion

    response = act(client, duplicate, "merge", {"into": first.tracking_code.lower()})
    assert response.status_code == 302
    duplicate.refresh_from_db()
    assert (duplicate.status, duplicate.merged_into) == (CaseStatus.MERGED, first)
    # The same picture is kept once; the new one moves across.
    assert first.evidence.count() == 2
    assert set(first.evidence.values_list("sha256", flat=True)) == set(
        duplicate.evidence.values_list("sha256", flat=True)
    )


def test_merging_into_an_unknown_code_is_refused(scene):
    case = scene.file()
    response = act(login(scene.reviewer), case, "merge", {"into": "CXXXXXXXXX"})
    assert response.status_code == 200
    assert response.context["action"]["form"].errors["into"]
    case.refresh_from_db()
    assert case.status == CaseStatus.NEW


def test_deciding_with_a_refund_records_it_in_fen(scene, reviewer):
    case = scene.file()
    services.case_accept(case=case, actor=reviewer)
    client = login(scene.reviewer)

    response = act(client, case, "decide", {"outcome": "refund", "note": "商家同意退款"})
    assert response.status_code == 200
    assert response.context["action"]["form"].errors["refund_yuan"]
    case.refresh_from_db()
    assert case.status == CaseStatus.ACCEPTED

    response = act(
        client,
        case,
        "decide",
        {"outcome": "refund", "note": "商家同意退款", "refund_yuan": "128.50"},
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.status, case.outcome, case.refund_fen) == (CaseStatus.DECIDED, "refund", 12850)
    assert "¥128.50" in client.get(change_url(case)).content.decode()


def test_compensation_with_another_outcome_is_shown_on_the_compensation_field(scene, reviewer):
    case = scene.file()
    services.case_accept(case=case, actor=reviewer)

    response = act(
        login(scene.reviewer),
        case,
        "decide",
        {"outcome": "unfounded", "note": "查无实据", "compensation_yuan": "500.00"},
    )

    assert response.status_code == 200
    assert response.context["action"]["form"].errors["compensation_yuan"]
    case.refresh_from_db()
    assert (case.status, case.compensation_fen) == (CaseStatus.ACCEPTED, None)


def test_unfounded_decisions_count_against_the_reporter_until_a_lead_reviews(scene, reviewer):
    cases = [
        scene.file(order_number=f"ORD-U{n}", merchant=scene.merchant, category=c)
        for n, c in enumerate(["quality", "delivery", "price"])
    ]
    client = login(scene.reviewer)
    for case in cases:
        services.case_accept(case=case, actor=reviewer)
        response = act(client, case, "decide", {"outcome": "unfounded", "note": "查无实据"})
        assert response.status_code == 302
    reputation = ReporterReputation.objects.get(contact_key=cases[0].contact_key)
    assert (reputation.filed, reputation.unfounded) == (3, 3)
    assert reputation.flagged_at is not None

    lead = login(scene.lead)
    assert queue_counts(lead)["reporters_flagged"] == 1
    assert "reporters_flagged" not in queue_counts(client)
    listed = lead.get(LIST, {"reporter": reputation.contact_key}).context["cl"].result_list
    assert {c.pk for c in listed} == {c.pk for c in cases}

    url = "/admin/complaints/reporterreputation/"
    selection = {"action": "mark_reviewed", "_selected_action": [reputation.pk]}
    # Without a note: asked again, nothing cleared.
    response = lead.post(url, {**selection, "apply": "1", "reason": ""})
    assert response.status_code == 200
    reputation.refresh_from_db()
    assert reputation.flagged_at is not None
    response = lead.post(url, {**selection, "apply": "1", "reason": "均为物流延误误报，已提醒"})
    assert response.status_code == 302
    reputation.refresh_from_db()
    assert reputation.flagged_at is None
    assert reputation.reviewed_note == "均为物流延误误报，已提醒"
    assert reputation.unfounded == 3
    assert queue_counts(lead)["reporters_flagged"] == 0


def test_assigning_by_hand_and_by_round_robin(scene, reviewer):
    case = scene.file()
    other = UserFactory(roles=["compliance_reviewer"])
    client = login(scene.lead)
    assert act(client, case, "assign", {"assignee": other.pk}).status_code == 302
    case.refresh_from_db()
    assert case.assignee == other

    # Round robin: the only reviewer taking cases is the scene's.
    assert act(client, case, "round_robin").status_code == 302
    case.refresh_from_db()
    assert case.assignee == scene.reviewer

    ReviewerCapacity.objects.update(is_available=False)
    response = act(client, case, "round_robin")
    assert last_level(response) == "error"
    case.refresh_from_db()
    assert case.assignee == scene.reviewer  # unchanged


def test_linking_a_case_to_an_anchor_and_refusing_the_wrong_kind(scene):
    case = scene.file()
    client = login(scene.reviewer)
    response = act(client, case, "link", {"merchant": scene.anchor.pk})
    assert response.status_code == 200
    assert response.context["action"]["form"].errors["merchant"]
    response = act(client, case, "link", {"anchor": scene.anchor.pk, "session": scene.session.pk})
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.anchor, case.session) == (scene.anchor, scene.session)
    assert case.events.get(kind=CaseEvent.Kind.LINKED).public is False


def test_parties_are_found_by_searching_their_name_not_by_typing_ids(scene):
    response = login(scene.reviewer).get(
        "/admin/autocomplete/",
        {"term": "小雨", "app_label": "complaints", "model_name": "case", "field_name": "anchor"},
    )
    assert response.status_code == 200
    assert [r["id"] for r in response.json()["results"]] == [str(scene.anchor.pk)]


def test_taking_selected_cases_from_the_list(scene):
    case = scene.file()
    closed = scene.file(order_number="ORD-W", contact_email="w@example.com")
    services.case_withdraw(case=closed, reason="已协商", actor=Actor(label="consumer"))
    other = UserFactory(roles=["compliance_reviewer"])
    response = login(other).post(
        LIST, {"action": "take", "_selected_action": [case.pk, closed.pk], "index": "0"}
    )
    assert response.status_code == 302
    case.refresh_from_db()
    closed.refresh_from_db()
    assert case.assignee == other
    assert closed.assignee == scene.reviewer  # a withdrawn case is not taken

    auditor = login(UserFactory(roles=["auditor"]))
    page = auditor.get(LIST)
    assert "take" not in page.context["cl"].model_admin.get_actions(page.wsgi_request)


def test_evidence_is_streamed_only_to_those_who_may_see_it(scene, client):
    case = scene.file(evidence=[image("photo")])
    evidence = case.evidence.get()
    url = f"{LIST}evidence/{evidence.pk}/"
    reviewer = login(scene.reviewer)
    assert f'src="{url}"' in reviewer.get(change_url(case)).content.decode()
    response = reviewer.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert "no-store" in response["Cache-Control"]
    Image.open(io.BytesIO(b"".join(response.streaming_content))).verify()

    assert login(UserFactory(roles=["authority_liaison"])).get(url).status_code == 403
    assert client.get(url).status_code == 302  # to the login
    assert evidence.file.startswith("private/")
    assert client.get(f"/media/{evidence.file}").status_code == 404


def test_reviewer_capacities_show_the_open_load(scene):
    scene.file()
    scene.file(order_number="ORD-2", contact_email="x@example.com")
    response = login(scene.lead).get("/admin/complaints/reviewercapacity/")
    assert response.status_code == 200
    row = response.context["cl"].result_list[0]
    open_cases = response.context["cl"].list_display[3]
    assert (row.user, open_cases(row)) == (scene.reviewer, 2)


# --- Evaluations --------------------------------------------------------------------------------


@pytest.fixture
def evaluation(scene) -> Evaluation:
    evaluation, _created = services.evaluation_submit(
        merchant=scene.merchant,
        anchor=None,
        order_number="ORD-E1",
        stars_description=1,
        stars_service=4,
        stars_logistics=5,
        text="和直播间说的不一样",
    )
    return evaluation


def test_hiding_an_evaluation_needs_a_reason(scene, evaluation):
    client = login(scene.reviewer)
    url = f"/admin/complaints/evaluation/{evaluation.pk}/hide/"
    response = client.post(url, {"reason": ""})
    assert response.status_code == 200
    assert response.context["form"].errors
    evaluation.refresh_from_db()
    assert evaluation.hidden_at is None

    response = client.post(url, {"reason": "含有消费者手机号"})
    assert response.status_code == 302
    evaluation.refresh_from_db()
    assert evaluation.hidden_at is not None
    assert (evaluation.hidden_by, evaluation.hidden_reason) == (scene.reviewer, "含有消费者手机号")
    # Still there, and still listed for staff under "hidden".
    listed = client.get("/admin/complaints/evaluation/", {"hidden": "yes"}).context["cl"]
    assert list(listed.result_list) == [evaluation]


def test_hiding_selected_evaluations_from_the_list_asks_for_the_reason(scene, evaluation):
    client = login(scene.reviewer)
    selection = {"action": "hide_selected", "_selected_action": [evaluation.pk]}
    page = client.post("/admin/complaints/evaluation/", {**selection, "index": "0"})
    assert page.status_code == 200
    assert "reason" in page.context["form"].fields
    evaluation.refresh_from_db()
    assert evaluation.hidden_at is None
    response = client.post(
        "/admin/complaints/evaluation/", {**selection, "apply": "1", "reason": "广告刷屏"}
    )
    assert response.status_code == 302
    evaluation.refresh_from_db()
    assert evaluation.hidden_reason == "广告刷屏"


def test_an_auditor_cannot_hide_an_evaluation(scene, evaluation):
    auditor = login(UserFactory(roles=["auditor"]))
    url = f"/admin/complaints/evaluation/{evaluation.pk}/hide/"
    page = f"/admin/complaints/evaluation/{evaluation.pk}/change/"
    assert url in login(scene.reviewer).get(page).content.decode()
    shown = auditor.get(page)
    assert shown.status_code == 200
    assert evaluation.text in shown.content.decode()
    assert url not in shown.content.decode()
    assert auditor.post(url, {"reason": "x"}).status_code == 403
    evaluation.refresh_from_db()
    assert evaluation.hidden_at is None


def test_nobody_deletes_or_edits_an_evaluation_not_even_a_superuser(scene, evaluation):
    client = login(UserFactory(is_superuser=True, is_staff=True))
    base = "/admin/complaints/evaluation/"
    assert client.get(f"{base}{evaluation.pk}/delete/").status_code == 403
    assert client.post(f"{base}{evaluation.pk}/delete/", {"post": "yes"}).status_code == 403
    page = client.get(base)
    assert "delete_selected" not in dict(
        page.context["cl"].model_admin.get_actions(page.wsgi_request)
    )
    client.post(
        base, {"action": "delete_selected", "_selected_action": [evaluation.pk], "post": "yes"}
    )
    assert client.post(f"{base}{evaluation.pk}/change/", {"text": "好评"}).status_code == 403
    evaluation.refresh_from_db()
    assert evaluation.text == "和直播间说的不一样"
    assert Evaluation.objects.filter(pk=evaluation.pk).exists()


def test_evaluation_filters(scene, evaluation):
    services.evaluation_submit(
        merchant=None,
        anchor=scene.anchor,
        order_number="ORD-E2",
        stars_description=5,
        stars_service=5,
        stars_logistics=5,
        stars_anchor_honesty=3,
    )
    client = login(scene.reviewer)

    def orders(**params):
        response = client.get("/admin/complaints/evaluation/", params)
        return {e.order_number for e in response.context["cl"].result_list}

    assert orders(stars="1") == {"ORD-E1"}
    assert orders(stars="3") == {"ORD-E2"}
    assert orders(stars="5") == set()
    assert orders(party_kind="anchor") == {"ORD-E2"}
    assert orders(party_kind="merchant") == {"ORD-E1"}
    assert orders(hidden="no") == {"ORD-E1", "ORD-E2"}
