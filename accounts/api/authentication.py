"""`Authorization: Bearer <api key>` for the platform's systems.

A key found in the database is kept in the process for `API_KEY_CACHE_SECONDS` (5 s unless
configured), so that a busy integrator costs one key look-up per process every few seconds, not
one per request (the go-live gate answers a thousand requests a second). That is also the bound
on revocation: a revoked key stops working at once in the process that revoked it, and within
`API_KEY_CACHE_SECONDS` in every other. Unknown and revoked keys are never cached: each attempt
with one asks the database.
"""

import time

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import HTTP_HEADER_ENCODING, authentication, exceptions

from accounts.models import ApiKey
from accounts.services import api_key_digest, api_key_touch


class IntegratorUser(AnonymousUser):
    """`request.user` for a request made with an API key: authenticated, but no Django user and
    no model permissions -- what it may do is the key's scopes."""

    def __init__(self, key: ApiKey):
        self.key = key
        self.username = f"api:{key.name}"

    @property
    def is_authenticated(self):
        return True

    @property
    def is_anonymous(self):
        return False

    def __str__(self):
        return self.username


class KeyCache:
    """Active keys by digest, each for a few seconds. Per process, so no lock and no network;
    bounded, so a flood of distinct valid keys cannot grow it without limit."""

    MAX_ENTRIES = 1000

    def __init__(self):
        self._entries: dict[str, tuple[float, ApiKey]] = {}

    def get(self, digest: str) -> ApiKey | None:
        entry = self._entries.get(digest)
        if entry is None:
            return None
        if entry[0] <= time.monotonic():
            self._entries.pop(digest, None)
            return None
        return entry[1]

    def put(self, digest: str, key: ApiKey) -> None:
        seconds = settings.API_KEY_CACHE_SECONDS
        if seconds <= 0:
            return
        if len(self._entries) >= self.MAX_ENTRIES:
            self._entries.clear()
        self._entries[digest] = (time.monotonic() + seconds, key)

    def forget(self, digest: str) -> None:
        self._entries.pop(digest, None)

    def clear(self) -> None:
        self._entries.clear()


keys = KeyCache()


def active_key(raw: str) -> ApiKey | None:
    """The active key for a raw key, from the process's cache or the database."""
    digest = api_key_digest(raw)
    key = keys.get(digest)
    if key is None:
        key = ApiKey.objects.filter(key_hash=digest).first()
        if key is None or not key.is_active:
            return None
        keys.put(digest, key)
    return key


def authorization_header(request) -> bytes:
    """The Authorization header as bytes, as the REST framework's `get_authorization_header`
    gives it, read from the WSGI environment. That function goes through `request.headers`,
    which builds a mapping of every header on first use: 3 % of the instructions of a go-live
    decision, which reads no other header by name (bench/README.md)."""
    header = request.META.get("HTTP_AUTHORIZATION", b"")
    if isinstance(header, str):
        header = header.encode(HTTP_HEADER_ENCODING)
    return header


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = b"bearer"

    def authenticate(self, request):
        parts = authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                _("Malformed Authorization header: send 'Bearer <api key>'.")
            )
        try:
            raw = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("Invalid or revoked API key.")) from None
        key = active_key(raw)
        if key is None:
            raise exceptions.AuthenticationFailed(_("Invalid or revoked API key."))
        api_key_touch(key=key)
        return IntegratorUser(key), key

    def authenticate_header(self, request):
        # Makes DRF answer 401 (not 403) when no key is sent.
        return 'Bearer realm="api"'


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.api.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "An integrator API key."}
