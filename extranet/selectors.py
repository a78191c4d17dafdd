"""Reads of the extranet, each scoped in SQL by who asks.

A supplier user reads only through their membership's supplier; a buyer reads only the suppliers they
are assigned to (``SupplierBuyerPermission``). Out-of-scope objects are absent from every queryset here,
so their ids answer 404 exactly like ids that do not exist. No global permission widens these reads.
"""

from functools import cache
from typing import Any

from django.contrib.auth.models import AnonymousUser, Permission
from django.db import connection
from django.db.models import QuerySet
from django_otp.plugins.otp_totp.models import TOTPDevice

from crm.auth import permission_names_sql
from crm.models import Product, Supplier, User
from crm.rows import columns, instance_from_row
from extranet.models import InventoryLevel, ProposedOrder, SupplierBuyerPermission, SupplierMembership
from extranet.models.orders import BUYER_PERMISSION_CODENAME

ACCESS_EXTRANET = "extranet.access_extranet"


@cache
def _membership_sql(vendor: str, permissions: bool) -> str:
    """One statement for what every extranet request checks first: the user's membership with its active
    supplier, the names of the user's permissions (``crm.auth``; unless the request has them already, as
    token requests do) and whether the user has a confirmed second-factor device. Three ORM queries
    before, whose compiling cost more CPU than PostgreSQL spent."""
    names = permission_names_sql(vendor) if permissions else "NULL"
    return (
        f"SELECT {columns(SupplierMembership, 'm')}, {columns(Supplier, 's')}, {names} AS permission_names, "  # noqa: S608
        f"EXISTS (SELECT 1 FROM {TOTPDevice._meta.db_table} d WHERE d.user_id = m.user_id AND d.confirmed) "
        f"FROM {SupplierMembership._meta.db_table} m "
        f"JOIN {Supplier._meta.db_table} s ON s.id = m.supplier_id "
        f"JOIN {User._meta.db_table} u ON u.id = m.user_id "
        "WHERE m.user_id = %s AND s.is_active ORDER BY m.id LIMIT 1"
    )


def membership_of(user: User | AnonymousUser) -> SupplierMembership | None:
    """The active user's supplier membership with its supplier, or None (staff, removed users, anonymous).

    The membership is read on every request rather than kept in the session: removing it locks the
    user out at once. The same statement primes the user's permission cache (as ``ModelBackend`` keeps
    it, for ``has_perm``) and leaves ``has_second_factor`` on the membership: whether the user has a
    confirmed TOTP device (``extranet.access.second_factor_redirect``).
    """
    if not user.is_authenticated or not user.is_active:
        return None
    known = hasattr(user, "_perm_cache")
    with connection.cursor() as cursor:
        cursor.execute(_membership_sql(connection.vendor, not known), [user.pk])
        row = cursor.fetchone()
    if row is None:
        return None
    split = len(SupplierMembership._meta.concrete_fields)
    *values, permission_names, has_device = row
    membership = instance_from_row(SupplierMembership, values[:split])
    membership.supplier = instance_from_row(Supplier, values[split:])
    membership.user = user  # the same row: the statement reads it by its id
    membership.has_second_factor = bool(has_device)  # type: ignore[attr-defined]
    if not known:
        user._perm_cache = set((permission_names or "").split())  # type: ignore[attr-defined]  # ModelBackend's cache
    return membership


def product_list(*, supplier_id: int) -> QuerySet[Product]:
    """The supplier's catalog, by SKU (the (supplier, sku) index)."""
    return Product.objects.filter(supplier_id=supplier_id).order_by("sku")


def product_get(*, supplier_id: int, product_id: int) -> Product | None:
    return Product.objects.filter(supplier_id=supplier_id, pk=product_id).first()


def inventory_of_product(*, supplier_id: int, product_id: int) -> QuerySet[InventoryLevel]:
    """Stock of one of the supplier's products at each location."""
    return (
        InventoryLevel.objects.filter(product_id=product_id, product__supplier_id=supplier_id)
        .select_related("location")
        .order_by("location__name", "location_id")
    )


def order_list_for_supplier(*, supplier_id: int) -> QuerySet[ProposedOrder]:
    return ProposedOrder.objects.filter(supplier_id=supplier_id).select_related("created_by")


def order_get_for_supplier(*, supplier_id: int, order_id: int) -> ProposedOrder | None:
    return (
        ProposedOrder.objects.filter(supplier_id=supplier_id, pk=order_id)
        .select_related("supplier", "created_by", "decided_by")
        .first()
    )


def buyer_permission() -> Permission:
    return Permission.objects.get(content_type__app_label="crm", codename=BUYER_PERMISSION_CODENAME)


def buyer_supplier_ids(user: User | AnonymousUser) -> QuerySet[Any]:
    """Ids of the suppliers the user is assigned to as a buyer: a subquery, never a global grant."""
    if not user.is_authenticated or not user.is_active:
        return SupplierBuyerPermission.objects.none().values("content_object_id")
    return SupplierBuyerPermission.objects.filter(
        user_id=user.pk,
        permission__codename=BUYER_PERMISSION_CODENAME,
        permission__content_type__app_label="crm",
    ).values("content_object_id")


def order_list_for_buyer(user: User | AnonymousUser) -> QuerySet[ProposedOrder]:
    """Orders of the suppliers the buyer is assigned to, drafts included: the queue shows the submitted
    ones, and a draft's page tells the buyer it is not theirs to decide yet (409 on any decision)."""
    return ProposedOrder.objects.filter(supplier_id__in=buyer_supplier_ids(user)).select_related(
        "supplier", "created_by"
    )


def order_get_for_buyer(user: User | AnonymousUser, order_id: int) -> ProposedOrder | None:
    return order_list_for_buyer(user).select_related("decided_by").filter(pk=order_id).first()


def order_lines(order: ProposedOrder) -> QuerySet[Any]:
    return order.lines.select_related("product").order_by("id")


def order_events(order: ProposedOrder) -> QuerySet[Any]:
    return order.events.select_related("actor").order_by("id")
