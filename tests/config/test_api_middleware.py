"""The browser's middleware (sessions, login, the second factor, messages, the content security
policy) leave the JSON API out; the rest runs for every request. And the language middleware
answers as Django's does."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessions
from django.core.checks import run_checks
from django.http import HttpResponse
from django.middleware.locale import LocaleMiddleware
from django.test import RequestFactory
from django.urls import reverse
from django.utils import translation

from config.middleware import (
    API_PREFIX,
    AuthenticationMiddleware,
    ChineseFirstLocaleMiddleware,
    CSPMiddleware,
    MessageMiddleware,
    OTPMiddleware,
    SessionMiddleware,
)

pytestmark = pytest.mark.django_db

BROWSER_ONLY = [
    SessionMiddleware,
    AuthenticationMiddleware,
    OTPMiddleware,
    MessageMiddleware,
    CSPMiddleware,
]


def test_the_api_is_mounted_where_the_middleware_expects_it():
    assert reverse("live-session-list").startswith(API_PREFIX)


@pytest.mark.parametrize("middleware", BROWSER_ONLY, ids=lambda m: m.__name__)
def test_an_api_request_goes_straight_through(middleware):
    request = RequestFactory().get(API_PREFIX + "key/")
    seen = []
    response = middleware(lambda req: seen.append(req) or HttpResponse("{}"))(request)
    assert seen == [request]
    assert not hasattr(request, "session") and not hasattr(request, "user")
    assert not hasattr(request, "_messages")
    assert "Content-Security-Policy" not in response


@pytest.mark.parametrize("middleware", BROWSER_ONLY, ids=lambda m: m.__name__)
def test_a_page_request_gets_the_middleware(middleware):
    request = RequestFactory().get("/api/docs/")
    # What each needs from those before it (the session for login and messages, the user for
    # the second factor).
    DjangoSessions(lambda req: HttpResponse())(request)
    before = request.user = AnonymousUser()
    response = middleware(lambda req: HttpResponse("<html></html>"))(request)
    if middleware is SessionMiddleware:
        assert hasattr(request, "session")
    elif middleware is MessageMiddleware:
        assert hasattr(request, "_messages")
    elif middleware is CSPMiddleware:
        assert "Content-Security-Policy" in response
    else:
        # Login and the second factor each put a lazy user of their own on the request.
        assert request.__dict__["user"] is not before


def test_djangos_checks_still_find_the_sessions_login_and_messages_middleware():
    # The admin's checks (admin.E408 - E410) ask for subclasses of Django's.
    assert [e for e in run_checks() if e.id.startswith("admin.")] == []


def test_an_api_answer_has_the_security_and_language_headers_and_no_page_policy(api):
    response = api.get("/api/v1/key/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Language"] == "en"
    assert "Accept-Language" in response["Vary"]
    assert "Content-Security-Policy" not in response
    assert "Cookie" not in response.get("Vary", "")
    assert not response.cookies


def test_a_page_still_has_its_policy_and_its_session(client):
    response = client.get("/")
    assert "Content-Security-Policy" in response
    assert response["Content-Language"] == "zh-hans"


@pytest.mark.parametrize("path", ["/api/v1/key/", "/", "/api/docs/"])
@pytest.mark.parametrize("accept", ["", "en", "zh-CN,zh;q=0.9", "fr"])
@pytest.mark.parametrize("vary", [None, "Cookie"])
def test_the_language_headers_are_djangos(path, accept, vary):
    def view(request):
        response = HttpResponse("ok")
        if vary:
            response["Vary"] = vary
        return response

    answers = []
    for middleware in (ChineseFirstLocaleMiddleware, LocaleMiddleware):
        with translation.override(None):
            request = RequestFactory().get(path, HTTP_ACCEPT_LANGUAGE=accept)
            response = middleware(view)(request)
        answers.append((request.LANGUAGE_CODE, response.get("Vary"), response["Content-Language"]))
    ours, djangos = answers
    if path.startswith("/api/"):
        assert ours == djangos
    else:
        # Pages are Chinese unless the language cookie says otherwise; the headers name it.
        assert ours == ("zh-hans", djangos[1], "zh-hans")
