"""The roles people have, as Django groups, and the helper that data migrations use to grant them.

Each app's data migration grants its own models' permissions to the roles, so that no app has to know
the apps to its right. Staff roles reach the staff UI through ``crm.access_staff_ui``; supplier roles
reach only the extranet, where every read is further scoped by the user's supplier membership.
"""

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    """A role is a group whose name is the value below; the label is what people read."""

    ADMINISTRATOR = "Administrator", _("Administrator")
    SERVICE_REP = "Service rep", _("Service rep")
    MARKETER = "Marketer", _("Marketer")
    BUYER = "Buyer", _("Buyer")
    SUPPLIER_ADMIN = "Supplier admin", _("Supplier admin")
    SUPPLIER_MEMBER = "Supplier member", _("Supplier member")
    SUPPLIER_READ_ONLY = "Supplier read-only", _("Supplier read-only")
    INTEGRATION = "Integration", _("Integration")


STAFF_ROLES = (Role.ADMINISTRATOR, Role.SERVICE_REP, Role.MARKETER, Role.BUYER)
SUPPLIER_ROLES = (Role.SUPPLIER_ADMIN, Role.SUPPLIER_MEMBER, Role.SUPPLIER_READ_ONLY)
# A source system's account for the REST API: pushes events and customers, reads them back.
MACHINE_ROLES = (Role.INTEGRATION,)
ALL_ACTIONS = ("view", "add", "change", "delete")


def grant_permissions(apps: Any, grants: dict[str, list[str]]) -> None:
    """For a data migration: give each role group the named permissions ("app_label.codename").

    Permissions are normally created after all migrations ran (post_migrate); create the missing ones
    now so that a fresh database gets its roles in one ``migrate``.
    """
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    for role, names in grants.items():
        group, _created = group_model.objects.get_or_create(name=role)
        for name in names:
            app_label, codename = name.split(".")
            permission = permission_model.objects.get(content_type__app_label=app_label, codename=codename)
            group.permissions.add(permission)


def model_permissions(
    app_label: str, model_names: list[str], actions: tuple[str, ...] = ALL_ACTIONS
) -> list[str]:
    """The ``app_label.action_model`` names of the given actions on the given models."""
    return [f"{app_label}.{action}_{model}" for model in model_names for action in actions]
