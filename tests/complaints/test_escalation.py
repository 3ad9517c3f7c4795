"""Overdue cases go to the lead's queue once, with one e-mail to the leads, from the beat task."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from accounts.actors import Actor
from complaints import services, tasks
from complaints.models import CaseEvent, Notification
from config.celery import app
from tests.factories import UserFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
SYSTEM = Actor.system("escalate_overdue")


@pytest.fixture
def overdue(scene, time_machine):
    """A case filed Mon 3 Nov 2025 (acceptance due Wed 12 Nov), looked at on Thu 13 Nov."""
    time_machine.move_to(datetime(2025, 11, 3, 10, tzinfo=SHANGHAI), tick=False)
    case = scene.file(received_at=datetime(2025, 11, 3, 9, tzinfo=SHANGHAI))
    time_machine.move_to(datetime(2025, 11, 13, 7, tzinfo=SHANGHAI), tick=False)
    return case


def test_an_overdue_case_is_escalated_once(overdue, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert services.escalate_overdue(actor=SYSTEM) == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert services.escalate_overdue(actor=SYSTEM) == 0
    overdue.refresh_from_db()
    assert overdue.escalated_at is not None
    events = overdue.events.filter(kind=CaseEvent.Kind.ESCALATED)
    assert events.count() == 1
    event = events.get()
    # The lead's business, not the consumer's: the tracking page does not show it.
    assert event.public is False
    assert event.actor_label == "system:escalate_overdue"
    assert event.data == {
        "clock": "acceptance",
        "acceptance_due": "2025-11-12",
        "resolution_due": "2025-11-17",
    }


def test_a_case_late_to_acceptance_is_escalated_again_when_its_resolution_is_late(
    scene, overdue, time_machine
):
    assert services.escalate_overdue(actor=SYSTEM) == 1
    # Accepted late, that morning: resolution was due Mon 17 Nov (from receipt).
    time_machine.move_to(datetime(2025, 11, 13, 9, 30, tzinfo=SHANGHAI), tick=False)
    overdue = services.case_accept(case=overdue, actor=Actor.for_user(scene.reviewer))
    assert services.escalate_overdue(actor=SYSTEM) == 0  # the resolution clock is still running
    time_machine.move_to(datetime(2025, 11, 18, 7, tzinfo=SHANGHAI), tick=False)
    assert services.escalate_overdue(actor=SYSTEM) == 1
    assert services.escalate_overdue(actor=SYSTEM) == 0
    clocks = list(
        overdue.events.filter(kind=CaseEvent.Kind.ESCALATED)
        .order_by("id")
        .values_list("data__clock", flat=True)
    )
    assert clocks == ["acceptance", "resolution"]


def test_a_case_accepted_in_time_is_escalated_once_for_its_resolution(scene, time_machine):
    time_machine.move_to(datetime(2025, 11, 3, 10, tzinfo=SHANGHAI), tick=False)
    case = services.case_accept(case=scene.file(), actor=Actor.for_user(scene.reviewer))
    time_machine.move_to(datetime(2025, 11, 18, 7, tzinfo=SHANGHAI), tick=False)
    assert services.escalate_overdue(actor=SYSTEM) == 1
    time_machine.move_to(datetime(2025, 11, 25, 7, tzinfo=SHANGHAI), tick=False)
    assert services.escalate_overdue(actor=SYSTEM) == 0
    assert case.events.filter(kind=CaseEvent.Kind.ESCALATED).count() == 1


def test_the_leads_are_emailed_once_and_the_consumer_not_at_all(
    scene, overdue, mailoutbox, django_capture_on_commit_callbacks
):
    other_lead = UserFactory(roles=["compliance_lead"])
    UserFactory(roles=["compliance_lead"], email="")  # nowhere to send
    UserFactory(roles=["compliance_lead"], is_active=False)
    with django_capture_on_commit_callbacks(execute=True):
        services.escalate_overdue(actor=SYSTEM)
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert sorted(message.to) == sorted([scene.lead.email, other_lead.email])
    assert overdue.tracking_code in message.subject
    assert "逾期" in message.subject
    assert "受理决定期限：2025-11-12" in message.body
    assert f"/admin/complaints/case/{overdue.pk}/change/" in message.body
    # No consumer contact in a mail that goes to a list of staff.
    assert "wang@example.com" not in message.body
    assert "13812345678" not in message.body

    event = overdue.events.get(kind=CaseEvent.Kind.ESCALATED)
    assert Notification.objects.get(event=event).recipient == "lead"
    # The worker receives the same message again: nothing more is sent.
    assert tasks.notify_leads(event.pk) == "already sent"
    assert len(mailoutbox) == 1


def test_the_beat_task_escalates_and_runs_twice_safely(
    overdue, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.escalate_overdue() == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.escalate_overdue() == 0
    assert len(mailoutbox) == 1
    assert Notification.objects.filter(recipient="lead").count() == 1


def test_paused_and_not_yet_due_cases_are_not_escalated(scene, time_machine):
    time_machine.move_to(datetime(2025, 11, 3, 10, tzinfo=SHANGHAI), tick=False)
    reviewer = Actor.for_user(scene.reviewer)
    waiting = services.case_request_info(
        case=scene.file(order_number="W-1"), message="请补充订单截图。", actor=reviewer
    )
    fresh = scene.file(order_number="F-1")
    time_machine.move_to(datetime(2025, 11, 13, 7, tzinfo=SHANGHAI), tick=False)
    later = scene.file(order_number="L-1")  # filed today: due 24 Nov
    assert services.escalate_overdue(actor=SYSTEM) == 1
    for case in (waiting, later):
        case.refresh_from_db()
        assert case.escalated_at is None
    fresh.refresh_from_db()
    assert fresh.escalated_at is not None


def test_escalation_takes_today_from_the_beijing_calendar(scene, time_machine):
    time_machine.move_to(datetime(2025, 11, 3, 10, tzinfo=SHANGHAI), tick=False)
    scene.file()  # acceptance due Wed 12 Nov
    # 23:30 UTC on 12 Nov is already 07:30 on 13 Nov in Beijing: the case is overdue.
    time_machine.move_to(datetime(2025, 11, 12, 15, 59, tzinfo=ZoneInfo("UTC")), tick=False)
    assert services.escalate_overdue(actor=SYSTEM) == 0
    time_machine.move_to(datetime(2025, 11, 12, 23, 30, tzinfo=ZoneInfo("UTC")), tick=False)
    assert services.escalate_overdue(actor=SYSTEM) == 1


def test_an_explicit_day_can_be_swept(overdue):
    assert services.escalate_overdue(actor=SYSTEM, today=date(2025, 11, 12)) == 0
    assert services.escalate_overdue(actor=SYSTEM, today=date(2025, 11, 13)) == 1


def test_the_beat_schedule_runs_the_escalation_every_morning():
    entry = app.conf.beat_schedule["complaints-escalate"]
    assert entry["task"] == "complaints.escalate_overdue"
    assert entry["task"] in app.tasks
    assert 7 in entry["schedule"].hour
    assert app.conf.task_routes["complaints.escalate_overdue"] == {"queue": "default"}
