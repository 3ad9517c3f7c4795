"""Faults for tests/reliability: a private Redis the test restarts, a Celery worker it kills with
SIGKILL, on the real PostgreSQL test database.

The machine's own Redis (REDIS_URL: the cache, and other work's broker) is never touched: each test
that needs a broker starts a `redis-server` of its own on a free port, without persistence, so that
restarting it loses what was queued -- exactly what the relays must recover. The worker runs in a
session of its own, so that SIGKILL takes its pool processes with it, as when a machine dies.

Skipped with the reason when a service is missing, like tests/integration -- except under CI=true,
where that is a failure.
"""

from __future__ import annotations

import email
import email.header
import email.message
import hashlib
import itertools
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict, deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection
from kombu.exceptions import OperationalError

from accounts.actors import Actor
from accounts.models import User
from accounts.webhooks import verify
from enforcement import services
from enforcement.models import Measure, Violation, ViolationType
from tests.factories import UserFactory
from tests.integration.conftest import IN_CI, ROOT, _problems

HERE = Path(__file__).parent
# Every worker's PostgreSQL connections carry this application_name (libpq reads PGAPPNAME), so
# that a test can find them in pg_stat_activity and terminate them.
WORKER_APPLICATION_NAME = "lcc-reliability-worker"
# What the tests measured, printed at the end of the run (docs/RELIABILITY.md quotes them).
FIGURES: dict[str, dict] = {}


def pytest_collection_modifyitems(config, items):
    # This hook sees the whole session's items; only ours need the services.
    items = [item for item in items if HERE in item.path.parents]
    if not items:
        return
    # The same services as tests/integration, reached through `make reliability`.
    problems = [p.replace("make integration", "make reliability") for p in _problems()]
    if shutil.which("redis-server") is None:
        problems.append("redis-server is not installed (the tests start a private one)")
    if not problems:
        return
    reason = "reliability services unavailable: " + "; ".join(problems)
    if IN_CI:
        raise pytest.UsageError(f"CI=true and {reason}. CI must never skip reliability tests.")
    marker = pytest.mark.skip(reason=reason)
    for item in items:
        item.add_marker(marker)


def pytest_terminal_summary(terminalreporter):
    if not FIGURES:
        return
    terminalreporter.section("reliability figures")
    for test, figures in FIGURES.items():
        terminalreporter.write_line(test)
        for name, value in figures.items():
            terminalreporter.write_line(f"    {name}: {value}")


@pytest.fixture
def figures(request) -> dict:
    """A test's measurements, shown in the run's summary."""
    return FIGURES.setdefault(request.node.name, {})


@dataclass
class Staff:
    """A reviewer who proposes and a lead who approves: severe measures need both (four eyes)."""

    reviewer: User
    lead: User

    def violation(self, party, code: str) -> Violation:
        reviewer = Actor.for_user(self.reviewer)
        violation = services.violation_raise(
            party=party, source="reviewer", facts="直播中引导消费者私下转账交易。", actor=reviewer
        )
        return services.violation_confirm(
            violation=violation,
            vtype=ViolationType.objects.get(code=code, status="published"),
            actor=reviewer,
        )

    def measure(self, party, code: str, **proposal) -> Measure:
        """Proposed by the reviewer and approved by the lead, which executes it."""
        measure = services.measure_propose(
            violation=self.violation(party, code),
            proposal=services.Proposal(reason="依据平台规则处置。", **proposal),
            actor=Actor.for_user(self.reviewer),
        )
        return services.measure_approve(measure=measure, actor=Actor.for_user(self.lead))


@pytest.fixture
def staff(transactional_db) -> Staff:
    return Staff(
        reviewer=UserFactory(roles=["compliance_reviewer"]),
        lead=UserFactory(roles=["compliance_lead"]),
    )


def until(predicate, *, timeout: float, what: str, interval: float = 0.1, state=None) -> None:
    """Wait for `predicate`; fail saying what never happened and, if `state` is given, what
    `state()` describes at that moment (counts, queues, the worker's last log lines): a wait
    that runs out in CI is otherwise lost with the clone."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            try:
                found = f"\n{state()}" if state else ""
            except Exception as error:  # the timeout is the failure to report, not this
                found = f"\n(what was found could not be read: {error!r})"
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}{found}")
        time.sleep(interval)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    """A private `redis-server` on one port, killed and started again on the same port."""

    def __init__(self, directory: Path) -> None:
        self.port = _free_port()
        self.directory = directory
        self.process: subprocess.Popen | None = None
        self.client = redis.Redis(port=self.port, socket_timeout=5)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                # No snapshot, no append-only file: a restart starts empty.
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
                "--logfile",
                str(self.directory / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        until(self._answers, timeout=10, what=f"redis-server on port {self.port}")
        return self

    def _answers(self) -> bool:
        try:
            return bool(self.client.ping())
        except redis.ConnectionError:
            return False

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)

    def restart(self) -> None:
        self.kill()
        self.start()

    def queued(self, queue: str) -> int:
        """Messages waiting in a Celery queue (kombu keeps each queue as a Redis list)."""
        return self.client.llen(queue)

    def unacknowledged(self) -> int:
        """Messages a worker took and has not acknowledged yet (kombu's `unacked` hash)."""
        return self.client.hlen("unacked")


@pytest.fixture
def broker(tmp_path):
    """A private Redis as the Celery broker of this process and of the worker the test starts."""
    from config.celery import app

    server = RedisServer(tmp_path).start()
    previous = app.conf.broker_url
    _publish_to(app, server.url)
    yield server
    _publish_to(app, previous)
    if server.process.poll() is None:
        server.kill()


def _publish_to(app, url: str) -> None:
    """Point this process's Celery app at another broker. The app keeps a pool of connections
    to the broker it first used; dropping it (what Celery itself does after a fork) makes the
    next message open a connection to `url`."""
    app.conf.broker_url = url
    app._after_fork()


class Worker:
    """`celery worker` on every queue, on the test database and the private broker."""

    _hostnames = itertools.count(1)

    def __init__(self, broker: RedisServer, var_dir: Path, log: Path, env: dict) -> None:
        database = settings.DATABASES["default"]
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "LCC_INTEGRATION": "1",
            "DATABASE_URL": (
                f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}"
                f"/{database['NAME']}"
            ),
            "CELERY_BROKER_URL": broker.url,
            "VAR_DIR": str(var_dir),
            # One line per task, with its outcome: the test counts them.
            "TASK_LOG_LEVEL": "INFO",
            "PGAPPNAME": WORKER_APPLICATION_NAME,
            **env,
        }
        self.log = log
        self.process: subprocess.Popen | None = None
        self.kills = 0
        self.crashes = 0

    def start(self, concurrency: int = 4) -> Worker:
        from config.celery import app

        hostname = f"reliability{next(self._hostnames)}@%h"
        with self.log.open("a") as log:
            log.write(f"\n===== start {hostname} =====\n")
            log.flush()
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.reliability.worker",
                    "worker",
                    "-Q",
                    "default,money,notify",
                    "--concurrency",
                    str(concurrency),
                    "--loglevel",
                    "INFO",
                    "--hostname",
                    hostname,
                ],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Its own process group: SIGKILL reaches the pool's children too.
                start_new_session=True,
            )
        name = hostname.replace("%h", socket.gethostname())

        def answers() -> bool:
            if self.process.poll() is not None:
                pytest.fail(f"the Celery worker exited; see {self.log}")
            try:
                return bool(app.control.ping(destination=[name], timeout=0.5))
            except (redis.ConnectionError, OperationalError):
                return False  # a pooled connection to a broker that restarted since: ask again

        until(answers, timeout=60, what=f"the Celery worker {name}")
        return self

    def kill(self) -> None:
        """SIGKILL, to the whole group: no warm shutdown, no acknowledgement, no clean-up."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.kills += 1

    def supervise(self) -> None:
        """Start the worker again if it exited on its own, as the process supervisor does in
        production. Celery's worker can exit on a broker restart: kombu 5.7 may raise
        AttributeError ("'NoneType' object has no attribute 'hostname'") while it closes the
        channel of the lost connection, which Celery reports as an unrecoverable error."""
        if self.process is not None and self.process.poll() is not None:
            self.crashes += 1
            self.start()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()

    def tail(self, lines: int = 60) -> str:
        """The last `lines` lines of the worker's log, over every start."""
        with self.log.open(errors="replace") as log:
            return "".join(deque(log, maxlen=lines))

    def task_lines(self, task: str, outcome: str) -> int:
        """How many runs of `task` ended with `outcome`, over every start, from the log."""
        marker = f": '{outcome}'"
        with self.log.open() as log:
            return sum(1 for line in log if f"Task {task}[" in line and marker in line)

    def task_errors(self, task: str, error: str) -> int:
        """How many runs of `task` raised `error` (an exception's class name), from the log."""
        with self.log.open() as log:
            marker = f"raised unexpected: {error}"
            return sum(1 for line in log if f"Task {task}[" in line and marker in line)

    def task_lines_containing(self, task: str, text: str) -> int:
        """How many log lines about `task` contain `text`."""
        with self.log.open() as log:
            return sum(1 for line in log if f"Task {task}[" in line and text in line)

    def backends(self) -> list[int]:
        """The PostgreSQL backends serving this worker's connections (their server pids)."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = %s"
                " AND datname = current_database()",
                [self.env["PGAPPNAME"]],
            )
            return [pid for (pid,) in cursor.fetchall()]

    def terminate_connections(self) -> int:
        """`pg_terminate_backend` every connection of the worker, as a database failover, an
        administrator or an idle-session killer would: the task using one gets an error on its
        next statement. Returns how many were terminated."""
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE application_name = %s AND datname = current_database()"
                " AND pid <> pg_backend_pid()",
                [self.env["PGAPPNAME"]],
            )
            return cursor.fetchone()[0]

    def blocked_on_locks(self) -> int:
        """How many of the worker's backends are waiting for a row lock."""
        with connection.cursor() as cursor:
            # Inside a transaction PostgreSQL answers from the statistics it read first; the
            # test asks from inside the transaction that holds the lock.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"
                " AND datname = current_database() AND wait_event_type = 'Lock'",
                [self.env["PGAPPNAME"]],
            )
            return cursor.fetchone()[0]


@pytest.fixture
def worker_for(broker, transactional_db, tmp_path, request):
    """Make a (not yet started) worker; it is stopped before the test database is flushed."""
    made: list[Worker] = []

    def make(**env: str) -> Worker:
        log = ROOT / "var" / f"reliability-worker-{request.node.name}.log"
        log.parent.mkdir(exist_ok=True)
        log.write_text("")
        worker = Worker(broker, tmp_path, log, env)
        made.append(worker)
        return worker

    yield make
    for worker in made:
        worker.stop()


class LoopbackServer:
    """An HTTP endpoint on loopback that a test can take away and bring back on the same port,
    and whose next acceptance it can hold unanswered (`hold_next_acceptance()`), so that the
    sender can be killed in that moment: the authority's and the platform's receivers. A
    subclass gives `_handler()`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.port = 0
        self._hold = threading.Event()
        self.holding = threading.Event()
        self.release = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def _handler(self) -> type:
        raise NotImplementedError

    def hold_next_acceptance(self) -> None:
        self._hold.set()

    def start(self):
        """Listen (again) on the same port."""
        self._httpd = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening: connections are refused until `start()`."""
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


class WebhookReceiver(LoopbackServer):
    """The platform's webhook endpoint, as a receiver of at-least-once deliveries must be.

    It checks `X-Signature`, and de-duplicates by the event id (`X-Event-Id`, also the body's
    `id`): the first 2xx for an id is its *acceptance*, recorded with the time it was made; a later
    request with that id is answered 200 and counted as a duplicate, never accepted again. It can
    answer 500 to a share of all requests (seeded), stop listening and come back on the same port,
    and hold its next acceptance unanswered (`hold_next_acceptance()`) so that a test can kill the
    sender in that moment.
    """

    def __init__(self, secret: str, *, failure_rate: float = 0.0, seed: int = 0) -> None:
        super().__init__()
        self.secret = secret
        self.failure_rate = failure_rate
        self._random = random.Random(seed)
        self.requests = 0
        self.refusals = 0  # answered 500
        self.bad_signatures = 0
        self.mismatched_ids = 0  # header and body naming different events
        self.accepted: dict[str, float] = {}  # event id -> when it was accepted (time.time())
        self.acceptances: list[str] = []  # event ids, in the order accepted
        self.bodies: dict[str, dict] = {}  # event id -> the envelope accepted
        self.duplicates: Counter = Counter()
        self.digests: dict[str, set[str]] = defaultdict(set)  # every body seen per event id
        self.held_id: str | None = None

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def _decide(self, event_id: str, body: bytes, signature: str) -> tuple[int, bool]:
        """The status to answer, and whether to hold the answer."""
        with self._lock:
            self.requests += 1
            self.digests[event_id].add(hashlib.sha256(body).hexdigest())
            if not verify(self.secret, signature, body):
                self.bad_signatures += 1
                return 401, False
            try:
                envelope = json.loads(body)
            except ValueError:
                return 400, False
            if envelope.get("id") != event_id:
                self.mismatched_ids += 1
                return 400, False
            if self.failure_rate and self._random.random() < self.failure_rate:
                self.refusals += 1
                return 500, False
            if event_id in self.accepted:
                self.duplicates[event_id] += 1
                return 200, False
            self.accepted[event_id] = time.time()
            self.acceptances.append(event_id)
            self.bodies[event_id] = envelope
            hold = self._hold.is_set()
            if hold:
                self._hold.clear()
                self.held_id = event_id
            return 200, hold

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status, hold = receiver._decide(
                    self.headers.get("X-Event-Id", ""), body, self.headers.get("X-Signature", "")
                )
                if hold:
                    # Accepted; the answer waits until the test has killed the sender.
                    receiver.holding.set()
                    receiver.release.wait(timeout=30)
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the sender is gone: it never learns that we accepted

            def log_message(self, *args) -> None:
                pass

        return Handler


def sent_mail(directory: Path) -> list[email.message.Message]:
    """Every e-mail the worker wrote with Django's file backend (RELIABILITY_MAIL_DIR): one file
    per connection, the messages in it separated by a line of 79 dashes."""
    messages = []
    for path in sorted(directory.glob("*.log")):
        for chunk in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
            if chunk.strip():
                messages.append(email.message_from_bytes(chunk))
    return messages


def mail_text(message: email.message.Message) -> str:
    """A message's subject and decoded text."""
    parts = [str(email.header.make_header(email.header.decode_header(message["Subject"] or "")))]
    for part in message.walk():
        if part.get_content_maintype() == "text":
            parts.append(part.get_payload(decode=True).decode(part.get_content_charset("utf-8")))
    return "\n".join(parts)


def drained(broker: RedisServer, *queues: str, held: int = 0) -> bool:
    """Nothing waiting in `queues`, and no message taken but `held` unacknowledged."""
    return all(broker.queued(q) == 0 for q in queues) and broker.unacknowledged() <= held


def asked_fen(n: int) -> int:
    """The n-th deduction: 10 to 500 yuan, spread so that no two neighbours ask the same."""
    return 1_000 + (n * 7_919) % 49_000


def bulk_deductions(staff: Staff, parties: list, amounts: list[int]) -> list[int]:
    """Deductions of `amounts` (fen), the n-th on parties[n % len(parties)], approved and waiting
    for the `money` worker, as `measure_approve` leaves them: executing, started five minutes ago
    (past the relay's two minutes, short of the hour after which it gives a deduction up).

    Written in bulk, like test_deductions.py's: proposing and approving hundreds through the
    services proves nothing tests/enforcement does not. Returns the measures' ids."""
    from datetime import timedelta

    from django.utils import timezone

    from enforcement.models import MeasureKind, MeasureStatus, ViolationSource, ViolationStatus

    vtype = ViolationType.objects.get(code="offline_transaction", status="published")
    now = timezone.now()
    violations = Violation.objects.bulk_create(
        Violation(
            party=parties[n % len(parties)],
            type=vtype,
            status=ViolationStatus.CONFIRMED,
            source=ViolationSource.REVIEWER,
            facts="直播中引导消费者私下转账交易。",
            created_by=f"user:{staff.reviewer.username}",
            confirmed_at=now,
            confirmed_by=staff.reviewer,
        )
        for n in range(len(amounts))
    )
    measures = Measure.objects.bulk_create(
        Measure(
            violation=violation,
            party_id=violation.party_id,
            kind=MeasureKind.DEPOSIT_DEDUCTION,
            status=MeasureStatus.EXECUTING,
            reason="依据平台规则扣除保证金。",
            amount_fen=amount,
            departs_from_default=True,
            departure_reason="按情节调整金额。",
            severe=True,
            proposed_by=staff.reviewer,
            decided_by=staff.lead,
            decided_at=now,
            starts_at=now - timedelta(minutes=5),
        )
        for violation, amount in zip(violations, amounts, strict=True)
    )
    return [m.pk for m in measures]
