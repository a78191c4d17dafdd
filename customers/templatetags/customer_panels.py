"""``{% customer_panels panels %}``: the panels other apps add to the customer page (``customers.panels``)."""

from typing import Any

from django import template
from django.utils.safestring import SafeString

from customers.panels import panels_html

register = template.Library()


@register.simple_tag(takes_context=True)
def customer_panels(context: template.Context, panels: list[tuple[str, dict[str, Any]]]) -> SafeString:
    return panels_html(context, panels)
