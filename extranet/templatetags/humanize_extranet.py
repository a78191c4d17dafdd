"""Template filters of the extranet."""

from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def number(value: int | Decimal | None) -> str:
    """A whole number with thousands separators (1,234,567); a dash for none."""
    if value is None:
        return "–"
    return f"{int(value):,}"
