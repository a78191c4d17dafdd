"""Staff pages for CSV imports: the list, the upload, the column mapping with a live preview, the progress
page polled by htmx, and the download of the rejected rows.

Creating, previewing and starting need ``customers.add_importjob``; reading needs
``customers.view_importjob``. A user sees their own imports; those who may change imports
(administrators) see everyone's; another user's import answers 404 (``customers.imports.import_list``).
The writes are the services of ``customers.imports``, the same the API calls.
"""

import csv
from collections.abc import Iterator
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import TemplateView

from crm.exports import spreadsheet_safe
from crm.models import User
from crm.pagination import keyset_page
from crm.permissions import STAFF_UI_PERMISSION, StaffRequiredMixin
from customers.imports import (
    EXTENSIONS,
    IGNORE,
    ImportPreview,
    NotStartable,
    import_create,
    import_duplicates_of,
    import_errors,
    import_header,
    import_list,
    import_preview,
    import_progress,
    import_start,
    target_choices,
)
from customers.models import ImportJob, SourceSystem
from customers.privacy.hooks import PersonalDataViewMixin, note_file_rows, reason_required
from customers.privacy.models import AccessAction

ADD_PERMISSION = "customers.add_importjob"
VIEW_PERMISSION = "customers.view_importjob"
PAGE_SIZE = 50
SHOWN_ERRORS = 20


class ImportUploadForm(forms.Form):
    """The file, what it holds, and the system it comes from."""

    kind = forms.ChoiceField(
        label=gettext_lazy("The file holds"),
        choices=ImportJob.Kind.choices,
        initial=ImportJob.Kind.CUSTOMERS,
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )
    source = forms.ModelChoiceField(
        label=gettext_lazy("Source system"),
        queryset=SourceSystem.objects.filter(is_active=True).order_by("name"),
        empty_label=gettext_lazy("Choose the system the file comes from"),
        help_text=gettext_lazy(
            "Customer numbers and event ids are read as ids in this system, so that importing the same "
            "file again adds nothing."
        ),
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    file = forms.FileField(
        label=gettext_lazy("CSV file"),
        widget=forms.ClearableFileInput(attrs={"class": "form-control", "accept": ",".join(EXTENSIONS)}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = _(
            "Comma, semicolon or tab separated, UTF-8 or CP949 (EUC-KR), with a header row; at most %(size)s."
        ) % {"size": filesizeformat(settings.CRM_IMPORT_MAX_BYTES)}


class ImportMappingForm(forms.Form):
    """One choice per column of the file: the field it goes to, or ignore it."""

    def __init__(self, *args: Any, job: ImportJob, header: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind = job.kind
        self.columns = [(f"column_{index}", name) for index, name in enumerate(header) if name]
        choices = target_choices(job.kind)
        for field_name, column in self.columns:
            self.fields[field_name] = forms.ChoiceField(
                label=column,
                choices=choices,
                required=False,
                initial=job.mapping.get(column, IGNORE),
                widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
            )

    def mapping(self) -> dict[str, str]:
        """The mapping as the services take it: the submitted choices (checked by the services, which say
        what is wrong), or the suggested ones."""
        if self.is_bound:
            return {column: self.data.get(field_name) or IGNORE for field_name, column in self.columns}
        return {column: self.fields[field_name].initial for field_name, column in self.columns}


def _job(request: HttpRequest, pk: int) -> ImportJob:
    """The user's import, or 404 for one that does not exist or that they may not see."""
    user: Any = request.user
    return get_object_or_404(import_list(user=user), pk=pk)


class ImportListView(StaffRequiredMixin, TemplateView):
    """Imports, newest first, a page at a time by id (keyset, never OFFSET)."""

    permission_required = (STAFF_UI_PERMISSION, VIEW_PERMISSION)
    template_name = "customers/imports/list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        user: Any = self.request.user
        page = keyset_page(self.request, import_list(user=user), PAGE_SIZE)
        context.update(jobs=page.rows, page=page, sees_all=user.has_perm("customers.change_importjob"))
        return context


class ImportCreateView(StaffRequiredMixin, PersonalDataViewMixin, View):
    """Upload a file; a readable one goes on to its mapping, anything else is refused with the reason."""

    personal_data_action = {"GET": AccessAction.VIEW, "POST": AccessAction.INPUT}

    permission_required = (STAFF_UI_PERMISSION, ADD_PERMISSION)
    template_name = "customers/imports/new.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(request, ImportUploadForm())

    def _render(self, request: HttpRequest, form: ImportUploadForm, status: int = 200) -> HttpResponse:
        return render(
            request, self.template_name, {"form": form, "time_zone": settings.TIME_ZONE}, status=status
        )

    def post(self, request: HttpRequest) -> HttpResponse:
        form = ImportUploadForm(request.POST, request.FILES)
        if form.is_valid():
            user: User = request.user  # type: ignore[assignment]  # signed in: StaffRequiredMixin
            try:
                job = import_create(
                    upload=form.cleaned_data["file"],
                    kind=form.cleaned_data["kind"],
                    source_system=form.cleaned_data["source"],
                    user=user,
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                return HttpResponseRedirect(reverse("customers:import_detail", args=[job.pk]))
        return self._render(request, form, status=400)


class ImportDetailView(StaffRequiredMixin, PersonalDataViewMixin, View):
    """An import: its mapping step with a preview while it waits to be started, its progress afterwards.
    The preview shows the file's first rows: personal data, logged."""

    permission_required = (STAFF_UI_PERMISSION, VIEW_PERMISSION)

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        job = _job(request, pk)
        if job.status == ImportJob.Status.UPLOADED and request.user.has_perm(ADD_PERMISSION):
            header = import_header(job=job)
            form = ImportMappingForm(job=job, header=header)
            preview = import_preview(job=job, mapping=form.mapping())
            note_file_rows(request)
            return _mapping_page(request, job, form, preview)
        return render(request, "customers/imports/progress.html", _progress_context(job))


def _mapping_page(
    request: HttpRequest, job: ImportJob, form: ImportMappingForm, preview: ImportPreview, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "customers/imports/mapping.html",
        {
            "job": job,
            "form": form,
            "preview": _preview_context(form, preview),
            "earlier": import_duplicates_of(job=job).first(),
            "read_as": _read_as(job),
        },
        status=status,
    )


def _read_as(job: ImportJob) -> str:
    """How the file was read, for people: its encoding and delimiter."""
    encoding = {
        "cp949": "CP949 / EUC-KR",
        "utf-8-sig": _("UTF-8 with byte order mark"),
    }.get(job.encoding, "UTF-8")
    delimiter = {"\t": _("tab separated"), ";": _("semicolon separated")}.get(
        job.delimiter, _("comma separated")
    )
    return f"{encoding}, {delimiter}"


def _preview_context(form: ImportMappingForm, preview: ImportPreview) -> dict[str, Any]:
    """The preview as the template shows it: each column with its target's label, each row with its cells
    marked where an error points, the errors, and the mapping's errors by column label."""
    labels = dict(target_choices(form.kind))
    targets = [preview.mapping.get(name, IGNORE) for name in preview.header]
    columns = [
        {"name": name, "target": labels[target] if target else ""}
        for name, target in zip(preview.header, targets, strict=True)
    ]
    rows = []
    for row in preview.rows:
        fields = {error.field for error in row.errors}
        cells = [
            {
                "value": row.values[index] if index < len(row.values) else "",
                "error": bool(name) and name in fields,
                "ignored": not target,
            }
            for index, (name, target) in enumerate(zip(preview.header, targets, strict=True))
        ]
        rows.append({"row": row.row, "cells": cells, "errors": row.errors})
    general = preview.mapping_errors.get("__all__", [])
    by_column = {name: messages for name, messages in preview.mapping_errors.items() if name != "__all__"}
    return {
        "columns": columns,
        "rows": rows,
        "general_errors": general,
        "column_errors": by_column,
        "rejected": sum(1 for row in preview.rows if row.errors),
        "shown": len(preview.rows),
    }


class ImportPreviewView(StaffRequiredMixin, PersonalDataViewMixin, View):
    """The preview table for the mapping being chosen (an htmx partial): the file's rows, logged."""

    personal_data_action = AccessAction.VIEW

    permission_required = (STAFF_UI_PERMISSION, ADD_PERMISSION)
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        job = _job(request, pk)
        if job.status != ImportJob.Status.UPLOADED:
            return HttpResponse(status=409)
        form = ImportMappingForm(request.POST, job=job, header=import_header(job=job))
        preview = import_preview(job=job, mapping=form.mapping())
        note_file_rows(request)
        return render(
            request,
            "customers/partials/import_preview.html",
            {"job": job, "preview": _preview_context(form, preview)},
        )


class ImportStartView(StaffRequiredMixin, PersonalDataViewMixin, View):
    """Start the import with the chosen mapping (POST only), then on to its progress."""

    personal_data_action = AccessAction.INPUT

    permission_required = (STAFF_UI_PERMISSION, ADD_PERMISSION)
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        job = _job(request, pk)
        form = ImportMappingForm(request.POST, job=job, header=import_header(job=job))
        try:
            import_start(job=job, mapping=form.mapping())
        except NotStartable:
            pass  # started already (a second click): its progress page tells how it goes
        except ValidationError:
            preview = import_preview(job=job, mapping=form.mapping())
            return _mapping_page(request, job, form, preview, status=400)
        return HttpResponseRedirect(reverse("customers:import_detail", args=[job.pk]))


def _progress_context(job: ImportJob) -> dict[str, Any]:
    return {
        "job": job,
        "read_as": _read_as(job),
        "percent": import_progress(job),
        "running": job.status in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING),
        "errors": list(import_errors(job=job)[:SHOWN_ERRORS]) if job.rejected_rows else [],
        "shown_errors": SHOWN_ERRORS,
    }


class ImportProgressView(StaffRequiredMixin, View):
    """The progress panel, polled every second by htmx while the import is queued or running."""

    permission_required = (STAFF_UI_PERMISSION, VIEW_PERMISSION)

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        job = _job(request, pk)
        return render(request, "customers/partials/import_progress.html", _progress_context(job))


class _Echo:
    """A file that hands back what is written to it, for streaming a CSV."""

    def write(self, value: str) -> str:
        return value


class ImportErrorsDownloadView(StaffRequiredMixin, PersonalDataViewMixin, View):
    """The rejected rows as a CSV file (UTF-8 with a byte order mark, so that Excel reads Korean), with
    every cell a spreadsheet could run as a formula escaped. Asks the reason first, like every download."""

    personal_data_action = AccessAction.DOWNLOAD

    permission_required = (STAFF_UI_PERMISSION, VIEW_PERMISSION)

    def get(self, request: HttpRequest, pk: int) -> StreamingHttpResponse:
        job = _job(request, pk)
        reason_required(request)
        writer = csv.writer(_Echo())

        def lines() -> Iterator[str]:
            yield "\ufeff" + writer.writerow([_("Row"), _("Column"), _("Code"), _("Reason")])
            for error in import_errors(job=job).iterator(chunk_size=2000):
                yield writer.writerow(
                    [
                        error.row_number,
                        *(spreadsheet_safe(v) for v in (error.field, error.code, error.message)),
                    ]
                )

        response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-rejected-rows.csv"'
        return response
