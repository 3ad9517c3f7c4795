"""The fuzzer's fixtures: a world of real records for the generated requests to find, a key with
every scope (or bound to one party), and the server as the WSGI application in this process,
sharing the test's database connection and transaction."""

from __future__ import annotations

from collections import Counter

import pytest
from django.core import signals
from django.db import close_old_connections
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from tests.fuzz.world import World, build_world

# Requests sent, by key, operation, generation mode and status class; reported at the end.
SENT: Counter = Counter()


@pytest.fixture
def world(db, settings, tmp_path) -> World:
    settings.MEDIA_ROOT = tmp_path
    return build_world()


@pytest.fixture
def platform_key(world, make_key) -> str:
    _key, raw = make_key(name="fuzz-platform")
    return raw


@pytest.fixture
def merchant_key(world, make_key) -> str:
    """Every scope, bound to the world's merchant: the answers a party's own key gets (its own
    records, 404 for others', 403 for what only the platform may do) keep to the schema too."""
    _key, raw = make_key(name="fuzz-merchant", party=world.merchant)
    return raw


@pytest.fixture(autouse=True)
def _in_process_server(monkeypatch):
    """The WSGI handler closes the database connection around each request, as a server must;
    here that connection holds the test's transaction, so it stays open, as Django's own test
    client arranges. The rate limits stay on, but high: a few hundred generated requests a
    minute from one address are the fuzzer's, not an abuser's."""
    monkeypatch.setattr(
        SimpleRateThrottle,
        "THROTTLE_RATES",
        {scope: "100000/minute" for scope in api_settings.DEFAULT_THROTTLE_RATES},
    )
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def pytest_terminal_summary(terminalreporter):
    """How much was sent, per key: operations, requests by generation mode, and how many of the
    answers were successes (2xx) rather than refusals (4xx)."""
    for key in sorted({key for key, *_rest in SENT}):
        sent = {k[1:]: count for k, count in SENT.items() if k[0] == key}
        modes, classes = Counter(), Counter()
        for (_operation, mode, status_class), count in sent.items():
            modes[mode] += count
            classes[f"{status_class}xx"] += count
        operations = {operation for operation, _mode, _status in sent}
        answered = {operation for operation, _mode, status in sent if status == 2}
        terminalreporter.write_line(
            f"schemathesis, {key}: {len(operations)} operations ({len(answered)} with a 2xx), "
            f"{sum(sent.values())} requests ("
            + ", ".join(f"{n} {mode}" for mode, n in sorted(modes.items()))
            + "; "
            + ", ".join(f"{n} {c}" for c, n in sorted(classes.items()))
            + ")"
        )
        if operations - answered:
            terminalreporter.write_line(
                "  never a 2xx: " + ", ".join(sorted(operations - answered))
            )
