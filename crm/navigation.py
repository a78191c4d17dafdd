"""The staff UI's navigation: a registry that features add their entries to, so the base template never changes.

An app registers its entries once, from its ``AppConfig.ready()``::

    from crm.navigation import NavItem, register

    register(NavItem(label=_("Customers"), url_name="customers:list", permission="customers.view_customer"))

The navbar and the home page's cards show, in registration order, the entries the user may reach.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias

from django.contrib.auth.models import AnonymousUser
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from crm.models import User
from crm.permissions import STAFF_UI_PERMISSION

AnyUser: TypeAlias = User | AnonymousUser
Label: TypeAlias = str | Promise


@dataclass(frozen=True)
class NavItem:
    """One entry of the staff navigation.

    ``permission`` is a permission name (``"app_label.codename"``) the user must have, or a predicate on
    the user for rules that are not permissions (the Django admin asks for ``is_staff``).
    """

    label: Label
    url_name: str
    permission: str | Callable[[AnyUser], bool]
    description: Label = ""

    @property
    def url(self) -> str:
        return reverse(self.url_name)

    def allows(self, user: AnyUser) -> bool:
        if not user.is_active:
            return False
        if callable(self.permission):
            return self.permission(user)
        return user.has_perm(self.permission)


_registry: list[NavItem] = []


def register(item: NavItem) -> NavItem:
    """Add an entry to the navigation; each URL name may be registered once."""
    if any(existing.url_name == item.url_name for existing in _registry):
        raise ValueError(f"A navigation item for {item.url_name!r} is already registered.")
    _registry.append(item)
    return item


def unregister(url_name: str) -> None:
    """Remove the entry for a URL name, if there is one (for tests and for apps that replace an entry)."""
    _registry[:] = [item for item in _registry if item.url_name != url_name]


def items_for(user: AnyUser) -> list[NavItem]:
    """The entries the user may reach, in registration order.

    Permission checks read the user's permission cache, so this costs no query after the first check.
    """
    return [item for item in _registry if item.allows(user)]


def items_for_names(url_names: tuple[str, ...]) -> list[NavItem]:
    """The registered entries of these URL names."""
    return [item for item in _registry if item.url_name in url_names]


def is_django_admin_user(user: AnyUser) -> bool:
    """The Django admin lets in only users with ``is_staff`` (administrators)."""
    return user.is_staff


register(
    NavItem(
        label=_("Home"),
        url_name="home",
        permission=STAFF_UI_PERMISSION,
        description=_("Your start page."),
    )
)
register(
    NavItem(
        label=_("Administration"),
        url_name="admin:index",
        permission=is_django_admin_user,
        description=_("Users, roles and the product catalog, with search, filters and change history."),
    )
)
