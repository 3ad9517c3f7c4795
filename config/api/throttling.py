"""Rate limits: per API key for integrators, per address for anonymous callers.

A counter per fixed window in the cache -- one atomic INCR on Redis per request. DRF's own
throttle keeps a list of every request's timestamp and reads and rewrites it whole on each
request: at a thousand requests a second on one key that is half a megabyte per request, and
overlapping requests overwrite each other's counts. A fixed window can let through up to twice
the rate across a window boundary; for a safety limit that is the better trade. Throttled
requests get 429 with `Retry-After`.
"""

from rest_framework.throttling import SimpleRateThrottle


class FixedWindowRateThrottle(SimpleRateThrottle):
    def allow_request(self, request, view):
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        now = int(self.timer())
        window = now - now % self.duration
        key = f"{self.key}:{window}"
        self.cache.add(key, 0, self.duration + 1)
        try:
            count = self.cache.incr(key)
        except ValueError:  # the entry expired between add and incr
            self.cache.add(key, 1, self.duration + 1)
            count = 1
        self.retry_after = window + self.duration - now
        return count <= self.num_requests

    def wait(self):
        return max(self.retry_after, 1)


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
