"""The imports API: upload a CSV file of customers or events, map its columns, follow the import, read the
rejected rows.

``POST /imports/`` takes the file (multipart) with ``kind`` and ``source``; with a valid ``mapping`` it
starts the import at once, without one it answers the suggested mapping and a preview of the first rows,
and ``POST /imports/{id}/start/`` starts it with the mapping the client chose. Creating and starting need
``customers.add_importjob``, reading ``customers.view_importjob``. A client sees its own imports unless it
may change imports (administrators); another user's import answers 404.

A file that cannot be imported answers 400 with a stable code on ``file`` (``empty``, ``too_large``,
``invalid_extension``, ``not_csv``, ``invalid_encoding``, ``unclosed_quote``, ``no_header``, ``no_rows``,
``duplicate_column``, ``too_many_columns``); a bad mapping 400 on ``mapping``, by column name.
"""

from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError as APIValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from crm.api.exceptions import Conflict
from crm.api.idempotency import IDEMPOTENCY_PARAMETER, idempotent
from crm.api.pagination import IdCursorPagination
from crm.api.permissions import ModelPermissions
from crm.models import User
from customers.imports import (
    TARGETS,
    NotStartable,
    import_create,
    import_errors,
    import_list,
    import_preview,
    import_progress,
    import_start,
)
from customers.models import ImportJob, ImportRowError, SourceSystem
from customers.privacy.hooks import PersonalDataAPIMixin
from customers.privacy.models import AccessAction

MAPPING_HELP = (
    "Each column of the file by its header name, and the field it goes to, or null to ignore it. Every "
    "named column must appear. The fields are the `targets` in the answer to the upload."
)


class ImportJobSerializer(serializers.ModelSerializer):
    """An import and its progress."""

    source = serializers.SlugRelatedField(  # type: ignore[assignment,var-annotated]  # see IdentitySerializer
        source="source_system", slug_field="code", read_only=True
    )
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)  # type: ignore[var-annotated]
    progress = serializers.SerializerMethodField(help_text="Percent of the rows processed.")

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "kind",
            "status",
            "original_name",
            "size",
            "sha256",
            "encoding",
            "delimiter",
            "source",
            "mapping",
            "total_rows",
            "processed_rows",
            "created_rows",
            "duplicate_rows",
            "rejected_rows",
            "progress",
            "error",
            "created_by",
            "created_at",
            "started_at",
            "heartbeat_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_progress(self, job: ImportJob) -> int:
        return import_progress(job)


class RowErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField()
    field = serializers.CharField(help_text="The column's header name; empty for the whole row.")
    code = serializers.CharField()
    message = serializers.CharField()


class PreviewRowSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="The row number a spreadsheet shows (the header is row 1).")
    values = serializers.ListField(child=serializers.CharField())
    errors = RowErrorSerializer(many=True)  # type: ignore[assignment]  # a field named like Serializer.errors


class PreviewSerializer(serializers.Serializer):
    header = serializers.ListField(child=serializers.CharField())
    mapping = serializers.DictField(child=serializers.CharField(), help_text="The valid part of the mapping.")
    mapping_errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="What is wrong with the mapping, by column name (`non_field_errors` for the whole mapping).",
    )
    rows = PreviewRowSerializer(many=True)


class TargetSerializer(serializers.Serializer):
    # Fields named like attributes of Field, for the shape of the answer.
    name = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    required = serializers.BooleanField()  # type: ignore[assignment]


class ImportUploadedSerializer(ImportJobSerializer):
    """The answer to an upload: the import, the fields its columns may go to, and when it was not started
    the preview of its first rows with the suggested mapping."""

    targets = TargetSerializer(many=True, read_only=True)
    preview = PreviewSerializer(allow_null=True, read_only=True)

    class Meta(ImportJobSerializer.Meta):
        fields = [*ImportJobSerializer.Meta.fields, "targets", "preview"]
        read_only_fields = fields


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="A CSV file: UTF-8 (with or without BOM) or CP949/EUC-KR.")
    kind = serializers.ChoiceField(choices=ImportJob.Kind.choices)
    source = serializers.SlugRelatedField(  # type: ignore[assignment]  # see IdentitySerializer
        slug_field="code",
        queryset=SourceSystem.objects.filter(is_active=True),
        help_text="The code of the source system the file comes from.",
    )
    mapping = serializers.JSONField(
        required=False, help_text=MAPPING_HELP + " Given and valid, the import starts at once."
    )


class ImportStartSerializer(serializers.Serializer):
    mapping = serializers.JSONField(help_text=MAPPING_HELP)


class RowErrorPagination(CursorPagination):
    """Rejected rows in file order, read along the (job, row, field, code) index."""

    ordering = ("row_number", "field", "code")
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


class ImportRowErrorSerializer(serializers.ModelSerializer):
    row = serializers.IntegerField(source="row_number")

    class Meta:
        model = ImportRowError
        fields = ["row", "field", "code", "message"]


def _targets(kind: str) -> list[dict[str, Any]]:
    return [{"name": t.name, "label": str(t.label), "required": t.required} for t in TARGETS[kind]]


def _api_error(error: ValidationError, key: str | None = None) -> APIValidationError:
    """A services' ``ValidationError`` in the API's shape, under ``key`` when given."""
    detail = _non_field_key(serializers.as_serializer_error(error))
    return APIValidationError({key: detail} if key else detail)


def _non_field_key(errors: dict[str, Any]) -> dict[str, Any]:
    """Django's ``__all__`` as DRF's ``non_field_errors``."""
    return {
        api_settings.NON_FIELD_ERRORS_KEY if key == NON_FIELD_ERRORS else key: value
        for key, value in errors.items()
    }


@extend_schema_view(
    list=extend_schema(summary="Imports, newest first"),
    retrieve=extend_schema(summary="An import and its progress"),
)
class ImportViewSet(
    PersonalDataAPIMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """CSV imports of customers and events. Uploading and starting a file of personal data are logged as
    input; lists, progress and rejected rows (row numbers, fields, codes) hold no profile values."""

    personal_data_actions = {"create": AccessAction.INPUT, "start": AccessAction.INPUT}

    permission_classes = [ModelPermissions]
    pagination_class = IdCursorPagination
    serializer_class = ImportJobSerializer
    parser_classes = [MultiPartParser, FormParser, JSONParser]
    queryset = ImportJob.objects.all()

    def get_queryset(self) -> Any:
        return import_list(user=self.request.user)

    @extend_schema(
        summary="Upload a CSV file",
        description=(
            "Checks the file and keeps it. With a valid `mapping` the import starts at once (`status` "
            "`queued`); without one the answer holds the suggested mapping (`mapping`), a `preview` of the "
            "first rows with the errors the import would report, and the `targets` its columns may go to."
        ),
        parameters=[IDEMPOTENCY_PARAMETER],
        request={"multipart/form-data": ImportUploadSerializer},
        responses={
            201: ImportUploadedSerializer,
            400: OpenApiResponse(description="The file or the mapping cannot be used; see the codes."),
        },
    )
    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        given = ImportUploadSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        user: User = request.user  # type: ignore[assignment]  # ModelPermissions: signed in
        job: ImportJob | None = None
        try:
            with transaction.atomic():
                job = import_create(
                    upload=data["file"], kind=data["kind"], source_system=data["source"], user=user
                )
                if "mapping" in data:
                    try:
                        job = import_start(job=job, mapping=data["mapping"])
                    except ValidationError as error:
                        raise _api_error(error, "mapping") from error
        except ValidationError as error:
            raise _api_error(error) from error
        except APIValidationError:
            if job is not None:
                job.file.delete(save=False)  # the row was rolled back; do not keep its file
            raise
        answer = dict(ImportJobSerializer(job).data)
        answer["targets"] = _targets(job.kind)
        answer["preview"] = None
        if job.status == ImportJob.Status.UPLOADED:
            preview = import_preview(job=job, mapping=job.mapping).as_dict()
            preview["mapping_errors"] = _non_field_key(preview["mapping_errors"])
            answer["preview"] = preview
        return Response(answer, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Start an uploaded import with a mapping",
        parameters=[IDEMPOTENCY_PARAMETER],
        request=ImportStartSerializer,
        responses={
            202: ImportJobSerializer,
            400: OpenApiResponse(description="The mapping is wrong, by column name."),
            409: OpenApiResponse(description="Started already (`already_started`)."),
        },
    )
    @action(detail=True, methods=["post"], parser_classes=[JSONParser])
    @idempotent
    def start(self, request: Request, pk: str | None = None) -> Response:
        job = self.get_object()
        given = ImportStartSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        try:
            job = import_start(job=job, mapping=given.validated_data["mapping"])
        except ValidationError as error:
            raise _api_error(error, "mapping") from error
        except NotStartable as error:
            raise Conflict(str(error), code="already_started") from error
        return Response(ImportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="The rejected rows of an import, in file order", responses=ImportRowErrorSerializer(many=True)
    )
    @action(detail=True, methods=["get"], pagination_class=RowErrorPagination)
    def errors(self, request: Request, pk: str | None = None) -> Response:
        job = self.get_object()
        page = self.paginate_queryset(import_errors(job=job))
        return self.get_paginated_response(ImportRowErrorSerializer(page, many=True).data)
