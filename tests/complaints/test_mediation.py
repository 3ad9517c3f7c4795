"""Mediation ends without agreement 45 working days after acceptance (SAMR complaint rules
Art. 21(5); appraisal time not counted, Art. 20): the morning sweep decides the complaint as
referred to 12315, and the consumer and the respondent are told (Art. 21, last paragraph).

Dates as counted by hand in test_deadlines: filed and accepted Fri 26 Sep 2025, mediation ends
Thu 4 Dec 2025 (National Day, 1-8 Oct, off; Sun 28 Sep and Sat 11 Oct worked).
"""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib import admin
from django.test import Client
from django.utils import timezone, translation
from rest_framework.test import APIClient

from accounts.actors import Actor
from accounts.models import CalendarDay, CalendarYear, WebhookDelivery
from accounts.services import webhook_endpoint_create
from complaints import services, tasks
from complaints.admin.cases import CaseEventInline
from complaints.models import Case, CaseEvent, CaseStatus, Notification, Outcome
from complaints.services.base import in_language
from complaints.services.mediation import TERMINATION_NOTE
from config.celery import app
from tests.accounts.test_roles import verified_client
from tests.factories import TEST_ACTOR

SHANGHAI = ZoneInfo("Asia/Shanghai")
ACCEPTED_ON = date(2025, 9, 26)
MEDIATION_DUE = date(2025, 12, 4)
DAY_AFTER = date(2025, 12, 5)
CONSUMER = Actor(label="consumer")


def at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


def ended_events():
    return CaseEvent.objects.filter(kind=CaseEvent.Kind.MEDIATION_ENDED)


@pytest.fixture
def reviewer(scene) -> Actor:
    return Actor.for_user(scene.reviewer)


@pytest.fixture
def accept(scene, reviewer, time_machine):
    """File a complaint against the merchant and its anchor on 26 Sep 2025 and accept it."""

    def make(**overrides) -> Case:
        time_machine.move_to(at(ACCEPTED_ON), tick=False)
        overrides.setdefault("anchor", scene.anchor)
        case = scene.file(received_at=at(ACCEPTED_ON, 9), **overrides)
        return services.case_accept(case=case, actor=reviewer)

    return make


@pytest.fixture
def platform(monkeypatch):
    """The platform's webhook endpoint. Its deliveries are queued but not sent (no network in
    tests): the outbox row, retried until the platform answers, is what is checked."""
    from accounts import tasks as account_tasks

    queued = []
    monkeypatch.setattr(account_tasks.deliver_webhook, "delay", queued.append)
    endpoint, _secret = webhook_endpoint_create(
        name="platform", url="https://platform.example.cn/hooks", actor=TEST_ACTOR
    )
    return endpoint


@pytest.fixture
def sweep(time_machine, django_capture_on_commit_callbacks):
    """Run the beat task on a day in Beijing (07:30, as scheduled), with what it queued after
    commit (the consumer's e-mail, the webhook) run by an eager worker."""

    def run(day: date, hour: int = 7, minute: int = 30) -> int:
        time_machine.move_to(at(day, hour, minute), tick=False)
        with django_capture_on_commit_callbacks(execute=True):
            return tasks.end_expired_mediations()

    return run


# --- Which cases -----------------------------------------------------------------------------


def test_a_complaint_past_its_mediation_period_is_decided_as_referred_to_12315(accept, sweep):
    case = accept(language="en")
    assert case.mediation_due == MEDIATION_DUE

    assert sweep(DAY_AFTER) == 1

    case.refresh_from_db()
    assert case.status == CaseStatus.DECIDED
    assert case.outcome == Outcome.REFERRED_12315
    assert case.decided_at is not None
    assert (case.refund_fen, case.compensation_fen) == (None, None)
    event = case.events.get(kind=CaseEvent.Kind.MEDIATION_ENDED)
    # The law's reason, in the consumer's language, shown to them (and the respondent).
    assert event.message.startswith(
        "No mediation agreement was reached within 45 working days of accepting the complaint"
    )
    assert "12315" in event.message
    assert case.outcome_note == event.message
    assert event.public is True
    assert event.status == CaseStatus.DECIDED
    assert event.actor_label == "system:end_expired_mediations"
    assert event.actor_user is None
    assert event.data == {
        "outcome": "referred_12315",
        "legal_basis": "SAMR complaint rules Art. 21(5)",
        "accepted_on": "2025-09-26",
        "mediation_due": "2025-12-04",
        "paused_working_days": 0,
    }
    # One decision on the timeline: the termination is it.
    assert not case.events.filter(kind=CaseEvent.Kind.DECIDED).exists()


def test_the_note_is_stored_in_the_consumers_language(accept, sweep):
    case = accept()  # zh-hans, the default
    sweep(DAY_AFTER)
    event = case.events.get(kind=CaseEvent.Kind.MEDIATION_ENDED)
    assert event.message == in_language("zh-hans", TERMINATION_NOTE, days=45)


def test_a_case_due_today_is_not_ended_and_today_is_the_beijing_date(accept, sweep, time_machine):
    case = accept()
    assert sweep(MEDIATION_DUE, hour=23, minute=59) == 0
    case.refresh_from_db()
    assert case.status == CaseStatus.ACCEPTED
    # 16:30 UTC on 4 Dec is 00:30 on 5 Dec in Beijing: the period is over.
    time_machine.move_to(datetime(2025, 12, 4, 16, 30, tzinfo=UTC), tick=False)
    assert services.end_expired_mediations(actor=TEST_ACTOR) == 1


def test_appraisal_time_does_not_count_so_the_end_moves_on(accept, sweep, reviewer, time_machine):
    case = accept()
    # At the appraisal from Mon 29 Sep to Mon 13 Oct: 5 working days (Art. 20) -> Thu 11 Dec.
    time_machine.move_to(at(date(2025, 9, 29)), tick=False)
    case = services.case_start_appraisal(case=case, message="送检面料成分。", actor=reviewer)
    time_machine.move_to(at(date(2025, 10, 13)), tick=False)
    case = services.case_resume(case=case, actor=reviewer, message="鉴定报告已出。")
    assert case.mediation_due == date(2025, 12, 11)

    assert sweep(DAY_AFTER) == 0
    assert sweep(date(2025, 12, 11)) == 0
    assert sweep(date(2025, 12, 12)) == 1
    event = case.events.get(kind=CaseEvent.Kind.MEDIATION_ENDED)
    assert (event.data["mediation_due"], event.data["paused_working_days"]) == ("2025-12-11", 5)


def test_a_case_whose_clock_stands_still_is_not_ended(accept, sweep, reviewer, time_machine):
    at_appraisal = accept(order_number="APP-1")
    waiting = accept(order_number="WAIT-1")
    time_machine.move_to(at(date(2025, 10, 9)), tick=False)
    services.case_start_appraisal(case=at_appraisal, message="送检。", actor=reviewer)
    services.case_request_info(case=waiting, message="请补充照片。", actor=reviewer)

    assert sweep(date(2026, 3, 2)) == 0
    statuses = set(Case.objects.values_list("status", flat=True))
    assert statuses == {CaseStatus.AWAITING_APPRAISAL, CaseStatus.AWAITING_CONSUMER}


def test_reports_are_not_mediated(accept, sweep, scene):
    report = accept(
        kind="report", session=scene.session, report_category="tobacco", order_number=""
    )
    assert report.mediation_due == MEDIATION_DUE
    assert sweep(date(2026, 3, 2)) == 0
    report.refresh_from_db()
    assert (report.status, report.outcome) == (CaseStatus.ACCEPTED, "")


def test_cases_already_decided_closed_withdrawn_or_not_accepted_are_untouched(
    scene, accept, sweep, reviewer, time_machine
):
    decided = accept(order_number="D-1")
    closed = accept(order_number="C-1")
    withdrawn = accept(order_number="W-1")
    time_machine.move_to(at(date(2025, 11, 3)), tick=False)
    services.case_decide(
        case=decided, outcome="refund", note="已退款。", refund_fen=100, actor=reviewer
    )
    services.case_decide(case=closed, outcome="unfounded", note="无证据。", actor=reviewer)
    services.case_confirm(case=closed)
    services.case_withdraw(case=withdrawn, reason="已和解。", actor=CONSUMER)
    never_accepted = scene.file(order_number="N-1")
    before = dict(Case.objects.values_list("pk", "status"))

    assert sweep(date(2026, 3, 2)) == 0
    assert dict(Case.objects.values_list("pk", "status")) == before
    assert not ended_events().exists()
    decided.refresh_from_db()
    assert decided.outcome == Outcome.REFUND
    never_accepted.refresh_from_db()
    assert never_accepted.mediation_due is None


def test_running_twice_ends_once_and_tells_each_side_once(
    scene, platform, accept, sweep, mailoutbox
):
    first, second = accept(order_number="A-1"), accept(order_number="A-2")
    mailoutbox.clear()  # the filing and acceptance notices

    assert sweep(DAY_AFTER) == 2
    assert sweep(DAY_AFTER) == 0
    assert sweep(date(2025, 12, 8)) == 0
    assert ended_events().count() == 2
    assert len(mailoutbox) == 2
    assert Notification.objects.filter(event__kind=CaseEvent.Kind.MEDIATION_ENDED).count() == 2
    deliveries = WebhookDelivery.objects.filter(payload__event=CaseEvent.Kind.MEDIATION_ENDED)
    assert sorted(d.payload["tracking_code"] for d in deliveries) == sorted(
        [first.tracking_code, second.tracking_code]
    )


def test_a_case_withdrawn_after_the_list_was_read_is_left_withdrawn(
    accept, time_machine, monkeypatch
):
    from complaints.services import handling

    first, second = accept(order_number="R-1"), accept(order_number="R-2")

    def consumer_withdraws_the_second(case):
        # The consumer withdraws the second case while the sweep is deciding the first.
        if case.pk == first.pk:
            services.case_withdraw(case=second, reason="已和解。", actor=CONSUMER)

    monkeypatch.setattr(
        handling,
        "_decision_listeners",
        [*handling._decision_listeners, consumer_withdraws_the_second],
    )
    time_machine.move_to(at(DAY_AFTER, 7), tick=False)
    assert services.end_expired_mediations(actor=TEST_ACTOR) == 1
    second.refresh_from_db()
    assert (second.status, second.outcome) == (CaseStatus.WITHDRAWN, "")
    assert not second.events.filter(kind=CaseEvent.Kind.MEDIATION_ENDED).exists()


def test_a_small_batch_still_ends_every_case_in_one_run(accept, time_machine):
    for n in range(3):
        accept(order_number=f"B-{n}")
    time_machine.move_to(at(DAY_AFTER, 7), tick=False)
    assert services.end_expired_mediations(actor=TEST_ACTOR, batch=2) == 3
    assert Case.objects.filter(status=CaseStatus.ACCEPTED).count() == 0


def test_a_due_date_past_the_published_calendar_is_not_acted_on(scene, reviewer, time_machine):
    # Accepted Tue 3 Nov 2026: the 45 run into 2027, beyond the published calendar (an estimate
    # that an unentered Spring Festival could make days too early).
    time_machine.move_to(at(date(2026, 11, 3)), tick=False)
    case = services.case_accept(
        case=scene.file(received_at=at(date(2026, 11, 3), 9)), actor=reviewer
    )
    assert case.mediation_due.year == 2027 and case.deadline_estimated
    time_machine.move_to(at(date(2027, 3, 1)), tick=False)

    assert services.end_expired_mediations(actor=TEST_ACTOR) == 0
    case.refresh_from_db()
    assert case.status == CaseStatus.ACCEPTED
    # The leads find it in the workbench's queue meanwhile.
    assert list(services.mediation_expired_cases()) == [case]


def test_a_due_date_the_calendar_no_longer_gives_is_not_acted_on(accept, sweep):
    case = accept()
    # A lead enters a day off the stored due date did not know of (hypothetically Mon 1 Dec):
    # mediation now ends on Fri 5 Dec, not Thu 4 Dec.
    CalendarDay.objects.create(
        year=CalendarYear.objects.get(year=2025), date=date(2025, 12, 1), kind="holiday", name="调"
    )
    assert sweep(DAY_AFTER) == 0
    services.refresh_deadlines(actor=TEST_ACTOR)
    case.refresh_from_db()
    assert case.mediation_due == DAY_AFTER
    assert sweep(DAY_AFTER) == 0  # due today
    assert sweep(date(2025, 12, 8)) == 1


# --- Telling both sides (Art. 21, last paragraph) ---------------------------------------------


def test_the_consumer_is_emailed_the_termination_once(accept, sweep, mailoutbox, settings):
    settings.SITE_URL = "https://ts.example.cn"
    case = accept(language="en", contact_name="Alice")
    mailoutbox.clear()

    sweep(DAY_AFTER)

    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["wang@example.com"]
    assert case.tracking_code in message.subject
    assert "Mediation ended without agreement" in message.subject
    event = case.events.get(kind=CaseEvent.Kind.MEDIATION_ENDED)
    assert event.message in message.body
    assert "Outcome: Referred to 12315" in message.body
    assert f"https://ts.example.cn/track/{case.tracking_code}/" in message.body
    # When it went is recorded: the proof that it was told within the 7 working days.
    notification = Notification.objects.get(event=event)
    assert notification.recipient == "consumer"
    assert timezone.localdate(notification.sent_at) == DAY_AFTER
    assert tasks.notify_consumer(event.pk) == "already sent"
    assert len(mailoutbox) == 1


def test_a_consumer_notice_whose_message_was_lost_is_sent_by_the_relay(
    accept, time_machine, mailoutbox
):
    case = accept()
    mailoutbox.clear()
    time_machine.move_to(at(DAY_AFTER, 7, 30), tick=False)
    # The decision commits but its message to the worker is lost (callbacks not run).
    assert tasks.end_expired_mediations() == 1
    assert mailoutbox == []

    time_machine.shift(timedelta(minutes=6))
    assert tasks.relay_notices() == 1
    assert len(mailoutbox) == 1
    assert case.tracking_code in mailoutbox[0].subject
    assert tasks.relay_notices() == 0


def test_the_respondent_is_told_through_the_platform_webhook_and_reads_it_with_its_key(
    scene, platform, accept, sweep, make_key
):
    case = accept(source="api", platform_ref="app-med-1")

    sweep(DAY_AFTER)

    delivery = WebhookDelivery.objects.get(payload__event=CaseEvent.Kind.MEDIATION_ENDED)
    assert delivery.endpoint == platform
    assert delivery.topic == "complaint.status_changed"
    assert delivery.status == WebhookDelivery.Status.PENDING  # the outbox row, retried until 2xx
    assert delivery.next_attempt_at <= timezone.now()
    payload = delivery.payload
    assert payload["tracking_code"] == case.tracking_code
    assert payload["platform_ref"] == "app-med-1"
    assert (payload["status"], payload["outcome"]) == ("decided", "referred_12315")
    assert payload["mediation_due"] == "2025-12-04"
    # Whom to pass it on to.
    assert (payload["merchant_id"], payload["anchor_id"]) == (scene.merchant.pk, scene.anchor.pk)
    assert "wang@example.com" not in str(payload)

    # The merchant's own key reads the termination and its reason on the case.
    _key, raw = make_key(party=scene.merchant, name="merchant-key")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    body = client.get(f"/api/v1/complaints/{case.tracking_code}/").json()
    assert (body["status"], body["outcome"]) == ("decided", "referred_12315")
    ended = [e for e in body["timeline"] if e["kind"] == "mediation_ended"]
    assert len(ended) == 1
    assert "12315" in ended[0]["message"]


# --- The workbench -------------------------------------------------------------------------


def test_the_workbench_lists_cases_past_mediation_and_shows_the_sweeps_event(
    scene, accept, sweep, time_machine
):
    case = accept()
    time_machine.move_to(at(DAY_AFTER, 7), tick=False)
    client = verified_client(Client(), scene.lead)
    listed = client.get("/admin/complaints/case/", {"queue": "mediation_ended"})
    assert [c.tracking_code for c in listed.context["cl"].result_list] == [case.tracking_code]

    sweep(DAY_AFTER)

    listed = client.get("/admin/complaints/case/", {"queue": "mediation_ended"})
    assert list(listed.context["cl"].result_list) == []
    page = client.get(f"/admin/complaints/case/{case.pk}/change/")
    assert page.status_code == 200
    event = case.events.get(kind=CaseEvent.Kind.MEDIATION_ENDED)
    assert event.message in page.content.decode()
    assert "system:end_expired_mediations" in page.content.decode()


def test_the_timeline_says_when_the_consumer_was_told(accept, time_machine):
    accept()
    time_machine.move_to(at(DAY_AFTER, 7, 30), tick=False)
    services.end_expired_mediations(actor=TEST_ACTOR)  # the e-mail not sent yet
    inline = CaseEventInline(Case, admin.site)
    event = CaseEvent.objects.select_related("notification", "case").get(
        kind=CaseEvent.Kind.MEDIATION_ENDED
    )
    with translation.override("en"):
        assert inline.consumer_notified(event) == "pending"

        tasks.notify_consumer(event.pk)
        event = CaseEvent.objects.select_related("notification", "case").get(pk=event.pk)
        assert inline.consumer_notified(event) == "12/05/2025 7:30 a.m."


# --- The schedule ----------------------------------------------------------------------------


def test_the_beat_schedule_ends_mediation_every_morning_after_the_escalation():
    entry = app.conf.beat_schedule["complaints-end-mediation"]
    assert entry["task"] == "complaints.end_expired_mediations"
    assert entry["task"] in app.tasks
    assert (entry["schedule"].hour, entry["schedule"].minute) == ({7}, {30})
    escalation = app.conf.beat_schedule["complaints-escalate"]["schedule"]
    assert min(escalation.hour) == 7 and escalation.minute == {0}
    assert app.conf.task_routes["complaints.end_expired_mediations"] == {"queue": "default"}
