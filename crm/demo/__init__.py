"""Demo data for ``manage.py seed_demo``: the shared seeding context, the catalog and the staff logins.

The command calls ``seed(ctx)`` of each installed app's optional ``demo`` module, in INSTALLED_APPS
order, inside one transaction; ``SEEDED_MODELS`` names the tables an app fills (checked for emptiness,
truncated by ``--reset``) and ``LOGINS`` the logins it creates. Apps share ids through ``ctx.shared``
(the crm app puts its ``Catalog`` there), so that no app imports from an app to its right.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import Group

from crm.demo.catalog import Catalog, catalog_of, seed_catalog
from crm.demo.context import (
    ADMIN_URL,
    DEMO_PASSWORD,
    EXTRANET_LOGIN_URL,
    STAFF_LOGIN_URL,
    Clock,
    DemoLogin,
    SeedContext,
    SeedOptions,
    prefetch,
)
from crm.models import Location, Product, Supplier, User
from crm.roles import Role

__all__ = [
    "DEMO_PASSWORD",
    "EXTRANET_LOGIN_URL",
    "LOGINS",
    "SEEDED_MODELS",
    "Catalog",
    "Clock",
    "DemoLogin",
    "SeedContext",
    "SeedOptions",
    "catalog_of",
    "prefetch",
    "seed",
]

SEEDED_MODELS = [Location, Supplier, Product]


@dataclass(frozen=True)
class StaffUser:
    """A staff login of the demo: one per role, and a Korean-speaking service rep."""

    username: str
    role: Role
    first_name: str
    last_name: str
    preferred_language: str = ""
    superuser: bool = False


STAFF_USERS = [
    StaffUser("admin", Role.ADMINISTRATOR, "서연", "한", superuser=True),
    StaffUser("rep", Role.SERVICE_REP, "Jordan", "Lee", preferred_language="en"),
    StaffUser("rep_ko", Role.SERVICE_REP, "지훈", "박", preferred_language="ko"),
    StaffUser("marketer", Role.MARKETER, "유진", "최"),
    StaffUser("buyer", Role.BUYER, "민호", "정"),
]
# The account a source system uses for the REST API; it never logs in to a web page.
INTEGRATION_USER = StaffUser("integration", Role.INTEGRATION, "POS", "connector")
LOGINS = [
    *(
        DemoLogin(
            user.username,
            user.role + (", Korean interface" if user.preferred_language == "ko" else ""),
            f"{ADMIN_URL} or {STAFF_LOGIN_URL}" if user.superuser else STAFF_LOGIN_URL,
        )
        for user in STAFF_USERS
    ),
    DemoLogin(
        INTEGRATION_USER.username,
        INTEGRATION_USER.role,
        "/api/v1/ with a token: manage.py drf_create_token integration",
    ),
]


def seed(ctx: SeedContext) -> None:
    """Seed the catalog for every app to use, and the staff logins unless ``--no-users``."""
    with ctx.phase("Catalog"):
        ctx.shared["crm.catalog"] = seed_catalog(ctx)
    if ctx.options.users:
        with ctx.phase("Staff users"):
            ctx.shared["crm.staff_user_ids"] = seed_staff_users(ctx)


def seed_staff_users(ctx: SeedContext) -> dict[str, int]:
    """Create or reset the staff logins (role group, password, language); return their ids by username."""
    ids = {}
    for spec in [*STAFF_USERS, INTEGRATION_USER]:
        user, _created = User.objects.update_or_create(
            username=spec.username,
            defaults={
                "first_name": spec.first_name,
                "last_name": spec.last_name,
                "email": f"{spec.username}@crm.example.com",
                "preferred_language": spec.preferred_language,
                "is_active": True,
                "is_staff": spec.superuser,  # /admin/ is the administrators' alone
                "is_superuser": spec.superuser,
                "password": ctx.password_hash(),
            },
        )
        user.groups.set([Group.objects.get(name=spec.role)])
        ids[spec.username] = user.pk
    return ids
