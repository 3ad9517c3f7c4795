"""Thin tasks: take ids, re-check state, call the code that does the work."""

from celery import shared_task
from django.utils import timezone

from accounts import webhooks
from accounts.models import WebhookDelivery

# How many due deliveries the relay re-queues per run; the next run takes the rest.
RELAY_BATCH = 500


@shared_task(name="accounts.deliver_webhook", time_limit=60, soft_time_limit=45)
def deliver_webhook(delivery_id: int) -> str:
    outcome = webhooks.attempt(delivery_id)
    if outcome == "retry":
        delivery = WebhookDelivery.objects.only("next_attempt_at").get(pk=delivery_id)
        deliver_webhook.apply_async((delivery_id,), eta=delivery.next_attempt_at)
    return outcome


@shared_task(name="accounts.relay_webhooks", time_limit=120, soft_time_limit=100)
def relay_webhooks() -> int:
    """Re-queue due deliveries whose message was lost (broker restart, worker killed)."""
    due = list(
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=timezone.now()
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:RELAY_BATCH]
    )
    for pk in due:
        deliver_webhook.delay(pk)
    return len(due)


@shared_task(name="accounts.reverification_sweep", time_limit=600, soft_time_limit=540)
def reverification_sweep() -> int:
    """Daily: files whose 6-month re-verification has fallen due (LCM Art. 8) are marked and
    the platform is told; a batch at a time, the next run takes the rest."""
    from accounts.actors import Actor
    from accounts.registration import reverification_sweep as sweep

    return sweep(actor=Actor.system("reverification_sweep"))
