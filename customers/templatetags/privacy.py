"""Template tags for personal fields: ``{{ value|masked:"phone" }}`` always masks;
``{% personal customer "phone" %}`` masks and, for users with ``customers.view_personal_data``, adds the
"show" button whose click (htmx) reveals the value and is written to the access log.

``personal`` writes its few elements in Python (the customer page shows four of them, and an inclusion
template cost about 0.15 ms each); the masked value and the field name are escaped."""

from functools import lru_cache
from typing import Any

from django import template
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext

from crm.html import escape
from crm.templatetags.crm_urls import reverse_pk
from customers.privacy.masking import can_see_personal_data, mask_value

register = template.Library()


@register.filter
def masked(value: Any, field: str) -> Any:
    """The masked form of a personal field's value."""
    return mask_value(field, value)


@lru_cache(maxsize=16)
def _show(language: str | None) -> str:
    return escape(gettext("Show"))


@register.simple_tag(takes_context=True)
def personal(context: template.Context, customer: Any, field: str) -> SafeString:
    """A personal field of a customer, masked, with a reveal button for those allowed to see it."""
    value = getattr(customer, field, "")
    if value in (None, ""):
        return mark_safe('<span class="text-body-secondary">—</span>\n')
    name = escape(field)
    button = ""
    request = context.get("request")
    if can_see_personal_data(getattr(request, "user", None)):
        url = escape(reverse_pk("customers:personal_reveal", customer.pk, field))
        button = (
            ' <button type="button" class="btn btn-link btn-sm p-0 align-baseline" '
            f'hx-post="{url}" hx-target="closest .personal-field" hx-swap="outerHTML" '
            f'data-testid="reveal-{name}">{_show(get_language())}</button>'
        )
    return mark_safe(  # noqa: S308  # the masked value and the field name escaped
        f'<span class="personal-field" data-field="{name}"><span class="font-monospace">'
        f"{escape(mask_value(field, value))}</span>{button}</span>\n"
    )
