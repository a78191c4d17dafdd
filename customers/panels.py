"""Panels that other apps add to the customer page, so that customers never imports them.

DESIGN.md's dependencies point one way (crm <- customers <- campaigns, extranet): the customer page
cannot include a campaigns template by name. An app registers a panel from its ``AppConfig.ready()``::

    from customers.panels import CustomerPanel, panel_register

    panel_register(CustomerPanel(
        template="campaigns/partials/customer_segments.html",
        context=lambda request, customer: {"customer_segments": customer_segments(customer.pk)},
        permission="campaigns.view_segment",
    ))

The page renders, in registration order, the panels the user may see; each costs the queries of its
``context`` function, which the page's query-count tests include. A panel's template is rendered in
the page's own template context with the panel's variables pushed on it (``{% customer_panels %}``),
not as a template of its own: that ran every context processor again for each panel.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import template
from django.http import HttpRequest
from django.utils.safestring import SafeString, mark_safe


@dataclass(frozen=True)
class CustomerPanel:
    template: str
    context: Callable[[HttpRequest, Any], dict[str, Any]]
    permission: str


_PANELS: list[CustomerPanel] = []


def panel_register(panel: CustomerPanel) -> None:
    """Add a panel to the customer page (once: registering the same template again replaces it)."""
    _PANELS[:] = [p for p in _PANELS if p.template != panel.template]
    _PANELS.append(panel)


def panels_render(request: HttpRequest, customer: Any) -> list[tuple[str, dict[str, Any]]]:
    """The registered panels the user may see, as ``(template, variables)`` for ``customer``; the page
    renders them with ``{% customer_panels panels %}``."""
    return [
        (panel.template, {"customer": customer, **panel.context(request, customer)})
        for panel in _PANELS
        if request.user.has_perm(panel.permission)
    ]


def panels_html(context: template.Context, panels: list[tuple[str, dict[str, Any]]]) -> SafeString:
    """The panels rendered in the page's template ``context``, each with its variables pushed."""
    engine = context.template.engine  # type: ignore[union-attr]  # rendering a template
    html = []
    for name, variables in panels:
        with context.push(variables):
            html.append(engine.get_template(name).render(context))
    return mark_safe("".join(html))  # noqa: S308  # rendered by Django's template engine, which escapes
