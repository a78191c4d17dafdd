"""The timeline API: ``GET /api/v1/customers/{id}/timeline/``, one customer's interactions newest first.

Lean on purpose: rows come from ``.values()`` (``customers.timeline``) and are encoded by hand, because a
``ModelSerializer`` per row halves the throughput (DESIGN.md). A page costs four queries with token
authentication (the token with its user, the user's and the groups' permissions, the page); an empty page
costs one more, to tell a customer without interactions (200) from an unknown one (404).
"""

from typing import Any

from django.utils.http import urlencode
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail, NotFound, PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from customers.forms import TimelineFilterForm
from customers.models import Customer, Interaction
from customers.privacy.hooks import note_customers
from customers.timeline import MAX_PAGE_SIZE, PAGE_SIZE, InvalidCursor, timeline_page

VIEW_INTERACTION = "customers.view_interaction"

TIMELINE_PARAMETERS = [
    OpenApiParameter(
        "cursor", OpenApiTypes.STR, description="The `next` link's cursor; empty for the newest."
    ),
    OpenApiParameter(
        "page_size",
        OpenApiTypes.INT,
        description=f"Items per page, {PAGE_SIZE} by default, at most {MAX_PAGE_SIZE}.",
    ),
    OpenApiParameter(
        "kind", OpenApiTypes.STR, many=True, enum=Interaction.Kind.values, description="Only these kinds."
    ),
    OpenApiParameter(
        "channel",
        OpenApiTypes.STR,
        many=True,
        enum=Interaction.Channel.values,
        description="Only these channels.",
    ),
    OpenApiParameter("source", OpenApiTypes.STR, description="Only this source system (its code)."),
    OpenApiParameter(
        "since",
        OpenApiTypes.STR,
        description="From this date (`2026-11-20`, the whole day) or time with UTC offset, included.",
    ),
    OpenApiParameter(
        "until",
        OpenApiTypes.STR,
        description="Up to this date (the whole day included) or time with UTC offset (excluded).",
    ),
]

TIMELINE_RESPONSE = inline_serializer(
    "TimelinePage",
    {
        "next": serializers.URLField(allow_null=True, help_text="The next (older) page, or null at the end."),
        "previous": serializers.URLField(allow_null=True, help_text="Always null: read from the newest."),
        "results": inline_serializer(
            "TimelineItem",
            {
                "id": serializers.IntegerField(),
                "kind": serializers.ChoiceField(choices=Interaction.Kind.choices),
                "channel": serializers.ChoiceField(choices=Interaction.Channel.choices),
                "source": serializers.CharField(help_text="The source system's code."),
                "external_id": serializers.CharField(help_text="The interaction's id in its source system."),
                "occurred_at": serializers.DateTimeField(),
                "amount": serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True),
                "currency": serializers.CharField(),
                "summary": serializers.CharField(),
                "nps_score": serializers.IntegerField(allow_null=True),
                "properties": serializers.DictField(),
                "recorded_at": serializers.DateTimeField(),
            },
            many=True,
        ),
    },
)


def _page_size(request: Request) -> int:
    raw = request.query_params.get("page_size", "")
    if not raw:
        return PAGE_SIZE
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        raise ValidationError(
            {"page_size": [_("A whole number from 1 to %(max)d.") % {"max": MAX_PAGE_SIZE}]}, code="invalid"
        )
    return int(raw)


def _encode(item: dict[str, Any]) -> dict[str, Any]:
    amount = item["amount"]
    return {
        "id": item["id"],
        "kind": item["kind"],
        "channel": item["channel"],
        "source": item["source"],
        "external_id": item["external_id"],
        "occurred_at": item["occurred_at"].isoformat(),
        "amount": None if amount is None else str(amount),
        "currency": item["currency"],
        "summary": item["summary"],
        "nps_score": item["nps_score"],
        "properties": item["properties"],
        "recorded_at": item["recorded_at"].isoformat(),
    }


def timeline_response(request: Request, customer_id: int) -> Response:
    """A page of the customer's timeline in the API's shape; the caller has checked ``view_customer``."""
    if not request.user.has_perm(VIEW_INTERACTION):
        raise PermissionDenied()
    form = TimelineFilterForm(request.query_params)
    if not form.is_valid():
        raise ValidationError(
            {
                field: [ErrorDetail(error["message"], code=error["code"]) for error in errors]
                for field, errors in form.errors.get_json_data().items()
            }
        )
    size = _page_size(request)
    try:
        page = timeline_page(
            customer_id=customer_id,
            filters=form.filters(),
            cursor=request.query_params.get("cursor") or None,
            size=size,
        )
    except InvalidCursor as error:
        raise ValidationError({"cursor": [_("Not a cursor of this timeline.")]}, code="invalid") from error
    if not page.items and not Customer.objects.filter(pk=customer_id).exists():
        raise NotFound()
    if page.items:  # the customer's interactions were read: the access record names them
        note_customers(request, [customer_id])
    next_url = None
    if page.next_cursor:
        query = [
            (k, v) for k in request.query_params for v in request.query_params.getlist(k) if k != "cursor"
        ]
        next_url = request.build_absolute_uri(
            f"{request.path}?{urlencode([*query, ('cursor', page.next_cursor)])}"
        )
    return Response({"next": next_url, "previous": None, "results": [_encode(item) for item in page.items]})
