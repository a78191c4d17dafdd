"""The merges API: merge two customers, read the merge records, undo a merge.

Reading needs ``customers.view_mergerecord``; merging and undoing need ``customers.merge_customer``.
A merge or undo the data does not allow (a customer merged into itself, one already merged away, an undo
that a later merge blocks) answers 409 with the ``code`` of ``customers.merge.MergeError``.
"""

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import SAFE_METHODS, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.api.exceptions import Conflict
from crm.api.idempotency import IDEMPOTENCY_PARAMETER, idempotent
from crm.api.pagination import IdCursorPagination
from crm.models import User
from customers.filters import MergeRecordFilter
from customers.merge import (
    MergeError,
    customer_merge,
    customer_merge_undo,
    merge_counts,
    merge_detail,
    merge_list,
    merge_undo_blocker,
)
from customers.models import Customer, MergeRecord
from customers.privacy.hooks import PersonalDataAPIMixin, note_customers
from customers.privacy.models import AccessAction

MERGE_PERMISSION = "customers.merge_customer"
VIEW_PERMISSION = "customers.view_mergerecord"

CONFLICT_RESPONSE = OpenApiResponse(
    response=inline_serializer(
        name="MergeConflict", fields={"detail": serializers.CharField(), "code": serializers.CharField()}
    ),
    description=(
        "Refused by the data, with a stable `code`: same_customer, merged_not_active, survivor_not_active, "
        "already_undone, later_merge, merged_changed."
    ),
)


class MergePermission(IsAuthenticated):
    """Reading merges needs ``view_mergerecord``; merging and undoing need ``merge_customer``."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not super().has_permission(request, view):
            return False
        return request.user.has_perm(VIEW_PERMISSION if request.method in SAFE_METHODS else MERGE_PERMISSION)


class UserRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "username"]


class MergeRecordSerializer(serializers.ModelSerializer):
    """A merge as lists show it: who, when, why, and how many rows of each table moved."""

    actor = UserRefSerializer(read_only=True, allow_null=True)
    undone_by = UserRefSerializer(read_only=True, allow_null=True)
    counts = serializers.SerializerMethodField(help_text=_("Rows moved, by table."))

    class Meta:
        model = MergeRecord
        fields = [
            "id",
            "survivor",
            "merged",
            "actor",
            "reason",
            "created_at",
            "undone_at",
            "undone_by",
            "counts",
        ]
        read_only_fields = fields

    def get_counts(self, record: MergeRecord) -> dict[str, int]:
        return merge_counts(record)


class MergeRecordDetailSerializer(MergeRecordSerializer):
    """A merge with the ids of every row it moved, and whether it can be undone now."""

    undo_blocked_by = serializers.SerializerMethodField(
        help_text=_("Empty when the merge can be undone now, otherwise the code of the reason it cannot.")
    )

    class Meta(MergeRecordSerializer.Meta):
        fields = [*MergeRecordSerializer.Meta.fields, "moved", "undo_blocked_by"]
        read_only_fields = fields

    def get_undo_blocked_by(self, record: MergeRecord) -> str:
        return merge_undo_blocker(record)


class MergeInputSerializer(serializers.Serializer):
    merged = serializers.PrimaryKeyRelatedField(
        queryset=Customer.objects.all(), help_text=_("The customer to merge away into the one in the URL.")
    )
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


def _conflict(error: MergeError) -> Conflict:
    return Conflict(detail=str(error.message), code=error.code)


class CustomerMergeView(PersonalDataAPIMixin, GenericAPIView):
    """Merge a customer into the one in the URL, which survives."""

    permission_classes = [MergePermission]
    queryset = Customer.objects.all()
    serializer_class = MergeInputSerializer
    filter_backends: list[Any] = []
    personal_data_actions = {"post": AccessAction.CHANGE}

    @extend_schema(
        summary="Merge a customer into this one",
        description=(
            "Moves the merged customer's identities, interactions, contracts, consents and analytics to this "
            "customer, which survives; the merged customer keeps answering with `status: merged` and "
            "`merged_into`. Answers the merge record, which `/merges/{id}/undo/` can undo."
        ),
        operation_id="customers_merge",
        parameters=[IDEMPOTENCY_PARAMETER],
        request=MergeInputSerializer,
        responses={201: MergeRecordDetailSerializer, 409: CONFLICT_RESPONSE},
    )
    @idempotent
    def post(self, request: Request, pk: int) -> Response:
        survivor = self.get_object()
        serializer = MergeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        note_customers(request, [serializer.validated_data["merged"].pk])
        try:
            record = customer_merge(
                survivor=survivor,
                merged=serializer.validated_data["merged"],
                actor=request.user,  # type: ignore[arg-type]  # authenticated by the permission
                reason=serializer.validated_data["reason"],
            )
        except MergeError as error:
            raise _conflict(error) from error
        return Response(
            MergeRecordDetailSerializer(merge_detail().get(pk=record.pk)).data, status=status.HTTP_201_CREATED
        )


@extend_schema_view(
    list=extend_schema(summary="Merges, newest first"),
    retrieve=extend_schema(summary="One merge, with the ids of every row it moved"),
)
class MergeViewSet(
    PersonalDataAPIMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Merge records: list (filter by customer, cursor pages), read, undo."""

    permission_classes = [MergePermission]
    pagination_class = IdCursorPagination
    filterset_class = MergeRecordFilter
    queryset = MergeRecord.objects.all()

    def get_queryset(self) -> Any:
        if self.action == "list":
            return merge_list(with_moved=True)
        return merge_detail()

    personal_data_actions = {
        "list": AccessAction.VIEW,
        "retrieve": AccessAction.VIEW,
        "undo": AccessAction.CHANGE,
    }

    def personal_data_customer_ids(self, obj: MergeRecord) -> list[int]:
        return [obj.survivor_id, obj.merged_id]

    def get_serializer_class(self) -> Any:
        return MergeRecordSerializer if self.action == "list" else MergeRecordDetailSerializer

    @extend_schema(
        summary="Undo a merge",
        operation_id="merges_undo",
        description=(
            "Moves back exactly the rows the merge moved and reactivates the merged customer; what reached "
            "the survivor after the merge stays with it. Refused while a later merge involving either "
            "customer is in place."
        ),
        parameters=[IDEMPOTENCY_PARAMETER],
        request=None,
        responses={200: MergeRecordDetailSerializer, 409: CONFLICT_RESPONSE},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def undo(self, request: Request, pk: int) -> Response:
        record = self.get_object()
        try:
            customer_merge_undo(record=record, actor=request.user)  # type: ignore[arg-type]
        except MergeError as error:
            raise _conflict(error) from error
        return Response(MergeRecordDetailSerializer(merge_detail().get(pk=record.pk)).data)
