"""Rate limits: per API key for integrators, per address for anonymous callers.

DRF answers a throttled request with 429 and a `Retry-After` header.
"""

from rest_framework.throttling import SimpleRateThrottle


class ApiKeyRateThrottle(SimpleRateThrottle):
    scope = "api_key"

    def get_cache_key(self, request, view):
        key_id = getattr(request.auth, "pk", None)
        if key_id is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": key_id}


class AnonymousRateThrottle(SimpleRateThrottle):
    scope = "anonymous"

    def get_cache_key(self, request, view):
        if request.auth is not None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
