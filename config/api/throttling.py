"""Rate limits: per API key for integrators, per address for anonymous callers.

A counter per fixed window in the cache. DRF's own throttle keeps a list of every request's
timestamp and reads and rewrites it whole on each request: at a thousand requests a second on one
key that is half a megabyte per request, and overlapping requests overwrite each other's counts. A
fixed window can let through up to twice the rate across a window boundary; for a safety limit
that is the better trade. Throttled requests get 429 with `Retry-After`.

On Redis the count is one command, one round trip: a script that adds to the window's counter and
gives a new counter its expiry. Django's cache API takes three (SET NX, then EXISTS and INCRBY).

A high limit is counted in leases: a process takes up to `MAX_LEASE` requests at a time from the
shared counter (one in `LEASE_SHARE` of the limit, so a limit under that is counted one by one)
and counts them down in memory. At the API's 60,000 a minute per key that is one round trip per
50 requests instead of one per request, on the go-live gate's hot path. The shared counter still
never grants more than the limit in a window: a lease is cut to what is left. What a process has
taken but not used is lost when the window ends, so a key may be refused up to
(processes - 1) x (MAX_LEASE - 1) requests before it reaches the limit: with 3 workers and 50,
98 of 60,000 (0.16 %).
"""

from weakref import WeakKeyDictionary

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache import cache as default_cache
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from rest_framework.throttling import SimpleRateThrottle

# Atomic on the server: no counter is ever left without its expiry.
_COUNT = """
local count = redis.call('INCRBY', KEYS[1], ARGV[2])
if count == tonumber(ARGV[2]) then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""

# A lease is one in LEASE_SHARE of the limit, at most MAX_LEASE requests (see the module's text).
LEASE_SHARE = 1000
MAX_LEASE = 50
# Leases held per cache backend (per process and thread); beyond this many keys they are dropped.
MAX_LEASES = 10_000


def lease_size(limit: int) -> int:
    return max(1, min(MAX_LEASE, limit // LEASE_SHARE))


class FixedWindowRateThrottle(SimpleRateThrottle):
    def allow_request(self, request, view):
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        now = int(self.timer())
        window = now - now % self.duration
        self.retry_after = window + self.duration - now
        return self.take(f"{self.key}:{window}")

    def take(self, key: str) -> bool:
        """Whether one more request fits in the window's limit: from this process's lease when
        it holds one, else from the shared counter."""
        limit = self.num_requests
        lease = lease_size(limit)
        if lease == 1:
            return self.count(key) <= limit
        held = _leases(self._backend())
        # The rate is part of the name: a lease taken under one limit is not spent under another.
        name = f"{key}:{limit}/{self.duration}"
        left = held.pop(name, 0)
        if left:
            if left > 1:
                held[name] = left - 1
            return True
        # Before this lease the counter stood at `total - lease`; grant only what is left.
        total = self.count(key, lease)
        granted = min(lease, limit - (total - lease))
        if granted <= 0:
            return False
        if granted > 1:
            if len(held) >= MAX_LEASES:
                held.clear()
            held[name] = granted - 1
        return True

    def count(self, key: str, amount: int = 1) -> int:
        """Adds `amount` requests to the window's counter and returns its new value."""
        timeout = self.duration + 1
        cache = self._backend()
        if isinstance(cache, RedisCache):
            keys = [cache.make_and_validate_key(key)]
            try:
                return _counter(cache)(keys=keys, args=[timeout, amount])
            except RedisConnectionError:
                # The kept connection died (Redis restarted, a failover): drop it and count once
                # more on a fresh one, so that a restart costs no request an error.
                _counters.pop(cache, None)
                return _counter(cache)(keys=keys, args=[timeout, amount])
        cache.add(key, 0, timeout)
        try:
            return cache.incr(key, amount)
        except ValueError:  # the entry expired between add and incr
            cache.add(key, amount, timeout)
            return amount

    def _backend(self):
        # DRF's `cache` is Django's proxy to the default cache, not the backend behind it.
        return caches[DEFAULT_CACHE_ALIAS] if self.cache is default_cache else self.cache

    def wait(self):
        return max(self.retry_after, 1)


_counters: WeakKeyDictionary = WeakKeyDictionary()
_held: WeakKeyDictionary = WeakKeyDictionary()


def _leases(cache) -> dict[str, int]:
    """Requests this process has taken from a counter and not used yet, by counter and rate."""
    held = _held.get(cache)
    if held is None:
        held = _held[cache] = {}
    return held


def _counter(cache: RedisCache):
    """The counting script on a Redis client of the cache's own, made once per cache backend
    (per process and thread). It keeps one connection: the client Django's cache hands out is
    made anew for every call (its table of reply parsers costs more than the round trip) and
    takes a connection from the pool, checked with a system call, for every command. Django's
    cache has no public handle on its client; `_cache` is the backend's client wrapper, whose
    connection pool this shares."""
    counter = _counters.get(cache)
    if counter is None:
        pooled = cache._cache.get_client(write=True)
        client = type(pooled)(connection_pool=pooled.connection_pool, single_connection_client=True)
        counter = _counters[cache] = client.register_script(_COUNT)
    return counter


class ApiKeyRateThrottle(FixedWindowRateThrottle):
    scope = "api_key"

    def get_cache_key(self, request, view):
        key_id = getattr(request.auth, "pk", None)
        if key_id is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": key_id}


class AnonymousRateThrottle(FixedWindowRateThrottle):
    scope = "anonymous"

    def get_cache_key(self, request, view):
        if request.auth is not None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
