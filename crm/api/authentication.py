"""Token authentication that loads the token's user and all of the user's permissions in one query.

DRF's ``TokenAuthentication`` reads the token with its user; the first permission check then reads the
user's permissions (one more query with ``crm.auth.ModelBackendOneQuery``). Every API request checks
permissions, so reading both at once saves a query on every token request. The permissions are left in
the user's ``_perm_cache``, which ``ModelBackend`` reads: the semantics are Django's (inactive users have
none, superusers have all; object permissions stay with django-guardian's backend).
"""

from functools import cache
from typing import Any
from weakref import WeakKeyDictionary

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from crm.auth import permission_names_sql
from crm.db import prepared_cursor
from crm.models import User


@cache
def _user_with_permissions_sql(vendor: str) -> str:
    """One statement: the token's user and the names of all of its permissions (``crm.auth``)."""
    columns = ", ".join(f"u.{connection.ops.quote_name(f.column)}" for f in User._meta.concrete_fields)
    return (
        f"SELECT {columns}, {permission_names_sql(vendor)} AS permission_names "  # noqa: S608
        f"FROM {Token._meta.db_table} t JOIN {User._meta.db_table} u ON u.id = t.user_id WHERE t.key = %s"
    )


# Per connection (converters are bound to the connection's own operations object): per column of the
# user, its converters, found once.
_CONVERTERS: "WeakKeyDictionary[Any, list[list[tuple[Any, Any]]]]" = WeakKeyDictionary()
_ATTNAMES = [field.attname for field in User._meta.concrete_fields]


def _user_converters(wrapper: Any) -> list[list[tuple[Any, Any]]]:
    known = _CONVERTERS.get(wrapper)
    if known is None:
        known = []
        for field in User._meta.concrete_fields:
            expression = field.get_col(User._meta.db_table)
            found = wrapper.ops.get_db_converters(expression) + expression.get_db_converters(wrapper)
            known.append([(convert, expression) for convert in found])
        _CONVERTERS[wrapper] = known
    return known


def _user_from_row(values: list[Any]) -> User:
    """A user from its columns in ``concrete_fields`` order, through the backend's converters (SQLite
    sends times as text and booleans as integers), as the ORM would load it."""
    wrapper = connections[DEFAULT_DB_ALIAS]
    converted = []
    for converters, value in zip(_user_converters(wrapper), values, strict=True):
        for convert, expression in converters:
            value = convert(value, expression, wrapper)
        converted.append(value)
    return User.from_db(wrapper.alias, _ATTNAMES, converted)


class TokenWithPermissionsAuthentication(authentication.TokenAuthentication):
    """``Authorization: Token <key>``, as DRF's, with the user's permissions read in the same query."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        with prepared_cursor() as cursor:
            cursor.execute(_user_with_permissions_sql(connection.vendor), [key])
            row = cursor.fetchone()
        if row is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        *values, names = row
        user = _user_from_row(values)
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        user._perm_cache = set((names or "").split())  # type: ignore[attr-defined]  # ModelBackend's cache
        token = Token(key=key, user=user)
        token._state.adding = False  # the stored token, as DRF's ``request.auth`` is: no query made for it
        return user, token
