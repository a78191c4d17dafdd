"""``{% staff_navigation %}``: the navbar entries from the navigation registry (see ``crm.navigation``).

Written in Python, and kept per process for each language, set of entries the user may reach, current
page and URL prefix: every staff page shows the navbar, and building it (a URL reversed and a label
translated per entry, through an inclusion template) cost about 0.5 ms a page. It holds no personal
data: only which of the registry's entries a user's permissions allow, and their labels and URLs.
"""

from functools import lru_cache

from django import template
from django.urls import get_script_prefix
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from crm import navigation

register = template.Library()


@lru_cache(maxsize=256)
def _items_html(url_names: tuple[str, ...], current: str, language: str | None, prefix: str) -> str:
    by_name = {item.url_name: item for item in navigation.items_for_names(url_names)}
    html = []
    for name in url_names:
        item = by_name[name]
        active, current_page = (" active", ' aria-current="page"') if name == current else ("", "")
        html.append(
            '\n  <li class="nav-item">\n'
            f'    <a class="nav-link{active}" href="{escape(item.url)}"{current_page}>{escape(item.label)}</a>\n'
            "  </li>\n"
        )
    return "".join(html) + "\n"


@register.simple_tag(takes_context=True)
def staff_navigation(context: template.Context) -> SafeString:
    request = context.get("request")
    user = getattr(request, "user", None)
    match = getattr(request, "resolver_match", None)
    names = tuple(item.url_name for item in navigation.items_for(user)) if user is not None else ()
    current = match.view_name if match is not None else ""
    html = _items_html(names, current, get_language(), get_script_prefix())
    return mark_safe(html)  # noqa: S308  # labels and URLs escaped
