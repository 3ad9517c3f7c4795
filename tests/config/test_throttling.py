"""The API's rate limits: a fixed window per key, and leases for high limits (a process takes a
share of the shared counter at a time and counts it down in memory)."""

import itertools

import pytest
from django.core.cache.backends.locmem import LocMemCache
from rest_framework.test import APIRequestFactory
from rest_framework.throttling import SimpleRateThrottle

from config.api import throttling
from config.api.throttling import ApiKeyRateThrottle, lease_size

_ids = itertools.count(900_001)


class Key:
    def __init__(self, pk):
        self.pk = pk


def _request(key):
    request = APIRequestFactory().post("/api/v1/live-sessions/")
    request.auth = key
    return request


class Process:
    """One server process: a throttle with a cache backend of its own (so leases of its own)
    over the counter every process shares (LocMemCache instances with one name share it)."""

    def __init__(self, location):
        self.cache = LocMemCache(location, {})
        self.counts = 0

    def allow(self, key) -> bool:
        throttle = ApiKeyRateThrottle()
        throttle.cache = self.cache
        count = throttle.count

        def counted(*args, **kwargs):
            self.counts += 1
            return count(*args, **kwargs)

        throttle.count = counted
        return throttle.allow_request(_request(key), None)


@pytest.fixture
def rate(monkeypatch):
    def set_rate(value):
        monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"api_key": value})

    return set_rate


@pytest.fixture
def frozen(time_machine):
    # Inside one window, whatever the minute the suite runs in.
    time_machine.move_to("2026-11-30 10:00:05+00:00", tick=False)


def test_the_lease_is_one_in_a_thousand_of_the_limit_at_most_fifty():
    assert lease_size(60) == 1
    assert lease_size(999) == 1
    assert lease_size(2_000) == 2
    assert lease_size(20_000) == 20
    assert lease_size(60_000) == 50
    assert lease_size(10_000_000) == 50


def test_at_the_apis_limit_a_process_asks_the_counter_once_per_fifty_requests(rate, frozen):
    rate("60000/minute")
    process, key = Process("lease-once"), Key(next(_ids))
    assert all(process.allow(key) for _ in range(500))
    assert process.counts == 10
    # The shared counter holds what was taken: ten leases of fifty.
    assert process.cache.get(f"throttle_api_key_{key.pk}:{_window()}") == 500


def test_a_low_limit_is_counted_request_by_request(rate, frozen):
    rate("900/minute")
    process, key = Process("lease-exact"), Key(next(_ids))
    outcomes = [process.allow(key) for _ in range(905)]
    assert outcomes.count(True) == 900
    assert outcomes[900:] == [False] * 5
    assert process.counts == 905


def test_processes_taking_leases_never_pass_more_than_the_limit(rate, frozen):
    rate("5000/minute")  # leases of 5
    processes = [Process("lease-shared") for _ in range(3)]
    key = Key(next(_ids))
    allowed = [0, 0, 0]
    for turn in range(6_000):
        index = (turn * 7 + turn // 3) % 3  # an uneven interleaving
        allowed[index] += processes[index].allow(key)
    total = sum(allowed)
    assert total <= 5_000
    # What the other two processes hold unused is lost to the window: at most 2 x 4.
    assert total >= 5_000 - 2 * 4, allowed
    assert all(allowed), allowed


def test_a_refused_request_is_refused_again_until_the_window_ends(rate, time_machine):
    time_machine.move_to("2026-11-30 10:00:05+00:00", tick=False)
    rate("2000/minute")
    process, key = Process("lease-window"), Key(next(_ids))
    outcomes = [process.allow(key) for _ in range(2_003)]
    assert outcomes.count(True) == 2_000
    assert not process.allow(key)
    time_machine.move_to("2026-11-30 10:01:01+00:00", tick=False)
    assert process.allow(key)


def test_a_lease_taken_under_one_limit_is_not_spent_under_another(rate, frozen):
    process, key = Process("lease-rates"), Key(next(_ids))
    rate("60000/minute")
    assert process.allow(key)  # holds 49 more under this limit
    rate("3/minute")
    outcomes = [process.allow(key) for _ in range(3)]
    # The counter already stands at 50: nothing is left under a limit of 3.
    assert outcomes == [False, False, False]


def test_the_held_leases_are_bounded(rate, frozen, monkeypatch):
    monkeypatch.setattr(throttling, "MAX_LEASES", 5)
    rate("60000/minute")
    process = Process("lease-bound")
    for _ in range(12):
        assert process.allow(Key(next(_ids)))
    assert len(throttling._leases(process.cache)) <= 5


def _window():
    import time

    now = int(time.time())
    return now - now % 60
