"""The API's one exception handler.

Validation errors keep DRF's field-error shape (400), always an object; a refused state change
is 409; anything else is `{"detail": ..., "code": ...}`. Errors raised by services as Django's
ValidationError are translated here, so views never catch them one by one.
"""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from config.errors import Conflict


def exception_handler(exc, context):
    if isinstance(exc, SuspiciousOperation):
        # Too many form fields or files, or a body over the limit, found while the REST
        # framework parses the request: Django would answer with its HTML 400 page. Logged where
        # Django logs it, for the same alerting.
        logging.getLogger(f"django.security.{exc.__class__.__name__}").error(str(exc))
        exc = exceptions.ParseError(_("Too many fields or files in the request, or too large."))
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        exc = exceptions.ValidationError(detail=detail)
    if isinstance(exc, exceptions.ValidationError) and isinstance(exc.detail, list):
        # A refusal that names no field (a service's plain ValidationError) keeps the
        # field-error shape the schema promises, under the REST framework's non-field key.
        exc = exceptions.ValidationError({api_settings.NON_FIELD_ERRORS_KEY: exc.detail})
    if isinstance(exc, Conflict):
        return Response(
            {"detail": str(exc.message), "code": "conflict"}, status=status.HTTP_409_CONFLICT
        )
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "detail" in response.data:
        codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else None
        if isinstance(codes, str):
            response.data["code"] = codes
    return response
