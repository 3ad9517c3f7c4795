"""Webhooks to the platform through the real `notify` worker: the receiver fails part of the
time, goes away for a while, and accepts an event from a worker that is killed before it reads
the answer; every message is published twice. Every event is delivered, the receiver can
de-duplicate every repeat by the event id, and no delivery is marked delivered that the receiver
had not accepted."""

import time

import pytest
from django.db import transaction

from accounts import services, tasks
from accounts.models import WebhookDelivery, WebhookEndpoint
from tests.reliability.conftest import WebhookReceiver, until

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

EVENTS = 200
SECRET = "w" * 40
OUTAGE_SECONDS = 3


@pytest.fixture
def receiver():
    endpoint = WebhookReceiver(SECRET, failure_rate=0.3, seed=20260301).start()
    yield endpoint
    endpoint.release.set()
    endpoint.stop()


def test_webhooks_reach_a_flaky_receiver_once_each_by_event_id(
    broker, worker_for, receiver, figures
):
    WebhookEndpoint.objects.create(name="platform", url=receiver.url(), secret=SECRET)
    # Fast retries: a lease of 6 s instead of 120 s, half a second between attempts, and no
    # giving up -- the test drives the relay instead of waiting for backoff.
    worker = worker_for(
        WEBHOOK_TIMEOUT_SECONDS="3",
        WEBHOOK_MAX_ATTEMPTS="1000",
        RELIABILITY_WEBHOOK_LEASE_SECONDS="6",
        RELIABILITY_WEBHOOK_BACKOFF_SECONDS="0.5",
    )

    # Events recorded in the outbox with the changes they report, while no worker runs: their
    # messages wait in the broker, and each is published a second time.
    for n in range(EVENTS):
        with transaction.atomic():
            services.webhook_emit(
                topic="measure.executed", data={"measure_id": n, "note": "直播间限流"}
            )
    deliveries = list(WebhookDelivery.objects.values_list("pk", "event_id"))
    assert len(deliveries) == EVENTS
    for pk, _event in deliveries:
        tasks.deliver_webhook.delay(pk)
    published = 2 * EVENTS
    started = time.monotonic()
    violations: list[str] = []

    def check_marked() -> None:
        """Nothing is marked delivered that the receiver has not accepted. (Read the platform's
        side first: an acceptance always comes before its mark.)"""
        marked = {
            str(e)
            for e in WebhookDelivery.objects.filter(
                status=WebhookDelivery.Status.DELIVERED
            ).values_list("event_id", flat=True)
        }
        violations.extend(sorted(marked - set(receiver.accepted)))

    # 1. The receiver accepts an event, and the worker is killed before it reads the 200.
    receiver.hold_next_acceptance()
    worker.start()
    until(receiver.holding.is_set, timeout=60, what="an acceptance to hold")
    worker.kill()
    receiver.release.set()
    held = WebhookDelivery.objects.get(event_id=receiver.held_id)
    assert held.status == WebhookDelivery.Status.PENDING, "the platform never learnt of it"
    check_marked()

    # 2. The receiver goes away; a new worker's attempts are refused, and retried.
    receiver.stop()
    away = time.monotonic()
    worker.start()
    until(
        lambda: WebhookDelivery.objects.filter(last_error__contains="refused").exists(),
        timeout=60,
        what="an attempt refused while the receiver is away",
    )
    time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - away)))
    refused_while_away = WebhookDelivery.objects.filter(last_error__contains="refused").count()
    check_marked()
    receiver.start()

    # 3. The relay (beat: every minute) queues whatever is due, until everything is delivered.
    relays = []

    def delivered() -> bool:
        check_marked()
        if not WebhookDelivery.objects.exclude(status=WebhookDelivery.Status.DELIVERED).exists():
            return True
        relays.append(tasks.relay_webhooks())
        return False

    until(delivered, timeout=180, interval=1.0, what="every webhook delivered")
    elapsed = time.monotonic() - started
    published += sum(relays)

    assert violations == [], "marked delivered before the receiver accepted"
    events = {str(e) for _pk, e in deliveries}
    # Every event accepted once, under its own id; no id the platform did not make.
    assert sorted(receiver.acceptances) == sorted(events)
    assert receiver.bad_signatures == receiver.mismatched_ids == 0
    # Every delivery was marked after its acceptance, never before.
    for delivery in WebhookDelivery.objects.all():
        assert delivery.delivered_at.timestamp() >= receiver.accepted[str(delivery.event_id)]
        assert delivery.last_status_code == 200
    # The killed worker's event was sent again under the same id and answered as a duplicate.
    assert receiver.duplicates[receiver.held_id] >= 1
    held.refresh_from_db()
    assert held.status == WebhookDelivery.Status.DELIVERED and held.attempts >= 2
    # Every attempt at an event carried the same body, which is what was accepted.
    for delivery in WebhookDelivery.objects.all():
        event = str(delivery.event_id)
        assert len(receiver.digests[event]) == 1
        assert receiver.bodies[event]["data"] == delivery.payload
    assert receiver.refusals > 0 and refused_while_away > 0

    attempts = sum(WebhookDelivery.objects.values_list("attempts", flat=True))
    figures.update(
        {
            "events": EVENTS,
            "messages published (of which by the relay)": f"{published} ({sum(relays)})",
            "requests received / answered 500": f"{receiver.requests} / {receiver.refusals}",
            "attempts recorded by the platform": attempts,
            "duplicates answered 200 without a second acceptance": sum(
                receiver.duplicates.values()
            ),
            "deliveries refused while the receiver was away": refused_while_away,
            "worker SIGKILLs with an acceptance unanswered": worker.kills,
            "relay runs": len(relays),
            "seconds from the first worker to the last delivery": round(elapsed, 1),
        }
    )
