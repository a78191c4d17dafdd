"""``{% staff_navigation %}``: the navbar entries from the navigation registry (see ``crm.navigation``);
``{% language_switcher %}`` and ``{% user_menu %}``, the navbar's language and user menus.

Written in Python, and kept per process for each language, set of entries the user may reach, current
page and URL prefix: every staff page shows the navbar, and building it (a URL reversed and a label
translated per entry, through an inclusion template) cost about 0.5 ms a page. It holds no personal
data: only which of the registry's entries a user's permissions allow, and their labels and URLs.
"""

from functools import lru_cache

from django import template
from django.template.loader import render_to_string
from django.urls import get_script_prefix, reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext

from crm import navigation
from crm.html import escape

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


SWITCHER = "crm/partials/language_switcher.html"
_CSRF, _NEXT = "\x00csrf\x00", "\x00next\x00"


class _SentinelRequest:
    """Stands in for the request while the switcher is rendered once per language."""

    def get_full_path(self) -> str:
        return _NEXT


@lru_cache(maxsize=32)
def _switcher_parts(language: str, active: str | None, prefix: str) -> tuple[str, str, str]:
    """``crm/partials/language_switcher.html`` rendered for ``language`` around the two values that
    change per request (the CSRF token, the page to come back to), split at them."""
    html = render_to_string(
        SWITCHER,
        {"LANGUAGE_CODE": language, "csrf_token": _CSRF, "request": _SentinelRequest()},
    )
    head, rest = html.split(_CSRF)
    middle, tail = rest.split(_NEXT)
    return head, middle, tail


@register.simple_tag(takes_context=True)
def language_switcher(context: template.Context) -> SafeString:
    """The navbar's language menu: the template's markup, rendered once per language and URL prefix
    (it shows only the languages and their names), with this request's CSRF token and path put in."""
    token = context.get("csrf_token")
    # Outside a request (no token; "NOTPROVIDED" is Django's marker for it): the template as it is.
    if token is None or token == "NOTPROVIDED":  # noqa: S105
        engine = context.template.engine  # type: ignore[union-attr]  # rendering a template
        return mark_safe(engine.get_template(SWITCHER).render(context))  # noqa: S308  # the engine's
    active = get_language()
    head, middle, tail = _switcher_parts(context.get("LANGUAGE_CODE") or active, active, get_script_prefix())
    request = context.get("request")
    path = request.get_full_path() if request is not None else ""
    return mark_safe(f"{head}{escape(token)}{middle}{escape(path)}{tail}")  # noqa: S308  # escaped


@lru_cache(maxsize=32)
def _user_menu_texts(language: str | None, prefix: str) -> dict[str, str]:
    """The user menu's labels (as ``{% translate %}`` wrote them, translations not escaped) and URLs."""
    return {
        "signed_in_as": gettext("Signed in as %(username)s"),
        "two_factor": gettext("Two-factor sign-in"),
        "sign_out": gettext("Sign out"),
        "two_factor_url": escape(reverse("two_factor_setup")),
        "logout_url": escape(reverse("logout")),
    }


@register.simple_tag(takes_context=True)
def user_menu(context: template.Context) -> SafeString:
    """The navbar's menu of the signed-in user: the markup of the template it replaced, with the user's
    name and the CSRF token put in (escaped) and the rest once per language."""
    user = context["user"]
    username = user.get_username()
    name = user.get_full_name() or username
    texts = _user_menu_texts(get_language(), get_script_prefix())
    signed_in_as = texts["signed_in_as"] % {"username": escape(username)}
    return mark_safe(  # noqa: S308  # the user's names and the token escaped
        '\n<li class="nav-item dropdown">\n'
        '  <a class="nav-link dropdown-toggle" href="#" role="button" data-bs-toggle="dropdown" aria-expanded="false"\n'
        '     data-testid="user-menu">\n'
        "    \n"
        f'      <span class="crm-avatar" aria-hidden="true">{escape(name[:1].upper())}</span>{escape(name)}\n'
        "    \n"
        "  </a>\n"
        '  <ul class="dropdown-menu dropdown-menu-end">\n'
        "    <li>\n"
        '      <span class="dropdown-item-text small text-body-secondary">\n'
        f"        {signed_in_as}\n"
        "      </span>\n"
        "    </li>\n"
        '    <li><hr class="dropdown-divider"></li>\n'
        f'    <li><a class="dropdown-item" href="{texts["two_factor_url"]}">{texts["two_factor"]}</a></li>\n'
        "    <li>\n"
        f'      <form method="post" action="{texts["logout_url"]}">\n'
        f'        <input type="hidden" name="csrfmiddlewaretoken" value="{escape(context["csrf_token"])}">\n'
        f'        <button type="submit" class="dropdown-item">{texts["sign_out"]}</button>\n'
        "      </form>\n"
        "    </li>\n"
        "  </ul>\n"
        "</li>\n"
    )
