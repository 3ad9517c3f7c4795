"""Django's WSGI handler, with the go-live gate's request taken through the middleware flat.

The go-live gate (`POST /api/v1/live-sessions/`) is asked a thousand times a second on two cores
(bench/README.md). Django hands each request down a chain of one wrapper per middleware and back,
the browser's middleware passing an API request on, then resolves its URL. For that one route
this handler calls the same middleware's hooks in the same order, then the view that the URLconf
names for it: 4 to 6 % less CPU per allowed decision in-process, 3 to 10 % less of a worker's
under load (bench/README.md).

- `process_request`, `process_view`, `process_template_response`, `process_exception` and
  `process_response` of every middleware built on Django's MiddlewareMixin, as the mixin and
  Django's handler call them, an exception in a hook or the view answered as Django answers it;
- the body cap (`request_size_middleware`) and django-axes' lockout answer, the two middleware
  written as plain callables, through their own code;
- the browser's middleware (`config.middleware.BrowserOnly`) and WhiteNoise, which hand an API
  request that names no static file straight on, left out, as they leave it.

Until the view is called nothing is irreversible: if a request hook answers or raises, or a view
hook answers, the request goes down Django's chain from the start instead and is answered by it.
Everything around the chain -- the request signals, the request object, the script prefix, the
response's closing, Django's log of 4xx and 5xx answers, the cookies -- is Django's handler's, as
for any other request.

The route is built from MIDDLEWARE when the handler loads it. A middleware it does not know how
to take flat, an atomic request, or a view that is not CSRF-exempt leave it unbuilt, and every
request goes down the chain (a test holds the route built with the project's settings).
"""

from __future__ import annotations

from collections.abc import Callable

from asgiref.sync import iscoroutinefunction
from axes.middleware import AxesMiddleware
from django.conf import settings
from django.core.handlers.exception import response_for_exception
from django.core.handlers.wsgi import WSGIHandler
from django.db import connections
from django.urls import get_resolver, reverse
from django.utils.deprecation import MiddlewareMixin
from django.utils.module_loading import import_string
from whitenoise.middleware import WhiteNoiseMiddleware

from config.middleware import API_PREFIX, BrowserOnly, request_size_middleware

# (method, URL name): the routes taken flat.
FLAT_ROUTES = (("POST", "live-session-list"),)


class Handler(WSGIHandler):
    def load_middleware(self, is_async=False):
        super().load_middleware(is_async)
        if is_async:
            return
        chain = self._middleware_chain
        routes = {}
        for method, name in FLAT_ROUTES:
            route = FlatRoute.build(self, chain, method, name)
            if route is not None:
                routes[(method, route.path)] = route
        if routes:
            self.flat_routes = routes

            def dispatch(request):
                route = routes.get((request.method, request.path_info))
                return chain(request) if route is None else route(request)

            self._middleware_chain = dispatch


class _Hooks:
    """The middleware's hooks in the order Django's handler calls them."""

    def __init__(self):
        self.before: list[Callable] = []  # request phase, outermost first: a response or None
        self.view: list[Callable] = []  # outermost first
        self.template: list[Callable] = []  # innermost first
        self.exception: list[Callable] = []  # innermost first
        self.after: list[Callable] = []  # response phase, innermost first

    def add(self, instance, *, request_and_response: bool) -> None:
        if request_and_response and hasattr(instance, "process_request"):
            self.before.append(instance.process_request)
        if hasattr(instance, "process_view"):
            self.view.append(instance.process_view)
        if hasattr(instance, "process_template_response"):
            self.template.insert(0, instance.process_template_response)
        if hasattr(instance, "process_exception"):
            self.exception.insert(0, instance.process_exception)
        if request_and_response and hasattr(instance, "process_response"):
            self.after.insert(0, instance.process_response)


class FlatRoute:
    def __init__(self, handler, chain, path: str, match, hooks: _Hooks):
        self.handler = handler
        self.chain = chain
        self.path = path
        self.match = match
        self.hooks = hooks

    @classmethod
    def build(cls, handler, chain, method: str, name: str) -> FlatRoute | None:
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
        hooks = _Hooks()
        for middleware_path in settings.MIDDLEWARE:
            middleware = import_string(middleware_path)
            if middleware is request_size_middleware:
                hooks.before.append(middleware(_nothing))
            elif middleware is AxesMiddleware:
                hooks.after.insert(0, _axes_lockout)
            elif middleware is WhiteNoiseMiddleware:
                # It answers only for a static file: under STATIC_URL, or anywhere with a root.
                if getattr(settings, "WHITENOISE_ROOT", None) or path.startswith(
                    settings.STATIC_URL
                ):
                    return None
            elif _calls(middleware, BrowserOnly):
                if not path.startswith(API_PREFIX):
                    return None
                # It hands an API request on untouched; Django's handler still calls its view,
                # template and exception hooks, if it has any.
                hooks.add(middleware(chain), request_and_response=False)
            elif _calls(middleware, MiddlewareMixin):
                hooks.add(middleware(chain), request_and_response=True)
            else:
                return None
        return cls(handler, chain, path, match, hooks)

    def __call__(self, request):
        # Before the view: any answer or error, and Django's chain takes the request instead.
        try:
            for hook in self.hooks.before:
                if hook(request) is not None:
                    return self.chain(request)
            if hasattr(request, "urlconf"):  # a middleware chose another URLconf
                return self.chain(request)
            request.resolver_match = self.match
            view, args, kwargs = self.match.func, self.match.args, self.match.kwargs
            for hook in self.hooks.view:
                if hook(request, view, args, kwargs):
                    return self.chain(request)
        except Exception:
            return self.chain(request)
        try:
            response = self._get_response(request, view, args, kwargs)
        except Exception as exc:
            response = response_for_exception(request, exc)
        for hook in self.hooks.after:
            # An error in one middleware's answer becomes the answer the outer ones see, as
            # Django's wrapper around each middleware makes it.
            try:
                response = hook(request, response)
            except Exception as exc:
                response = response_for_exception(request, exc)
        return response

    def _get_response(self, request, view, args, kwargs):
        """BaseHandler._get_response from the view on."""
        try:
            response = view(request, *args, **kwargs)
        except Exception as exc:
            response = self._by_hooks(request, exc)
            if response is None:
                raise
        self.handler.check_response(response, view)
        if hasattr(response, "render") and callable(response.render):
            for hook in self.hooks.template:
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
        for hook in self.hooks.exception:
            response = hook(request, exc)
            if response:
                return response
        return None


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
