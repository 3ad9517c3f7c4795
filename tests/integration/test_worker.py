"""Tasks reach the real worker only after commit, and their effects land in PostgreSQL."""

import json

import pytest
from django.db import transaction
from rest_framework.test import APIClient

from accounts import services, webhooks
from accounts.models import WebhookDelivery
from tests.factories import TEST_ACTOR
from tests.integration.conftest import wait_for
from tests.receiver import LocalServer

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def receiver():
    r = LocalServer().start()
    yield r
    r.stop()


@pytest.fixture
def endpoint(receiver):
    endpoint, secret = services.webhook_endpoint_create(
        name="platform", url=receiver.url(), actor=TEST_ACTOR
    )
    return endpoint, secret


def executed_deliveries() -> int:
    from config.celery import app

    stats = app.control.inspect(timeout=2).stats() or {}
    return sum(node.get("total", {}).get("accounts.deliver_webhook", 0) for node in stats.values())


def test_task_queued_after_commit_in_a_web_request_runs_on_the_worker(
    celery_worker_process, endpoint, receiver
):
    _endpoint, secret = endpoint
    _key, raw = services.api_key_create(name="ci", scopes=["webhooks:manage"], actor=TEST_ACTOR)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")

    response = client.post("/api/v1/webhooks/ping/")
    assert response.status_code == 202
    event_id = response.json()["event_id"]

    # The worker process, not this one, delivered it and wrote the outcome to PostgreSQL.
    assert wait_for(
        lambda: WebhookDelivery.objects.filter(event_id=event_id, status="delivered").exists()
    ), "the worker did not deliver the webhook"
    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    assert request.headers["X-Event-Id"] == event_id
    assert webhooks.verify(secret, request.headers["X-Signature"], request.body)
    assert json.loads(request.body)["topic"] == "ping"


def test_task_queued_in_a_transaction_that_rolls_back_never_runs(
    celery_worker_process, endpoint, receiver
):
    before = executed_deliveries()

    class Abort(Exception):
        pass

    with pytest.raises(Abort), transaction.atomic():
        services.webhook_emit(topic="ping", data={"n": "rolled back"})
        raise Abort

    # A committed event sent afterwards goes through the same queue; once it is delivered, the
    # rolled-back one would have been handled before it had it ever been sent.
    with transaction.atomic():
        committed = services.webhook_emit(topic="ping", data={"n": "committed"})
    assert wait_for(
        lambda: WebhookDelivery.objects.filter(event_id=committed, status="delivered").exists()
    )
    assert wait_for(lambda: executed_deliveries() == before + 1, timeout=5)
    assert [json.loads(r.body)["data"]["n"] for r in receiver.requests] == ["committed"]
    assert WebhookDelivery.objects.count() == 1
