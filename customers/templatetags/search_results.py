"""``{% search_results results %}``: the rows of customer search, written in Python.

Search answers every keystroke; the template engine spent more on a page of results than the three
queries behind them (some fifteen variables, filters and a URL per row). The markup is the template's
that this replaced; every value is escaped, personal fields are masked as ``|masked`` does, and the
labels are translated once per language.
"""

from functools import lru_cache
from typing import Any

from django import template
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext

from crm.html import escape
from crm.templatetags.crm_labels import label
from crm.templatetags.crm_urls import reverse_pk
from customers.privacy.masking import mask_email, mask_phone
from customers.templatetags.customer_status import customer_status

register = template.Library()


@lru_cache(maxsize=16)
def _no_name(language: str | None) -> str:
    return escape(gettext("(no name)"))


def _row(customer: Any, no_name: str) -> str:
    name = customer.name
    contact: str = escape(mask_email(customer.email))
    if customer.email and customer.phone:
        contact += " · "
    contact += escape(mask_phone(customer.phone))
    analytics = getattr(customer, "analytics", None)
    group = (
        "\n            "
        f'<span class="badge rounded-pill text-bg-light border">{escape(label(analytics, "rfm_group"))}</span>'
        "\n          "
        if analytics
        else ""
    )
    url = escape(reverse_pk("customers:customer_detail", customer.pk))
    return (
        "\n      "
        '<a class="list-group-item list-group-item-action d-flex flex-wrap justify-content-between '
        'align-items-center gap-2 py-3"\n'
        f'         href="{url}" data-testid="search-result">\n'
        '        <div class="d-flex align-items-center gap-3">\n'
        f'          <span class="crm-avatar crm-avatar-lg" aria-hidden="true">{escape((name or "?")[:1])}</span>\n'
        "          <div>\n"
        f'            <div class="fw-semibold">{escape(name) if name else no_name}\n'
        f'              <span class="small text-body-secondary fw-normal">#{customer.pk}</span></div>\n'
        '            <div class="small text-body-secondary">\n'
        f"              {contact}\n"
        "            </div>\n"
        "          </div>\n"
        "        </div>\n"
        '        <div class="d-flex align-items-center gap-2 small">\n'
        f"          {group}\n"
        f"          {customer_status(customer)}\n"
        "        </div>\n"
        "      </a>\n"
        "    "
    )


@register.simple_tag
def search_results(results: list[Any]) -> SafeString:
    """The result rows (customers as ``customers.search.customer_search`` loads them)."""
    no_name = _no_name(get_language())
    return mark_safe("".join(_row(customer, no_name) for customer in results))  # noqa: S308  # escaped
