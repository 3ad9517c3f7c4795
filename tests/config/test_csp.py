"""The content security policy header: built once for a plain response, and django-csp's own
answer whenever a response or a request asks for something of its own."""

import pytest
from csp.constants import NONCE
from csp.decorators import csp_exempt, csp_update
from csp.exceptions import CSPNonceError
from csp.middleware import CSPMiddleware as LibraryCSPMiddleware
from django.http import HttpResponse
from django.test import RequestFactory

from config.middleware import CSPMiddleware

HEADER = "Content-Security-Policy"
REPORT_ONLY = "Content-Security-Policy-Report-Only"


def _through(middleware_class, view, request=None):
    request = request or RequestFactory().get("/")
    middleware = middleware_class(lambda req: view(req))
    return request, middleware(request)


def _directives(header: str) -> set[str]:
    # django-csp orders the directives as a set does.
    return set(header.split("; "))


def plain(request):
    return HttpResponse("ok")


def test_a_plain_response_gets_the_same_header_as_from_the_library():
    _request, ours = _through(CSPMiddleware, plain)
    _request, theirs = _through(LibraryCSPMiddleware, plain)
    assert _directives(ours[HEADER]) == _directives(theirs[HEADER])
    assert "default-src 'self'" in ours[HEADER]
    assert "frame-ancestors 'none'" in ours[HEADER]
    assert REPORT_ONLY not in ours


def test_the_policy_follows_the_settings(settings):
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"default-src": ["'none'"]}}
    settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = {"DIRECTIVES": {"img-src": ["'self'"]}}
    _request, response = _through(CSPMiddleware, plain)
    assert response[HEADER] == "default-src 'none'"
    # django-csp starts every policy from `default-src 'self'`.
    assert _directives(response[REPORT_ONLY]) == {"default-src 'self'", "img-src 'self'"}


def test_an_excluded_prefix_is_decided_by_the_library(settings):
    settings.CONTENT_SECURITY_POLICY = {
        "EXCLUDE_URL_PREFIXES": ["/open/"],
        "DIRECTIVES": {"default-src": ["'self'"]},
    }
    _request, excluded = _through(CSPMiddleware, plain, RequestFactory().get("/open/x"))
    _request, included = _through(CSPMiddleware, plain, RequestFactory().get("/closed/"))
    assert HEADER not in excluded
    assert included[HEADER] == "default-src 'self'"


def test_a_views_own_policy_and_exemption_are_the_librarys():
    @csp_update({"img-src": ["https://images.example"]})
    def updated(request):
        return HttpResponse("ok")

    @csp_exempt()
    def exempt(request):
        return HttpResponse("ok")

    _request, ours = _through(CSPMiddleware, updated)
    _request, theirs = _through(LibraryCSPMiddleware, updated)
    assert "https://images.example" in ours[HEADER]
    assert _directives(ours[HEADER]) == _directives(theirs[HEADER])
    _request, response = _through(CSPMiddleware, exempt)
    assert HEADER not in response


def test_a_header_the_view_set_is_kept():
    def own(request):
        response = HttpResponse("ok")
        response[HEADER] = "default-src 'none'"
        return response

    _request, response = _through(CSPMiddleware, own)
    assert response[HEADER] == "default-src 'none'"


def test_a_nonce_asked_for_is_in_the_header_and_not_after_it(settings):
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"script-src": ["'self'", NONCE]}}
    nonces = []

    def with_nonce(request):
        nonces.append(str(request.csp_nonce))
        return HttpResponse("ok")

    middleware = CSPMiddleware(with_nonce)
    request = RequestFactory().get("/")
    response = middleware.process_response(
        request, middleware.process_request(request) or with_nonce(request)
    )
    assert f"'nonce-{nonces[0]}'" in response[HEADER]

    middleware = CSPMiddleware(plain)
    request = RequestFactory().get("/")
    middleware.process_request(request)
    middleware.process_response(request, HttpResponse("ok"))
    with pytest.raises(CSPNonceError):
        str(request.csp_nonce)


def test_every_page_of_the_product_carries_the_policy(client):
    response = client.get("/")
    assert "default-src 'self'" in response[HEADER]
