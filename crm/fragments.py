"""Templates that are the same for every request but for a few values: rendered once per process for each
language (and whatever else their markup depends on), split at those values, and filled per request.

A template rendered this way keeps its markup in one place, the template, while the page pays for a
join instead of the template engine. The values put in per request are numbers (an object's id,
through ``crm.templatetags.crm_urls.pk_url``, which keeps the marker as it is) and CSRF tokens,
escaped here; nothing personal is kept.

    parts = fragment_parts("customers/partials/timeline_log_form.html", {"customer": PK, ...})
    html = fragment_fill(parts, {PK_SLOT: str(pk), TOKEN_SLOT: token})
"""

import re
from types import SimpleNamespace
from typing import Any

from django.template.loader import render_to_string

from crm.html import escape
from crm.templatetags.crm_urls import SLOT as PK_SLOT

TOKEN_SLOT = "\x00csrf-token\x00"  # noqa: S105  # a marker, not a secret
_SLOTS = re.compile(f"({re.escape(PK_SLOT)}|{re.escape(TOKEN_SLOT)})")

# An object whose number is the slot, for templates that write ``{% pk_url … customer.pk %}``.
PK = SimpleNamespace(pk=PK_SLOT)

__all__ = ["PK", "PK_SLOT", "TOKEN_SLOT", "fragment_fill", "fragment_parts"]


def fragment_parts(template_name: str, context: dict[str, Any]) -> tuple[str, ...]:
    """The template rendered with ``context`` (which holds ``PK`` or ``PK_SLOT`` for the object's
    number, and ``TOKEN_SLOT`` as ``csrf_token``), split into text and slots."""
    return tuple(_SLOTS.split(render_to_string(template_name, context)))


def fragment_fill(parts: tuple[str, ...], values: dict[str, Any]) -> str:
    """The parts joined, each slot replaced by its value (escaped)."""
    return "".join(escape(values[part]) if part in values else part for part in parts)
