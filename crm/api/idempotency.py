"""``Idempotency-Key`` for POST endpoints that create things, with Stripe's semantics.

A client that retries a POST after a time-out sends the same key: it gets the first answer again instead
of a second object. The key row is written (and committed) before the view runs, so that concurrent
retries see it; the answer is stored when the view returns. Server errors are not stored: the client
may retry them. A key abandoned mid-request (the worker died) can be taken over after ``STALE_AFTER``.
"""

import datetime as dt
import functools
import hashlib
import json
from collections.abc import Callable
from typing import Any, cast

from django.db import IntegrityError, transaction
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.request import Request
from rest_framework.response import Response

from crm.api.exceptions import Conflict, Unprocessable
from crm.models import IdempotencyKey, User

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
STALE_AFTER = dt.timedelta(minutes=5)
TTL = dt.timedelta(hours=24)

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    name=HEADER,
    type=OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "A unique value (e.g. a UUID) per intended request. A retry with the same key replays the first "
        "answer; the same key with a different request is refused with 422."
    ),
)


def _fingerprint(request: Request) -> str:
    digest = hashlib.sha256(f"{request.method} {request.path}\n".encode())
    files = getattr(request, "FILES", {}) or {}
    if files:
        for name in sorted(files):
            upload = files[name]
            digest.update(name.encode())
            for chunk in upload.chunks():
                digest.update(chunk)
            upload.seek(0)
        data = {k: v for k, v in request.data.items() if k not in files}
    else:
        data = request.data
    digest.update(json.dumps(data, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def idempotent(view_method: Callable[..., Response]) -> Callable[..., Response]:
    """Decorate a DRF view's ``create``/``post`` to honour the ``Idempotency-Key`` header."""

    @functools.wraps(view_method)
    def wrapper(self: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.headers.get(HEADER)
        if key is None:
            return view_method(self, request, *args, **kwargs)
        if not key or len(key) > MAX_KEY_LENGTH:
            raise Unprocessable(
                f"{HEADER} must be 1 to {MAX_KEY_LENGTH} characters.", code="invalid_idempotency_key"
            )
        fingerprint = _fingerprint(request)
        record = _claim(request, key, fingerprint)
        if record.response_status is not None:
            response = Response(record.response_body, status=record.response_status)
            response["Idempotent-Replayed"] = "true"
            return response
        try:
            response = view_method(self, request, *args, **kwargs)
        except BaseException:
            IdempotencyKey.objects.filter(pk=record.pk).delete()
            raise
        if response.status_code >= 500:
            IdempotencyKey.objects.filter(pk=record.pk).delete()
        else:
            record.response_status = response.status_code
            record.response_body = response.data
            record.save(update_fields=["response_status", "response_body"])
        return response

    return wrapper


def _claim(request: Request, key: str, fingerprint: str) -> IdempotencyKey:
    """The key's row: a new one claimed for this request, or the finished first answer."""
    user = cast(User, request.user)  # the views that use keys require authentication
    try:
        with transaction.atomic():
            return IdempotencyKey.objects.create(
                user=user,
                key=key,
                method=request.method or "",
                path=request.path[:500],
                request_hash=fingerprint,
            )
    except IntegrityError:
        pass
    record = IdempotencyKey.objects.get(user=user, key=key)
    if record.request_hash != fingerprint:
        raise Unprocessable(
            f"This {HEADER} was used for a different request; use a new key for a new request.",
            code="idempotency_key_reused",
        )
    if record.response_status is None:
        if timezone.now() - record.created_at < STALE_AFTER:
            raise Conflict(
                f"A request with this {HEADER} is still being processed; retry later.",
                code="idempotency_key_in_use",
            )
        # The first request died mid-way: take the key over.
        claimed = IdempotencyKey.objects.filter(pk=record.pk, created_at=record.created_at).update(
            created_at=timezone.now()
        )
        if not claimed:
            raise Conflict(
                f"A request with this {HEADER} is still being processed; retry later.",
                code="idempotency_key_in_use",
            )
        record.refresh_from_db()
    return record


def idempotency_keys_expire(*, now: dt.datetime | None = None) -> int:
    """Delete keys older than ``TTL``; return how many."""
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=(now or timezone.now()) - TTL).delete()
    return deleted
