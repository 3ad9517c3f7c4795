"""What the OpenAPI schema says about errors, shared by every API app: the body of a refusal and
the standard answers (400, 401, 403, 404, 409, 415, 429), each app naming its own records; and the
schema class that gives every operation the answers its plumbing can give."""

from __future__ import annotations

import uritemplate
from drf_spectacular import openapi
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.permissions import AllowAny


class ErrorOut(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField()


def error_responses(*codes: int, not_found: str, conflict: str = "") -> dict:
    """The documented error answers for `codes`; `not_found` and `conflict` describe the 404 and
    409 in the terms of the app's own records."""
    described = {
        400: OpenApiResponse(
            OpenApiTypes.OBJECT,
            description="Field errors, `{field: [message, ...]}`; nothing was stored.",
        ),
        401: OpenApiResponse(ErrorOut, description="No API key, or an invalid or revoked one."),
        403: OpenApiResponse(
            ErrorOut,
            description="The key lacks the scope, or is bound to a party and may not do this.",
        ),
        404: OpenApiResponse(ErrorOut, description=not_found),
        409: OpenApiResponse(ErrorOut, description=f"{conflict} (`code: conflict`)."),
        415: OpenApiResponse(
            ErrorOut, description="The body's Content-Type is not one this operation reads."
        ),
        429: OpenApiResponse(
            ErrorOut, description="Too many requests; retry after the seconds in `Retry-After`."
        ),
    }
    return {code: described[code] for code in codes}


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's schema, with the error answers a view can give filled in wherever the
    view does not describe them itself.

    The REST framework answers 401, 403, 429, a malformed query 400, a missing object 404 and a
    body it has no parser for 415 before a view's own code runs: they belong to the view's
    plumbing (its authentication, permissions, throttles, filters, parsers and lookup), not to
    each view's annotations. Deriving them from that plumbing keeps the schema true for every
    view, the ones written later included; a view's own `responses=` still wins for the codes
    it names.
    """

    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        for parameter in (operation or {}).get("parameters", []):
            # An optional query parameter sent blank (`?kind=`) counts as not sent: the rule of
            # django-filter, of the REST framework's serializers reading a query string, and of
            # the pagination. The schema says so, or a client would expect a refusal.
            if parameter.get("in") == "query" and not parameter.get("required"):
                parameter["allowEmptyValue"] = True
        return operation

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code, response in self._plumbing_errors().items():
            if str(code) not in responses:
                responses[str(code)] = self._get_response_for_code(
                    response, str(code), direction=direction
                )
        return responses

    def _plumbing_errors(self) -> dict:
        view = self.view
        codes = set()
        query = [p for p in self._get_parameters() if p.get("in") == "query"]
        if query or self.method in ("POST", "PUT", "PATCH"):
            codes.add(400)  # field errors, a malformed body, or a bad filter or page size
        if self.method in ("POST", "PUT", "PATCH"):
            codes.add(415)
        if view.authentication_classes:
            # A malformed or revoked key is refused even where no key is needed.
            codes.add(401)
        if any(permission is not AllowAny for permission in view.permission_classes):
            codes.update((401, 403))
        if view.throttle_classes:
            codes.add(429)
        if uritemplate.variables(self.path):
            codes.add(404)
        return error_responses(
            *sorted(codes),
            not_found="No such record, or one this key may not see.",
        )
