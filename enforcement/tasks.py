"""The enforcement app's Celery tasks. Every task re-checks state, so a message delivered twice or
re-delivered after a worker was killed does nothing the second time (DESIGN: nothing lost,
nothing twice)."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.db import InterfaceError, OperationalError
from django.utils import timezone

logger = logging.getLogger(__name__)

# A deduction or refund whose message was lost is re-queued after this long.
MONEY_RELAY_AFTER = timedelta(minutes=2)


@shared_task(name="enforcement.execute_deduction", acks_late=True)
def execute_deduction(measure_id: int) -> str:
    from enforcement.services import deduction_carry_out

    return deduction_carry_out(measure_id)


@shared_task(name="enforcement.execute_refund", acks_late=True)
def execute_refund(measure_id: int) -> str:
    from enforcement.services import refund_carry_out

    return refund_carry_out(measure_id)


@shared_task(name="enforcement.relay_money")
def relay_money() -> int:
    """Deductions still executing and reversed deductions not yet refunded, whose message was
    lost (a Redis restart before it was written, a purge): queue them again. A deduction that
    has been executing for too long is not lost but failing: it is marked failed for the leads
    (ENFORCEMENT_DEDUCTION_GIVE_UP_MINUTES) instead of being queued for ever."""
    from django.db.models import Q

    from enforcement.models import LedgerEntry, Measure, MeasureKind, MeasureStatus
    from enforcement.services import give_up_stuck_deductions

    give_up_stuck_deductions()
    before = timezone.now() - MONEY_RELAY_AFTER
    executing = list(
        Measure.objects.filter(
            kind=MeasureKind.DEPOSIT_DEDUCTION,
            status=MeasureStatus.EXECUTING,
            starts_at__lte=before,
        ).values_list("pk", flat=True)[:1000]
    )
    refunded = LedgerEntry.objects.filter(kind="refund", measure__isnull=False).values("measure_id")
    # Reversed deductions that took money or recorded a shortfall: the refund does either.
    unrefunded = list(
        Measure.objects.filter(
            Q(ledger_entries__amount_fen__lt=0) | Q(ledger_entries__shortfall_fen__gt=0),
            kind=MeasureKind.DEPOSIT_DEDUCTION,
            status=MeasureStatus.REVERSED,
            lifted_at__lte=before,
            ledger_entries__kind="deduction",
        )
        .exclude(pk__in=refunded)
        .values_list("pk", flat=True)[:1000]
    )
    for pk in executing:
        execute_deduction.delay(pk)
    for pk in unrefunded:
        execute_refund.delay(pk)
    return len(executing) + len(unrefunded)


@shared_task(name="enforcement.deliver_referral")
def deliver_referral(referral_id: int) -> str:
    from enforcement.services import referrals

    outcome = referrals.attempt(referral_id)
    if outcome == "retry":
        from enforcement.models import Referral

        due = Referral.objects.filter(pk=referral_id).values_list("next_attempt_at", flat=True)
        if due:
            wait = max((due[0] - timezone.now()).total_seconds(), 0)
            deliver_referral.apply_async((referral_id,), countdown=wait)
    return outcome


@shared_task(name="enforcement.relay_referrals")
def relay_referrals() -> int:
    from enforcement.services import referrals

    ids = referrals.due()
    for pk in ids:
        deliver_referral.delay(pk)
    return len(ids)


@shared_task(name="enforcement.send_statement")
def send_statement(measure_id: int) -> str:
    from enforcement import notifications

    return notifications.send_statement(measure_id)


# A notification's task that dies on its database connection (a failover, a terminated backend)
# is retried here at once; the relay is the backstop for one whose message was lost.
@shared_task(
    name="enforcement.notify",
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=2,
    retry_backoff_max=300,
    max_retries=10,
)
def notify(notification_id: int) -> str:
    from enforcement import notifications

    return notifications.send(notification_id)


@shared_task(name="enforcement.relay_notifications")
def relay_notifications() -> int:
    """Notifications still unhandled a while after they became due (their message was lost, or
    the mail server refused them): queue them again."""
    from enforcement import notifications

    ids = notifications.unhandled()
    for pk in ids:
        notify.delay(pk)
    return len(ids)


@shared_task(name="enforcement.relay_statements")
def relay_statements() -> int:
    """Statements not sent a while after execution (their message was lost)."""
    from enforcement.models import Measure

    ids = list(
        Measure.objects.filter(
            executed_at__lte=timezone.now() - timedelta(minutes=5),
            statement_sent_at__isnull=True,
        ).values_list("pk", flat=True)[:500]
    )
    for pk in ids:
        send_statement.delay(pk)
    return len(ids)


@shared_task(name="enforcement.lift_expired")
def lift_expired() -> int:
    from enforcement.services import lift_expired as lift

    return lift()


@shared_task(name="enforcement.escalate_notices")
def escalate_notices() -> int:
    from enforcement.services import escalate_overdue_notices

    return escalate_overdue_notices()


@shared_task(name="enforcement.reconcile_ledger")
def reconcile_ledger() -> int:
    from enforcement import notifications
    from enforcement.services import reconcile

    run = reconcile()
    if run.mismatches:
        logger.error(
            "deposit ledger reconciliation found %s account(s) whose balance differs from "
            "their entries (run %s)",
            len(run.mismatches),
            run.pk,
        )
        notifications.reconciliation_failed(run.pk)
    return len(run.mismatches)
