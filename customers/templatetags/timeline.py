"""The timeline's days and items, written by Python rather than by templates included once per day and item.

A page shows 50 items, each with its details; the template engine spent about 0.25 ms an item resolving
some twenty variables and translated labels, which made it the largest part of the customer page. The
markup is the same as the template's was; every value from the database is escaped here
(``django.utils.html.escape``), the icons are the module's own SVG constants, and the labels are
translated once per language.

    {% load timeline %}{% timeline_days days %}   {# sections of days, each with its items #}
    {% load timeline %}{% timeline_items day.items %}

The filters without a filter chosen and the fresh log form are the same on every customer page but for
the customer's number and the CSRF token: their templates are rendered once per language and filled in
per page (``crm.fragments``).
"""

from functools import lru_cache
from typing import Any

from django import template
from django.urls import get_script_prefix
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext

from crm.fragments import PK, PK_SLOT, TOKEN_SLOT, fragment_fill, fragment_parts
from crm.html import escape
from customers.forms import InteractionLogForm, TimelineFilterForm

register = template.Library()

FILTERS = "customers/partials/timeline_filters.html"
LOG_FORM = "customers/partials/timeline_log_form.html"


@lru_cache(maxsize=16)
def _labels(language: str | None) -> dict[str, str]:
    """The items' labels in ``language`` (the active one), translated once per process."""
    return {
        "product": escape(gettext("Product")),
        "quantity": escape(gettext("Quantity")),
        "unit_price": escape(gettext("Unit price")),
        "total": escape(gettext("Total")),
        "amount": escape(gettext("Amount")),
        "source": escape(gettext("Source")),
        "occurred": escape(gettext("Occurred")),
        "recorded": escape(gettext("Recorded")),
    }


def _lines(item: dict[str, Any], labels: dict[str, str]) -> str:
    lines = item.get("lines")
    if not lines:
        return ""
    rows = "".join(
        f'<tr><td>{escape(line["product_name"])} <code class="text-body-secondary">{escape(line["sku"])}</code>'
        f'</td><td class="text-end">{escape(line["quantity"])}</td>'
        f'<td class="text-end">{escape(line["unit_price_label"])} {escape(line["currency"])}</td>'
        f'<td class="text-end">{escape(line["total_label"])} {escape(line["currency"])}</td></tr>'
        for line in lines
    )
    return (
        '<table class="table table-sm mb-2"><thead><tr>'
        f'<th scope="col">{labels["product"]}</th><th scope="col" class="text-end">{labels["quantity"]}</th>'
        f'<th scope="col" class="text-end">{labels["unit_price"]}</th>'
        f'<th scope="col" class="text-end">{labels["total"]}</th></tr></thead>'
        f"<tbody>{rows}</tbody></table>"
    )


def _item(item: dict[str, Any], labels: dict[str, str]) -> str:
    kind_label = escape(item["kind_label"])
    summary = escape(item["summary"]) if item["summary"] else ""
    amount = ""
    amount_detail = ""
    if item["amount_label"]:
        value = f"{escape(item['amount_label'])} {escape(item['currency'])}"
        amount = f' <span class="fw-normal">· {value}</span>'
        amount_detail = (
            f'<dt class="col-4 fw-normal text-body-secondary">{labels["amount"]}</dt>'
            f'<dd class="col-8 mb-1">{value}</dd>'
        )
    nps = ""
    if item["nps_score"] is not None:
        nps = f'<span class="badge rounded-pill text-bg-warning">NPS {escape(item["nps_score"])}</span>'
    properties = "".join(
        f'<dt class="col-4 fw-normal text-body-secondary text-break">{escape(key)}</dt>'
        f'<dd class="col-8 mb-1 text-break">{escape(value)}</dd>'
        for key, value in item["properties_list"]
    )
    source = escape(item["source"])
    return (
        f'<article class="crm-tl-item" data-testid="timeline-item" data-kind="{escape(item["kind"])}" '
        f'data-id="{escape(item["id"])}"><details>'
        '<summary class="d-flex gap-3 align-items-start">'
        f'<span class="crm-tl-icon text-bg-{escape(item["tone"])}" title="{kind_label}">{item["icon_svg"]}</span>'
        '<span class="flex-grow-1 min-w-0"><span class="d-flex justify-content-between gap-2">'
        f'<span class="fw-semibold">{kind_label}{amount}</span>'
        f'<time class="small text-body-secondary text-nowrap" datetime="{escape(item["occurred_iso"])}">'
        f"{escape(item['time_label'])}</time></span>"
        + (f'<span class="d-block small text-truncate">{summary}</span>' if summary else "")
        + '<span class="d-flex flex-wrap gap-1 mt-1">'
        f'<span class="badge rounded-pill text-bg-light border">{escape(item["channel_label"])}</span>'
        f'<span class="badge rounded-pill text-bg-light border text-body-secondary">{source}</span>{nps}'
        "</span></span></summary>"
        '<div class="crm-tl-details small" data-testid="timeline-details">'
        + (f'<p class="mb-2">{summary}</p>' if summary else "")
        + _lines(item, labels)
        + f'<dl class="row mb-0">{amount_detail}{properties}'
        f'<dt class="col-4 fw-normal text-body-secondary">{labels["source"]}</dt>'
        f'<dd class="col-8 mb-1"><code>{source}</code> · <code>{escape(item["external_id"])}</code></dd>'
        f'<dt class="col-4 fw-normal text-body-secondary">{labels["occurred"]}</dt>'
        f'<dd class="col-8 mb-1">{escape(item["occurred_label"])}</dd>'
        f'<dt class="col-4 fw-normal text-body-secondary">{labels["recorded"]}</dt>'
        f'<dd class="col-8 mb-0">{escape(item["recorded_label"])}</dd>'
        "</dl></div></details></article>"
    )


@register.simple_tag
def timeline_items(items: list[dict[str, Any]]) -> SafeString:
    """The items (decorated by ``customers.views.customers._decorate``) as the timeline shows them."""
    labels = _labels(get_language())
    return mark_safe("".join(_item(item, labels) for item in items))  # noqa: S308  # every value escaped


def _day(day: Any, labels: dict[str, str]) -> str:
    iso = escape(day.iso)
    return (
        f'\n<section class="crm-day" data-day="{iso}">\n'
        f'  <h3 class="crm-day-title">{escape(day.label)} '
        f'<span class="text-body-secondary fw-normal">{escape(day.weekday)}</span></h3>\n'
        f'  <div class="crm-day-items" id="day-{iso}">\n'
        f"    {''.join(_item(item, labels) for item in day.items)}\n"
        "  </div>\n</section>\n"
    )


@register.simple_tag
def timeline_days(days: list[Any]) -> SafeString:
    """The days (``customers.views.customers.TimelineDay``), each a section with its items; the markup
    of the template this replaced, included once per day."""
    labels = _labels(get_language())
    return mark_safe("".join(_day(day, labels) for day in days))  # noqa: S308  # every value escaped


@lru_cache(maxsize=64)
def _unchosen_options(form_class: Any, name: str, language: str | None) -> str:
    field = form_class.base_fields[name]
    return "".join(
        f'<option value="{escape(value)}">{escape(label)}</option>' for value, label in field.choices
    )


@register.simple_tag
def choice_options(form: Any, name: str) -> SafeString:
    """The ``<option>``s of the form's choice field ``name``, the chosen ones selected. Without filters
    (an unbound form, the usual page) they are the same for everyone: written once per language."""
    if not form.is_bound:
        return mark_safe(_unchosen_options(form.__class__, name, get_language()))  # noqa: S308  # escaped
    chosen = form[name].value() or ()
    return mark_safe(  # noqa: S308  # every value escaped
        "".join(
            f'<option value="{escape(value)}"{" selected" if value in chosen else ""}>{escape(label)}</option>'
            for value, label in form.fields[name].choices
        )
    )


@register.simple_tag
def source_options(sources: list[tuple[str, str]], chosen: Any) -> SafeString:
    """The ``<option>``s of the source systems ``(code, name)``, the chosen code selected."""
    return mark_safe(  # noqa: S308  # every value escaped
        "".join(
            f'<option value="{escape(code)}"{" selected" if code == chosen else ""}>{escape(name)}</option>'
            for code, name in sources
        )
    )


def _kind_choices(form: Any) -> str:
    field = form["kind"]
    name = escape(field.html_name)
    html = []
    for choice in field:
        for_id = escape(choice.id_for_label)
        checked = " checked" if choice.data["selected"] else ""
        html.append(
            '\n        <div class="form-check form-check-inline mb-0">\n'
            f'          <input class="form-check-input" type="radio" name="{name}" id="{for_id}" '
            f'value="{escape(choice.data["value"])}"{checked}>\n'
            f'          <label class="form-check-label" for="{for_id}">{escape(choice.choice_label)}</label>\n'
            "        </div>\n      "
        )
    return "".join(html)


@lru_cache(maxsize=16)
def _fresh_kind_choices(form_class: Any, language: str | None) -> str:
    return _kind_choices(form_class())


@register.simple_tag
def log_kind_choices(form: Any) -> SafeString:
    """The radio buttons of the log form's ``kind``; for a fresh form (the page's) once per language."""
    if not form.is_bound:
        return mark_safe(_fresh_kind_choices(form.__class__, get_language()))  # noqa: S308  # escaped
    return mark_safe(_kind_choices(form))  # noqa: S308  # every value escaped


@lru_cache(maxsize=16)
def _unfiltered(sources: tuple[tuple[str, str], ...], language: str | None, prefix: str) -> tuple[str, ...]:
    context = {"customer": PK, "filter_form": TimelineFilterForm(), "sources": sources, "filter_query": ""}
    return fragment_parts(FILTERS, context)


@register.simple_tag(takes_context=True)
def timeline_filters(context: template.Context) -> SafeString:
    """The timeline's filter form for ``customer``, with the ``sources`` to choose from: without filters
    (``filter_form`` None), once per language and list of sources; with filters, the template."""
    if context["filter_form"] is not None:
        engine = context.template.engine  # type: ignore[union-attr]  # rendering a template
        return mark_safe(engine.get_template(FILTERS).render(context))  # noqa: S308  # the engine's
    parts = _unfiltered(tuple(context["sources"]), get_language(), get_script_prefix())
    return mark_safe(fragment_fill(parts, {PK_SLOT: context["customer"].pk}))  # noqa: S308  # escaped


@lru_cache(maxsize=16)
def _fresh_log_form(language: str | None, prefix: str) -> tuple[str, ...]:
    context = {"customer": PK, "log_form": InteractionLogForm(), "csrf_token": TOKEN_SLOT}
    return fragment_parts(LOG_FORM, context)


@register.simple_tag(takes_context=True)
def fresh_log_form(context: template.Context) -> SafeString:
    """The form to log a call or a note, fresh, for ``customer``: the template rendered once per
    language, with the customer's number and this request's CSRF token put in."""
    parts = _fresh_log_form(get_language(), get_script_prefix())
    values = {PK_SLOT: context["customer"].pk, TOKEN_SLOT: context["csrf_token"]}
    return mark_safe(fragment_fill(parts, values))  # noqa: S308  # escaped
