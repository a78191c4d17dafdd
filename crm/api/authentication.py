"""Token authentication that loads the token's user and all of the user's permissions in one query.

DRF's ``TokenAuthentication`` reads the token with its user; the first permission check then reads the
user's permissions (one more query with ``crm.auth.ModelBackendOneQuery``). Every API request checks
permissions, so reading both at once saves a query on every token request. The permissions are left in
the user's ``_perm_cache``, which ``ModelBackend`` reads: the semantics are Django's (inactive users have
none, superusers have all; object permissions stay with django-guardian's backend).
"""

from functools import cache
from typing import Any

from django.db import connection
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from crm.auth import permission_names_sql
from crm.db import prepared_cursor
from crm.models import User
from crm.rows import columns, instance_from_row


@cache
def _user_with_permissions_sql(vendor: str) -> str:
    """One statement: the token's user and the names of all of its permissions (``crm.auth``)."""
    return (
        f"SELECT {columns(User, 'u')}, {permission_names_sql(vendor)} AS permission_names "  # noqa: S608
        f"FROM {Token._meta.db_table} t JOIN {User._meta.db_table} u ON u.id = t.user_id WHERE t.key = %s"
    )


class TokenWithPermissionsAuthentication(authentication.TokenAuthentication):
    """``Authorization: Token <key>``, as DRF's, with the user's permissions read in the same query."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        with prepared_cursor() as cursor:
            cursor.execute(_user_with_permissions_sql(connection.vendor), [key])
            row = cursor.fetchone()
        if row is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        *values, names = row
        user = instance_from_row(User, values)
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        user._perm_cache = set((names or "").split())  # type: ignore[attr-defined]  # ModelBackend's cache
        token = Token(key=key, user=user)
        token._state.adding = False  # the stored token, as DRF's ``request.auth`` is: no query made for it
        return user, token
