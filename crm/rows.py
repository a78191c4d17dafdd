"""Model instances from the rows of written-out statements (``crm.auth``, ``crm.api.authentication``,
``extranet.selectors``): hot paths that read several tables in one statement instead of compiling ORM
queries on every request."""

from functools import cache
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Model

M = TypeVar("M", bound=Model)


def columns(model: type[Model], alias: str) -> str:
    """The model's concrete columns, in ``concrete_fields`` order, qualified by ``alias``."""
    return ", ".join(
        f"{alias}.{connection.ops.quote_name(field.column)}" for field in model._meta.concrete_fields
    )


# Per connection (converters are bound to the connection's own operations object) and model: per column,
# its converters, found once. A weak map, so that a closed thread's connection takes its entry along.
_CONVERTERS: "WeakKeyDictionary[Any, dict[type[Model], list[list[tuple[Any, Any]]]]]" = WeakKeyDictionary()


def _converters(wrapper: Any, model: type[Model]) -> list[list[tuple[Any, Any]]]:
    known = _CONVERTERS.setdefault(wrapper, {})
    found = known.get(model)
    if found is None:
        found = []
        for field in model._meta.concrete_fields:
            expression = field.get_col(model._meta.db_table)
            converters = wrapper.ops.get_db_converters(expression) + expression.get_db_converters(wrapper)
            found.append([(convert, expression) for convert in converters])
        known[model] = found
    return found


@cache
def _attnames(model: type[Model]) -> list[str]:
    return [field.attname for field in model._meta.concrete_fields]


def instance_from_row(model: type[M], values: list[Any] | tuple[Any, ...]) -> M:
    """An instance from its columns in ``concrete_fields`` order, through the backend's converters (SQLite
    sends times as text and booleans as integers), as the ORM would load it."""
    wrapper = connections[DEFAULT_DB_ALIAS]
    converted = []
    for converters, value in zip(_converters(wrapper, model), values, strict=True):
        for convert, expression in converters:
            value = convert(value, expression, wrapper)
        converted.append(value)
    return model.from_db(wrapper.alias, _attnames(model), converted)
