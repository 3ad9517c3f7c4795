"""The project's own middleware: the language, Chinese first, a cap on request bodies, the
content security policy, and the browser's middleware left out of the JSON API.

Chinese first: people on the public site and in the admin see Chinese unless they chose English
with the language switch (its cookie): a browser's Accept-Language does not override that, since
most of the platform's users are in mainland China on whatever device they have. The API is
different: integrators ask for the language of error messages with Accept-Language, and get it.

The JSON API under API_PREFIX is called by the platform's systems with a key (accounts.api), not
by a browser: it has no session, no login, no messages, no second factor and no page for a
content security policy to govern. The middleware that provide those are `BrowserOnly`
subclasses, which hand an API request straight on: with the language middleware's shortcut
below, that took a tenth off the instructions of a go-live decision (bench/README.md). Django's
checks still find them in MIDDLEWARE, and the others (security headers, the host check, the
language, the body cap, CSRF, X-Frame-Options and django-axes) run for every request as before.
"""

import functools

from csp import constants as csp_constants
from csp import middleware as csp_middleware
from csp import utils as csp_utils
from django.conf import settings
from django.conf.urls.i18n import is_language_prefix_patterns_used
from django.contrib.auth.middleware import AuthenticationMiddleware as DjangoAuthentication
from django.contrib.messages.middleware import MessageMiddleware as DjangoMessages
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessions
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpResponse, JsonResponse
from django.middleware.locale import LocaleMiddleware
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django_otp.middleware import OTPMiddleware as DjangoOTP

# The JSON API's paths: config/urls.py mounts the API here.
API_PREFIX = "/api/v1/"


class BrowserOnly:
    """A middleware that serves browsers only: a request to the JSON API goes straight on."""

    def __call__(self, request):
        if request.path_info.startswith(API_PREFIX):
            return self.get_response(request)
        return super().__call__(request)


class SessionMiddleware(BrowserOnly, DjangoSessions):
    pass


class AuthenticationMiddleware(BrowserOnly, DjangoAuthentication):
    pass


class OTPMiddleware(BrowserOnly, DjangoOTP):
    pass


class MessageMiddleware(BrowserOnly, DjangoMessages):
    pass


def _prefix_patterns_used(request) -> bool:
    """Whether the URLconf has language-prefixed patterns (i18n_patterns); this project's has
    none. Django caches the answer."""
    return is_language_prefix_patterns_used(getattr(request, "urlconf", settings.ROOT_URLCONF))[0]


class ChineseFirstLocaleMiddleware(LocaleMiddleware):
    def process_request(self, request):
        if request.path.startswith("/api/"):
            if _prefix_patterns_used(request):
                return super().process_request(request)
            # Django's, less the look for a language in the path, which only language-prefixed
            # patterns use: for an API path it fails, uncached, on every request.
            translation.activate(translation.get_language_from_request(request))
            request.LANGUAGE_CODE = translation.get_language()
            return None
        supported = {code for code, _name in settings.LANGUAGES}
        language = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if language not in supported:
            language = settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()

    def process_response(self, request, response):
        if _prefix_patterns_used(request):
            return super().process_response(request, response)
        # What Django's does without language-prefixed patterns.
        patch_vary_headers(response, ("Accept-Language",))
        response.headers.setdefault("Content-Language", translation.get_language())
        return response


def request_max_bytes(path: str) -> int:
    """The largest body a request to `path` may have: what its biggest legitimate upload needs.
    Django limits form fields (DATA_UPLOAD_MAX_MEMORY_SIZE) and the number of files, not their
    size: without this, a body of any size is read and spooled to disk before a form or a rate
    limit looks at it. The public forms and the API take at most MAX_EVIDENCE images of
    UPLOAD_MAX_BYTES each; the workbench also takes an enforcement evidence file."""
    from complaints.services.base import MAX_EVIDENCE

    largest = MAX_EVIDENCE * settings.UPLOAD_MAX_BYTES
    if path.startswith("/admin/"):
        largest = max(largest, settings.ENFORCEMENT_EVIDENCE_MAX_BYTES)
    return largest + 1024 * 1024  # the form's other fields and the multipart framing


def request_size_middleware(get_response):
    """413 for a request whose declared body is larger than its path allows, before anything
    reads it. A WSGI server hands Django only the bytes Content-Length declares."""

    def middleware(request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > request_max_bytes(request.path):
            message = _("The request is too large.")
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": message, "code": "request_too_large"}, status=413)
            return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")
        return get_response(request)

    return middleware


class CSPMiddleware(BrowserOnly, csp_middleware.CSPMiddleware):
    """django-csp's middleware, with the policy built once; for pages, not the JSON API.

    The library builds both headers from the settings on every response: two passes over its
    table of directives, about a third of what a bare Django response costs here, on every page
    and API call. A response that asks for nothing of its own -- no nonce, no policy from a view
    decorator, not exempted, no header of its own, no excluded prefix configured -- always gets
    the same headers, so those are built once from the settings (and again when they change) and
    set as the library would. Any other response is the library's as before.
    """

    def process_response(self, request, response):
        headers = _plain_policy()
        if (
            headers is None
            or getattr(request, "_csp_nonce", None) is not None
            or any(getattr(response, name, None) is not None for name in _RESPONSE_POLICY)
            or (settings.DEBUG and response.status_code in (404, 500))
        ):
            return super().process_response(request, response)
        for name, value in headers:
            if name not in response:
                response[name] = value
        # As the library does: asking for a nonce once the header is written is an error.
        request.csp_nonce = csp_middleware.CheckableLazyObject(self._csp_nonce_post_response)
        return response


# What a view's decorators or a response may set to change or drop the policy (django-csp 4).
_RESPONSE_POLICY = (
    "_csp_config",
    "_csp_update",
    "_csp_replace",
    "_csp_exempt",
    "_csp_config_ro",
    "_csp_update_ro",
    "_csp_replace_ro",
    "_csp_exempt_ro",
)


@functools.cache
def _plain_policy() -> tuple[tuple[str, str], ...] | None:
    """The headers of a response with no policy of its own, built by the library from the
    settings; None when a setting excludes URL prefixes (the library decides those)."""
    headers = []
    for name, setting, report_only in (
        (csp_constants.HEADER, "CONTENT_SECURITY_POLICY", False),
        (csp_constants.HEADER_REPORT_ONLY, "CONTENT_SECURITY_POLICY_REPORT_ONLY", True),
    ):
        if (getattr(settings, setting, None) or {}).get("EXCLUDE_URL_PREFIXES"):
            return None
        value = csp_utils.build_policy(report_only=report_only)
        if value:
            headers.append((name, value))
    return tuple(headers)


@receiver(setting_changed)
def _policy_changed(*, setting, **kwargs):
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        _plain_policy.cache_clear()
