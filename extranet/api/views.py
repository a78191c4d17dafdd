"""The extranet API (/api/v1/extranet/): the supplier's dashboards, catalog, proposed orders and messages.

Every view reads through the caller's membership: another supplier's ids answer 404 like missing ones.
Staff, integrations and removed users are refused (403); read-only users may read but not write.
"""

from typing import Any

from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.api.exceptions import Conflict
from crm.api.idempotency import IDEMPOTENCY_PARAMETER, idempotent
from crm.api.pagination import IdCursorPagination
from crm.models import Product
from extranet import dashboards
from extranet.access import WRITER_ROLES, refuse_out_of_scope
from extranet.api import serializers as s
from extranet.messaging import (
    message_post,
    thread_get_for_supplier,
    thread_list_for_supplier,
    thread_mark_read,
    thread_messages,
    thread_start,
    unread_thread_count,
)
from extranet.models import (
    MessageThread,
    ProposedOrder,
    ProposedOrderEvent,
    ProposedOrderLine,
    SupplierMembership,
)
from extranet.selectors import ACCESS_EXTRANET, membership_of, order_list_for_supplier, product_list
from extranet.services import (
    LineInput,
    OrderConflict,
    OrderError,
    OrderForbidden,
    order_create,
    order_transition,
    order_update,
)

SAFE = ("GET", "HEAD", "OPTIONS")


class IsSupplierUser(BasePermission):
    """A signed-in user with a supplier membership (kept on the request); writes need a writing role."""

    write_roles: tuple[str, ...] = WRITER_ROLES

    def has_permission(self, request: Request, view: Any) -> bool:
        membership = membership_of(request.user)
        if membership is None or not request.user.has_perm(ACCESS_EXTRANET):
            return False
        request.extranet_membership = membership  # type: ignore[attr-defined]
        return request.method in SAFE or membership.role in self.write_roles


class IsSupplierUserOfAnyRole(IsSupplierUser):
    """For a POST that changes only the caller's own state, not the supplier's data: marking a thread read,
    which the page does for every role (read-only included) when a thread is opened."""

    write_roles = tuple(SupplierMembership.Role.values)


def _membership(request: Request) -> SupplierMembership:
    return request.extranet_membership


def _period(request: Request) -> tuple[dashboards.Period, str]:
    query = s.PeriodQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    default = dashboards.Period.default()
    start = query.validated_data.get("start") or default.start
    end = query.validated_data.get("end") or default.end
    if start > end:
        raise ValidationError({"start": ["The start date is after the end date."]}, code="invalid_range")
    if (end - start).days + 1 > dashboards.MAX_RANGE_DAYS:
        raise ValidationError({"end": [f"A range spans at most {dashboards.MAX_RANGE_DAYS} days."]})
    return dashboards.Period(start, end), query.validated_data["grain"]


class SalesDashboardView(APIView):
    permission_classes = [IsSupplierUser]

    @extend_schema(parameters=[s.PeriodQuerySerializer], responses=s.SalesDashboardSerializer)
    def get(self, request: Request) -> Response:
        period, grain = _period(request)
        supplier_id = _membership(request).supplier_id
        data = {
            "start": period.start,
            "end": period.end,
            "grain": grain,
            "totals": dashboards.sales_totals(supplier_id=supplier_id, period=period),
            "by_period": dashboards.sales_by_period(supplier_id=supplier_id, period=period, grain=grain),
            "by_channel": dashboards.sales_by_channel(supplier_id=supplier_id, period=period),
            "by_location": dashboards.sales_by_location(supplier_id=supplier_id, period=period),
            "top_products": dashboards.sales_by_product(supplier_id=supplier_id, period=period),
        }
        return Response(s.sales_dashboard_data(data))


class ProfitabilityDashboardView(APIView):
    permission_classes = [IsSupplierUser]

    @extend_schema(parameters=[s.PeriodQuerySerializer], responses=s.ProfitabilityDashboardSerializer)
    def get(self, request: Request) -> Response:
        period, _grain = _period(request)
        supplier_id = _membership(request).supplier_id
        data = {
            "start": period.start,
            "end": period.end,
            "totals": dashboards.profitability(supplier_id=supplier_id, period=period),
            "top_products": dashboards.sales_by_product(supplier_id=supplier_id, period=period),
        }
        return Response(s.profitability_dashboard_data(data))


class InventoryDashboardView(APIView):
    permission_classes = [IsSupplierUser]

    @extend_schema(responses=s.InventoryDashboardSerializer)
    def get(self, request: Request) -> Response:
        supplier_id = _membership(request).supplier_id
        page = dashboards.inventory_by_product(
            supplier_id=supplier_id, after_sku=request.query_params.get("after", "")[:64]
        )
        data = {**dashboards.inventory_totals(supplier_id=supplier_id), **page}
        return Response(s.inventory_dashboard_data(data))


class ProductViewSet(viewsets.ReadOnlyModelViewSet):
    """The supplier's own catalog."""

    permission_classes = [IsSupplierUser]
    serializer_class = s.ProductSerializer
    pagination_class = IdCursorPagination
    queryset = Product.objects.none()
    filterset_class = None
    lookup_value_regex = r"\d+"  # "abc" answers 404 from the router, not a 500 from int()

    def get_queryset(self) -> QuerySet[Product]:
        return product_list(supplier_id=_membership(self.request).supplier_id).order_by("-id")

    def get_object(self) -> Product:
        product = self.get_queryset().filter(pk=self.kwargs["pk"]).first()
        if product is None:
            raise _not_found(self.request, Product, self.kwargs["pk"])
        return product


def _not_found(request: Request, model: Any, pk: Any) -> NotFound:
    refuse_out_of_scope(request._request, model, pk, _membership(request).supplier_id)
    return NotFound()


def _lines(data: dict[str, Any]) -> list[LineInput]:
    return [LineInput(sku=line["sku"], quantity=line["quantity"]) for line in data["lines"]]


def _raise(error: OrderError) -> None:
    if isinstance(error, OrderConflict):
        raise Conflict(error.message, code=error.code)
    if isinstance(error, OrderForbidden):
        raise PermissionDenied(error.message, code=error.code)
    raise ValidationError(
        {"lines" if "line" in error.code or "product" in error.code else "non_field_errors": [error.message]},
        code=error.code,
    )


class OrderViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """The supplier's proposed orders: draft, change a draft, submit, withdraw; read the decisions."""

    permission_classes = [IsSupplierUser]
    pagination_class = IdCursorPagination
    queryset = ProposedOrder.objects.none()
    filterset_class = None
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet[ProposedOrder]:
        orders = order_list_for_supplier(supplier_id=_membership(self.request).supplier_id)
        if self.action != "list":
            orders = orders.prefetch_related(
                Prefetch("lines", ProposedOrderLine.objects.select_related("product").order_by("id")),
                Prefetch("events", ProposedOrderEvent.objects.select_related("actor").order_by("id")),
            )
        return orders

    def get_serializer_class(self) -> Any:
        if self.action in {"create", "update", "partial_update"}:
            return s.OrderInputSerializer
        return s.OrderListSerializer if self.action == "list" else s.OrderSerializer

    def get_object(self) -> ProposedOrder:
        order = self.get_queryset().filter(pk=self.kwargs["pk"]).first()
        if order is None:
            raise _not_found(self.request, ProposedOrder, self.kwargs["pk"])
        return order

    def _out(self, order: ProposedOrder, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=order.pk)
        return Response(s.OrderSerializer(fresh).data, status=code)

    @extend_schema(request=s.OrderInputSerializer, responses={201: s.OrderSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = s.OrderInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            order = order_create(
                membership=_membership(request),
                requested_delivery_date=data.validated_data["requested_delivery_date"],
                note=data.validated_data["note"],
                lines=_lines(data.validated_data),
            )
        except OrderError as error:
            _raise(error)
        return self._out(order, status.HTTP_201_CREATED)

    @extend_schema(request=s.OrderInputSerializer, responses=s.OrderSerializer)
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        order = self.get_object()
        partial = kwargs.get("partial", False)
        data = s.OrderInputSerializer(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        try:
            order_update(
                membership=_membership(request),
                order=order,
                requested_delivery_date=values.get("requested_delivery_date", order.requested_delivery_date),
                note=values.get("note", order.note) if "note" in request.data else order.note,
                lines=_lines(values) if "lines" in values else None,
            )
        except OrderError as error:
            _raise(error)
        return self._out(order)

    def _move(self, request: Request, name: str) -> Response:
        order = self.get_object()
        data = s.TransitionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            order_transition(
                order=order,
                actor=_membership(request).user,
                name=name,
                comment=data.validated_data["comment"],
                request=request._request,
            )
        except OrderError as error:
            _raise(error)
        return self._out(order)

    @extend_schema(request=s.TransitionInputSerializer, responses=s.OrderSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk: str) -> Response:
        """Send a draft (or an order sent back for changes) to the buyers; 409 from any other status."""
        return self._move(request, "submit")

    @extend_schema(request=s.TransitionInputSerializer, responses=s.OrderSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, pk: str) -> Response:
        """Cancel an order that no buyer has approved yet; 409 once it is decided."""
        return self._move(request, "withdraw")


class ThreadPagination(IdCursorPagination):
    """Newest activity first (the (supplier, last message) index): a reply moves its thread to the top."""

    ordering = "-last_message_id"


class MessagePagination(IdCursorPagination):
    """Oldest first, as a thread reads on the page; ``next`` leads on to the newest."""

    ordering = "id"


@extend_schema_view(
    list=extend_schema(
        description=(
            "The supplier's threads, newest activity first, in cursor pages, each with ``unread`` for the "
            "caller. Listing does not mark anything read."
        )
    ),
    retrieve=extend_schema(
        description="One thread, with ``unread`` for the caller; its messages are at ``messages/``."
    ),
)
class ThreadViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The supplier's message threads with the retailer's buyers and creative team.

    Reads never change anything: a thread is marked read for the caller by ``POST read/``, where the page
    marks it when it is opened, so that a client's GET (a sync, a retry, a prefetch) does not clear what
    its user has not seen. Every message is emailed to the other side, as from the page.
    """

    permission_classes = [IsSupplierUser]
    pagination_class = ThreadPagination
    serializer_class = s.ThreadSerializer
    queryset = MessageThread.objects.none()
    filterset_class = None
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet[MessageThread]:
        membership = _membership(self.request)
        return thread_list_for_supplier(supplier_id=membership.supplier_id, user=membership.user)

    def get_object(self) -> MessageThread:
        membership = _membership(self.request)
        thread = thread_get_for_supplier(
            supplier_id=membership.supplier_id, thread_id=int(self.kwargs["pk"]), user=membership.user
        )
        if thread is None:
            raise _not_found(self.request, MessageThread, self.kwargs["pk"])
        return thread

    def _thread_out(self, thread: MessageThread, code: int = status.HTTP_200_OK) -> Response:
        """The thread as read again: its ``unread`` flag after the write."""
        return Response(s.ThreadSerializer(self.get_queryset().get(pk=thread.pk)).data, status=code)

    @extend_schema(
        parameters=[IDEMPOTENCY_PARAMETER],
        request=s.ThreadInputSerializer,
        responses={201: s.ThreadSerializer},
    )
    @idempotent
    def create(self, request: Request) -> Response:
        """Start a thread with the retailer: a subject and the first message."""
        data = s.ThreadInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = _membership(request)
        thread = thread_start(
            supplier_id=membership.supplier_id,
            author=membership.user,
            subject=data.validated_data["subject"],
            body=data.validated_data["body"],
            from_supplier=True,
        )
        return self._thread_out(thread, status.HTTP_201_CREATED)

    @extend_schema(responses=s.MessageSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=MessagePagination)
    def messages(self, request: Request, pk: str) -> Response:
        """The thread's messages, oldest first, in cursor pages. Reading them does not mark them read."""
        page = self.paginate_queryset(thread_messages(self.get_object()))
        return self.get_paginated_response(s.MessageSerializer(page, many=True).data)

    @extend_schema(
        parameters=[IDEMPOTENCY_PARAMETER],
        request=s.ReplyInputSerializer,
        responses={201: s.MessageSerializer},
    )
    @messages.mapping.post
    @idempotent
    def reply(self, request: Request, pk: str) -> Response:
        """Add a message to the thread; it counts as read for its author."""
        thread = self.get_object()
        data = s.ReplyInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        message = message_post(
            thread=thread,
            author=_membership(request).user,
            body=data.validated_data["body"],
            from_supplier=True,
        )
        return Response(s.MessageSerializer(message).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.MarkReadInputSerializer, responses=s.ThreadSerializer)
    @action(detail=True, methods=["post"], permission_classes=[IsSupplierUserOfAnyRole])
    def read(self, request: Request, pk: str) -> Response:
        """Mark the thread read for the caller, up to ``up_to`` or its newest message. Open to every role:
        it changes the caller's own read state only."""
        thread = self.get_object()
        data = s.MarkReadInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        thread_mark_read(
            thread=thread, user=_membership(request).user, up_to=data.validated_data.get("up_to")
        )
        return self._thread_out(thread)

    @extend_schema(responses=s.UnreadCountSerializer)
    @action(detail=False, methods=["get"])
    def unread(self, request: Request) -> Response:
        """How many of the supplier's threads have messages the caller has not read (the page's badge)."""
        count = unread_thread_count(self.get_queryset(), _membership(request).user)
        return Response({"unread_threads": count})
