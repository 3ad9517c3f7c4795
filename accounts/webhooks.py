"""Signing and delivering webhooks to the platform.

Signature: `X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`, the scheme
most payment providers use; the receiver recomputes it, compares in constant time and refuses
old timestamps so that a captured request cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import random
import time
import urllib.error
import urllib.request
from datetime import timedelta

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import F
from django.utils import timezone

from accounts.models import WebhookDelivery

logger = logging.getLogger(__name__)

# How long one attempt holds its claim on a delivery: longer than the HTTP timeout, so that a
# worker killed mid-request leaves the delivery to the relay once the lease runs out.
LEASE_SECONDS = 120
MAX_BACKOFF_SECONDS = 60 * 60


def sign(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    digest = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(
    secret: str, header: str, body: bytes, *, tolerance: int = 300, now: int | None = None
) -> bool:
    """What a receiver does; used by our tests and offered to integrators in the README."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(fields["t"])
        given = fields["v1"]
    except (KeyError, ValueError):
        return False
    now = int(time.time()) if now is None else now
    if abs(now - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    # Bytes, because compare_digest raises on non-ASCII str and a hostile header may carry it.
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))


def backoff_seconds(attempts: int) -> int:
    """Exponential from 10 s, capped at an hour, with jitter so retries do not arrive in step."""
    base = min(10 * 2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS)
    return int(base * random.uniform(0.8, 1.2))  # noqa: S311 - jitter, not a secret


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirect would turn our POST into a GET somewhere else; treat it as a failure instead.
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def render_body(delivery: WebhookDelivery) -> bytes:
    envelope = {
        "id": str(delivery.event_id),
        "topic": delivery.topic,
        "created_at": delivery.created_at,
        "data": delivery.payload,
    }
    return json.dumps(envelope, cls=DjangoJSONEncoder, ensure_ascii=False).encode()


def attempt(delivery_id: int) -> str:
    """Make one attempt at a delivery; returns what happened. Safe to call twice at once.

    The claim is a compare-and-set on a due, pending row that pushes `next_attempt_at` forward by
    a lease: of two workers holding the same message, one claims and the other finds nothing.
    The HTTP request happens outside any transaction.
    """
    now = timezone.now()
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now
    ).update(next_attempt_at=now + timedelta(seconds=LEASE_SECONDS), attempts=F("attempts") + 1)
    if claimed != 1:
        return "not_due"
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    attempts = delivery.attempts
    if attempts > settings.WEBHOOK_MAX_ATTEMPTS:
        # Earlier attempts died without recording an outcome (worker killed, time limit hit):
        # the claim counted them, so the delivery still ends instead of retrying forever.
        WebhookDelivery.objects.filter(
            pk=delivery_id, status=WebhookDelivery.Status.PENDING
        ).update(
            status=WebhookDelivery.Status.FAILED,
            last_error=(delivery.last_error or "attempts did not finish")[:1000],
        )
        return "failed"

    body = render_body(delivery)
    request = urllib.request.Request(  # noqa: S310 - the URL is an admin-configured https/http endpoint
        delivery.endpoint.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "livecommerce-compliance-webhooks/1",
            "X-Event-Id": str(delivery.event_id),
            "X-Event-Topic": delivery.topic,
            "X-Signature": sign(delivery.endpoint.secret, int(time.time()), body),
        },
    )
    status_code: int | None = None
    try:
        with _opener.open(request, timeout=settings.WEBHOOK_TIMEOUT_SECONDS) as response:
            status_code = response.status
    except urllib.error.HTTPError as exc:
        status_code = exc.code
        error = f"HTTP {exc.code}"
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        # URLError for refused connections and DNS, HTTPException for replies that are not
        # HTTP, OSError for timeouts and resets: all of them are the receiver's failure.
        error = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
    else:
        error = ""

    if status_code is not None and 200 <= status_code < 300:
        WebhookDelivery.objects.filter(
            pk=delivery_id, status=WebhookDelivery.Status.PENDING
        ).update(
            status=WebhookDelivery.Status.DELIVERED,
            delivered_at=timezone.now(),
            last_status_code=status_code,
            last_error="",
        )
        return "delivered"

    gave_up = attempts >= settings.WEBHOOK_MAX_ATTEMPTS
    WebhookDelivery.objects.filter(pk=delivery_id, status=WebhookDelivery.Status.PENDING).update(
        status=WebhookDelivery.Status.FAILED if gave_up else WebhookDelivery.Status.PENDING,
        next_attempt_at=timezone.now() + timedelta(seconds=backoff_seconds(attempts)),
        last_status_code=status_code,
        last_error=error[:1000],
    )
    # The endpoint URL is configuration, not personal data; the payload is never logged.
    logger.warning(
        "webhook delivery %s to %s failed (attempt %s): %s",
        delivery_id,
        delivery.endpoint.name,
        attempts,
        error,
    )
    return "failed" if gave_up else "retry"
