"""Model instances from the rows of written-out statements (``crm.auth``, ``crm.api.authentication``,
``extranet.selectors``): hot paths that read several tables in one statement instead of compiling ORM
queries on every request."""

from typing import Any, TypeVar

from django.db import connection
from django.db.models import Model

M = TypeVar("M", bound=Model)


def columns(model: type[Model], alias: str) -> str:
    """The model's concrete columns, in ``concrete_fields`` order, qualified by ``alias``."""
    return ", ".join(
        f"{alias}.{connection.ops.quote_name(field.column)}" for field in model._meta.concrete_fields
    )


def instance_from_row(model: type[M], values: list[Any] | tuple[Any, ...]) -> M:
    """An instance from its columns in ``concrete_fields`` order, through the backend's converters (SQLite
    sends times as text and booleans as integers), as the ORM would load it."""
    fields = model._meta.concrete_fields
    converted = []
    for field, value in zip(fields, values, strict=True):
        expression = field.get_col(model._meta.db_table)
        for convert in connection.ops.get_db_converters(expression) + expression.get_db_converters(
            connection
        ):
            value = convert(value, expression, connection)
        converted.append(value)
    return model.from_db(connection.alias, [field.attname for field in fields], converted)
