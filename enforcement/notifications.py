"""E-mails of the enforcement app: statements of reasons to the party, the leads' notices
(approvals waiting, corrections overdue, appeals, reconciliation differences) and the appeal
decision to the party.

Sent by the `notify` worker. A statement is marked sent in the transaction that holds the
measure's lock while it is sent; a notice goes through the outbox (enforcement.models.outbox),
recorded with the event that makes it due and marked handled in the transaction that holds its
row while it is sent. Either way a worker killed between the two sends it again (the text is the
same), never not at all, and the relays queue again what a lost message left behind.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from smtplib import SMTPException

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from accounts.actors import Actor
from accounts.roles import COMPLIANCE_LEAD
from enforcement.models import Notification, NotificationKind

logger = logging.getLogger(__name__)

# What goes to the leads; the appeal decision goes to the party.
LEAD_NOTICES = frozenset(NotificationKind) - {NotificationKind.APPEAL_DECIDED}

# A mail server that is down or refuses (connection errors are OSErrors) leaves the notification
# unhandled with the failure as its outcome; the relay queues it again.
MAIL_ERRORS = (SMTPException, OSError)

# How long a notification waits for its worker before the relay queues it again: long enough
# that the worker has had it, short enough that a lead hears of a waiting approval the same hour.
RELAY_AFTER = timedelta(minutes=5)


def record(kind: str, object_id: int) -> None:
    """Records that `kind` is owed about `object_id`, in the caller's transaction, and queues it
    for the worker once that commits. Recording the same notification again does nothing."""
    notification, created = Notification.objects.get_or_create(kind=kind, object_id=object_id)
    if created:
        # robust: a broker that is down when the event commits must not turn the committed
        # event into an error for its caller; the notification is recorded and the relay sends it.
        transaction.on_commit(lambda: _queue(notification.pk), robust=True)


def _queue(notification_id: int) -> None:
    from enforcement import tasks

    tasks.notify.delay(notification_id)


def approval_requested(measure_id: int) -> None:
    record(NotificationKind.APPROVAL_REQUESTED, measure_id)


def notice_overdue(measure_id: int) -> None:
    record(NotificationKind.NOTICE_OVERDUE, measure_id)


def appeal_filed(appeal_id: int) -> None:
    record(NotificationKind.APPEAL_FILED, appeal_id)


def appeal_decided(appeal_id: int) -> None:
    record(NotificationKind.APPEAL_DECIDED, appeal_id)


def reconciliation_failed(run_id: int) -> None:
    record(NotificationKind.RECONCILIATION_FAILED, run_id)


def unhandled(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Notifications still unhandled RELAY_AFTER after they became due, oldest first."""
    before = (now or timezone.now()) - RELAY_AFTER
    return list(
        Notification.objects.filter(handled_at__isnull=True, created_at__lte=before)
        .order_by("created_at", "id")
        .values_list("pk", flat=True)[:limit]
    )


def send(notification_id: int) -> str:
    """Sends one notification, once. The row is locked while it is sent and marked handled
    before the mail goes, in the same transaction: a connection lost before the mark sends
    nothing (the retry sends it), one lost after the send rolls the mark back and the retry sends
    it again. A refused mail leaves it unhandled with the reason, for the relay."""
    with transaction.atomic():
        notification = Notification.objects.select_for_update().filter(pk=notification_id).first()
        if notification is None:
            return "no such notification"
        if notification.handled_at is not None:
            return "already handled"
        message = _message(notification)
        notification.attempts += 1
        notification.handled_at = timezone.now()
        notification.outcome = message if isinstance(message, str) else "sent"
        notification.save(update_fields=["attempts", "handled_at", "outcome"])
        if isinstance(message, str):
            return message
        subject, body, recipients = message
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
        except MAIL_ERRORS as exc:
            transaction.set_rollback(True)
            failure = f"not sent: {type(exc).__name__}"
        else:
            return "sent"
    # The mark rolled back; what is kept is the attempt and its failure.
    Notification.objects.filter(pk=notification_id, handled_at__isnull=True).update(
        attempts=notification.attempts, outcome=failure
    )
    logger.warning("notification %s %s; the relay will try again", notification_id, failure.lower())
    return "not sent"


def _message(notification: Notification) -> tuple[str, str, list[str]] | str:
    """The notification's subject, body and recipients, or why there is nothing to send."""
    kind, pk = notification.kind, notification.object_id
    if kind == NotificationKind.APPEAL_DECIDED:
        return _appeal_decided(pk)
    if kind not in LEAD_NOTICES:
        raise ValueError(f"unknown notification {kind!r}")
    if not _still_due(kind, pk):
        return "no longer due"
    leads = _lead_emails()
    if not leads:
        return "no lead with an e-mail address"
    context = {
        "kind": kind,
        "pk": pk,
        "admin_url": settings.SITE_URL.rstrip("/") + notification.about_url(),
    }
    with translation.override("zh-hans"):
        subject = render_to_string("enforcement/email/lead.subject.txt", context).strip()
        body = render_to_string("enforcement/email/lead.txt", context)
    return subject, body, leads


def _party_email(party) -> str:
    file = getattr(party, "registration_file", None)
    return (file.contact_email if file is not None else "") or ""


def _lead_emails() -> list[str]:
    from accounts.models import User

    return list(
        User.objects.filter(groups__name=COMPLIANCE_LEAD.slug, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
        .distinct()
    )


def _still_due(kind: str, pk: int) -> bool:
    """A notice about something already dealt with (approved in the meantime, an appeal decided)
    is not sent: the worker may run it minutes later."""
    from enforcement.models import Appeal, Measure

    if kind == "approval_requested":
        return Measure.objects.filter(pk=pk, status="proposed").exists()
    if kind == "notice_overdue":
        return Measure.objects.filter(pk=pk, corrected_at__isnull=True).exists()
    if kind == "appeal_filed":
        return Appeal.objects.filter(pk=pk, status="pending").exists()
    return True


def _appeal_decided(appeal_id: int) -> tuple[str, str, list[str]] | str:
    from enforcement.models import Appeal
    from enforcement.services import statements

    appeal = Appeal.objects.select_related("measure__party", "measure__violation__type").get(
        pk=appeal_id
    )
    email = _party_email(appeal.measure.party)
    if not email:
        return "no e-mail address"
    parts = []
    for language in statements.LANGUAGES:
        with translation.override(language):
            parts.append(
                render_to_string(
                    f"enforcement/email/appeal_decided.{language}.txt",
                    {"appeal": appeal, "measure": appeal.measure},
                )
            )
    with translation.override("zh-hans"):
        subject = render_to_string(
            "enforcement/email/appeal_decided.subject.txt", {"appeal": appeal}
        ).strip()
    return subject, "\n\n".join(parts), [email]


def send_statement(measure_id: int) -> str:
    from enforcement.models import Measure, MeasureEvent
    from enforcement.services import statements
    from enforcement.services.base import measure_event

    with transaction.atomic():
        measure = (
            # The measure's row only (violation__type is an outer join PostgreSQL cannot lock).
            Measure.objects.select_for_update(of=("self",))
            .select_related("party", "violation__type")
            .filter(pk=measure_id)
            .first()
        )
        if measure is None or measure.statement_sent_at is not None:
            return "already sent"
        if measure.executed_at is None:
            return "not executed"
        texts = {
            language: statements.render(measure, language) for language in statements.LANGUAGES
        }
        email = _party_email(measure.party)
        if email:
            with translation.override("zh-hans"):
                subject = render_to_string(
                    "enforcement/email/statement.subject.txt", {"measure": measure}
                ).strip()
            send_mail(
                subject,
                texts["zh-hans"] + "\n\n----------\n\n" + texts["en"],
                settings.DEFAULT_FROM_EMAIL,
                [email],
            )
        measure.statement_sent_at = timezone.now()
        measure.save(update_fields=["statement_sent_at"])
        measure_event(
            measure,
            MeasureEvent.Kind.STATEMENT_SENT,
            Actor.system("enforcement.send_statement"),
            # The platform also has it, in the measure.executed webhook; the e-mail is the copy
            # the party keeps.
            email=bool(email),
            statement_url=statements.statement_url(measure),
        )
    return "sent" if email else "recorded (no e-mail address)"
