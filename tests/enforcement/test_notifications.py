"""The notification outbox: a notice is recorded with the event that makes it due, sent once by
the worker, and queued again by the relay when its message was lost or the mail server refused
it (DESIGN: nothing lost)."""

from __future__ import annotations

from datetime import timedelta
from smtplib import SMTPServerDisconnected

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from enforcement import notifications, services, tasks
from enforcement.models import Notification, NotificationKind

pytestmark = pytest.mark.django_db

LEADS = ["lead2@example.com", "lead@example.com"]


def approval_mail(mailoutbox, measure) -> list:
    return [m for m in mailoutbox if m.subject == f"待审批的处置措施 M{measure.pk}"]


def later(minutes: int = 6):
    return timezone.now() + timedelta(minutes=minutes)


def test_a_severe_proposal_records_its_notice_and_the_worker_mails_the_leads_once(
    world, committed, mailoutbox
):
    with committed():
        measure = world.deduction()
    [notification] = Notification.objects.all()
    assert (notification.kind, notification.object_id) == ("approval_requested", measure.pk)
    assert notification.handled_at is not None and notification.outcome == "sent"
    assert notification.attempts == 1
    [message] = approval_mail(mailoutbox, measure)
    assert sorted(message.to) == LEADS
    assert f"/enforcement/measure/{measure.pk}/change/" in message.body

    # A message delivered twice sends nothing the second time.
    assert tasks.notify(notification.pk) == "already handled"
    assert len(approval_mail(mailoutbox, measure)) == 1


def test_a_proposal_that_rolls_back_owes_no_notice(world, committed, mailoutbox):
    with committed(), pytest.raises(RuntimeError), transaction.atomic():
        world.deduction()
        raise RuntimeError("the caller's transaction fails after the proposal")
    assert not Notification.objects.exists() and mailoutbox == []


def test_a_notice_whose_message_was_lost_is_sent_by_the_relay(
    world, django_capture_on_commit_callbacks, mailoutbox
):
    # The transaction commits but its after-commit callbacks never run: a worker killed between
    # the commit and publishing the message.
    with django_capture_on_commit_callbacks(execute=False):
        measure = world.deduction()
    [notification] = Notification.objects.filter(handled_at__isnull=True)
    assert mailoutbox == []

    # Not yet: its own message may still be on its way.
    assert notifications.unhandled() == []
    assert tasks.relay_notifications() == 0

    assert notifications.unhandled(now=later()) == [notification.pk]
    Notification.objects.filter(pk=notification.pk).update(created_at=later(-6))
    assert tasks.relay_notifications() == 1
    assert len(approval_mail(mailoutbox, measure)) == 1
    notification.refresh_from_db()
    assert notification.outcome == "sent" and notification.handled_at is not None
    assert tasks.relay_notifications() == 0


def test_an_overdue_correction_found_by_the_sweep_is_not_lost_with_its_message(
    world, django_capture_on_commit_callbacks, mailoutbox
):
    measure = world.propose(
        world.violation("absolute_terms"),
        kind="notice_to_correct",
        correct_by=timezone.localdate() + timedelta(days=3),
    )
    with django_capture_on_commit_callbacks(execute=False):
        assert services.escalate_overdue_notices(today=timezone.localdate() + timedelta(days=4))
    notification = Notification.objects.get(kind="notice_overdue", object_id=measure.pk)
    assert notification.handled_at is None and mailoutbox == []

    Notification.objects.filter(pk=notification.pk).update(created_at=later(-6))
    assert tasks.relay_notifications() == 1
    [message] = [m for m in mailoutbox if m.subject == f"整改逾期 M{measure.pk}"]
    assert sorted(message.to) == LEADS


def test_a_refused_mail_stays_unhandled_with_the_reason_until_the_relay_sends_it(
    world, django_capture_on_commit_callbacks, monkeypatch, mailoutbox
):
    def refuse(*args, **kwargs):
        raise SMTPServerDisconnected("Connection unexpectedly closed")

    monkeypatch.setattr(notifications, "send_mail", refuse)
    with django_capture_on_commit_callbacks(execute=True):
        measure = world.deduction()
    notification = Notification.objects.get()
    assert notification.handled_at is None
    assert (notification.attempts, notification.outcome) == (1, "not sent: SMTPServerDisconnected")

    monkeypatch.undo()
    Notification.objects.filter(pk=notification.pk).update(created_at=later(-6))
    assert tasks.relay_notifications() == 1
    notification.refresh_from_db()
    assert (notification.attempts, notification.outcome) == (2, "sent")
    assert len(approval_mail(mailoutbox, measure)) == 1


def test_a_broker_down_at_commit_does_not_fail_the_committed_proposal(
    world, django_capture_on_commit_callbacks, monkeypatch, mailoutbox, caplog
):
    def broker_down(*args, **kwargs):
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(tasks.notify, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        measure = world.deduction()
    assert measure.pk and Notification.objects.get().handled_at is None
    assert "Connection refused" in caplog.text

    monkeypatch.undo()
    Notification.objects.update(created_at=later(-6))
    assert tasks.relay_notifications() == 1
    assert len(approval_mail(mailoutbox, measure)) == 1


def test_a_notice_no_longer_due_is_handled_without_a_mail(world, mailoutbox):
    measure = world.deduction()
    services.measure_approve(measure=measure, actor=world.lead_actor)
    notification = Notification.objects.get(kind="approval_requested", object_id=measure.pk)
    assert tasks.notify(notification.pk) == "no longer due"
    notification.refresh_from_db()
    assert notification.handled_at is not None and notification.outcome == "no longer due"
    assert approval_mail(mailoutbox, measure) == []


def test_the_same_event_is_recorded_once(world):
    measure = world.deduction()
    notifications.notice_overdue(measure.pk)
    notifications.notice_overdue(measure.pk)
    assert Notification.objects.filter(kind="notice_overdue", object_id=measure.pk).count() == 1


def test_an_appeal_decision_is_mailed_to_the_party(world, committed, mailoutbox):
    from accounts.actors import Actor
    from tests.liverooms.conftest import approved_merchant

    merchant = approved_merchant(world.reviewer_actor)
    file = merchant.registration_file
    file.contact_email = "shop@example.com"
    file.save(update_fields=["contact_email"])
    measure = world.propose(
        world.violation("absolute_terms", party=merchant),
        kind="notice_to_correct",
        correct_by=timezone.localdate() + timedelta(days=3),
    )
    appeal = services.appeal_file(
        measure=measure, grounds="已整改。", channel="web", actor=Actor(label="web")
    )
    with committed():
        services.appeal_decide(
            appeal=appeal, reverse=False, reason="维持。", actor=world.lead_actor
        )
    decided = Notification.objects.get(kind="appeal_decided", object_id=appeal.pk)
    assert decided.outcome == "sent"
    assert [m.to for m in mailoutbox if "shop@example.com" in m.to] == [["shop@example.com"]]


def test_a_reconciliation_with_differences_notifies_the_leads(
    world, committed, mailoutbox, monkeypatch
):
    from enforcement.models import Reconciliation

    run = Reconciliation.objects.create(accounts_checked=1, mismatches=[{"party_id": 1}])
    monkeypatch.setattr(services, "reconcile", lambda: run)
    with committed():
        assert tasks.reconcile_ledger() == 1
    notification = Notification.objects.get(kind="reconciliation_failed", object_id=run.pk)
    assert notification.outcome == "sent"
    [message] = [m for m in mailoutbox if f"第 {run.pk} 次对账" in m.subject]
    assert sorted(message.to) == LEADS


def test_the_leads_read_the_outbox_and_reviewers_do_not(world):
    from django.test import Client

    from tests.accounts.test_roles import verified_client

    measure = world.deduction()
    client = verified_client(Client(), world.lead)
    url = reverse("admin:enforcement_notification_changelist")
    page = client.get(url, {"handled": "no"})
    assert page.status_code == 200
    text = page.content.decode()
    assert reverse("admin:enforcement_measure_change", args=[measure.pk]) in text
    assert str(NotificationKind.APPROVAL_REQUESTED.label) in text
    assert client.get(url, {"handled": "yes"}).context["cl"].result_count == 0

    assert verified_client(Client(), world.reviewer).get(url).status_code == 403
