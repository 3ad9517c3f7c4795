"""`Authorization: Bearer <api key>` for the platform's systems."""

from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

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


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = b"bearer"

    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
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
        key = ApiKey.objects.filter(key_hash=api_key_digest(raw)).first()
        if key is None or not key.is_active:
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
