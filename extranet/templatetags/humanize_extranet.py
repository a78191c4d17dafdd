"""Template filters and tags of the extranet.

The dashboards' tables are rendered a whole ``<tbody>`` at a time (``figure_rows``, ``stock_rows``): a table
of 50 rows rendered by template loops, variables, filters and ``{% url %}`` tags cost about two thirds of a
sales page's CPU time, while the same rows written out here cost a few percent. Every string that comes
from the data (SKUs, names, channels, stores) is escaped, with the standard library's ``html.escape``
(what Django's ``escape`` calls, without its lazy-string wrapper: a few hundred calls a page); the rest
are formatted numbers.
"""

from collections.abc import Callable, Sequence
from decimal import Decimal
from html import escape
from typing import Any

from django import template
from django.conf import settings
from django.urls import reverse
from django.utils import formats
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext

register = template.Library()

DASH = "–"
# A product id no catalog reaches: reversed once per table, then split, it gives the URL around the id.
_PK_MARK = 987654321987654321


@register.filter
def number(value: int | Decimal | None) -> str:
    """A whole number with thousands separators (1,234,567); a dash for none."""
    if value is None:
        return DASH
    return f"{int(value):,}"


def _decimals() -> Callable[[Decimal | None], str]:
    """Formats a Decimal as ``{{ value }}`` would in the current language (``formats.localize``), with the
    language's decimal separator looked up once per table instead of once per cell; a dash for none."""
    if settings.USE_THOUSAND_SEPARATOR:  # grouping rules: leave them to Django

        def localized(value: Decimal | None) -> str:
            return DASH if value is None else str(formats.localize(value))

        return localized
    separator = str(formats.get_format("DECIMAL_SEPARATOR"))

    def plain(value: Decimal | None) -> str:
        return DASH if value is None else f"{value:f}".replace(".", separator)

    return plain


def _product_url() -> Callable[[int], str]:
    """The URL of a product's stock page, reversed once per table rather than once per row."""
    before, after = reverse("extranet:product_inventory", args=[_PK_MARK]).split(str(_PK_MARK))
    return lambda pk: f"{before}{pk}{after}"


def _leading_cells(kind: str) -> Callable[[dict[str, Any]], str]:
    """The cells before the figures in a table of ``kind``: what each row is the figures of."""
    if kind == "period":
        return lambda row: f"<td>{row['bucket'].isoformat()}</td>"
    if kind == "channel":
        return lambda row: f"<td>{escape(row['channel'])}</td>"
    if kind == "location":
        return lambda row: f"<td>{escape(row['location'])}</td>"
    if kind == "product":
        return lambda row: f"<td>{escape(row['sku'])}</td><td>{escape(row['name'])}</td>"
    if kind == "product_link":
        url = _product_url()
        return lambda row: (
            f'<td><a href="{url(row["product_id"])}">{escape(row["sku"])}</a></td><td>{escape(row["name"])}</td>'
        )
    raise template.TemplateSyntaxError(f"figure_rows: no table of {kind!r}")


@register.simple_tag
def figures_head() -> SafeString:
    """The headers of the figure cells of ``figure_rows`` (a tag: an include of six translations, four
    times on the sales page, cost more than the rows under them)."""
    return format_html_join(
        "",
        '<th class="text-end">{}</th>',
        (
            (gettext("Units"),),
            (gettext("Returned"),),
            (gettext("Net revenue"),),
            (gettext("Gross margin"),),
            (gettext("Margin %"),),
            (gettext("Returns rate %"),),
        ),
    )


@register.simple_tag
def figure_rows(rows: Sequence[dict[str, Any]], kind: str) -> SafeString:
    """The rows of a dashboard table (``extranet.dashboards`` rows): the leading cells of ``kind``
    (period, channel, location, product, product_link), then units, returned units, net revenue, gross
    margin, margin % and returns rate %, under the headers of ``figures_head``."""
    lead, rate = _leading_cells(kind), _decimals()
    return SafeString(
        "".join(
            f"<tr>{lead(row)}"
            f'<td class="text-end">{number(row["units"])}</td>'
            f'<td class="text-end">{number(row["return_units"])}</td>'
            f'<td class="text-end">{number(row["net_revenue"])}</td>'
            f'<td class="text-end">{number(row["gross_margin"])}</td>'
            f'<td class="text-end">{rate(row["margin_pct"])}</td>'
            f'<td class="text-end">{rate(row["returns_rate"])}</td></tr>'
            for row in rows
        )
    )


@register.simple_tag
def stock_rows(rows: Sequence[dict[str, Any]]) -> SafeString:
    """The rows of the inventory table (``extranet.dashboards.inventory_by_product``): SKU linked to the
    product's stock per location, name, on hand, on order, net units of the last four weeks, weeks of
    supply, and a badge on low stock (the row is highlighted too)."""
    url, weeks = _product_url(), _decimals()
    badge = format_html('<span class="badge text-bg-warning">{}</span>', gettext("Low stock"))
    return SafeString(
        "".join(
            ('<tr class="table-warning">' if row["low_stock"] else "<tr>")
            + f'<td><a href="{url(row["product_id"])}">{escape(row["sku"])}</a></td><td>{escape(row["name"])}</td>'
            f'<td class="text-end">{number(row["on_hand"])}</td>'
            f'<td class="text-end">{number(row["on_order"])}</td>'
            f'<td class="text-end">{number(row["recent_units"])}</td>'
            f'<td class="text-end">{weeks(row["weeks_of_supply"])}</td>'
            f"<td>{badge if row['low_stock'] else ''}</td></tr>"
            for row in rows
        )
    )
