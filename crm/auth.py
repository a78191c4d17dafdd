"""Authentication backend: Django's ``ModelBackend`` with a user's permissions read in one query.

``ModelBackend`` reads a user's own permissions and their groups' permissions in two queries, on the
first permission check of every request. Every staff page and API endpoint checks permissions, so this
backend saves one query per request on every hot path (the timeline API's budget is four). The query is
one written-out statement (``permission_names_sql``), not a compiled ORM union: compiling that union
cost more CPU than PostgreSQL spends answering it, on every request. Semantics are unchanged: inactive
and anonymous users have none, superusers have all, object permissions are left to django-guardian's
backend.

A session's user (``get_user``, on every staff request) comes with those permission names in the same
statement, prepared on the connection (``crm.db``), instead of an ORM ``get`` and then the permissions:
one query and one ORM compile fewer per staff page.
"""

from functools import cache
from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection

from crm.db import prepared_cursor
from crm.models import User
from crm.rows import columns, instance_from_row


@cache
def permission_names_sql(vendor: str) -> str:
    """A scalar subquery: the space-separated ``app_label.codename`` of every permission of the user
    row aliased ``u``, held directly or through a group (all of them for a superuser; none when
    inactive). Statements that read a user put it among their columns."""
    concat = "STRING_AGG(%s, ' ')" if vendor == "postgresql" else "GROUP_CONCAT(%s, ' ')"
    names = concat % "ct.app_label || '.' || p.codename"
    user_permissions = User.user_permissions.through._meta.db_table
    user_groups = User.groups.through._meta.db_table
    group_permissions = Group.permissions.through._meta.db_table
    return f"""(
        SELECT {names}
        FROM {Permission._meta.db_table} p
        JOIN {ContentType._meta.db_table} ct ON ct.id = p.content_type_id
        WHERE u.is_active AND (
            u.is_superuser
            OR p.id IN (SELECT up.permission_id FROM {user_permissions} up WHERE up.user_id = u.id)
            OR p.id IN (
                SELECT gp.permission_id FROM {group_permissions} gp
                JOIN {user_groups} ug ON ug.group_id = gp.group_id
                WHERE ug.user_id = u.id
            )
        )
    )"""  # noqa: S608  # table names from the models


@cache
def _user_permissions_sql(vendor: str) -> str:
    return f"SELECT {permission_names_sql(vendor)} FROM {User._meta.db_table} u WHERE u.id = %s"  # noqa: S608


@cache
def _user_with_permissions_sql(vendor: str) -> str:
    return (
        f"SELECT {columns(User, 'u')}, {permission_names_sql(vendor)} "  # noqa: S608  # names from the models
        f"FROM {User._meta.db_table} u WHERE u.id = %s"
    )


class ModelBackendOneQuery(ModelBackend):
    def get_user(self, user_id: Any) -> Any:
        """The session's user with all of its permissions, in one statement; None for a user that is
        gone or may not authenticate (inactive), as ``ModelBackend.get_user``."""
        with prepared_cursor() as cursor:
            cursor.execute(_user_with_permissions_sql(connection.vendor), [user_id])
            row = cursor.fetchone()
        if row is None:
            return None
        *values, names = row
        user = instance_from_row(User, values)
        if not self.user_can_authenticate(user):
            return None
        user._perm_cache = set((names or "").split())  # type: ignore[attr-defined]  # read below
        return user

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            with connection.cursor() as cursor:
                cursor.execute(_user_permissions_sql(connection.vendor), [user_obj.pk])
                row = cursor.fetchone()
            user_obj._perm_cache = set(((row and row[0]) or "").split())
        return user_obj._perm_cache
