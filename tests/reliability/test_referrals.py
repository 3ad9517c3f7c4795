"""Referral dossiers delivered by the real `notify` worker to an authority's endpoint that fails
half the time, goes away for a while, and answers 2xx to a worker that was killed before it could
read the answer: every referral is delivered, each under one idempotency key that the authority
accepts once."""

import hashlib
import random
import time
from collections import Counter, defaultdict
from http.server import BaseHTTPRequestHandler

import pytest

from accounts.models import PartyKind
from accounts.webhooks import verify
from enforcement import tasks
from enforcement.models import Authority, Referral, ReferralStatus
from enforcement.services.referrals import verify_dossier
from tests.factories import register_party
from tests.reliability.conftest import LoopbackServer, until

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

MEASURES = 50
SECRET = "s" * 40  # both authorities' shared secret
OUTAGE_SECONDS = 3


class FlakyAuthority(LoopbackServer):
    """An authority's endpoint as the platform meets it at its worst.

    It answers 500 to a random half of all requests, and can stop listening and come back on the
    same port. Like any receiver of at-least-once deliveries it de-duplicates by Idempotency-Key:
    the first 2xx for a key is its *acceptance*; a later request with that key is answered 200 and
    counted as a duplicate, never accepted again. `hold_next_acceptance()` makes the next
    acceptance wait before answering, so that a test can kill the sender in that moment.
    """

    def __init__(self, seed: int) -> None:
        super().__init__()
        self._random = random.Random(seed)
        self.requests = 0
        self.refusals = 0  # answered 500
        self.accepted: dict[str, bytes] = {}  # key -> the dossier accepted
        self.acceptances: list[str] = []  # keys, in the order accepted
        self.duplicates: Counter = Counter()
        self.digests: dict[str, set[str]] = defaultdict(set)  # every body seen per key
        self.bad_signatures = 0
        self.held_key: str | None = None

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/referrals"

    def _decide(self, key: str, body: bytes, signature: str) -> tuple[int, bool]:
        """The status to answer, and whether to hold the answer."""
        with self._lock:
            self.requests += 1
            self.digests[key].add(hashlib.sha256(body).hexdigest())
            if not verify(SECRET, signature, body):
                self.bad_signatures += 1
                return 401, False
            if self._random.random() < 0.5:
                self.refusals += 1
                return 500, False
            if key in self.accepted:
                self.duplicates[key] += 1
                return 200, False
            self.accepted[key] = body
            self.acceptances.append(key)
            hold = self._hold.is_set()
            if hold:
                self._hold.clear()
                self.held_key = key
            return 200, hold

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        authority = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status, hold = authority._decide(
                    self.headers.get("Idempotency-Key", ""),
                    body,
                    self.headers.get("X-Signature", ""),
                )
                if hold:
                    # Recorded; the answer waits until the test has killed the sender.
                    authority.holding.set()
                    authority.release.wait(timeout=30)
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the sender is gone: it never learns that we accepted

            def log_message(self, *args) -> None:
                pass

        return Handler


@pytest.fixture
def authority_endpoint():
    endpoint = FlakyAuthority(seed=20260201).start()
    yield endpoint
    endpoint.release.set()
    endpoint.stop()


def test_referrals_reach_a_flaky_authority_once_each_by_idempotency_key(
    broker, worker_for, staff, authority_endpoint, figures
):
    endpoint = authority_endpoint
    authorities = [
        Authority.objects.create(
            name=name,
            kind="market_regulator",
            level=level,
            endpoint_url=endpoint.url(),
            shared_secret=SECRET,
        )
        for name, level in (
            ("滨江区市场监督管理局", "county"),
            ("浙江省市场监督管理局", "provincial"),
        )
    ]
    # Fast retries: a lease of 6 s instead of 180 s, half a second between attempts, and no
    # giving up -- the test drives the relay instead of waiting for backoff.
    worker = worker_for(
        REFERRAL_TIMEOUT_SECONDS="3",
        REFERRAL_MAX_ATTEMPTS="1000",
        RELIABILITY_REFERRAL_LEASE_SECONDS="6",
        RELIABILITY_BACKOFF_SECONDS="0.5",
    )

    # Referrals approved while no worker runs: their messages wait in the broker.
    for n in range(MEASURES):
        staff.measure(
            register_party(PartyKind.MERCHANT, name=f"移送测试{n}"),
            "prohibited_goods",
            kind="refer_authority",
            authorities=authorities,
        )
    referrals = list(Referral.objects.all())
    assert len(referrals) == MEASURES * len(authorities)
    started = time.monotonic()

    # 1. The authority accepts a dossier, and the worker is killed before it reads the 200.
    endpoint.hold_next_acceptance()
    worker.start()
    until(endpoint.holding.is_set, timeout=60, what="an acceptance to hold")
    worker.kill()
    endpoint.release.set()
    held = Referral.objects.get(idempotency_key=endpoint.held_key)
    assert held.status == ReferralStatus.PENDING, "the platform never learnt of the acceptance"

    # 2. The authority goes away; a new worker's attempts are refused, and retried.
    endpoint.stop()
    away = time.monotonic()
    worker.start()
    until(
        lambda: Referral.objects.filter(last_error__contains="Connection refused").exists(),
        timeout=60,
        what="an attempt refused while the authority is away",
    )
    time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - away)))
    refused_while_away = Referral.objects.filter(last_error__contains="Connection refused").count()
    endpoint.start()

    # 3. The relay (beat runs it every minute) queues whatever is due, until all is delivered.
    relays = 0

    def delivered() -> bool:
        nonlocal relays
        if not Referral.objects.exclude(status=ReferralStatus.DELIVERED).exists():
            return True
        tasks.relay_referrals()
        relays += 1
        return False

    until(delivered, timeout=180, interval=1.0, what="every referral delivered")
    elapsed = time.monotonic() - started

    keys = {str(r.idempotency_key) for r in referrals}
    # Every referral accepted, each under its own key, once; no key the platform did not make.
    assert sorted(endpoint.acceptances) == sorted(keys)
    assert endpoint.bad_signatures == 0
    # The killed worker's referral was sent again under the same key, and not accepted twice.
    assert endpoint.duplicates[str(held.idempotency_key)] >= 1
    held.refresh_from_db()
    assert held.status == ReferralStatus.DELIVERED and held.attempts >= 2
    # Every attempt at a referral carried the same dossier: the one whose digest it recorded,
    # signed with the authority's secret.
    for referral in Referral.objects.all():
        key = str(referral.idempotency_key)
        assert endpoint.digests[key] == {referral.dossier_sha256}
        assert verify_dossier(endpoint.accepted[key], SECRET)
    assert endpoint.refusals > 0 and refused_while_away > 0

    attempts = sum(Referral.objects.values_list("attempts", flat=True))
    figures.update(
        {
            "referrals (measures × authorities)": f"{len(referrals)} ({MEASURES} × 2)",
            "requests received / answered 500": f"{endpoint.requests} / {endpoint.refusals}",
            "attempts recorded by the platform": attempts,
            "duplicates answered 200 without a second acceptance": sum(
                endpoint.duplicates.values()
            ),
            "referrals refused while the authority was away": refused_while_away,
            "worker SIGKILLs with an acceptance unanswered": worker.kills,
            "relay runs": relays,
            "seconds from the first worker to the last delivery": round(elapsed, 1),
        }
    )
