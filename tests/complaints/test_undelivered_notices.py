"""A notice the e-mail did not deliver reaches a reviewer: it is in their queue a day after its
event, however long the relay has tried, until it is e-mailed again and delivered or the reviewer
records how the consumer was told another way."""

from datetime import timedelta
from smtplib import SMTPRecipientsRefused

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.actors import Actor
from complaints import notifications, services, tasks
from complaints.models import Case, CaseEvent, Notification
from tests.accounts.test_roles import verified_client
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/complaints/case/"


@pytest.fixture
def bouncing(monkeypatch):
    """A mail server that refuses every consumer's address."""

    def refuse(subject, body, sender, to):
        raise SMTPRecipientsRefused({address: (550, b"no such user") for address in to})

    monkeypatch.setattr(notifications, "send_mail", refuse)


@pytest.fixture
def undelivered(scene, bouncing, time_machine):
    """A case whose filing notice bounced, a day and a minute ago."""
    time_machine.move_to(timezone.now(), tick=False)
    case = scene.file()
    event = case.events.get(kind=CaseEvent.Kind.FILED)
    assert tasks.notify_consumer(event.pk) == "not sent"
    time_machine.shift(timedelta(days=1, minutes=1))
    return case


def test_a_notice_is_owed_until_delivered_and_only_to_a_consumer_with_an_address(scene, mailoutbox):
    case = scene.file()
    event = case.events.get(kind=CaseEvent.Kind.FILED)
    assert event.notice_pending
    assert tasks.notify_consumer(event.pk) == "sent"
    event.refresh_from_db()
    assert not event.notice_pending
    assert Notification.objects.get(event=event).recipient == Notification.CONSUMER

    no_address = scene.file(contact_email="", order_number="ORD-2002")
    assert not no_address.events.get(kind=CaseEvent.Kind.FILED).notice_pending
    # Internal work owes the consumer nothing.
    note = services.case_note(
        case=case, text="先电话联系商家", actor=Actor.for_user(scene.reviewer)
    )
    assert not note.notice_pending


def test_a_bounced_notice_is_in_the_queue_from_its_first_day_and_past_the_relays_week(
    undelivered, time_machine, scene
):
    fresh = scene.file(order_number="ORD-3003")  # owed, but only just: the worker has it
    assert list(services.undelivered_notice_cases()) == [undelivered]
    assert fresh not in services.undelivered_notice_cases()
    # The relay tries for a week, then stops; the queue keeps the case.
    time_machine.shift(timedelta(days=7))
    consumers, _leads = services.unsent_notices()
    assert undelivered.events.get(kind=CaseEvent.Kind.FILED).pk not in consumers
    assert undelivered in services.undelivered_notice_cases()


def test_told_another_way_ends_the_notice_and_keeps_the_note(undelivered, scene, mailoutbox):
    reviewer = Actor.for_user(scene.reviewer)
    with pytest.raises(ValidationError) as blank:
        services.notice_told_otherwise(case=undelivered, note="  ", actor=reviewer)
    assert "note" in blank.value.message_dict

    told = services.notice_told_otherwise(
        case=undelivered, note="11月30日电话告知消费者受理情况", actor=reviewer
    )
    assert told == 1
    event = undelivered.events.get(kind=CaseEvent.Kind.FILED)
    event.refresh_from_db()
    assert not event.notice_pending
    assert Notification.objects.get(event=event).recipient == Notification.CONSUMER_OTHERWISE
    note = undelivered.events.get(kind=CaseEvent.Kind.NOTE)
    assert note.message == "11月30日电话告知消费者受理情况"
    assert not note.public
    assert note.data == {"told_otherwise": [event.pk]}
    assert list(services.undelivered_notice_cases()) == []
    # The e-mail is not sent after it, even if its message turns up late.
    assert tasks.notify_consumer(event.pk) == "already sent"
    assert mailoutbox == []
    # Nothing left to tell: a second record is refused.
    with pytest.raises(ValidationError):
        services.notice_told_otherwise(case=undelivered, note="又打了一次", actor=reviewer)


def test_sent_again_after_the_relays_week_once_the_mail_server_takes_it(
    undelivered, scene, time_machine, monkeypatch, mailoutbox, django_capture_on_commit_callbacks
):
    from django.core.mail import send_mail

    time_machine.shift(timedelta(days=8))
    monkeypatch.setattr(notifications, "send_mail", send_mail)  # the mail server is back
    with django_capture_on_commit_callbacks(execute=True):
        queued = services.notice_send_again(case=undelivered, actor=Actor.for_user(scene.reviewer))
    assert queued == 1
    assert len(mailoutbox) == 1
    assert undelivered.tracking_code in mailoutbox[0].subject
    assert list(services.undelivered_notice_cases()) == []
    note = undelivered.events.get(kind=CaseEvent.Kind.NOTE)
    assert note.data == {"sent_again": [undelivered.events.get(kind=CaseEvent.Kind.FILED).pk]}


def test_the_queue_and_the_record_in_the_admin(undelivered, scene, client):
    handler = verified_client(client, scene.reviewer)
    index = handler.get("/admin/")
    counts = {q["key"]: q["count"] for q in index.context["queues"]}
    assert counts["cases_notice_undelivered"] == 1
    listed = handler.get(CHANGELIST, {"queue": "notice_undelivered"})
    assert list(listed.context["cl"].result_list) == [undelivered]

    action = {"action": "notices_told_otherwise", "_selected_action": [undelivered.pk]}
    asked = handler.post(CHANGELIST, action)
    assert asked.status_code == 200  # the page that asks how the consumer was told
    assert "reason" in asked.context["form"].fields
    empty = handler.post(CHANGELIST, {**action, "apply": "1", "reason": ""})
    assert empty.context["form"].errors
    assert undelivered.events.get(kind=CaseEvent.Kind.FILED).notice_pending
    done = handler.post(
        CHANGELIST, {**action, "apply": "1", "reason": "已短信告知消费者案件编号与受理情况"}
    )
    assert done.status_code == 302
    assert not undelivered.events.get(kind=CaseEvent.Kind.FILED).notice_pending
    page = handler.get(f"{CHANGELIST}{undelivered.pk}/change/")
    assert "已短信告知消费者案件编号与受理情况" in page.content.decode()


def test_send_again_from_the_admin(
    undelivered, scene, client, monkeypatch, mailoutbox, django_capture_on_commit_callbacks
):
    from django.core.mail import send_mail

    monkeypatch.setattr(notifications, "send_mail", send_mail)  # the mail server is back
    handler = verified_client(client, scene.reviewer)
    action = {"action": "notices_send_again", "_selected_action": [undelivered.pk]}
    with django_capture_on_commit_callbacks(execute=True):
        response = handler.post(CHANGELIST, action)
    assert response.status_code == 302
    assert len(mailoutbox) == 1  # the worker, eager here, after the commit
    assert not undelivered.events.get(kind=CaseEvent.Kind.FILED).notice_pending
    # Nothing owed any more: sending again queues nothing.
    with django_capture_on_commit_callbacks(execute=True) as queued:
        handler.post(CHANGELIST, action)
    assert queued == [] and len(mailoutbox) == 1


def test_only_case_handlers_may_record_or_send_again(undelivered, client):
    auditor = UserFactory(roles=["auditor"])
    viewer = verified_client(client, auditor)
    listed = viewer.get(CHANGELIST, {"queue": "notice_undelivered"})
    assert list(listed.context["cl"].result_list) == [undelivered]  # auditors read the queue
    offered = {
        name
        for name, _label in listed.context["cl"].model_admin.get_action_choices(listed.wsgi_request)
    }
    assert not offered & {"notices_told_otherwise", "notices_send_again"}
    response = viewer.post(
        CHANGELIST,
        {
            "action": "notices_told_otherwise",
            "_selected_action": [undelivered.pk],
            "apply": "1",
            "reason": "电话告知",
        },
    )
    assert response.status_code == 200  # the list again: the admin runs no action it hides
    with pytest.raises(PermissionError):
        services.notice_told_otherwise(
            case=undelivered, note="电话告知", actor=Actor.for_user(auditor)
        )
    with pytest.raises(PermissionError):
        services.notice_send_again(case=undelivered, actor=Actor.for_user(auditor))
    assert undelivered.events.get(kind=CaseEvent.Kind.FILED).notice_pending
    assert not Case.objects.filter(events__kind=CaseEvent.Kind.NOTE).exists()


def test_the_migration_marks_the_notices_already_owed_and_no_others(
    scene, time_machine, monkeypatch
):
    """complaints 0008: events of the last 30 days owed to a consumer with an address and not
    sent; in batches."""
    import importlib

    from django.apps import apps

    backfill = importlib.import_module("complaints.migrations.0008_notice_pending_backfill")
    time_machine.move_to(timezone.now(), tick=False)
    owed = scene.file()
    sent = scene.file(order_number="ORD-S")
    no_address = scene.file(contact_email="", order_number="ORD-N")
    old = scene.file(order_number="ORD-O")
    for case in (owed, sent, no_address, old):
        case.events.update(notice_pending=False)  # as before the column existed
    Notification.objects.create(
        event=sent.events.get(kind=CaseEvent.Kind.FILED), recipient=Notification.CONSUMER
    )
    old.events.update(at=timezone.now() - timedelta(days=31))

    monkeypatch.setattr(backfill, "BATCH", 1)  # several batches for these few rows
    backfill.mark_owed(apps, None)

    marked = set(CaseEvent.objects.filter(notice_pending=True).values_list("case_id", flat=True))
    assert marked == {owed.pk}
