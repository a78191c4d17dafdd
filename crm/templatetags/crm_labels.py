"""``{{ customer|label:"status" }}``: what ``customer.get_status_display`` gives, cheaper.

Django's ``get_FOO_display`` builds a dictionary of the field's choices on every call, hashing each lazy
label, which translates it: a search result row showing a status and an RFM group spent more time there
than in its query. Here the labels are translated once per model field and language.
"""

from functools import lru_cache
from typing import Any

from django import template
from django.db.models import Model
from django.utils.translation import get_language

register = template.Library()


@lru_cache(maxsize=512)
def _labels(model: type[Model], field_name: str, language: str | None) -> dict[Any, str]:
    field = model._meta.get_field(field_name)
    return {value: str(label) for value, label in field.flatchoices}  # type: ignore[union-attr]


@register.filter
def label(obj: Model | None, field_name: str) -> Any:
    """The display label of ``obj``'s choice field ``field_name`` in the active language (the value
    itself when it is not one of the choices, as ``get_FOO_display``)."""
    if not isinstance(obj, Model):  # None, or a missing variable
        return ""
    value = getattr(obj, obj._meta.get_field(field_name).attname)  # type: ignore[union-attr]
    return _labels(obj._meta.concrete_model, field_name, get_language()).get(value, value)
