"""The timeline API: ``GET /api/v1/customers/{id}/timeline/``, one customer's interactions newest first."""

from typing import Any

import orjson
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail, NotFound, ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.api.renderers import ORJSONRenderer
from customers.forms import TimelineFilterForm
from customers.models import Customer, Interaction
from customers.privacy.hooks import PersonalDataAPIMixin, note_customers
from customers.privacy.models import AccessAction
from customers.timeline import MAX_PAGE_SIZE, PAGE_SIZE, InvalidCursor, TimelineFilters, timeline_page

VIEW_CUSTOMER = "customers.view_customer"
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


FILTER_PARAMETERS = frozenset({"kind", "channel", "source", "since", "until"})


class TimelinePermission(BasePermission):
    """Reading a timeline needs the permissions to view customers and to view their interactions."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.has_perms([VIEW_CUSTOMER, VIEW_INTERACTION]))


def _page_size(request: Request) -> int:
    raw = request.query_params.get("page_size", "")
    if not raw:
        return PAGE_SIZE
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        raise ValidationError(
            {"page_size": [_("A whole number from 1 to %(max)d.") % {"max": MAX_PAGE_SIZE}]}, code="invalid"
        )
    return int(raw)


def _filters(request: Request) -> TimelineFilters:
    if FILTER_PARAMETERS.isdisjoint(request.query_params):
        return TimelineFilters()  # the common case needs no form
    form = TimelineFilterForm(request.query_params)
    if not form.is_valid():
        raise ValidationError(
            {
                field: [ErrorDetail(error["message"], code=error["code"]) for error in errors]
                for field, errors in form.errors.get_json_data().items()
            }
        )
    return form.filters()


def _encode(item: dict[str, Any]) -> dict[str, Any]:
    """An item in the documented shape; its properties go out as the JSON text PostgreSQL sent."""
    return {
        "id": item["id"],
        "kind": item["kind"],
        "channel": item["channel"],
        "source": item["source"],
        "external_id": item["external_id"],
        "occurred_at": item["occurred_at"],
        "amount": item["amount"],
        "currency": item["currency"],
        "summary": item["summary"],
        "nps_score": item["nps_score"],
        "properties": orjson.Fragment(item["properties"]),
        "recorded_at": item["recorded_at"],
    }


@extend_schema(
    summary="A customer's timeline, newest first",
    description=(
        "Every interaction of the customer from every source system, newest first, by cursor: follow "
        "`next` for older items. Items that share a time are each returned exactly once. Needs the "
        "permissions to view customers and interactions."
    ),
    parameters=TIMELINE_PARAMETERS,
    responses={200: TIMELINE_RESPONSE},
)
class CustomerTimelineView(PersonalDataAPIMixin, APIView):
    """``GET /api/v1/customers/{id}/timeline/``: the hot path of integrations and the customer view.

    Lean on purpose (DESIGN.md: p95 under 25 ms, over 400 requests/s, at most 4 queries): the token's
    user comes with its permissions in one query (``crm.api.authentication``), the page is one written-out
    statement (``customers.timeline``), items are plain dicts rendered by orjson with their properties
    passed through as the database's JSON text, and the access record is one INSERT. Three queries with a
    token; an empty page costs one more, to tell a customer without interactions (200) from an unknown
    one (404).
    """

    permission_classes = [TimelinePermission]
    renderer_classes = [ORJSONRenderer]
    personal_data_actions = {"get": AccessAction.VIEW}

    def get(self, request: Request, pk: int) -> Response:
        filters = _filters(request)
        size = _page_size(request)
        try:
            page = timeline_page(
                customer_id=pk,
                filters=filters,
                cursor=request.query_params.get("cursor") or None,
                size=size,
                raw_json=True,
            )
        except InvalidCursor as error:
            raise ValidationError(
                {"cursor": [_("Not a cursor of this timeline.")]}, code="invalid"
            ) from error
        if not page.items and not Customer.objects.filter(pk=pk).exists():
            raise NotFound()
        if page.items:  # the customer's interactions were read: the access record names them
            note_customers(request, [pk])
        next_url = None
        if page.next_cursor:
            query = [
                (k, v) for k in request.query_params for v in request.query_params.getlist(k) if k != "cursor"
            ]
            next_url = request.build_absolute_uri(
                f"{request.path}?{urlencode([*query, ('cursor', page.next_cursor)])}"
            )
        return Response({"next": next_url, "previous": None, "results": [_encode(i) for i in page.items]})
