"""Staff pages of the single customer view: search, the customer page, and its live timeline.

Everything needs ``customers.view_customer`` (with the staff UI permission, which supplier users never
have); reading the timeline needs ``customers.view_interaction`` too, and logging a call or a note
``customers.add_interaction``. The timeline's pieces are htmx partials:

- ``timeline/`` a page of older items, appended when the reader scrolls to the end (keyset cursor);
- ``timeline/new/`` polled every second for items above the newest shown (answers 204 when none);
- ``timeline/log/`` logs a call or a note through event ingestion, then asks the poller to run at once.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from itertools import groupby
from operator import itemgetter
from typing import Any, cast

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import dateformat, formats, timezone
from django.utils.http import urlencode
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views import View

from crm.htmx import is_htmx
from crm.permissions import STAFF_UI_PERMISSION, StaffRequiredMixin
from customers.forms import InteractionLogForm, TimelineFilterForm
from customers.icons import DEFAULT_ICON, ICONS
from customers.models import Customer, Interaction
from customers.panels import panels_render
from customers.privacy.hooks import PersonalDataViewMixin, note_customers
from customers.privacy.models import AccessAction
from customers.search import customer_search
from customers.selectors import customer_page
from customers.services import InteractionNotLogged, interaction_log
from customers.timeline import (
    InvalidCursor,
    Position,
    TimelineFilters,
    timeline_newer,
    timeline_page,
)

VIEW_CUSTOMER = "customers.view_customer"
VIEW_TIMELINE = (STAFF_UI_PERMISSION, VIEW_CUSTOMER, "customers.view_interaction")
SEARCH_LIMIT = 20
FILTER_NAMES = tuple(TimelineFilterForm.base_fields)
POLL_SECONDS = 1

# An icon (customers/icons.py) and a colour per kind.
KIND_STYLE = {
    "purchase": ("bag", "success"),
    "return": ("return", "warning"),
    "payment": ("card", "success"),
    "sales_contact": ("handshake", "primary"),
    "service_call": ("phone", "primary"),
    "web_visit": ("globe", "secondary"),
    "app_visit": ("phone-app", "secondary"),
    "product_view": ("eye", "secondary"),
    "cart_add": ("cart", "info"),
    "email": ("envelope", "info"),
    "sms": ("chat", "info"),
    "push": ("bell", "info"),
    "survey": ("star", "warning"),
    "claim": ("shield", "danger"),
    "contract_change": ("file", "dark"),
    "note": ("pencil", "dark"),
}


def _day(moment: dt.datetime) -> dt.date:
    return timezone.localtime(moment).date()


@lru_cache(maxsize=8192)
def _date_label(day: dt.date, language: str | None) -> str:
    """A date as the active language writes it (``DATE_FORMAT``). Django's formatter costs tens of
    microseconds a call and a timeline shows many dates, mostly the same ones across customers: kept
    per process, by language."""
    return formats.date_format(day, "DATE_FORMAT")


@lru_cache(maxsize=64)
def _separators(language: str | None) -> tuple[str, str]:
    return str(formats.get_format("DECIMAL_SEPARATOR")), str(formats.get_format("THOUSAND_SEPARATOR"))


@lru_cache(maxsize=16)
def _choice_labels(language: str | None) -> tuple[dict[str, str], dict[str, str]]:
    """The kinds' and channels' names in ``language`` (the active one), translated once per process."""
    kinds = {value: str(label) for value, label in Interaction.Kind.choices}
    channels = {value: str(label) for value, label in Interaction.Channel.choices}
    return kinds, channels


@lru_cache(maxsize=8192)
def _weekday(day: dt.date, language: str | None) -> str:
    return str(dateformat.format(day, "l"))


class _Labels:
    """What the timeline's items show, formatted once per request rather than by template filters per
    item: the localized kind and channel names, dates in the active language, and amounts as
    ``floatformat:"-2g"`` writes them. Rendering 50 items with their details spent most of its time in
    the ``date`` and ``floatformat`` filters and in lazy translations."""

    def __init__(self) -> None:
        self.language = get_language()
        self.kinds, self.channels = _choice_labels(self.language)
        self.decimal, self.thousands = _separators(self.language)
        self.zone = timezone.get_current_timezone()

    def date(self, day: dt.date) -> str:
        return _date_label(day, self.language)

    def moment(self, local: dt.datetime) -> str:
        """Date and 24-hour time of a time already in the interface's zone (``2026년 11월 20일 14:03``)."""
        return f"{_date_label(local.date(), self.language)} {local.hour:02d}:{local.minute:02d}"

    def amount(self, value: Decimal) -> str:
        """Grouped thousands, and two decimals only when there are any (``129,000``, ``12.50``)."""
        text = f"{value:,.0f}" if value == value.to_integral_value() else f"{value:,.2f}"
        return text.translate({ord(","): self.thousands, ord("."): self.decimal})


def _decorate(items: list[dict[str, Any]], labels: _Labels) -> list[dict[str, Any]]:
    """Give each item what the timeline shows of it, and its ``day`` in the interface's time zone."""
    zone, kinds, channels = labels.zone, labels.kinds, labels.channels
    for item in items:
        kind = item["kind"]
        icon, item["tone"] = KIND_STYLE.get(kind, ("dot", "secondary"))
        item["icon_svg"] = ICONS.get(icon, DEFAULT_ICON)
        item["kind_label"] = kinds.get(kind, kind)
        item["channel_label"] = channels.get(item["channel"], item["channel"])
        properties = item.get("properties")
        item["properties_list"] = sorted(properties.items()) if properties else []
        local = item["occurred_at"].astimezone(zone)
        item["day"] = local.date()
        item["occurred_iso"] = local.isoformat()
        item["time_label"] = f"{local.hour:02d}:{local.minute:02d}"
        item["occurred_label"] = labels.moment(local)
        item["recorded_label"] = labels.moment(item["recorded_at"].astimezone(zone))
        item["amount_label"] = "" if item["amount"] is None else labels.amount(item["amount"])
        for line in item.get("lines", ()):
            line["unit_price_label"] = labels.amount(line["unit_price"])
            line["total_label"] = labels.amount(line["total"])
    return items


@dataclass
class TimelineDay:
    """A day of the timeline with its items, and its date written out for the page."""

    day: dt.date
    iso: str
    label: str
    weekday: str
    items: list[dict[str, Any]]


def _days(items: list[dict[str, Any]]) -> list[TimelineDay]:
    """Items grouped by their day in the interface's time zone, in the order given."""
    labels = _Labels()
    return [
        TimelineDay(
            day=day,
            iso=day.isoformat(),
            label=labels.date(day),
            weekday=_weekday(day, labels.language),
            items=list(group),
        )
        for day, group in groupby(_decorate(items, labels), key=itemgetter("day"))
    ]


class CustomerListView(StaffRequiredMixin, PersonalDataViewMixin, View):
    """Customer search as you type; the results are a partial that htmx swaps in. The customers a search
    showed are written to the access log."""

    permission_required = (STAFF_UI_PERMISSION, VIEW_CUSTOMER)
    personal_data_action = AccessAction.SEARCH

    def get(self, request: HttpRequest) -> HttpResponse:
        term = request.GET.get("q", "")
        results = customer_search(term=term, limit=SEARCH_LIMIT) if term.strip() else []
        note_customers(request, [customer.pk for customer in results])
        context = {"term": term, "results": results, "searched": bool(term.strip())}
        if is_htmx(request):
            return render(request, "customers/partials/search_results.html", context)
        return render(request, "customers/customer_list.html", context)


class CustomerTimelineMixin(StaffRequiredMixin, PersonalDataViewMixin):
    """Reads the timeline's filters from the query string; a bad filter answers 400 with the form's errors.
    Every page that shows a customer's data notes the customer for the access log."""

    permission_required: tuple[str, ...] = VIEW_TIMELINE

    def filter_form(self, request: HttpRequest) -> TimelineFilterForm | None:
        """The filters given, or None when the query string names none (the usual page, poll and scroll:
        building the form, which copies its fields, cost more than reading the page)."""
        if not any(name in request.GET for name in FILTER_NAMES):
            return None
        return TimelineFilterForm(request.GET)

    def filters_of(self, form: TimelineFilterForm | None) -> TimelineFilters | None:
        if form is None:
            return TimelineFilters()
        return form.filters() if form.is_valid() else None

    def filter_query(self, form: TimelineFilterForm | None) -> str:
        """The filters as query parameters, to carry on the scroll and poll URLs."""
        if form is None:
            return ""
        data = cast(QueryDict, form.data)
        keep = [(key, value) for key in form.fields for value in data.getlist(key) if value]
        return urlencode(keep)


class CustomerDetailView(CustomerTimelineMixin, View):
    """The customer page: the profile header and its panels, and the live timeline."""

    permission_required = (STAFF_UI_PERMISSION, VIEW_CUSTOMER)

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        found = customer_page(pk)
        if found is None:
            raise Http404
        customer = found.customer
        note_customers(request, [customer.pk])
        form = self.filter_form(request)
        filters = self.filters_of(form)
        can_read_timeline = request.user.has_perm("customers.view_interaction")
        page = None
        if filters is not None and can_read_timeline:
            page = timeline_page(customer_id=customer.pk, filters=filters, with_lines=True)
        context = {
            "customer": customer,
            "customer_id": customer.pk,
            "analytics": found.analytics,
            "base_currency": settings.CRM_BASE_CURRENCY,
            "consents": found.consents,
            "identities": found.identities,
            "contracts": found.contracts,
            "filter_form": form,
            "filter_query": self.filter_query(form),
            "sources": found.sources,
            "can_read_timeline": can_read_timeline,
            "page": page,
            "days": _days(page.items) if page else [],
            "newest": page.newest.encode() if page and page.newest else "",
            "poll_seconds": POLL_SECONDS,
            "can_log": request.user.has_perm("customers.add_interaction")
            and customer.status == Customer.Status.ACTIVE,
            "panels": panels_render(request, customer),
        }
        return render(request, "customers/customer_detail.html", context, status=200 if filters else 400)


class TimelinePageView(CustomerTimelineMixin, View):
    """The next page of the timeline below ``?cursor=``, for infinite scroll."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        form = self.filter_form(request)
        filters = self.filters_of(form)
        if filters is None:
            return HttpResponse(status=400)
        cursor = request.GET.get("cursor", "")
        try:
            position = Position.decode(cursor) if cursor else None
            page = timeline_page(customer_id=pk, filters=filters, cursor=cursor or None, with_lines=True)
        except InvalidCursor:
            return HttpResponse(status=400)
        if not page.items and not Customer.objects.filter(pk=pk).exists():
            raise Http404
        if page.items:
            note_customers(request, [pk])
        days = _days(page.items)
        # The first day of this page may continue the last day already shown: its items join that day.
        joined = days.pop(0) if days and position and days[0].day == _day(position.occurred_at) else None
        context = {
            "customer_id": pk,
            "page": page,
            "days": days,
            "joined": joined,
            "filter_query": self.filter_query(form),
        }
        return render(request, "customers/partials/timeline_page.html", context)


class TimelineNewView(CustomerTimelineMixin, View):
    """Items above ``?after=`` (the newest shown), polled by the page; 204 when there are none."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        form = self.filter_form(request)
        filters = self.filters_of(form)
        if filters is None:
            return HttpResponse(status=400)
        after = request.GET.get("after", "")
        try:
            position = Position.decode(after) if after else None
        except InvalidCursor:
            return HttpResponse(status=400)
        items = timeline_newer(customer_id=pk, after=position, filters=filters, with_lines=True)
        if not items:
            return HttpResponse(status=204)
        note_customers(request, [pk])
        days = _days(items)
        # Items of the day shown on top join that day's list; newer days get sections of their own.
        joined = days.pop() if position and days[-1].day == _day(position.occurred_at) else None
        context = {
            "customer_id": pk,
            "days": days,
            "joined": joined,
            "newest": Position.of(items[0]).encode(),
            "filter_query": self.filter_query(form),
            "poll_seconds": POLL_SECONDS,
        }
        return render(request, "customers/partials/timeline_new.html", context)


class InteractionLogView(StaffRequiredMixin, PersonalDataViewMixin, View):
    """Log a call or a note from the customer page; the timeline's poller shows it at once. The access
    record (input) commits with the interaction."""

    permission_required = (STAFF_UI_PERMISSION, VIEW_CUSTOMER, "customers.add_interaction")

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        customer = get_object_or_404(Customer, pk=pk)
        form = InteractionLogForm(request.POST)
        status = 200
        if customer.status != Customer.Status.ACTIVE:
            form.add_error(None, _("This customer was merged or erased: log on the customer they became."))
            status = 409
        elif form.is_valid():
            try:
                interaction_log(
                    customer=customer,
                    kind=form.cleaned_data["kind"],
                    summary=form.cleaned_data["summary"],
                    user=request.user,  # type: ignore[arg-type]  # StaffRequiredMixin: signed in
                )
            except InteractionNotLogged as error:
                for field, problems in error.errors.items():
                    for problem in problems:
                        form.add_error(field if field in form.fields else None, problem["message"])
                status = 400
            else:
                note_customers(request, [customer.pk], AccessAction.INPUT)
                if not is_htmx(request):  # without JavaScript: back to the page, which shows it
                    return HttpResponseRedirect(reverse("customers:customer_detail", args=[customer.pk]))
                response = render(
                    request,
                    "customers/partials/timeline_log_form.html",
                    {"customer": customer, "log_form": InteractionLogForm(), "logged": True},
                )
                response["HX-Trigger"] = "timeline-refresh"
                return response
        else:
            status = 400
        return render(
            request,
            "customers/partials/timeline_log_form.html",
            {"customer": customer, "log_form": form},
            status=status if not is_htmx(request) else 200,
        )
