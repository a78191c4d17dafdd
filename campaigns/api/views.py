"""Views of the segments API: segments, their members (cursor pages) and previews of unsaved rules.

Reading segments needs ``campaigns.view_segment``, their members ``campaigns.view_segmentmembership``;
creating and changing need ``campaigns.add_segment`` / ``change_segment``, and so does a preview.
"""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns import services
from campaigns.api.serializers import (
    MemberSerializer,
    SegmentInputSerializer,
    SegmentPreviewInputSerializer,
    SegmentPreviewSerializer,
    SegmentSerializer,
)
from campaigns.models import Segment
from campaigns.rules import RuleError, rule_segment_ids, rule_validate
from campaigns.selectors import segment_list, segment_members, segment_names, segment_preview
from campaigns.sentences import rule_sentence
from crm.api.idempotency import IDEMPOTENCY_PARAMETER, idempotent
from crm.api.pagination import IdCursorPagination
from crm.api.permissions import ModelPermissions
from customers.privacy.hooks import PersonalDataAPIMixin, note_customers
from customers.privacy.models import AccessAction


def _rule_error(error: RuleError) -> ValidationError:
    """A rule's errors in the API's shape, each under its path in the tree."""
    return ValidationError(
        {
            "rule": {
                path: [ErrorDetail(message, code="invalid_rule")] for path, message in error.errors.items()
            }
        }
    )


class MembersPermission(IsAuthenticated):
    def has_permission(self, request: Request, view: APIView) -> bool:
        return super().has_permission(request, view) and request.user.has_perm(
            "campaigns.view_segmentmembership"
        )


class SegmentViewSet(
    PersonalDataAPIMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Segments: list (cursor pages), read, create, change; ``members`` lists who is in one now.

    Segments themselves hold no personal data; a page of members writes an access record naming them.
    """

    personal_data_actions = {
        "members": AccessAction.VIEW,
        "create": AccessAction.CHANGE,
        "update": AccessAction.CHANGE,
        "partial_update": AccessAction.CHANGE,
    }

    permission_classes = [ModelPermissions]
    pagination_class = IdCursorPagination
    queryset = Segment.objects.all()
    serializer_class = SegmentSerializer

    def get_queryset(self) -> Any:
        return segment_list()

    @extend_schema(
        parameters=[IDEMPOTENCY_PARAMETER], request=SegmentInputSerializer, responses={201: SegmentSerializer}
    )
    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = SegmentInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            segment = services.segment_create(
                name=data["name"],
                description=data["description"],
                kind=data["kind"],
                rule=data["rule"],
                created_by=request.user,  # type: ignore[arg-type]
            )
        except RuleError as error:
            raise _rule_error(error) from error
        return Response(SegmentSerializer(segment).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=SegmentInputSerializer, responses={200: SegmentSerializer})
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        segment = self.get_object()
        serializer = SegmentInputSerializer(data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            services.segment_update(
                segment=segment,
                name=data.get("name", segment.name),
                description=data.get("description", segment.description),
                rule=data.get("rule", segment.rule) if "rule" in request.data else segment.rule,
            )
        except RuleError as error:
            raise _rule_error(error) from error
        return Response(SegmentSerializer(segment).data)

    @extend_schema(responses={200: MemberSerializer(many=True)})
    @action(detail=True, methods=["get"], permission_classes=[MembersPermission])
    def members(self, request: Request, pk: str | None = None) -> Response:
        """The customers in the segment now, newest first, by cursor."""
        segment = self.get_object()
        paginator = IdCursorPagination()
        page = paginator.paginate_queryset(segment_members(segment=segment), request, view=self)
        note_customers(request, [member.customer_id for member in page or []])
        return paginator.get_paginated_response(MemberSerializer(page, many=True).data)


class PreviewPermission(IsAuthenticated):
    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return super().has_permission(request, view) and (
            user.has_perm("campaigns.add_segment") or user.has_perm("campaigns.change_segment")
        )


@extend_schema(
    summary="Count and sample the customers an unsaved rule matches",
    request=SegmentPreviewInputSerializer,
    responses={200: SegmentPreviewSerializer},
)
class SegmentPreviewView(PersonalDataAPIMixin, APIView):
    """The sample's customers are written to the access log as a search."""

    permission_classes = [PreviewPermission]
    personal_data_actions = {"post": AccessAction.SEARCH}

    def post(self, request: Request) -> Response:
        serializer = SegmentPreviewInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            rule = rule_validate(serializer.validated_data["rule"])
        except RuleError as error:
            raise _rule_error(error) from error
        preview = segment_preview(rule=rule)
        note_customers(request, [customer.pk for customer in preview.sample])
        return Response(
            {
                "count": preview.count,
                "count_exact": preview.exact,
                "sample": [{"id": customer.pk, "name": customer.name} for customer in preview.sample],
                "sentence": rule_sentence(rule, segment_names(rule_segment_ids(rule))),
            }
        )
