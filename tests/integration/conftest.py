"""Real services for tests/integration: PostgreSQL, Redis and a Celery worker process.

`make integration` points DATABASE_URL and REDIS_URL at the machine's services. When one cannot
be reached the tests are skipped with the reason -- except under CI=true, where that fails the run.
"""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
IN_CI = os.environ.get("CI", "").lower() == "true"


def _reachable(url: str | None) -> str | None:
    """None when the service answers; otherwise why not."""
    if not url:
        return "not configured (run through `make integration`)"
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=2):
            return None
    except OSError as exc:
        return f"{parts.hostname}:{parts.port} unreachable ({exc.strerror or exc})"


def _problems() -> list[str]:
    problems = []
    if os.environ.get("LCC_INTEGRATION") != "1":
        problems.append("LCC_INTEGRATION is not set (run through `make integration`)")
    database = os.environ.get("DATABASE_URL", "")
    if not database.startswith("postgres"):
        problems.append(f"DATABASE_URL is not PostgreSQL: {database or 'unset'}")
    elif why := _reachable(database):
        problems.append(f"PostgreSQL {why}")
    if why := _reachable(os.environ.get("REDIS_URL")):
        problems.append(f"Redis {why}")
    return problems


def pytest_collection_modifyitems(config, items):
    # This hook sees the whole session's items; only ours need the services.
    here = Path(__file__).parent
    items = [item for item in items if here in item.path.parents]
    if not items:
        return
    problems = _problems()
    if not problems:
        return
    reason = "integration services unavailable: " + "; ".join(problems)
    if IN_CI:
        raise pytest.UsageError(f"CI=true and {reason}. CI must never skip integration tests.")
    marker = pytest.mark.skip(reason=reason)
    for item in items:
        item.add_marker(marker)


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker):
    """A real `celery worker` on the test database, consuming every queue."""
    from config.celery import app

    database = settings.DATABASES["default"]
    test_url = (
        f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    )
    app.control.purge()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "LCC_INTEGRATION": "1",
        "DATABASE_URL": test_url,
    }
    log = open(ROOT / "var" / "integration-worker.log", "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-Q",
            "default,money,notify",
            "--concurrency",
            "1",
            "--loglevel",
            "INFO",
            "--hostname",
            "integration@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while not app.control.ping(timeout=1.0):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"the Celery worker did not start; see {log.name}")
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


def wait_for(predicate, timeout=30.0, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False
