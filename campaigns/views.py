"""Staff pages of segments: the list, a segment with its members, the builder (htmx: every change
re-renders the conditions with a live count, a sample and the rule in words), the members' CSV, the
choice of a static segment's members, and the reps' alert list of valuable customers at risk.

Reading needs ``campaigns.view_segment`` (members: ``campaigns.view_segmentmembership``); building needs
``campaigns.add_segment`` or ``campaigns.change_segment`` (the Marketer role). Writes go through
``campaigns.services``, the same the API calls.
"""

import csv
from collections.abc import Iterator
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import TemplateView

from campaigns import services
from campaigns.forms import (
    SegmentForm,
    StaticMembersForm,
    builder_nodes,
    field_groups,
    tree_apply,
    tree_from_post,
)
from campaigns.models import Segment
from campaigns.rules import EMPTY_RULE, RuleError, rule_segment_ids, rule_validate
from campaigns.selectors import (
    at_risk_members,
    segment_list,
    segment_members,
    segment_names,
    segment_preview,
)
from campaigns.sentences import rule_sentence
from crm.exports import spreadsheet_safe
from crm.pagination import keyset_page
from crm.permissions import STAFF_UI_PERMISSION, StaffRequiredMixin
from customers.privacy.hooks import PersonalDataViewMixin, note_customers, reason_required
from customers.privacy.masking import can_see_personal_data, mask_value
from customers.privacy.models import AccessAction

VIEW = "campaigns.view_segment"
VIEW_MEMBERS = "campaigns.view_segmentmembership"
ADD = "campaigns.add_segment"
CHANGE = "campaigns.change_segment"
CHANGE_MEMBERS = "campaigns.change_segmentmembership"


class SegmentListView(StaffRequiredMixin, TemplateView):
    """Every segment with its size (kept by the refreshes, never counted here)."""

    permission_required = (STAFF_UI_PERMISSION, VIEW)
    template_name = "campaigns/segment_list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "page": keyset_page(self.request, segment_list())}


class SegmentDetailView(StaffRequiredMixin, PersonalDataViewMixin, TemplateView):
    """A segment: its rule in words, its size, and its members a keyset page at a time (an access record
    names the customers shown)."""

    permission_required = (STAFF_UI_PERMISSION, VIEW)
    template_name = "campaigns/segment_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        segment = get_object_or_404(segment_list(), pk=self.kwargs["pk"])
        context = {
            **super().get_context_data(**kwargs),
            "segment": segment,
            "sentence": rule_sentence(segment.rule, segment_names(rule_segment_ids(segment.rule)))
            if segment.kind == Segment.Kind.DYNAMIC
            else "",
            "members_form": StaticMembersForm(),
        }
        if self.request.user.has_perm(VIEW_MEMBERS):
            context["page"] = keyset_page(self.request, segment_members(segment=segment))
            note_customers(self.request, [member.customer_id for member in context["page"].rows])
        return context


def _builder_context(request: HttpRequest, tree: dict[str, Any], segment: Segment | None) -> dict[str, Any]:
    """What the builder partial shows for a tree: its nodes with their errors, and when the rule is valid,
    the sentence, the count and a sample."""
    errors: dict[str, str] = {}
    sentence = preview = None
    try:
        clean = rule_validate(tree, segment_id=segment.pk if segment else None)
    except RuleError as error:
        errors = error.errors
    else:
        sentence = rule_sentence(clean, segment_names(rule_segment_ids(clean)))
        preview = segment_preview(rule=clean)
        note_customers(request, [customer.pk for customer in preview.sample], AccessAction.SEARCH)
    other_segments = Segment.objects.order_by("name").only("pk", "name")
    if segment is not None:
        other_segments = other_segments.exclude(pk=segment.pk)
    return {
        "root": builder_nodes(tree, errors),
        "errors": errors,
        "sentence": sentence,
        "preview": preview,
        "field_groups": field_groups(),
        "segment_choices": other_segments,
        "segment": segment,
    }


class SegmentBuilderView(StaffRequiredMixin, PersonalDataViewMixin, View):
    """htmx: the builder re-drawn after a change or a button (add or remove a condition or group); the
    sample of members it shows is logged as a search."""

    personal_data_action = AccessAction.SEARCH

    permission_required = STAFF_UI_PERMISSION

    def post(self, request: HttpRequest) -> HttpResponse:
        if not (request.user.has_perm(ADD) or request.user.has_perm(CHANGE)):
            return HttpResponse(status=403)
        segment = None
        if request.POST.get("segment_id", "").isdigit():
            segment = get_object_or_404(Segment, pk=int(request.POST["segment_id"]))
        tree = tree_from_post(request.POST)
        if request.POST.get("action"):
            tree = tree_apply(tree, request.POST["action"])
        return render(request, "campaigns/partials/builder.html", _builder_context(request, tree, segment))


class SegmentEditView(StaffRequiredMixin, PersonalDataViewMixin, TemplateView):
    """Create (``pk`` absent, ``campaigns.add_segment``) or change (``campaigns.change_segment``) a segment.
    The builder's sample of members is logged as a search."""

    personal_data_action = AccessAction.SEARCH

    template_name = "campaigns/segment_edit.html"

    def get_permission_required(self) -> tuple[str, ...]:
        return (STAFF_UI_PERMISSION, CHANGE if "pk" in self.kwargs else ADD)

    def _segment(self) -> Segment | None:
        return get_object_or_404(Segment, pk=self.kwargs["pk"]) if "pk" in self.kwargs else None

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        segment = self._segment()
        initial = (
            {"name": segment.name, "description": segment.description, "kind": segment.kind}
            if segment
            else {}
        )
        tree = segment.rule if segment and segment.rule else {"op": "and", "conditions": []}
        return self._render(SegmentForm(initial=initial), tree, segment)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        segment = self._segment()
        form = SegmentForm(request.POST)
        tree = tree_from_post(request.POST)
        if not form.is_valid():
            return self._render(form, tree, segment, status=400)
        kind = segment.kind if segment else form.cleaned_data["kind"]
        try:
            with transaction.atomic():
                if segment is None:
                    segment = services.segment_create(
                        name=form.cleaned_data["name"],
                        description=form.cleaned_data["description"],
                        kind=kind,
                        rule=tree if kind == Segment.Kind.DYNAMIC else EMPTY_RULE,
                        created_by=request.user,  # type: ignore[arg-type]
                    )
                else:
                    services.segment_update(
                        segment=segment,
                        name=form.cleaned_data["name"],
                        description=form.cleaned_data["description"],
                        rule=tree,
                    )
        except RuleError as error:
            form.add_error(None, _("The rule has errors: see the conditions marked in red."))
            return self._render(form, tree, self._segment(), status=400, errors=error.errors)
        messages.success(request, _("Segment saved; its members are being refreshed."))
        return HttpResponseRedirect(reverse("campaigns:segment_detail", args=[segment.pk]))

    def _render(
        self,
        form: SegmentForm,
        tree: dict[str, Any],
        segment: Segment | None,
        status: int = 200,
        errors: dict[str, str] | None = None,
    ) -> HttpResponse:
        context = {"form": form, **_builder_context(self.request, tree, segment)}
        if errors:
            context["root"] = builder_nodes(tree, errors)
        return render(self.request, self.template_name, context, status=status)


class SegmentRefreshView(StaffRequiredMixin, View):
    """Refresh a dynamic segment now (in Celery)."""

    permission_required = (STAFF_UI_PERMISSION, CHANGE)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        segment = get_object_or_404(Segment, pk=pk, kind=Segment.Kind.DYNAMIC)
        from campaigns.tasks import segment_refresh_task

        transaction.on_commit(lambda: segment_refresh_task.delay(segment.pk))
        messages.success(request, _("The refresh has started."))
        return HttpResponseRedirect(reverse("campaigns:segment_detail", args=[pk]))


class StaticMembersView(StaffRequiredMixin, PersonalDataViewMixin, View):
    """Put customers in, or take them out of, a static segment (typed ids or an uploaded list); the
    customers named are logged as a change."""

    personal_data_action = AccessAction.CHANGE

    permission_required = (STAFF_UI_PERMISSION, CHANGE_MEMBERS)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        segment = get_object_or_404(Segment, pk=pk, kind=Segment.Kind.STATIC)
        form = StaticMembersForm(request.POST, request.FILES)
        try:
            if not form.is_valid():
                raise ValidationError([e for errors in form.errors.values() for e in errors])
            ids = form.customer_ids()
            note_customers(request, ids)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return HttpResponseRedirect(reverse("campaigns:segment_detail", args=[pk]))
        if request.POST.get("remove"):
            changed = services.segment_members_remove(segment=segment, customer_ids=ids)
            messages.success(request, _("%(n)d customers taken out.") % {"n": changed})
        else:
            changed = services.segment_members_add(segment=segment, customer_ids=ids)
            messages.success(
                request,
                _("%(n)d customers put in (unknown ids and members already in are skipped).")
                % {"n": changed},
            )
        return HttpResponseRedirect(reverse("campaigns:segment_detail", args=[pk]))


class SegmentExportView(StaffRequiredMixin, PersonalDataViewMixin, View):
    """The members as CSV, streamed a chunk at a time; cells a spreadsheet would run are escaped. The
    reason is asked first, and the access record names every member in the file."""

    personal_data_action = AccessAction.DOWNLOAD

    permission_required = (STAFF_UI_PERMISSION, VIEW_MEMBERS, "customers.view_customer")
    COLUMNS = ("customer_id", "name", "email", "phone", "region", "entered_at")

    def get(self, request: HttpRequest, pk: int) -> StreamingHttpResponse:
        segment = get_object_or_404(Segment, pk=pk)
        reason_required(request)
        members = segment_members(segment=segment).order_by("-pk")
        note_customers(request, members.values_list("customer_id", flat=True))

        class Echo:
            def write(self, value: str) -> str:
                return value

        writer = csv.writer(Echo())
        # Email and phone in full only for users who may see personal data, as on every page.
        show = can_see_personal_data(request.user)

        def rows() -> Iterator[str]:
            yield "\ufeff" + writer.writerow(self.COLUMNS)
            for member in members.iterator(chunk_size=2000):
                customer = member.customer
                yield writer.writerow(
                    [
                        spreadsheet_safe(value)
                        for value in (
                            customer.pk,
                            customer.name,
                            customer.email if show else mask_value("email", customer.email),
                            customer.phone if show else mask_value("phone", customer.phone),
                            customer.region,
                            member.entered_at.isoformat(),
                        )
                    ]
                )

        response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="segment-{segment.pk}-members.csv"'
        return response


class AtRiskView(StaffRequiredMixin, PersonalDataViewMixin, TemplateView):
    """The reps' alert list: valuable customers at risk of churning, riskiest first within each page."""

    permission_required = (STAFF_UI_PERMISSION, VIEW_MEMBERS)
    template_name = "campaigns/at_risk.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        page = keyset_page(self.request, at_risk_members())
        note_customers(self.request, [member.customer_id for member in page.rows])
        return {**super().get_context_data(**kwargs), "page": page}
