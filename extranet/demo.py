"""Demo data of the supplier portal: supplier logins with their memberships, and stock levels.

Supplier A (the first brand of the catalog) gets one login per supplier role; supplier B (the second)
gets an admin, so that cross-tenant refusals can be shown with two real tenants.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import Group
from django.utils import timezone

from crm.demo import EXTRANET_LOGIN_URL, DemoLogin, SeedContext, catalog_of
from crm.demo.catalog import BRANDS
from crm.models import Product, User
from crm.roles import Role
from extranet.models import (
    InventoryLevel,
    ProductSalesDay,
    ProductSalesMonth,
    ProposedOrder,
    SalesRollupState,
    SupplierBuyerPermission,
    SupplierMembership,
    SupplierSalesDay,
    SupplierSalesMonth,
    SupplierSalesWeek,
    SupplierStock,
)
from extranet.rollup import sales_rollup_fold
from extranet.services import LineInput, buyer_assign, order_create, order_transition
from extranet.stock import stock_totals_rebuild

SEEDED_MODELS = [
    SupplierMembership,
    InventoryLevel,
    SupplierStock,
    SupplierSalesDay,
    SupplierSalesMonth,
    SupplierSalesWeek,
    ProductSalesDay,
    ProductSalesMonth,
    SalesRollupState,
    SupplierBuyerPermission,
    ProposedOrder,
]


@dataclass(frozen=True)
class SupplierUser:
    """A supplier login of the demo: which of the first two suppliers, and which role there."""

    username: str
    supplier: int  # position in the catalog: 0 is supplier A, 1 is supplier B
    role: Role
    membership_role: SupplierMembership.Role
    first_name: str
    last_name: str


SUPPLIER_USERS = [
    SupplierUser("supplier_admin", 0, Role.SUPPLIER_ADMIN, SupplierMembership.Role.ADMIN, "Sarah", "Kim"),
    SupplierUser("supplier_member", 0, Role.SUPPLIER_MEMBER, SupplierMembership.Role.MEMBER, "동현", "이"),
    SupplierUser(
        "supplier_readonly", 0, Role.SUPPLIER_READ_ONLY, SupplierMembership.Role.READ_ONLY, "Mark", "Lee"
    ),
    SupplierUser("supplier_b_admin", 1, Role.SUPPLIER_ADMIN, SupplierMembership.Role.ADMIN, "수진", "최"),
]
LOGINS = [
    DemoLogin(user.username, f"{user.role} ({BRANDS[user.supplier][1]})", EXTRANET_LOGIN_URL)
    for user in SUPPLIER_USERS
]


def seed(ctx: SeedContext) -> None:
    """Seed the supplier logins (unless ``--no-users``) and the stock of every product."""
    if ctx.options.users:
        with ctx.phase("Supplier users"):
            seed_supplier_users(ctx)
    with ctx.phase("Inventory levels"):
        with ctx.bulk_load(InventoryLevel):
            ctx.copy_rows(
                InventoryLevel,
                ["product_id", "location_id", "on_hand", "on_order", "updated_at"],
                inventory_rows(ctx),
            )
        ctx.analyze(InventoryLevel)
        stock_totals_rebuild()  # the levels were copied in bulk, past the stock service
    with ctx.phase("Sales rollups"):
        # Every seeded line is committed with the seed: fold them all now, no lag needed.
        sales_rollup_fold(lag=dt.timedelta(0))
        ctx.analyze(SupplierSalesDay)
        ctx.analyze(SupplierSalesMonth)
        ctx.analyze(SupplierSalesWeek)
        ctx.analyze(ProductSalesDay)
        ctx.analyze(ProductSalesMonth)
    if ctx.options.users:
        with ctx.phase("Buyer assignment and proposed orders"):
            seed_buying(ctx)


def seed_supplier_users(ctx: SeedContext) -> None:
    """Create or reset the supplier logins and their memberships of supplier A or B."""
    supplier_ids = catalog_of(ctx).supplier_ids
    for spec in SUPPLIER_USERS:
        user, _created = User.objects.update_or_create(
            username=spec.username,
            defaults={
                "first_name": spec.first_name,
                "last_name": spec.last_name,
                "email": f"{spec.username}@{BRANDS[spec.supplier][0]}.example.com",
                "preferred_language": "",
                "is_active": True,
                "is_staff": False,
                "is_superuser": False,
                "password": ctx.password_hash(),
            },
        )
        user.groups.set([Group.objects.get(name=spec.role)])
        SupplierMembership.objects.update_or_create(
            user=user, defaults={"supplier_id": supplier_ids[spec.supplier], "role": spec.membership_role}
        )


def inventory_rows(ctx: SeedContext) -> Iterator[tuple[Any, ...]]:
    """Every product in the warehouses and the online shop, and in some stores: on hand and on order."""
    rng = ctx.rng
    rnd = rng.random
    catalog = catalog_of(ctx)
    clock = ctx.clock
    for product_id in catalog.product_ids:
        locations = [*catalog.warehouse_ids, catalog.online_shop_id]
        locations += [store for store in catalog.store_ids if rnd() < 0.4]
        for location_id in locations:
            warehouse = location_id in catalog.warehouse_ids
            on_hand = int((500 if warehouse else 30) * rnd() ** 2)
            if rnd() < 0.01:
                on_hand = -1 - int(rnd() * 3)  # sold before the delivery was booked in
            on_order = int(20 + rnd() * 180) if warehouse and rnd() < 0.3 else 0
            yield product_id, location_id, on_hand, on_order, clock.text(clock.now - int(rnd() * 72 * 3600))


def seed_buying(ctx: SeedContext) -> None:
    """The demo buyer is assigned to supplier A; A has a submitted order waiting in the queue and a draft."""
    supplier_a = catalog_of(ctx).supplier_ids[0]
    buyer = User.objects.filter(username="buyer").first()
    if buyer is not None:
        buyer_assign(user=buyer, supplier_id=supplier_a)
    member = SupplierMembership.objects.select_related("user").get(user__username="supplier_member")
    skus = list(
        Product.objects.filter(supplier_id=supplier_a).order_by("sku").values_list("sku", flat=True)[:3]
    )
    if not skus:
        return
    delivery = timezone.localdate() + dt.timedelta(days=21)
    submitted = order_create(
        membership=member,
        requested_delivery_date=delivery,
        note="Winter restock for the Gangnam and Hongdae stores.",
        lines=[LineInput(sku=sku, quantity=24 * (n + 1)) for n, sku in enumerate(skus)],
    )
    order_transition(order=submitted, actor=member.user, name="submit")
    order_create(
        membership=member,
        requested_delivery_date=delivery + dt.timedelta(days=14),
        note="",
        lines=[LineInput(sku=skus[0], quantity=12)],
    )
