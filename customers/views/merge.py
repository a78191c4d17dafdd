"""Staff pages for merging customers: find two customers and compare them, merge, read the merges, undo one.

Merging and undoing need ``customers.merge_customer``; reading merges needs ``customers.view_mergerecord``.
The writes are the services of ``customers.merge``, the same the API and the admin call.
"""

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import TemplateView

from crm.htmx import is_htmx
from crm.models import User
from crm.pagination import keyset_page
from crm.permissions import STAFF_UI_PERMISSION, StaffRequiredMixin
from customers.filters import MergeRecordFilter
from customers.merge import (
    MergeCandidate,
    MergeError,
    customer_lookup,
    customer_merge,
    customer_merge_undo,
    later_merges,
    merge_candidates,
    merge_counts,
    merge_detail,
    merge_list,
    merge_moved_rows,
    merge_undo_blocker,
)
from customers.models import ConsentChannel, ConsentPurpose, Customer, MergeRecord
from customers.privacy.hooks import PersonalDataViewMixin, note_customers
from customers.privacy.masking import MASKED_FIELDS, mask_value
from customers.privacy.models import AccessAction

MERGE_PERMISSION = "customers.merge_customer"
VIEW_PERMISSION = "customers.view_mergerecord"
PAGE_SIZE = 50
LOOKUP_HELP = gettext_lazy(
    "A customer number, an email, a phone number in any format, or an id in a source system."
)


class MergeLookupForm(forms.Form):
    """The two customers to compare, each as a person would name them."""

    first = forms.CharField(label=gettext_lazy("First customer"), max_length=254, help_text=LOOKUP_HELP)
    second = forms.CharField(label=gettext_lazy("Second customer"), max_length=254, help_text=LOOKUP_HELP)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in self.fields:
            self.fields[name].widget.attrs.update({"class": "form-control", "autocomplete": "off"})


class MergeConfirmForm(forms.Form):
    """The merge itself: which of the two compared customers to keep, why, and a confirmation."""

    first_id = forms.IntegerField(widget=forms.HiddenInput)
    second_id = forms.IntegerField(widget=forms.HiddenInput)
    survivor = forms.IntegerField(
        label=gettext_lazy("Customer to keep"),
        error_messages={"required": gettext_lazy("Choose the customer to keep.")},
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}),
        help_text=gettext_lazy("Kept with the merge, for whoever reads it later."),
    )
    confirm = forms.BooleanField(
        label=gettext_lazy("I have checked that these two records are the same person."),
        error_messages={"required": gettext_lazy("Confirm that the two records are the same person.")},
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        survivor = cleaned.get("survivor")
        pair = {cleaned.get("first_id"), cleaned.get("second_id")}
        if survivor is not None and survivor not in pair:
            self.add_error("survivor", _("Choose one of the two customers shown."))
        return cleaned

    def merged_id(self) -> int:
        data = self.cleaned_data
        return data["second_id"] if data["survivor"] == data["first_id"] else data["first_id"]


class MergeCreateView(StaffRequiredMixin, PersonalDataViewMixin, View):
    """Find two customers, compare them side by side, and merge one into the other."""

    personal_data_action = {"GET": AccessAction.SEARCH, "POST": AccessAction.CHANGE}

    permission_required = (STAFF_UI_PERMISSION, MERGE_PERMISSION)
    template_name = "customers/merge_new.html"
    partial_name = "customers/partials/merge_comparison.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        lookup = MergeLookupForm(request.GET if request.GET else None)
        context: dict[str, Any] = {"lookup": lookup, "errors": [], "choices": {}}
        if lookup.is_valid():
            pair = self._resolve(lookup, context)
            if pair is not None:
                self._compare(pair, context)
                context["confirm"] = MergeConfirmForm(
                    initial={"first_id": pair[0], "second_id": pair[1], "survivor": pair[0]}
                )
        return self._render(request, context)

    def post(self, request: HttpRequest) -> HttpResponse:
        confirm = MergeConfirmForm(request.POST)
        context: dict[str, Any] = {"errors": [], "choices": {}, "confirm": confirm}
        pair: tuple[int, int] | None = None
        if confirm.is_valid() or ("first_id" in confirm.cleaned_data and "second_id" in confirm.cleaned_data):
            pair = (confirm.cleaned_data["first_id"], confirm.cleaned_data["second_id"])
        if pair is None:
            context["lookup"] = MergeLookupForm()
            context["errors"].append(_("The form was incomplete. Look the two customers up again."))
            return self._render(request, context, status=400)
        context["lookup"] = MergeLookupForm(initial={"first": pair[0], "second": pair[1]})
        if confirm.is_valid():
            note_customers(request, pair)
            candidates = merge_candidates(pair)
            try:
                record = customer_merge(
                    survivor=self._customer(candidates, confirm.cleaned_data["survivor"]),
                    merged=self._customer(candidates, confirm.merged_id()),
                    actor=self._user(request),
                    reason=confirm.cleaned_data["reason"],
                )
            except MergeError as error:
                context["errors"].append(error.message)
            else:
                messages.success(
                    request,
                    _("Customer #%(merged)d was merged into customer #%(survivor)d.")
                    % {"merged": record.merged_id, "survivor": record.survivor_id},
                )
                return HttpResponseRedirect(reverse("customers:merge_detail", args=[record.pk]))
        self._compare(pair, context)
        return self._render(request, context, status=200 if confirm.is_valid() else 400)

    def _render(self, request: HttpRequest, context: dict[str, Any], status: int = 200) -> HttpResponse:
        shown = [candidate.customer.pk for candidate in context.get("candidates", [])]
        shown += [customer.pk for customers in context["choices"].values() for customer in customers]
        note_customers(request, shown)
        template = self.partial_name if is_htmx(request) else self.template_name
        return render(request, template, context, status=status)

    @staticmethod
    def _user(request: HttpRequest) -> User:
        assert isinstance(request.user, User)  # the permission check let in only signed-in users
        return request.user

    @staticmethod
    def _customer(candidates: dict[int, MergeCandidate], pk: int) -> Customer:
        candidate = candidates.get(pk)
        if candidate is None:
            raise MergeError("not_found")
        return candidate.customer

    @staticmethod
    def _resolve(lookup: MergeLookupForm, context: dict[str, Any]) -> tuple[int, int] | None:
        """The two customers' ids, or None with the reasons in ``context["errors"]`` and, for a term that
        names several customers, the choices in ``context["choices"]``."""
        found: list[int] = []
        for name in ("first", "second"):
            term = lookup.cleaned_data[name]
            customers = customer_lookup(term)
            if not customers:
                context["errors"].append(_("No customer matches “%(term)s”.") % {"term": term})
            elif len(customers) > 1:
                context["errors"].append(
                    _("“%(term)s” matches %(count)d customers. Enter the number of the one you mean.")
                    % {"term": term, "count": len(customers)}
                )
                context["choices"][name] = customers
            else:
                found.append(customers[0].pk)
        if len(found) < 2:
            return None
        if found[0] == found[1]:
            context["errors"].append(_("Both terms name the same customer, #%(id)d.") % {"id": found[0]})
            return None
        return found[0], found[1]

    @staticmethod
    def _compare(pair: tuple[int, int], context: dict[str, Any]) -> None:
        candidates = merge_candidates(pair)
        context["candidates"] = [candidates[pk] for pk in pair if pk in candidates]
        context["mergeable"] = len(context["candidates"]) == 2 and all(
            c.customer.status == Customer.Status.ACTIVE for c in context["candidates"]
        )
        # A merged-away customer lives on in its survivor: offer to compare with that one instead.
        context["cards"] = []
        for index, candidate in enumerate(context["candidates"]):
            follow_url = ""
            if candidate.customer.merged_into_id is not None and len(pair) == 2:
                terms = [str(pk) for pk in pair]
                terms[index] = str(candidate.customer.merged_into_id)
                follow_url = "?" + urlencode({"first": terms[0], "second": terms[1]})
            context["cards"].append((candidate, follow_url))


class MergeListView(StaffRequiredMixin, PersonalDataViewMixin, TemplateView):
    """Merges, newest first, a page at a time by id (keyset, never OFFSET), optionally of one customer."""

    permission_required = (STAFF_UI_PERMISSION, VIEW_PERMISSION)
    template_name = "customers/merge_list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        filterset = MergeRecordFilter(self.request.GET or None, queryset=merge_list())
        for field in filterset.form.fields.values():
            field.widget.attrs.update({"class": "form-control"})
        page = keyset_page(self.request, filterset.qs, PAGE_SIZE)
        note_customers(self.request, [pk for row in page.rows for pk in (row.survivor_id, row.merged_id)])
        context.update(filterset=filterset, records=page.rows, page=page)
        return context


class MergeDetailView(StaffRequiredMixin, PersonalDataViewMixin, TemplateView):
    """One merge: who merged whom, when and why, everything that moved, and the undo button."""

    permission_required = (STAFF_UI_PERMISSION, VIEW_PERMISSION)
    template_name = "customers/merge_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        record = get_object_or_404(merge_detail(), pk=kwargs["pk"])
        note_customers(self.request, [record.survivor_id, record.merged_id])
        blocker = merge_undo_blocker(record)
        context.update(
            record=record,
            counts=merge_counts(record),
            rows=merge_moved_rows(record),
            filled=_filled_fields(record),
            replaced_consents=_replaced_consents(record),
            undo_blocker=blocker,
            # The latest merge in the way, to undo first.
            blocking_merge=later_merges(record).order_by("-pk").values_list("pk", flat=True).first()
            if blocker == "later_merge"
            else None,
            undo_blocker_message=MergeError.messages[blocker]
            if blocker and blocker != "already_undone"
            else "",
        )
        return context


class MergeUndoView(StaffRequiredMixin, PersonalDataViewMixin, View):
    """Undo a merge (POST only), then back to its page with what happened."""

    personal_data_action = AccessAction.CHANGE

    permission_required = (STAFF_UI_PERMISSION, MERGE_PERMISSION)
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        record = get_object_or_404(MergeRecord, pk=pk)
        note_customers(request, [record.survivor_id, record.merged_id])
        try:
            customer_merge_undo(record=record, actor=MergeCreateView._user(request))
        except MergeError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request,
                _("The merge was undone: customer #%(merged)d is active again, with its own records.")
                % {"merged": record.merged_id},
            )
        return HttpResponseRedirect(reverse("customers:merge_detail", args=[pk]))


def _filled_fields(record: MergeRecord) -> list[tuple[str, Any]]:
    """The survivor's fields the merge filled, as (label, value)."""
    filled = record.moved.get("filled", {})
    fields = {field.name: field for field in Customer._meta.concrete_fields}

    def shown(name: str, value: Any) -> Any:
        if name in MASKED_FIELDS:
            return mask_value(name, value)
        field = fields[name]
        return dict(field.flatchoices).get(value, value) if field.choices else field.to_python(value)

    return [
        (str(fields[name].verbose_name), shown(name, value))
        for name, value in filled.items()
        if name != "phone_normalized"
    ]


def _replaced_consents(record: MergeRecord) -> list[dict[str, Any]]:
    """The consent rows the merge deleted because the other customer's decision was later, as they were."""
    deleted = set(record.moved.get("consents_deleted", []))
    channels, purposes = dict(ConsentChannel.choices), dict(ConsentPurpose.choices)
    return [
        {
            **row,
            "other_id": record.merged_id if row["customer_id"] == record.survivor_id else record.survivor_id,
            "channel_label": channels.get(row["channel"], row["channel"]),
            "purpose_label": purposes.get(row["purpose"], row["purpose"]),
            "changed_at": dt.datetime.fromisoformat(row["changed_at"]),
        }
        for row in record.snapshot.get("consents", [])
        if row["id"] in deleted
    ]
