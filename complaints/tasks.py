"""Thin tasks: e-mails about cases, and the daily escalation of overdue ones."""

from smtplib import SMTPException

from celery import shared_task

# A mail server that is down or refuses for a while (connection errors are OSErrors): try again
# with backoff. Safe, because the Notification row is only written once the mail has gone.
_MAIL_RETRY = dict(
    autoretry_for=(SMTPException, OSError),
    retry_backoff=30,
    retry_backoff_max=3600,
    retry_jitter=True,
    max_retries=10,
)


@shared_task(name="complaints.notify_consumer", time_limit=60, soft_time_limit=45, **_MAIL_RETRY)
def notify_consumer(event_id: int) -> str:
    from complaints.notifications import send_consumer_notice

    return send_consumer_notice(event_id)


@shared_task(name="complaints.notify_leads", time_limit=60, soft_time_limit=45, **_MAIL_RETRY)
def notify_leads(event_id: int) -> str:
    from complaints.notifications import send_lead_notice

    return send_lead_notice(event_id)


@shared_task(name="complaints.escalate_overdue", time_limit=600, soft_time_limit=540)
def escalate_overdue() -> int:
    """Daily and after each working morning: overdue cases go to the lead's queue with a notice."""
    from accounts.actors import Actor
    from complaints.services import escalate_overdue as escalate

    return escalate(actor=Actor.system("escalate_overdue"))
