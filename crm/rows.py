"""Model instances and column values from the rows of written-out statements (``crm.auth``, ``crm.api.authentication``,
``extranet.selectors``): hot paths that read several tables in one statement instead of compiling ORM
queries on every request."""

from functools import cache
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Model
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init

M = TypeVar("M", bound=Model)


def columns(model: type[Model], alias: str) -> str:
    """The model's concrete columns, in ``concrete_fields`` order, qualified by ``alias``."""
    return ", ".join(
        f"{alias}.{connection.ops.quote_name(field.column)}" for field in model._meta.concrete_fields
    )


# Per connection (converters are bound to the connection's own operations object), model and field
# names: the converters of each field that has any. A weak map, so that a closed thread's connection takes
# its entry along.
Converters = dict[str, list[tuple[Any, Any]]]
_CONVERTERS: "WeakKeyDictionary[Any, dict[tuple[type[Model], tuple[str, ...]], Converters]]" = (
    WeakKeyDictionary()
)


def column_converters(model: type[Model], names: tuple[str, ...]) -> Converters:
    """Per named field that has any, the converters Django's SQL compiler applies to its column (the
    backend's, then the field's), found once per connection: call each as ``convert(value, expression,
    connection)``. For statements written out by hand that must give the values the ORM gives."""
    wrapper = connections[DEFAULT_DB_ALIAS]
    known = _CONVERTERS.setdefault(wrapper, {})
    found = known.get((model, names))
    if found is None:
        found = {}
        for name in names:
            expression = model._meta.get_field(name).get_col(model._meta.db_table)  # type: ignore[union-attr]
            converters = wrapper.ops.get_db_converters(expression) + expression.get_db_converters(wrapper)
            if converters:
                found[name] = [(convert, expression) for convert in converters]
        known[(model, names)] = found
    return found


@cache
def _names(model: type[Model]) -> tuple[str, ...]:
    return tuple(field.name for field in model._meta.concrete_fields)


@cache
def _attnames(model: type[Model]) -> list[str]:
    return [field.attname for field in model._meta.concrete_fields]


def instance_from_row(model: type[M], values: list[Any] | tuple[Any, ...]) -> M:
    """An instance from its columns in ``concrete_fields`` order, through the backend's converters (SQLite
    sends times as text and booleans as integers), as the ORM would load it."""
    wrapper = connections[DEFAULT_DB_ALIAS]
    found = column_converters(model, _names(model))
    converted = []
    for name, value in zip(_names(model), values, strict=True):
        for convert, expression in found.get(name, ()):
            value = convert(value, expression, wrapper)
        converted.append(value)
    return instance_loaded(model, _attnames(model), converted, wrapper.alias)


def instance_loaded(model: type[M], attnames: Any, values: Any, db: str = DEFAULT_DB_ALIAS) -> M:
    """What ``model.from_db(db, attnames, values)`` gives, without running ``Model.__init__``: the values
    go straight into the instance's ``__dict__``, which is where the model's field descriptors read them,
    and fields not named stay deferred exactly as ``from_db`` leaves them (absent from ``__dict__``).
    ``__init__`` walks every concrete field and sends ``pre_init``/``post_init``: 35 µs for a search
    result's customer and analytics rows, against 6 µs here. A model with receivers of either signal
    takes ``from_db`` itself, so that they still run."""
    if pre_init.has_listeners(model) or post_init.has_listeners(model):
        return model.from_db(db, attnames, values)
    instance = model.__new__(model)
    instance.__dict__.update(zip(attnames, values, strict=True))
    state = ModelState()
    state.adding, state.db = False, db
    instance._state = state
    return instance
