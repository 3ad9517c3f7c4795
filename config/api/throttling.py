"""Rate limits: per API key for integrators, per address for anonymous callers.

A counter per fixed window in the cache. DRF's own throttle keeps a list of every request's
timestamp and reads and rewrites it whole on each request: at a thousand requests a second on one
key that is half a megabyte per request, and overlapping requests overwrite each other's counts. A
fixed window can let through up to twice the rate across a window boundary; for a safety limit
that is the better trade. Throttled requests get 429 with `Retry-After`.

On Redis the count is one command, one round trip: a script that INCRs the window's counter and
gives a new counter its expiry. Django's cache API takes three (SET NX, then EXISTS and INCRBY),
on every request to the go-live gate.
"""

from weakref import WeakKeyDictionary

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache import cache as default_cache
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from rest_framework.throttling import SimpleRateThrottle

# Atomic on the server: no counter is ever left without its expiry.
_COUNT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""


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
        return self.count(f"{self.key}:{window}") <= self.num_requests

    def count(self, key: str) -> int:
        """Counts this request in the window's counter and returns the count."""
        timeout = self.duration + 1
        # DRF's `cache` is Django's proxy to the default cache, not the backend behind it.
        cache = caches[DEFAULT_CACHE_ALIAS] if self.cache is default_cache else self.cache
        if isinstance(cache, RedisCache):
            keys = [cache.make_and_validate_key(key)]
            try:
                return _counter(cache)(keys=keys, args=[timeout])
            except RedisConnectionError:
                # The kept connection died (Redis restarted, a failover): drop it and count once
                # more on a fresh one, so that a restart costs no request an error.
                _counters.pop(cache, None)
                return _counter(cache)(keys=keys, args=[timeout])
        cache.add(key, 0, timeout)
        try:
            return cache.incr(key)
        except ValueError:  # the entry expired between add and incr
            cache.add(key, 1, timeout)
            return 1

    def wait(self):
        return max(self.retry_after, 1)


_counters: WeakKeyDictionary = WeakKeyDictionary()


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
