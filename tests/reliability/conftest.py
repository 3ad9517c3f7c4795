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

import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from django.conf import settings
from kombu.exceptions import OperationalError

from accounts.actors import Actor
from accounts.models import User
from enforcement import services
from enforcement.models import Measure, Violation, ViolationType
from tests.factories import UserFactory
from tests.integration.conftest import IN_CI, ROOT, _problems

HERE = Path(__file__).parent
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


def until(predicate, *, timeout: float, what: str, interval: float = 0.1) -> None:
    """Wait for `predicate`; fail saying what never happened."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
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
            **env,
        }
        self.log = log
        self.process: subprocess.Popen | None = None
        self.kills = 0

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

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()

    def task_lines(self, task: str, outcome: str) -> int:
        """How many runs of `task` ended with `outcome`, over every start, from the log."""
        marker = f": '{outcome}'"
        with self.log.open() as log:
            return sum(1 for line in log if f"Task {task}[" in line and marker in line)


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
