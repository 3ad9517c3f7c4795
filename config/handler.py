"""Django's WSGI handler, with the go-live gate's request taken through the middleware flat.

The go-live gate (`POST /api/v1/live-sessions/`) is asked a thousand times a second on two cores
(bench/README.md). Django hands each request down a chain of one wrapper per middleware and back,
the browser's middleware passing an API request on, then resolves its URL. For that one route
this handler calls the same middleware's hooks in the same order, then the view that the URLconf
names for it: 6 % fewer instructions per allowed decision in-process (callgrind), 3 to 10 %
less of a worker's CPU under load (bench/README.md). What it calls, as Django's handler and
MiddlewareMixin would:

- `process_request` of each middleware from the outermost in; one that answers has its own
  `process_response` and the outer ones' applied, and one that raises, the outer ones' only, to
  Django's answer to the error;
- then, as BaseHandler._get_response: `process_view`, the view, `process_exception` for its
  error, `process_template_response` and the rendering;
- then `process_response` from the innermost out, an error in one becoming the answer the outer
  ones see.

The body cap (`request_size_middleware`) and django-axes' lockout answer, the two middleware
written as plain callables, are called through their own code. The browser's middleware
(`config.middleware.BrowserOnly`) hand an API request on untouched and WhiteNoise one that names
no static file, so their request and response hooks are left out, as they leave them out.
Everything around the chain -- the request signals, the request object, the script prefix, the
response's closing, Django's log of 4xx and 5xx answers, the cookies -- is Django's handler's, as
for any other request.

The route is built from MIDDLEWARE when the handler loads it. A middleware it does not know how
to take flat (another callable, one that overrides `__call__`, one that is not sync-capable or
has a coroutine hook), atomic requests, or a view that is not CSRF-exempt leave it unbuilt, and
every request goes down Django's chain (a test holds the route built with the project's
settings). Its middleware instances are its own, given a next step that refuses to be called:
MiddlewareMixin's hooks never call it.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from asgiref.sync import iscoroutinefunction
from axes.middleware import AxesMiddleware
from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.core.handlers.exception import response_for_exception
from django.core.handlers.wsgi import WSGIHandler
from django.db import connections
from django.urls import ResolverMatch, get_resolver, reverse
from django.utils.deprecation import MiddlewareMixin
from django.utils.module_loading import import_string
from whitenoise.middleware import WhiteNoiseMiddleware

from config.middleware import API_PREFIX, BrowserOnly, request_size_middleware

# (method, URL name): the routes taken flat.
FLAT_ROUTES = (("POST", "live-session-list"),)


class Handler(WSGIHandler):
    """Django's WSGI handler; the routes of FLAT_ROUTES, when they can be, taken flat."""

    def load_middleware(self, is_async=False):
        super().load_middleware(is_async)
        if is_async:
            return
        chain = self._middleware_chain
        routes = {}
        for method, name in FLAT_ROUTES:
            route = FlatRoute.build(self, method, name)
            if route is not None:
                routes[(method, route.path)] = route
        if routes:
            self.flat_routes = routes

            def dispatch(request):
                route = routes.get((request.method, request.path_info))
                return chain(request) if route is None else route(request)

            self._middleware_chain = dispatch


class _Layer:
    """One middleware as the route calls it: a request hook (a response or None) and a response
    hook, either possibly absent."""

    __slots__ = ("after", "before")

    def __init__(self, before: Callable | None = None, after: Callable | None = None):
        self.before = before
        self.after = after


class FlatRoute:
    def __init__(self, handler, path: str, match, layers, view, template, exception):
        self.handler = handler
        self.path = path
        self.match = match
        self.layers = layers  # outermost first
        self.view_hooks = view  # outermost first, as Django calls them
        self.template_hooks = template  # innermost first
        self.exception_hooks = exception  # innermost first

    @classmethod
    def build(cls, handler, method: str, name: str) -> FlatRoute | None:
        """The route of `name` taken flat, or None if this MIDDLEWARE or view do not allow it."""
        # Django's handler would wrap the view in a transaction (make_view_atomic).
        if any(db["ATOMIC_REQUESTS"] for db in connections.settings.values()):
            return None
        path = reverse(name)
        match = get_resolver().resolve(path)
        actions = getattr(match.func, "actions", None)
        if (
            not getattr(match.func, "csrf_exempt", False)
            or iscoroutinefunction(match.func)
            or (actions is not None and method.lower() not in actions)
        ):
            return None
        layers, view, template, exception = [], [], [], []
        for middleware_path in settings.MIDDLEWARE:
            middleware = import_string(middleware_path)
            if middleware is request_size_middleware:
                layers.append(_Layer(before=middleware(_nothing)))
                continue
            if middleware is AxesMiddleware:
                layers.append(_Layer(after=_axes_lockout))
                continue
            if middleware is WhiteNoiseMiddleware:
                if _static(path):
                    return None
                continue
            browser_only = _calls(middleware, BrowserOnly)
            if browser_only and not path.startswith(API_PREFIX):
                return None
            if not (browser_only or _calls(middleware, MiddlewareMixin)):
                return None
            if not getattr(middleware, "sync_capable", True):
                return None
            try:
                instance = middleware(_no_next_step)
            except MiddlewareNotUsed:
                continue  # as Django's handler leaves it out
            hooks = {
                hook: getattr(instance, hook, None)
                for hook in (
                    "process_request",
                    "process_view",
                    "process_template_response",
                    "process_exception",
                    "process_response",
                )
            }
            if any(iscoroutinefunction(h) for h in hooks.values() if h is not None):
                return None  # Django would adapt it; the route does not
            if not browser_only:
                # BrowserOnly hands an API request on without its request and response hooks;
                # Django's handler still calls the view, template and exception hooks.
                layers.append(_Layer(hooks["process_request"], hooks["process_response"]))
            if hooks["process_view"]:
                view.append(hooks["process_view"])
            if hooks["process_template_response"]:
                template.insert(0, hooks["process_template_response"])
            if hooks["process_exception"]:
                exception.insert(0, hooks["process_exception"])
        return cls(handler, path, match, layers, view, template, exception)

    def __call__(self, request):
        for depth, layer in enumerate(self.layers):
            if layer.before is None:
                continue
            try:
                response = layer.before(request)
            except Exception as exc:
                # Out of this middleware: its wrapper answers, the outer ones see that answer.
                return self._outwards(request, response_for_exception(request, exc), depth - 1)
            if response:  # as MiddlewareMixin: `response or self.get_response(request)`
                return self._outwards(request, response, depth)
        try:
            response = self._get_response(request)
        except Exception as exc:
            response = response_for_exception(request, exc)
        return self._outwards(request, response, len(self.layers) - 1)

    def _outwards(self, request, response, depth: int):
        """The response hooks of the middleware from `depth` out."""
        for layer in reversed(self.layers[: depth + 1]):
            if layer.after is None:
                continue
            try:
                response = layer.after(request, response)
            except Exception as exc:
                response = response_for_exception(request, exc)
        return response

    def _get_response(self, request):
        """BaseHandler._get_response, with the URL resolved once when the route was built."""
        if hasattr(request, "urlconf"):  # a middleware chose another URLconf: Django's look-up
            view, args, kwargs = self.handler.resolve_request(request)
        else:
            # A match of its own, as Django's resolver gives each request.
            m = self.match
            match = ResolverMatch(
                m.func,
                m.args,
                dict(m.kwargs),
                m.url_name,
                m.app_names,
                m.namespaces,
                m.route,
                m.tried,
                _copy(m.captured_kwargs),
                _copy(m.extra_kwargs),
            )
            request.resolver_match = match
            view, args, kwargs = match.func, match.args, match.kwargs
        response = None
        for hook in self.view_hooks:
            response = hook(request, view, args, kwargs)
            if response:
                break
        if response is None:
            try:
                response = view(request, *args, **kwargs)
            except Exception as exc:
                response = self._by_hooks(request, exc)
                if response is None:
                    raise
        self.handler.check_response(response, view)
        if hasattr(response, "render") and callable(response.render):
            for hook in self.template_hooks:
                response = hook(request, response)
                self.handler.check_response(
                    response,
                    hook,
                    name=f"{hook.__self__.__class__.__name__}.process_template_response",
                )
            try:
                response = response.render()
            except Exception as exc:
                response = self._by_hooks(request, exc)
                if response is None:
                    raise
        return response

    def _by_hooks(self, request, exc: Exception):
        for hook in self.exception_hooks:
            response = hook(request, exc)
            if response:
                return response
        return None


def _static(path: str) -> bool:
    """Whether WhiteNoise could answer `path` with a file: under its static prefix, or anywhere
    once it serves a root."""
    if getattr(settings, "WHITENOISE_ROOT", None):
        return True
    prefix = getattr(settings, "WHITENOISE_STATIC_PREFIX", None)
    if prefix is None:
        prefix = urlsplit(settings.STATIC_URL or "").path
    prefix = prefix.strip("/")
    return not prefix or path.startswith(f"/{prefix}/")


def _copy(kwargs: dict | None) -> dict | None:
    return None if kwargs is None else dict(kwargs)


def _no_next_step(request):
    raise RuntimeError("the flat route calls middleware hooks, never a next step")


def _calls(middleware, base: type) -> bool:
    """Whether `middleware` is a class whose __call__ is `base`'s."""
    return (
        isinstance(middleware, type)
        and issubclass(middleware, base)
        and middleware.__call__ is base.__call__
    )


def _nothing(request):
    return None


def _axes_lockout(request, response):
    """AxesMiddleware's answer once the view has answered: the lockout page for a request that
    its authentication backend found locked out."""
    if settings.AXES_ENABLED and getattr(request, "axes_locked_out", None):
        from axes.helpers import get_lockout_response

        credentials = getattr(request, "axes_credentials", None)
        return get_lockout_response(request, response, credentials)
    return response
