"""config.handler: the go-live's request taken through the middleware flat answers exactly what
Django's own handler answers, status, headers and body, for every kind of request to that route;
and the route is built only from middleware it knows how to take flat."""

import json

import pytest
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from django.http import HttpResponse
from django.urls import reverse
from django.utils.deprecation import MiddlewareMixin

from config.handler import Handler
from liverooms.api import golive
from liverooms.models import LiveSession
from tests.liverooms.conftest import REVIEWED

pytestmark = pytest.mark.django_db

URL = "/api/v1/live-sessions/"


def served(handler, environ: dict) -> tuple[str, list, bytes]:
    seen = []
    answer = handler(environ, lambda status, headers, exc_info=None: seen.append((status, headers)))
    try:
        body = b"".join(answer)
    finally:
        answer.close()
    status, headers = seen[0]
    return status, list(headers), body


@pytest.fixture(autouse=True)
def connection_kept():
    """As Django's test client does: both handlers close old connections when a request starts
    and ends (close_old_connections), which would close the test's own connection inside the
    transaction it runs in. SQLite's in-memory database ignores that; PostgreSQL does not."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def both(rf):
    """The same request through the project's handler and through Django's."""
    flat, django = Handler(), WSGIHandler()

    def ask(build, *, between=None):
        answers = []
        for handler in (flat, django):
            answers.append(served(handler, build().environ))
            if between:
                between()
        return answers

    return ask


@pytest.fixture
def key(make_key):
    return make_key(name="flat route")[1]


def post(rf, raw_key=None, body=None, **extra):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw_key}"} if raw_key else {}
    return lambda: rf.post(
        URL,
        body if isinstance(body, (str, bytes)) else json.dumps(body),
        content_type="application/json",
        **headers,
        **extra,
    )


def without_length(headers: list) -> list:
    return [(name, "" if name == "Content-Length" else value) for name, value in headers]


def go_live_body(world, **overrides):
    return {
        "room_id": world.room.pk,
        "anchor_ids": [world.anchor.pk],
        "product_ids": [world.product.pk],
        "pre_stream_checklist": REVIEWED,
        **overrides,
    }


def test_the_project_serves_the_go_live_route_flat():
    handler = Handler()
    assert list(handler.flat_routes) == [("POST", reverse("live-session-list"))]
    from config.wsgi import application

    assert isinstance(application, Handler) and application.flat_routes


def test_an_allowed_go_live_is_answered_alike(world, rf, key, both):
    (flat, django) = both(
        post(rf, key, go_live_body(world)),
        between=lambda: LiveSession.objects.update(status="ended"),
    )
    assert flat[0] == django[0] == "201 Created"
    # Two sessions differ in id and time, so in length; nothing else.
    assert without_length(flat[1]) == without_length(django[1])
    assert list(json.loads(flat[2])) == list(json.loads(django[2]))


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("refused", "403 Forbidden"),
        ("no key", "401 Unauthorized"),
        ("malformed JSON", "400 Bad Request"),
        ("an id as a string", "201 Created"),
        ("English", "403 Forbidden"),
        ("an unknown host", "400 Bad Request"),
        ("a body over the cap", "413 Request Entity Too Large"),
        ("another Accept", "406 Not Acceptable"),
    ],
)
def test_every_other_go_live_is_answered_alike(world, rf, key, both, case, status):
    from accounts import services as accounts
    from tests.factories import TEST_ACTOR

    body = go_live_body(world)
    extra = {}
    if case in ("refused", "English"):
        accounts.restriction_impose(
            party=world.anchor, kind="live", reason="违规", actor=TEST_ACTOR
        )
    if case == "English":
        extra["HTTP_ACCEPT_LANGUAGE"] = "en"
    if case == "malformed JSON":
        body = '{"room_id": '
    if case == "an id as a string":
        body = go_live_body(world, room_id=str(world.room.pk))
    if case == "an unknown host":
        extra["HTTP_HOST"] = "elsewhere.example"
    if case == "a body over the cap":
        extra["CONTENT_LENGTH"] = str(10**9)
    if case == "another Accept":
        extra["HTTP_ACCEPT"] = "text/csv"
    raw_key = None if case == "no key" else key
    flat, django = both(
        post(rf, raw_key, body, **extra),
        between=lambda: LiveSession.objects.update(status="ended"),
    )
    assert flat[0] == django[0] == status
    if status == "201 Created":
        assert without_length(flat[1]) == without_length(django[1])
    else:
        assert flat == django


def test_a_failing_view_is_answered_alike(world, rf, key, both, monkeypatch):
    def fails(*args, **kwargs):
        raise RuntimeError("the gate broke")

    monkeypatch.setattr(golive, "decide", fails)
    flat, django = both(post(rf, key, go_live_body(world)))
    assert flat[0] == django[0] == "500 Internal Server Error"
    assert flat == django


def test_the_other_methods_of_the_route_go_down_djangos_chain(world, rf, key, both):
    flat, django = both(lambda: rf.get(URL, HTTP_AUTHORIZATION=f"Bearer {key}"))
    assert flat[0] == django[0] == "200 OK"
    assert flat == django


def test_the_route_answers_without_djangos_chain(world, rf, key, monkeypatch):
    """Every other test compares answers; this one shows whose they are: with the innermost
    step of Django's chain broken, the route still answers, and a request off the route
    does not."""
    from django.core.handlers.base import BaseHandler

    def broken(self, request):
        raise RuntimeError("Django's chain was called")

    monkeypatch.setattr(BaseHandler, "_get_response", broken)
    handler = Handler()
    assert served(handler, post(rf, key, go_live_body(world))().environ)[0] == "201 Created"
    listed = served(handler, rf.get(URL, HTTP_AUTHORIZATION=f"Bearer {key}").environ)
    assert listed[0] == "500 Internal Server Error"


CALLS = []


class Recorder(MiddlewareMixin):
    """A middleware with every hook, recording the order they are called in."""

    name = "recorder"

    def process_request(self, request):
        CALLS.append(f"{self.name} request")

    def process_view(self, request, view, args, kwargs):
        CALLS.append(f"{self.name} view")

    def process_exception(self, request, exception):
        CALLS.append(f"{self.name} exception")

    def process_template_response(self, request, response):
        CALLS.append(f"{self.name} template")
        return response

    def process_response(self, request, response):
        CALLS.append(f"{self.name} response {response.status_code}")
        response.headers[f"X-{self.name}"] = "seen"
        return response


class Outer(Recorder):
    name = "outer"


class Inner(Recorder):
    name = "inner"


class AnswersFirst(MiddlewareMixin):
    def process_request(self, request):
        CALLS.append("answers first")
        return HttpResponse("teapot", status=418)


class RaisesFirst(MiddlewareMixin):
    def process_request(self, request):
        raise ValueError("before the view")

    def process_response(self, request, response):
        CALLS.append("raises first: response")  # never: its request hook raised
        return response


class AnswersInstead(MiddlewareMixin):
    def process_view(self, request, view, args, kwargs):
        return HttpResponse("instead", status=409)


class Rescues(MiddlewareMixin):
    def process_exception(self, request, exception):
        return HttpResponse("rescued", status=503)


class BreaksResponse(MiddlewareMixin):
    def process_response(self, request, response):
        raise ValueError("after the view")


class ChoosesUrlconf(MiddlewareMixin):
    def process_request(self, request):
        from django.conf import settings

        request.urlconf = settings.ROOT_URLCONF


class NotUsed(MiddlewareMixin):
    def __init__(self, get_response):
        from django.core.exceptions import MiddlewareNotUsed

        raise MiddlewareNotUsed


@pytest.mark.parametrize(
    ("middle", "fail"),
    [
        (None, False),
        (None, True),
        ("AnswersFirst", False),
        ("RaisesFirst", False),
        ("AnswersInstead", False),
        ("Rescues", True),
        ("BreaksResponse", False),
        ("ChoosesUrlconf", False),
        ("NotUsed", False),
    ],
)
def test_middleware_added_later_see_the_same_calls_on_the_flat_route(
    world, rf, key, settings, monkeypatch, middle, fail
):
    """Two recording middleware, the outermost and the innermost, and between them one that
    answers, raises or rescues at some hook: the calls, the status, the headers in their order
    and the body are the same through the route as through Django's chain."""
    here = __name__
    between = [f"{here}.{middle}"] if middle else []
    settings.MIDDLEWARE = [
        f"{here}.Outer",
        *settings.MIDDLEWARE[:4],
        *between,
        *settings.MIDDLEWARE[4:],
        f"{here}.Inner",
    ]
    if fail:
        monkeypatch.setattr(golive, "decide", lambda *a, **k: 1 / 0)
    flat, django = Handler(), WSGIHandler()
    assert flat.flat_routes
    seen = []
    for handler in (flat, django):
        CALLS.clear()
        status, headers, body = served(handler, post(rf, key, go_live_body(world))().environ)
        seen.append((status, without_length(headers), [*CALLS]))
        # Two sessions differ in id and time: their answers are compared by their fields.
        seen[-1] += (sorted(json.loads(body)) if status == "201 Created" else body,)
        LiveSession.objects.update(status="ended")
    assert seen[0] == seen[1]
    assert seen[0][2][0] == "outer request"
    assert seen[0][2][-1].startswith("outer response")


class AsyncView(MiddlewareMixin):
    async def process_view(self, request, view, args, kwargs):
        return None


class Unknown:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)


def factory(get_response):
    return get_response


@pytest.mark.parametrize(
    "change",
    [
        "a middleware class of its own making",
        "a middleware factory function",
        "a coroutine hook",
        "atomic requests",
        "WhiteNoise serving a root",
    ],
)
def test_what_the_route_does_not_know_leaves_every_request_to_djangos_chain(
    settings, monkeypatch, tmp_path, change
):
    from django.db import connections

    added = {
        "a middleware class of its own making": "Unknown",
        "a middleware factory function": "factory",
        "a coroutine hook": "AsyncView",
    }
    if change == "atomic requests":
        monkeypatch.setitem(connections.settings["default"], "ATOMIC_REQUESTS", True)
    elif change == "WhiteNoise serving a root":
        settings.WHITENOISE_ROOT = str(tmp_path)  # it may answer any path with a file
    else:
        settings.MIDDLEWARE = [*settings.MIDDLEWARE, f"{__name__}.{added[change]}"]
    assert not hasattr(Handler(), "flat_routes")
