"""The consumer hears of every status change and every reply, in the language they filed in, with
their private tracking link; internal work stays internal; the platform gets a webhook."""

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from accounts.actors import Actor
from accounts.models import WebhookDelivery
from accounts.services import webhook_endpoint_create
from complaints import services, tasks
from complaints.models import CaseEvent, CaseStatus, Notification
from tests.factories import TEST_ACTOR

SHANGHAI = ZoneInfo("Asia/Shanghai")
SITE = "https://ts.example.cn"
LINK = re.compile(re.escape(SITE) + r"/track/(?P<code>[A-Z0-9]+)/(?P<token>[0-9a-f]+)/")


@pytest.fixture(autouse=True)
def _site(settings, time_machine):
    settings.SITE_URL = SITE
    # Fri 26 Sep 2025: acceptance due 13 Oct, resolution due 16 Oct (see test_deadlines).
    time_machine.move_to(datetime(2025, 9, 26, 10, tzinfo=SHANGHAI), tick=False)


@pytest.fixture
def reviewer(scene) -> Actor:
    return Actor.for_user(scene.reviewer)


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run a service and then what it queued for after the commit (the eager worker)."""

    def run(function, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return function(**kwargs)

    return run


def test_filing_emails_the_tracking_link_in_chinese_by_default(scene, mailoutbox, committed):
    case = committed(lambda: scene.file())
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["wang@example.com"]
    assert message.subject.startswith("【直播购物消费者服务中心】")
    assert case.tracking_code in message.subject
    assert f"编号 {case.tracking_code}" in message.body
    assert message.body.startswith("您好：\n")
    assert "王女士" not in message.body  # see the English mail's test
    assert "受理决定期限：2025年10月13日" in message.body
    assert "处理期限：2025年10月16日" in message.body
    assert "调解期限" not in message.body  # not accepted yet

    # The link in the mail opens this case, and only this case.
    link = LINK.search(message.body)
    assert link is not None
    assert link["code"] == case.tracking_code
    assert services.case_for_tracking(link["code"], link["token"]) == case
    tampered = link["token"][:-1] + ("1" if link["token"].endswith("0") else "0")
    assert services.case_for_tracking(link["code"], tampered) is None

    event = case.events.get(kind=CaseEvent.Kind.FILED)
    assert Notification.objects.get(event=event).recipient == "consumer"


def test_an_english_filing_gets_english_mail(scene, mailoutbox, committed):
    case = committed(lambda: scene.file(language="en", contact_name="Alice"))
    message = mailoutbox[0]
    assert message.subject.startswith("[Live Shopping Consumer Service] ")
    assert case.tracking_code in message.subject
    # Not greeted by the name the filer typed: anyone can file with someone else's address,
    # and the platform's mail would carry their words to it.
    assert message.body.startswith("Hello,\n")
    assert "Alice" not in message.body
    assert f"complaint {case.tracking_code}" in message.body
    assert "Acceptance decided by: 13 October 2025" in message.body
    assert "Resolution due: 16 October 2025" in message.body
    assert "受理" not in message.body
    link = LINK.search(message.body)
    assert services.case_for_tracking(link["code"], link["token"]) == case


def test_every_status_change_and_reply_is_emailed_but_internal_work_is_not(
    scene, reviewer, mailoutbox, committed
):
    case = committed(lambda: scene.file())
    assert len(mailoutbox) == 1

    committed(services.case_note, case=case, text="商家已联系，等待回复。", actor=reviewer)
    committed(services.case_link, case=case, anchor=scene.anchor, actor=reviewer)
    committed(services.case_assign, case=case, assignee=scene.reviewer, actor=reviewer)
    assert len(mailoutbox) == 1  # notes, links and assignment are the team's business

    case = committed(services.case_accept, case=case, actor=reviewer, message="已受理。")
    assert len(mailoutbox) == 2
    assert "调解期限：2025年12月4日" in mailoutbox[-1].body
    assert "已受理。" in mailoutbox[-1].body

    committed(services.case_reply, case=case, text="商家同意退款，请留意。", actor=reviewer)
    assert len(mailoutbox) == 3
    assert "商家同意退款，请留意。" in mailoutbox[-1].body

    case = committed(
        services.case_request_info, case=case, message="请上传收货照片。", actor=reviewer
    )
    case = committed(services.case_consumer_add_info, case=case, text="照片已上传。")
    assert len(mailoutbox) == 5  # asked, and resumed when the consumer answered

    case = committed(
        services.case_decide,
        case=case,
        outcome="refund",
        note="商家全额退款 199 元。",
        refund_fen=19900,
        actor=reviewer,
    )
    assert len(mailoutbox) == 6
    assert "商家全额退款 199 元。" in mailoutbox[-1].body
    case = committed(services.case_confirm, case=case)
    assert len(mailoutbox) == 7
    committed(services.case_rate, case=case, rating=5)
    assert len(mailoutbox) == 7  # a rating is the consumer's own act

    kinds = list(
        Notification.objects.filter(event__case=case)
        .order_by("event__at", "event__id")
        .values_list("event__kind", flat=True)
    )
    assert kinds == [
        CaseEvent.Kind.FILED,
        CaseEvent.Kind.ACCEPTED,
        CaseEvent.Kind.REPLY,
        CaseEvent.Kind.INFO_REQUESTED,
        CaseEvent.Kind.INFO_ADDED,
        CaseEvent.Kind.DECIDED,
        CaseEvent.Kind.CONFIRMED,
    ]
    for message in mailoutbox:
        assert LINK.search(message.body)["code"] == case.tracking_code


def test_a_mail_sent_late_tells_the_status_of_its_own_event(
    scene, reviewer, mailoutbox, django_capture_on_commit_callbacks
):
    # The worker is behind: both messages are sent after the case was accepted and decided.
    with django_capture_on_commit_callbacks(execute=True):
        case = scene.file(language="en")
        case = services.case_accept(case=case, actor=reviewer)
        services.case_decide(case=case, outcome="unfounded", note="No evidence.", actor=reviewer)
    accepted, decided = mailoutbox[1], mailoutbox[2]
    assert accepted.subject.endswith(": Accepted")
    assert "Status: Accepted, in handling" in accepted.body
    assert "Status: Decided" in decided.body


def test_sending_is_idempotent_per_event(scene, mailoutbox, committed):
    case = committed(lambda: scene.file())
    event = case.events.get(kind=CaseEvent.Kind.FILED)
    assert tasks.notify_consumer(event.pk) == "already sent"
    assert tasks.notify_consumer(event.pk) == "already sent"
    assert len(mailoutbox) == 1
    assert Notification.objects.filter(event=event).count() == 1


def test_a_mail_server_failure_is_retried_by_the_relay_and_the_mail_sent_once(
    scene, mailoutbox, monkeypatch, time_machine
):
    from datetime import timedelta
    from smtplib import SMTPServerDisconnected

    from django.utils import timezone

    time_machine.move_to(timezone.now(), tick=False)

    from complaints import notifications

    case = scene.file()  # its on-commit hooks have not run: nothing sent yet
    event = case.events.get(kind=CaseEvent.Kind.FILED)
    real_send = notifications.send_mail
    attempts = []

    def flaky(*args, **kwargs):
        attempts.append(1)
        if len(attempts) == 1:
            raise SMTPServerDisconnected("try later")
        return real_send(*args, **kwargs)

    monkeypatch.setattr(notifications, "send_mail", flaky)
    assert tasks.notify_consumer(event.pk) == "not sent"
    assert not Notification.objects.filter(event=event).exists()
    # The relay queues it again once the grace period is over; it goes out once.
    time_machine.shift(timedelta(minutes=6))
    assert tasks.relay_notices() == 1
    assert len(attempts) == 2
    assert len(mailoutbox) == 1
    assert Notification.objects.filter(event=event).count() == 1
    assert tasks.relay_notices() == 0


def test_no_email_address_means_no_mail_and_no_error(scene, reviewer, mailoutbox, committed):
    case = committed(lambda: scene.file(contact_email=""))
    case = committed(services.case_accept, case=case, actor=reviewer)
    assert mailoutbox == []
    assert case.status == CaseStatus.ACCEPTED
    event = case.events.get(kind=CaseEvent.Kind.ACCEPTED)
    assert tasks.notify_consumer(event.pk) == "no e-mail address"
    assert not Notification.objects.exists()


def test_a_merged_duplicate_tells_its_consumer_which_case_to_follow(
    scene, reviewer, mailoutbox, committed
):
    first = committed(lambda: scene.file(order_number="ORD-7"))
    second = committed(lambda: scene.file(order_number="ORD-7", language="en"))
    mailoutbox.clear()
    committed(services.case_merge, duplicate=second, into=first, actor=reviewer)
    assert len(mailoutbox) == 1
    assert f"Your case continues as {first.tracking_code}." in mailoutbox[0].body
    assert second.tracking_code in mailoutbox[0].subject


def test_the_mail_is_sent_in_the_language_of_the_case_not_of_the_request(
    scene, mailoutbox, committed
):
    from django.utils import translation

    with translation.override("en"):
        committed(lambda: scene.file())
    assert mailoutbox[0].subject.startswith("【直播购物消费者服务中心】")


# --- The platform ----------------------------------------------------------------------------


def test_status_changes_are_recorded_for_an_active_webhook_endpoint(scene, reviewer):
    endpoint, _secret = webhook_endpoint_create(
        name="platform", url="https://platform.example.cn/hooks", actor=TEST_ACTOR
    )
    webhook_endpoint_create(
        name="other-topics",
        url="https://platform.example.cn/other",
        topics=["party.approved"],
        actor=TEST_ACTOR,
    )
    inactive, _ = webhook_endpoint_create(
        name="retired", url="https://platform.example.cn/old", actor=TEST_ACTOR
    )
    inactive.is_active = False
    inactive.save()

    case = scene.file(platform_ref="app-123", source="api")
    services.case_note(case=case, text="内部备注", actor=reviewer)
    case = services.case_accept(case=case, actor=reviewer)

    deliveries = WebhookDelivery.objects.filter(topic="complaint.status_changed").order_by("id")
    assert [d.endpoint for d in deliveries] == [endpoint, endpoint]
    filed, accepted = (d.payload for d in deliveries)
    assert filed["tracking_code"] == case.tracking_code
    assert filed["platform_ref"] == "app-123"
    assert (filed["event"], filed["status"]) == ("filed", "new")
    assert (accepted["event"], accepted["status"]) == ("accepted", "accepted")
    assert accepted["acceptance_due"] == date(2025, 10, 13).isoformat()
    assert accepted["resolution_due"] == "2025-10-16"
    # The consumer's contact never leaves in a webhook.
    assert "wang@example.com" not in str(filed)
    assert "13812345678" not in str(filed)


def test_a_notice_whose_message_was_lost_is_queued_again_by_the_relay(
    scene, time_machine, mailoutbox
):
    from datetime import timedelta

    from django.utils import timezone

    from complaints import tasks

    time_machine.move_to(timezone.now(), tick=False)
    # Filed without running the on-commit hooks: the message to the worker never went out.
    case = scene.file()
    assert mailoutbox == []
    assert tasks.relay_notices() == 0  # still within the grace period: the worker may be busy

    time_machine.shift(timedelta(minutes=6))
    assert tasks.relay_notices() == 1
    assert len(mailoutbox) == 1
    assert case.tracking_code in mailoutbox[0].subject
    assert tasks.relay_notices() == 0  # sent once, never again


def test_decided_cases_close_once_the_confirmation_period_has_passed(
    scene, reviewer, time_machine, settings
):
    from datetime import timedelta

    from django.utils import timezone

    from accounts.actors import Actor
    from complaints import services
    from complaints.models import CaseEvent, CaseStatus

    settings.COMPLAINT_CONFIRMATION_DAYS = 15
    time_machine.move_to(timezone.now(), tick=False)
    case = scene.file()
    services.case_accept(case=case, actor=reviewer)
    services.case_decide(case=case, outcome="refund", note="已退款", refund_fen=100, actor=reviewer)
    confirmed = scene.file(order_number="ORD-2")
    services.case_accept(case=confirmed, actor=reviewer)
    services.case_decide(case=confirmed, outcome="unfounded", note="经核实不成立", actor=reviewer)
    services.case_confirm(case=confirmed)
    system = Actor.system("close_unconfirmed")

    time_machine.shift(timedelta(days=14))
    assert services.close_unconfirmed(actor=system) == 0
    time_machine.shift(timedelta(days=2))
    assert services.close_unconfirmed(actor=system) == 1
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED
    assert case.consumer_confirmed_at is None
    assert case.events.filter(kind=CaseEvent.Kind.CLOSED).count() == 1
    assert services.close_unconfirmed(actor=system) == 0
