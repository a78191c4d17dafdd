"""Staff pages of privacy: reveal a masked field, the consent panel, data-subject requests, the monthly
access review and the retention dry run.

Revealing needs ``customers.view_personal_data``; consent changes ``customers.add_consentchange``;
data-subject requests ``customers.add_datasubjectrequest``; the review ``customers.review_access_log``;
the retention report ``customers.delete_customer``. Every page that shows or changes a customer's data
writes its access record through ``customers.privacy.hooks``.
"""

import csv
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import TemplateView

from crm.exports import spreadsheet_safe
from crm.models import User
from crm.pagination import keyset_page
from crm.permissions import STAFF_UI_PERMISSION, StaffRequiredMixin
from customers.models import Consent, ConsentChange, Customer
from customers.privacy.forms import ConsentChangeForm, MonthForm, SubjectRequestForm
from customers.privacy.hooks import PersonalDataViewMixin, note_customers
from customers.privacy.masking import MASKED_FIELDS
from customers.privacy.models import AccessAction, DataSubjectRequest
from customers.privacy.retention import retention_report
from customers.privacy.review import access_review, review_csv_rows
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
REVIEW_PERMISSION = "customers.review_access_log"
# Records listed on the review page per list (off hours, downloads); the CSV holds them all.
REVIEW_ROWS = 500
CONSENT_HISTORY_SHOWN = 20


class _Echo:
    def write(self, value: str) -> str:
        return value


class PersonalRevealView(StaffRequiredMixin, PersonalDataViewMixin, View):
    """The unmasked value of one personal field (htmx, POST): the explicit click that is logged."""

    permission_required = (STAFF_UI_PERMISSION, "customers.view_customer", "customers.view_personal_data")
    personal_data_action = AccessAction.VIEW
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int, field: str) -> HttpResponse:
        if field not in MASKED_FIELDS:
            raise Http404
        customer = get_object_or_404(Customer.objects.only("pk", field), pk=pk)
        note_customers(request, [customer.pk])
        value = getattr(customer, field)
        return render(
            request,
            "customers/privacy/personal_value.html",
            {"field": field, "value": value.isoformat() if hasattr(value, "isoformat") else value},
        )


def consent_panel_context(customer: Customer) -> dict[str, Any]:
    """What ``customers/partials/consent_panel.html`` needs: the current consents and the latest changes."""
    return {
        "customer": customer,
        "consents": list(Consent.objects.filter(customer=customer).order_by("channel", "purpose")),
        "history": list(
            ConsentChange.objects.filter(customer=customer).select_related("recorded_by")[
                :CONSENT_HISTORY_SHOWN
            ]
        ),
        "consent_form": ConsentChangeForm(),
    }


class ConsentPanelView(StaffRequiredMixin, PersonalDataViewMixin, View):
    """The consent panel of a customer (GET), and recording a consent decision (POST, htmx swaps the panel)."""

    personal_data_action = {"GET": AccessAction.VIEW, "POST": AccessAction.CHANGE}

    def get_permission_required(self) -> tuple[str, ...]:
        needed = "customers.add_consentchange" if self.request.method == "POST" else "customers.view_consent"
        return (STAFF_UI_PERMISSION, needed)

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        customer = get_object_or_404(Customer, pk=pk)
        note_customers(request, [customer.pk])
        return render(request, "customers/partials/consent_panel.html", consent_panel_context(customer))

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        customer = get_object_or_404(Customer, pk=pk, status=Customer.Status.ACTIVE)
        form = ConsentChangeForm(request.POST)
        if form.is_valid():
            user: User = request.user  # type: ignore[assignment]  # signed in: StaffRequiredMixin
            consent_record(
                customer=customer,
                channel=form.cleaned_data["channel"],
                purpose=form.cleaned_data["purpose"],
                granted=form.cleaned_data["granted"],
                source=form.cleaned_data["source"],
                changed_at=timezone.now(),
                recorded_by=user,
            )
            note_customers(request, [customer.pk])
        context = consent_panel_context(customer)
        if not form.is_valid():
            context["consent_form"] = form
        return render(
            request, "customers/partials/consent_panel.html", context, status=200 if form.is_valid() else 400
        )


class SubjectRequestListView(StaffRequiredMixin, TemplateView):
    """The audit of data-subject requests, newest first (keyset pages); no personal data, ids only."""

    permission_required = (STAFF_UI_PERMISSION, "customers.view_datasubjectrequest")
    template_name = "customers/privacy/requests.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        page = keyset_page(self.request, DataSubjectRequest.objects.select_related("requested_by"), 50)
        context.update(requests=page.rows, page=page, form=SubjectRequestForm())
        return context


class SubjectRequestCreateView(StaffRequiredMixin, PersonalDataViewMixin, View):
    """Carry out a request: an export downloads JSON or CSV (the reference is the download's reason), an
    erasure anonymises the customer. Both are audited and logged."""

    permission_required = (STAFF_UI_PERMISSION, SUBJECT_PERMISSION)
    # Becomes export or delete once the request is known; the form's reference is the download's reason.
    personal_data_action = AccessAction.CHANGE
    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponseBase:
        form = SubjectRequestForm(request.POST)
        customer = None
        if form.is_valid():
            customer = Customer.objects.filter(pk=form.cleaned_data["customer"]).first()
            if customer is None:
                form.add_error("customer", _("No customer has this number."))
        if not form.is_valid() or customer is None:
            page = keyset_page(request, DataSubjectRequest.objects.select_related("requested_by"), 50)
            return render(
                request,
                "customers/privacy/requests.html",
                {"form": form, "requests": page.rows, "page": page},
                status=400,
            )
        user: User = request.user  # type: ignore[assignment]
        kind, reference = form.cleaned_data["kind"], form.cleaned_data["reference"]
        try:
            if kind == DataSubjectRequest.Kind.ERASURE:
                note_customers(request, [customer.pk], action=AccessAction.DELETE)
                summary = customer_erase(customer=customer)
                subject_request_record(
                    kind=kind, customer=customer, user=user, reference=reference, summary=summary
                )
                messages.success(request, _("Customer #%(id)d was erased.") % {"id": customer.pk})
                return redirect("customers:subject_requests")
            data = customer_data_export(customer=customer)
        except SubjectRequestError as error:
            messages.error(request, error.message)
            return redirect("customers:subject_requests")
        note_customers(request, [customer.pk], action=AccessAction.EXPORT)
        request.personal_data_access.reason = reference  # type: ignore[attr-defined]
        subject_request_record(
            kind=kind,
            customer=customer,
            user=user,
            reference=reference,
            summary={key: len(value) for key, value in data.items() if isinstance(value, list)},
        )
        if request.POST.get("format") == "csv":
            response: HttpResponseBase = StreamingHttpResponse(
                export_csv_lines(data), content_type="text/csv; charset=utf-8"
            )
            name = f"customer-{customer.pk}.csv"
        else:
            response = HttpResponse(export_json(data), content_type="application/json; charset=utf-8")
            name = f"customer-{customer.pk}.json"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


class AccessReviewView(StaffRequiredMixin, View):
    """The monthly review of the access log, as a page or (``?format=csv``) a file for the records."""

    permission_required = (STAFF_UI_PERMISSION, REVIEW_PERMISSION)
    template_name = "customers/privacy/review.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        form = MonthForm(request.GET or {"month": MonthForm.last_month()})
        if not form.is_valid():
            return render(request, self.template_name, {"form": form}, status=400)
        csv_wanted = request.GET.get("format") == "csv"
        review = access_review(
            month=form.cleaned_data["month"], rows_limit=None if csv_wanted else REVIEW_ROWS
        )
        if csv_wanted:
            writer = csv.writer(_Echo())

            def lines() -> Iterator[str]:
                yield "\ufeff"
                for row in review_csv_rows(review):
                    yield writer.writerow([spreadsheet_safe(cell) for cell in row])

            response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
            name = f"access-review-{review.month:%Y-%m}.csv"
            response["Content-Disposition"] = f'attachment; filename="{name}"'
            return response
        return render(
            request,
            self.template_name,
            {"form": form, "review": review, "office_hours": settings.CRM_OFFICE_HOURS},
        )


class RetentionReportView(StaffRequiredMixin, TemplateView):
    """The retention policy's dry run: how many customers it would anonymise now, and the first of them
    (numbers and dates only)."""

    permission_required = (STAFF_UI_PERMISSION, "customers.delete_customer")
    template_name = "customers/privacy/retention.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(report=retention_report(), years=settings.CRM_RETENTION_INACTIVE_YEARS)
        return context
