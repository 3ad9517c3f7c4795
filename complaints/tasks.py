"""Thin tasks: e-mails about cases and their relay, escalation of overdue cases, closing."""

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
    from complaints.services import refresh_estimated_deadlines

    # First the due dates estimated past the holiday calendar, in case a new year was entered.
    refresh_estimated_deadlines()
    return escalate(actor=Actor.system("escalate_overdue"))


@shared_task(name="complaints.close_unconfirmed", time_limit=600, soft_time_limit=540)
def close_unconfirmed() -> int:
    """Daily: decided cases past the confirmation period close."""
    from accounts.actors import Actor
    from complaints.services import close_unconfirmed as close

    return close(actor=Actor.system("close_unconfirmed"))


@shared_task(name="complaints.relay_notices", time_limit=120, soft_time_limit=100)
def relay_notices() -> int:
    """Every few minutes: queue again the notices whose message was lost."""
    from complaints.services import unsent_notices

    consumers, leads = unsent_notices()
    for pk in consumers:
        notify_consumer.delay(pk)
    for pk in leads:
        notify_leads.delay(pk)
    return len(consumers) + len(leads)
