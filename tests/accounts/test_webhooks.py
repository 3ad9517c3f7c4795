"""The webhook outbox: signing, delivery after commit, topic filtering, retries, leases, requeue
and the relay, against a real HTTP server on loopback."""

from __future__ import annotations

import json
import socket
import threading
import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from accounts import services, tasks, webhooks
from accounts.models import WebhookDelivery
from config.errors import Conflict
from tests.factories import TEST_ACTOR
from tests.receiver import LocalServer

SECRET = "whsec-test-0123456789abcdef"
BODY = b'{"id":"e1","topic":"ping","data":{}}'


@pytest.fixture
def server():
    local = LocalServer().start()
    yield local
    local.stop()


@pytest.fixture
def endpoint(server):
    """The platform's receiver, subscribed to every topic: (endpoint, secret)."""
    return services.webhook_endpoint_create(name="platform", url=server.url(), actor=TEST_ACTOR)


def emit_ping(data=None) -> WebhookDelivery:
    """Emit one event in a test without real commits: the row exists, nothing has been sent."""
    event_id = services.webhook_emit(topic="ping", data=data or {"hello": "world"})
    return WebhookDelivery.objects.get(event_id=event_id)


def make_due(delivery: WebhookDelivery) -> None:
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


# --- signature -----------------------------------------------------------------------------------


def test_signature_from_sign_is_accepted_by_verify():
    now = int(time.time())
    header = webhooks.sign(SECRET, now, BODY)
    assert header.startswith(f"t={now},v1=")
    assert webhooks.verify(SECRET, header, BODY)


def test_verify_rejects_a_tampered_body():
    header = webhooks.sign(SECRET, int(time.time()), BODY)
    assert not webhooks.verify(SECRET, header, BODY.replace(b"ping", b"pong"))


def test_verify_rejects_a_signature_made_with_another_secret():
    header = webhooks.sign("someone-elses-secret", int(time.time()), BODY)
    assert not webhooks.verify(SECRET, header, BODY)


def test_verify_rejects_a_timestamp_beyond_the_tolerance():
    signed_at = 1_700_000_000
    header = webhooks.sign(SECRET, signed_at, BODY)
    assert webhooks.verify(SECRET, header, BODY, tolerance=300, now=signed_at + 300)
    assert not webhooks.verify(SECRET, header, BODY, tolerance=300, now=signed_at + 301)
    # A timestamp from the future is as suspect as one from the past.
    assert not webhooks.verify(SECRET, header, BODY, tolerance=300, now=signed_at - 301)


def test_verify_rejects_a_replayed_request_signed_long_ago():
    header = webhooks.sign(SECRET, int(time.time()) - 3600, BODY)
    assert not webhooks.verify(SECRET, header, BODY)


@pytest.mark.parametrize(
    "header",
    [
        "",
        "garbage",
        "v1=abcdef",  # no timestamp
        "t=1700000000",  # no signature
        "t=yesterday,v1=abcdef",
        "t=1700000000;v1=abcdef",
    ],
)
def test_verify_rejects_a_malformed_header(header):
    assert webhooks.verify(SECRET, header, BODY, now=1_700_000_000) is False


def test_verify_rejects_a_right_timestamp_with_a_wrong_digest():
    now = int(time.time())
    assert not webhooks.verify(SECRET, f"t={now},v1={'0' * 64}", BODY)


# --- delivery after commit -----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_committed_event_is_delivered_once_signed_and_marked_delivered(server, endpoint):
    _endpoint, secret = endpoint

    with transaction.atomic():
        event_id = services.webhook_emit(topic="ping", data={"party": 7, "name": "测试"})
        # Queued for after commit, not before.
        assert server.requests == []

    assert len(server.requests) == 1
    request = server.requests[0]
    assert request.method == "POST"
    assert request.path == "/hooks"
    assert request.headers["X-Event-Id"] == str(event_id)
    assert request.headers["X-Event-Topic"] == "ping"
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    assert webhooks.verify(secret, request.headers["X-Signature"], request.body)

    envelope = json.loads(request.body)
    assert envelope["id"] == str(event_id)
    assert envelope["topic"] == "ping"
    assert envelope["data"] == {"party": 7, "name": "测试"}

    delivery = WebhookDelivery.objects.get(event_id=event_id)
    assert delivery.status == WebhookDelivery.Status.DELIVERED
    assert delivery.delivered_at is not None
    assert delivery.attempts == 1
    assert delivery.last_status_code == 200


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_event_from_rolled_back_transaction_is_never_sent(server, endpoint):
    class Abort(Exception):
        pass

    with pytest.raises(Abort), transaction.atomic():
        services.webhook_emit(topic="ping", data={"n": "rolled back"})
        raise Abort

    assert not WebhookDelivery.objects.exists()
    assert server.requests == []


# --- topics and inactive endpoints ---------------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_endpoint_with_topics_gets_only_its_topics(server):
    services.webhook_endpoint_create(
        name="approvals",
        url=server.url("/approvals"),
        topics=["party.approved"],
        actor=TEST_ACTOR,
    )

    services.webhook_emit(topic="ping", data={})
    assert not WebhookDelivery.objects.exists()
    assert server.requests == []

    services.webhook_emit(topic="party.approved", data={"party": 1})
    assert server.paths() == ["/approvals"]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_endpoint_without_topics_gets_every_topic(server):
    services.webhook_endpoint_create(
        name="everything", url=server.url("/all"), topics=[], actor=TEST_ACTOR
    )

    for topic in ("ping", "party.approved", "live.terminate"):
        services.webhook_emit(topic=topic, data={})

    assert [r.headers["X-Event-Topic"] for r in server.requests] == [
        "ping",
        "party.approved",
        "live.terminate",
    ]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_inactive_endpoint_gets_nothing(server):
    inactive, _secret = services.webhook_endpoint_create(
        name="retired", url=server.url("/retired"), actor=TEST_ACTOR
    )
    inactive.is_active = False
    inactive.save()
    services.webhook_endpoint_create(name="live", url=server.url("/live"), actor=TEST_ACTOR)

    services.webhook_emit(topic="ping", data={})

    assert server.paths() == ["/live"]
    assert not WebhookDelivery.objects.filter(endpoint=inactive).exists()


# --- failures and retries ------------------------------------------------------------------------


@pytest.mark.django_db
def test_failing_endpoint_is_retried_later_with_backoff(server, endpoint):
    server.status = 500
    delivery = emit_ping()
    before = timezone.now()

    assert webhooks.attempt(delivery.pk) == "retry"

    delivery.refresh_from_db()
    assert len(server.requests) == 1
    assert delivery.status == WebhookDelivery.Status.PENDING
    assert delivery.attempts == 1
    assert delivery.last_status_code == 500
    assert delivery.last_error == "HTTP 500"
    assert delivery.next_attempt_at > before
    assert delivery.delivered_at is None


@pytest.mark.django_db
def test_delivery_fails_for_good_after_max_attempts(server, endpoint, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    server.status = 500
    delivery = emit_ping()

    assert webhooks.attempt(delivery.pk) == "retry"
    make_due(delivery)
    assert webhooks.attempt(delivery.pk) == "failed"

    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.attempts == 2
    assert delivery.last_status_code == 500
    assert len(server.requests) == 2

    # Failed is final: neither the worker nor the relay sends it again.
    make_due(delivery)
    assert webhooks.attempt(delivery.pk) == "not_due"
    assert tasks.relay_webhooks() == 0
    assert len(server.requests) == 2


@pytest.mark.django_db
def test_retry_that_is_not_due_yet_returns_not_due_and_sends_nothing(server, endpoint):
    server.status = 500
    delivery = emit_ping()
    assert webhooks.attempt(delivery.pk) == "retry"

    assert webhooks.attempt(delivery.pk) == "not_due"

    delivery.refresh_from_db()
    assert len(server.requests) == 1
    assert delivery.attempts == 1


@pytest.mark.django_db
def test_second_attempt_while_the_first_holds_the_lease_sends_nothing(
    server, endpoint, monkeypatch
):
    delivery = emit_ping()
    inner_outcomes = []
    real_render_body = webhooks.render_body

    # render_body runs after the claim and before the request: a second worker arriving there
    # sees the delivery mid-flight.
    def render_body_with_a_competing_attempt(claimed):
        inner_outcomes.append(webhooks.attempt(claimed.pk))
        return real_render_body(claimed)

    monkeypatch.setattr(webhooks, "render_body", render_body_with_a_competing_attempt)

    assert webhooks.attempt(delivery.pk) == "delivered"

    assert inner_outcomes == ["not_due"]
    assert len(server.requests) == 1
    delivery.refresh_from_db()
    assert delivery.attempts == 1


@pytest.mark.django_db
def test_delivered_delivery_is_never_sent_again(server, endpoint):
    delivery = emit_ping()
    assert webhooks.attempt(delivery.pk) == "delivered"

    make_due(delivery)
    assert webhooks.attempt(delivery.pk) == "not_due"
    assert tasks.relay_webhooks() == 0

    assert len(server.requests) == 1
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.DELIVERED
    assert delivery.attempts == 1


@pytest.mark.django_db
def test_unreachable_endpoint_is_retried_with_the_error_recorded():
    # Bound but not listening: a connection to it is refused, and no other test can take the port.
    with socket.socket() as reserved:
        reserved.bind(("127.0.0.1", 0))
        port = reserved.getsockname()[1]
        services.webhook_endpoint_create(
            name="down", url=f"http://127.0.0.1:{port}/hooks", actor=TEST_ACTOR
        )
        delivery = emit_ping()

        assert webhooks.attempt(delivery.pk) == "retry"

    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.PENDING
    assert delivery.attempts == 1
    assert delivery.last_status_code is None
    assert "refused" in delivery.last_error.lower()


@pytest.mark.django_db
def test_redirect_is_a_failure_and_is_not_followed(server, endpoint):
    server.status = 302
    server.location = server.url("/elsewhere")
    delivery = emit_ping()

    assert webhooks.attempt(delivery.pk) == "retry"

    assert [(r.method, r.path) for r in server.requests] == [("POST", "/hooks")]
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.PENDING
    assert delivery.last_status_code == 302
    assert delivery.last_error == "HTTP 302"


# --- requeue -------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "status", [WebhookDelivery.Status.PENDING, WebhookDelivery.Status.DELIVERED]
)
def test_only_a_failed_delivery_can_be_requeued(endpoint, status):
    delivery = emit_ping()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status=status, attempts=3)
    delivery.refresh_from_db()

    with pytest.raises(Conflict):
        services.webhook_delivery_requeue(delivery=delivery, actor=TEST_ACTOR)

    delivery.refresh_from_db()
    assert delivery.status == status
    assert delivery.attempts == 3


@pytest.mark.django_db
def test_requeued_delivery_is_pending_again_and_sent_after_commit(
    server, endpoint, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    server.status = 500
    delivery = emit_ping()
    assert webhooks.attempt(delivery.pk) == "failed"

    server.status = 200  # the receiver is back
    with django_capture_on_commit_callbacks() as callbacks:
        services.webhook_delivery_requeue(delivery=delivery, actor=TEST_ACTOR)

    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.PENDING
    assert delivery.attempts == 0
    assert delivery.next_attempt_at <= timezone.now()
    assert len(server.requests) == 1  # nothing sent before the commit

    assert len(callbacks) == 1
    callbacks[0]()

    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.DELIVERED
    assert delivery.attempts == 1
    assert len(server.requests) == 2


# --- relay ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_relay_sends_due_pending_deliveries_and_leaves_later_ones(server, endpoint):
    # The worker's messages were lost: the rows exist (no commit ran the on_commit hooks here).
    due = [emit_ping({"n": 1}), emit_ping({"n": 2})]
    later = emit_ping({"n": 3})
    WebhookDelivery.objects.filter(pk=later.pk).update(
        next_attempt_at=timezone.now() + timedelta(minutes=5)
    )

    # Called in-process: queuing the relay itself through Celery (`.delay()`) currently raises,
    # its soft time limit inherited from settings exceeds its own hard limit.
    assert tasks.relay_webhooks() == 2

    assert sorted(json.loads(r.body)["data"]["n"] for r in server.requests) == [1, 2]
    for delivery in due:
        delivery.refresh_from_db()
        assert delivery.status == WebhookDelivery.Status.DELIVERED
    later.refresh_from_db()
    assert later.status == WebhookDelivery.Status.PENDING
    assert later.attempts == 0

    # Nothing is due any more.
    assert tasks.relay_webhooks() == 0
    assert len(server.requests) == 2


def test_verify_returns_false_for_a_non_ascii_signature():
    header = f"t={int(time.time())},v1=é"
    assert webhooks.verify(SECRET, header, BODY) is False


@pytest.mark.django_db
def test_a_reply_that_is_not_http_is_a_recorded_failure(endpoint):
    """A receiver that answers garbage is a failure like any other: recorded and retried."""
    _endpoint, _secret = endpoint
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]

        def answer_garbage():
            conn, _ = listener.accept()
            with conn:
                conn.recv(65536)
                conn.sendall(b"garbage\r\n\r\n")

        thread = threading.Thread(target=answer_garbage, daemon=True)
        thread.start()
        from accounts.models import WebhookEndpoint

        WebhookEndpoint.objects.update(url=f"http://127.0.0.1:{port}/hooks")
        with transaction.atomic():
            services.webhook_emit(topic="ping", data={})
        delivery = WebhookDelivery.objects.get()
        outcome = webhooks.attempt(delivery.pk)
        thread.join(timeout=5)
    delivery.refresh_from_db()
    assert outcome == "retry"
    assert delivery.status == "pending"
    assert "BadStatusLine" in delivery.last_error


@pytest.mark.django_db
def test_attempts_that_died_without_an_outcome_still_end_the_delivery(endpoint, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    with transaction.atomic():
        services.webhook_emit(topic="ping", data={})
    # Three claims whose workers were killed before recording anything.
    WebhookDelivery.objects.update(attempts=3, next_attempt_at=timezone.now())
    delivery = WebhookDelivery.objects.get()
    assert webhooks.attempt(delivery.pk) == "failed"
    delivery.refresh_from_db()
    assert delivery.status == "failed"


def test_every_task_can_be_queued_with_its_time_limits():
    """Celery refuses to queue a task whose soft limit exceeds its hard limit -- and beat only
    logs the refusal, so a misconfigured periodic task would silently never run."""
    from django.conf import settings as django_settings

    from config.celery import app

    # What a worker and beat do at start: import every app's tasks module.
    app.loader.import_default_modules()
    ours = {name: task for name, task in app.tasks.items() if not name.startswith("celery.")}
    assert ours, "no tasks registered"
    for name, task in ours.items():
        hard = task.time_limit or django_settings.CELERY_TASK_TIME_LIMIT
        soft = task.soft_time_limit or django_settings.CELERY_TASK_SOFT_TIME_LIMIT
        assert soft <= hard, f"{name}: soft limit {soft}s exceeds hard limit {hard}s"
    for entry in app.conf.beat_schedule.values():
        assert entry["task"] in ours
