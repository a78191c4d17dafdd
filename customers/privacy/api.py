"""The privacy API: a customer's consents (read and record), and data-subject requests (export, erase).

Consents need ``customers.view_consent`` to read and ``customers.add_consentchange`` to record; export and
erasure need ``customers.add_datasubjectrequest``. An export needs the reason (``reason`` parameter or
``X-Access-Reason`` header), like every download.
"""

from typing import Any

from django.http import HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import SAFE_METHODS, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.api.exceptions import Conflict
from customers.models import Consent, ConsentChange, ConsentChannel, ConsentPurpose, Customer
from customers.privacy.hooks import PersonalDataAPIMixin
from customers.privacy.models import AccessAction, DataSubjectRequest
from customers.privacy.subject import (
    SubjectRequestError,
    customer_data_export,
    customer_erase,
    export_csv_lines,
    export_json,
    subject_request_record,
)
from customers.services import consent_record

SUBJECT_PERMISSION = "customers.add_datasubjectrequest"


class ConsentPermission(IsAuthenticated):
    def has_permission(self, request: Request, view: APIView) -> bool:
        needed = "customers.view_consent" if request.method in SAFE_METHODS else "customers.add_consentchange"
        return super().has_permission(request, view) and request.user.has_perm(needed)


class SubjectPermission(IsAuthenticated):
    def has_permission(self, request: Request, view: APIView) -> bool:
        return super().has_permission(request, view) and request.user.has_perm(SUBJECT_PERMISSION)


class ConsentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Consent
        fields = ["channel", "purpose", "granted", "source", "changed_at"]
        read_only_fields = fields


class ConsentChangeSerializer(serializers.ModelSerializer):
    recorded_by = serializers.SlugRelatedField(slug_field="username", read_only=True)  # type: ignore[var-annotated]

    class Meta:
        model = ConsentChange
        fields = ["id", "channel", "purpose", "granted", "source", "changed_at", "recorded_by", "recorded_at"]
        read_only_fields = fields


class ConsentsSerializer(serializers.Serializer):
    current = ConsentSerializer(many=True)
    history = ConsentChangeSerializer(many=True)


class ConsentInputSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(choices=ConsentChannel.choices)
    purpose = serializers.ChoiceField(choices=ConsentPurpose.choices)
    granted = serializers.BooleanField()
    source = serializers.CharField(max_length=100, help_text=_("Where the customer said so."))  # type: ignore[assignment]  # the API calls it "source"
    changed_at = serializers.DateTimeField(required=False, help_text=_("When; now if left out."))


class CustomerConsentView(PersonalDataAPIMixin, GenericAPIView):
    """A customer's current consents and their whole history; POST records a decision."""

    permission_classes = [ConsentPermission]
    queryset = Customer.objects.all()
    serializer_class = ConsentInputSerializer
    filter_backends: list[Any] = []
    personal_data_actions = {"get": AccessAction.VIEW, "post": AccessAction.CHANGE}

    def _answer(self, customer: Customer, code: int = status.HTTP_200_OK) -> Response:
        data = {
            "current": Consent.objects.filter(customer=customer).order_by("channel", "purpose"),
            "history": ConsentChange.objects.filter(customer=customer).select_related("recorded_by"),
        }
        return Response(ConsentsSerializer(data).data, status=code)

    @extend_schema(summary="A customer's consents and their history", responses={200: ConsentsSerializer})
    def get(self, request: Request, pk: int) -> Response:
        return self._answer(self.get_object())

    @extend_schema(
        summary="Record a consent decision",
        request=ConsentInputSerializer,
        responses={201: ConsentsSerializer},
    )
    def post(self, request: Request, pk: int) -> Response:
        customer = self.get_object()
        if customer.status != Customer.Status.ACTIVE:
            raise Conflict(detail=str(_("Only an active customer's consent can change.")), code="not_active")
        serializer = ConsentInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        consent_record(
            customer=customer,
            channel=data["channel"],
            purpose=data["purpose"],
            granted=data["granted"],
            source=data["source"],
            changed_at=data.get("changed_at") or timezone.now(),
            recorded_by=request.user,  # type: ignore[arg-type]
        )
        return self._answer(customer, status.HTTP_201_CREATED)


class CustomerExportView(PersonalDataAPIMixin, GenericAPIView):
    """Everything held about a customer, as JSON or CSV: a data-subject access request."""

    permission_classes = [SubjectPermission]
    queryset = Customer.objects.all()
    filter_backends: list[Any] = []
    personal_data_actions = {"get": AccessAction.EXPORT}

    @extend_schema(
        summary="Export everything held about a customer",
        parameters=[
            OpenApiParameter("reason", str, description="The request this export answers (required)."),
            OpenApiParameter("as", str, enum=["json", "csv"], description="json (default) or csv."),
        ],
        responses={200: OpenApiResponse(response=OpenApiTypes.OBJECT), 409: OpenApiResponse()},
    )
    def get(self, request: Request, pk: int) -> HttpResponseBase:
        customer = self.get_object()
        try:
            data = customer_data_export(customer=customer)
        except SubjectRequestError as error:
            raise Conflict(detail=error.message, code=error.code) from error
        reason = request.personal_data_access.reason
        subject_request_record(
            kind=DataSubjectRequest.Kind.EXPORT,
            customer=customer,
            user=request.user,  # type: ignore[arg-type]
            reference=reason,
            summary={key: len(value) for key, value in data.items() if isinstance(value, list)},
        )
        if request.query_params.get("as") == "csv":
            response: HttpResponseBase = StreamingHttpResponse(
                export_csv_lines(data), content_type="text/csv; charset=utf-8"
            )
            response["Content-Disposition"] = f'attachment; filename="customer-{customer.pk}.csv"'
            return response
        return HttpResponse(export_json(data), content_type="application/json; charset=utf-8")


class EraseInputSerializer(serializers.Serializer):
    reference = serializers.CharField(min_length=5, max_length=200, help_text=_("The customer's request."))


class SubjectRequestSerializer(serializers.ModelSerializer):
    class Meta:
        model = DataSubjectRequest
        fields = ["id", "kind", "customer", "reference", "status", "summary", "created_at", "finished_at"]
        read_only_fields = fields


class CustomerEraseView(PersonalDataAPIMixin, GenericAPIView):
    """Erase (anonymise) a customer irreversibly: a data-subject erasure request."""

    permission_classes = [SubjectPermission]
    queryset = Customer.objects.all()
    serializer_class = EraseInputSerializer
    filter_backends: list[Any] = []
    personal_data_actions = {"post": AccessAction.DELETE}

    @extend_schema(
        summary="Erase a customer",
        request=EraseInputSerializer,
        responses={201: SubjectRequestSerializer, 409: OpenApiResponse()},
    )
    def post(self, request: Request, pk: int) -> Response:
        customer = self.get_object()
        serializer = EraseInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            summary = customer_erase(customer=customer)
        except SubjectRequestError as error:
            raise Conflict(detail=error.message, code=error.code) from error
        record = subject_request_record(
            kind=DataSubjectRequest.Kind.ERASURE,
            customer=customer,
            user=request.user,  # type: ignore[arg-type]
            reference=serializer.validated_data["reference"],
            summary=summary,
        )
        return Response(SubjectRequestSerializer(record).data, status=status.HTTP_201_CREATED)
