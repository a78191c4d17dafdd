"""Views of the customers API: customers, and the events integrations push."""

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.api.idempotency import IDEMPOTENCY_PARAMETER, idempotent
from crm.api.pagination import IdCursorPagination
from crm.api.permissions import ModelPermissions
from crm.api.renderers import ORJSONParser, ORJSONRenderer
from crm.api.throttling import ScopedRateThrottle
from customers import services
from customers.api.serializers import CustomerInputSerializer, CustomerSerializer
from customers.filters import CustomerFilter
from customers.ingest import MAX_BATCH, events_ingest, gc_paused
from customers.models import Customer
from customers.privacy.hooks import PersonalDataAPIMixin, note_customers
from customers.privacy.models import AccessAction
from customers.selectors import customer_list


class CustomerViewSet(
    PersonalDataAPIMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Customers: list (search, filters, cursor pages), read, create, update (each one's timeline is
    ``customers.api.timeline``).

    A merged-away customer still answers, with ``status: merged`` and ``merged_into`` naming the survivor.
    """

    permission_classes = [ModelPermissions]
    pagination_class = IdCursorPagination
    filterset_class = CustomerFilter
    queryset = Customer.objects.all()

    def get_queryset(self) -> Any:
        return customer_list()

    def get_serializer_class(self) -> Any:
        return (
            CustomerInputSerializer
            if self.action in {"create", "update", "partial_update"}
            else CustomerSerializer
        )

    @extend_schema(
        parameters=[IDEMPOTENCY_PARAMETER],
        request=CustomerInputSerializer,
        responses={201: CustomerSerializer},
    )
    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = CustomerInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        identities = [(item["source"], item["external_id"]) for item in data.pop("identities", [])]
        customer = services.customer_create(data=data, identities=identities)
        note_customers(request, [customer.pk])
        return Response(
            CustomerSerializer(
                customer_list().get(pk=customer.pk), context=self.get_serializer_context()
            ).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(request=CustomerInputSerializer, responses={200: CustomerSerializer})
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        customer = self.get_object()
        partial = kwargs.get("partial", False)
        serializer = CustomerInputSerializer(customer, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if data.pop("identities", None):
            raise ValidationError(
                {"identities": [_("Identities are linked by ingestion or merge, not by update.")]},
                code="read_only",
            )
        services.customer_update(customer=customer, data=data)
        return Response(
            CustomerSerializer(
                customer_list().get(pk=customer.pk), context=self.get_serializer_context()
            ).data
        )


class EventPermission(IsAuthenticated):
    """Pushing events needs the permission to add interactions."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        return super().has_permission(request, view) and request.user.has_perm("customers.add_interaction")


@extend_schema(
    summary="Push one event or a batch of up to 1,000",
    description=(
        "Idempotent on (source, external_id): a replayed event answers `duplicate` and changes nothing. "
        "Each item's fate comes back in order: `created`, `duplicate`, or `rejected` with field errors; "
        "valid items are stored even when others are rejected. A batch answers 200; a single event answers "
        "201 when created, 200 when a duplicate, 400 when rejected."
    ),
    parameters=[IDEMPOTENCY_PARAMETER],
    request={
        "application/json": {"oneOf": [{"type": "object"}, {"type": "array", "items": {"type": "object"}}]}
    },
    responses={200: OpenApiResponse(description="Each item's fate and the totals"), 400: OpenApiResponse()},
)
class EventIngestView(PersonalDataAPIMixin, APIView):
    personal_data_actions = {"post": AccessAction.INPUT}
    permission_classes = [EventPermission]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "events"
    # A batch is up to 1,000 events each way: orjson parses and renders it several times faster.
    parser_classes = [ORJSONParser]
    renderer_classes = [ORJSONRenderer, BrowsableAPIRenderer]

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        """The whole request with Python's cyclic garbage collector paused, as ``events_ingest`` pauses it
        for the batch: the parsed body and the answer are tens of thousands of objects alive until the
        answer is sent, and the collector walked them again and again meanwhile (measured: 3 ms of a
        1,000-event request's 10 ms outside the batch itself)."""
        with gc_paused():
            return super().dispatch(request, *args, **kwargs)

    @idempotent
    def post(self, request: Request) -> Response:
        single = isinstance(request.data, dict)
        events = [request.data] if single else request.data
        if not isinstance(events, list):
            raise ValidationError(
                {"non_field_errors": [_("Send an event object or a JSON list of events.")]}, code="invalid"
            )
        if len(events) > MAX_BATCH:
            raise ValidationError(
                {
                    "non_field_errors": [
                        _("A batch holds at most %(max)d events; this one has %(n)d.")
                        % {"max": MAX_BATCH, "n": len(events)}
                    ]
                },
                code="batch_too_large",
            )
        result = events_ingest(events=events)
        note_customers(request, [item.customer_id for item in result.results])
        answer = result.as_dict()
        if not single:
            return Response(answer, status=status.HTTP_200_OK)
        fate = result.results[0].status
        code = {"created": status.HTTP_201_CREATED, "duplicate": status.HTTP_200_OK}.get(
            fate, status.HTTP_400_BAD_REQUEST
        )
        return Response(answer, status=code)
