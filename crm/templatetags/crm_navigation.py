"""``{% staff_navigation %}``: the navbar entries from the navigation registry (see ``crm.navigation``)."""

from typing import Any

from django import template

from crm import navigation

register = template.Library()


@register.inclusion_tag("crm/partials/nav_items.html", takes_context=True)
def staff_navigation(context: template.Context) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    match = getattr(request, "resolver_match", None)
    return {
        "items": navigation.items_for(user) if user is not None else [],
        "current": match.view_name if match is not None else "",
    }
