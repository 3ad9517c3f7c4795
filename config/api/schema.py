"""What the OpenAPI schema says about errors, shared by every API app: the body of a refusal and
the standard answers (400, 401, 403, 404, 409, 429), each app naming its own records."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


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
        429: OpenApiResponse(
            ErrorOut, description="Too many requests; retry after the seconds in `Retry-After`."
        ),
    }
    return {code: described[code] for code in codes}
