"""Thin tasks: e-mails about cases and their relay, escalation of overdue cases, the end of
mediation, closing."""

import logging
from smtplib import SMTPException

from celery import shared_task

logger = logging.getLogger(__name__)

# A mail server that is down or refuses for a while (connection errors are OSErrors) is not
# retried here: the notice stays unsent and the relay (every 5 minutes) queues it again. One
# mechanism, and a long outage costs one task per unsent notice per run instead of a growing pile
# of retries.
_MAIL_ERRORS = (SMTPException, OSError)


@shared_task(name="complaints.notify_consumer", time_limit=60, soft_time_limit=45)
def notify_consumer(event_id: int) -> str:
    from complaints.notifications import send_consumer_notice

    try:
        return send_consumer_notice(event_id)
    except _MAIL_ERRORS as exc:
        logger.warning(
            "notice %s not sent (%s); the relay will try again", event_id, type(exc).__name__
        )
        return "not sent"


@shared_task(name="complaints.notify_leads", time_limit=60, soft_time_limit=45)
def notify_leads(event_id: int) -> str:
    from complaints.notifications import send_lead_notice

    try:
        return send_lead_notice(event_id)
    except _MAIL_ERRORS as exc:
        logger.warning(
            "lead notice %s not sent (%s); the relay will try again", event_id, type(exc).__name__
        )
        return "not sent"


@shared_task(name="complaints.escalate_overdue", time_limit=600, soft_time_limit=540)
def escalate_overdue() -> int:
    """Daily and after each working morning: overdue cases go to the lead's queue with a notice."""
    from accounts.actors import Actor
    from complaints.services import escalate_overdue as escalate
    from complaints.services import refresh_deadlines

    # First the due dates, in case staff entered or corrected the holiday calendar.
    refresh_deadlines(actor=Actor.system("refresh_deadlines"))
    return escalate(actor=Actor.system("escalate_overdue"))


@shared_task(name="complaints.close_unconfirmed", time_limit=600, soft_time_limit=540)
def close_unconfirmed() -> int:
    """Daily: decided cases past the confirmation period close."""
    from accounts.actors import Actor
    from complaints.services import close_unconfirmed as close

    return close(actor=Actor.system("close_unconfirmed"))


@shared_task(name="complaints.end_expired_mediations", time_limit=600, soft_time_limit=540)
def end_expired_mediations() -> int:
    """Daily: complaints with no agreement 45 working days after acceptance are decided as
    referred to 12315, and both sides told (SAMR complaint rules Art. 21)."""
    from accounts.actors import Actor
    from complaints.services import end_expired_mediations as end

    return end(actor=Actor.system("end_expired_mediations"))


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


@shared_task(name="complaints.ask_unasked_orders", time_limit=300, soft_time_limit=270)
def ask_unasked_orders() -> int:
    """Every 15 minutes: web evaluations made while no webhook endpoint took
    `evaluation.order_check` are asked about once one does (they count only once answered)."""
    from complaints.services import ask_unasked_orders as ask

    return ask()
