"""Errors of the REST API in DRF's shape, each with a stable ``code`` clients can branch on."""

from typing import Any

from rest_framework.exceptions import APIException
from rest_framework.response import Response
from rest_framework.views import exception_handler


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """``{"detail": ..., "code": ...}`` for errors about the request, and
    ``{"field": [{"message": ..., "code": ...}]}`` for validation errors."""
    response = exception_handler(exc, context)
    if response is None or not isinstance(exc, APIException):
        return response
    if isinstance(exc.detail, list | dict):
        response.data = exc.get_full_details()
    else:
        response.data = {"detail": str(exc.detail), "code": getattr(exc.detail, "code", exc.default_code)}
    return response


class Conflict(APIException):
    status_code = 409
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"


class Unprocessable(APIException):
    status_code = 422
    default_detail = "The request cannot be processed."
    default_code = "unprocessable"
