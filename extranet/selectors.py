"""Reads of the extranet, each scoped in SQL by who asks.

A supplier user reads only through their membership's supplier; a buyer reads only the suppliers they
are assigned to (``SupplierBuyerPermission``). Out-of-scope objects are absent from every queryset here,
so their ids answer 404 exactly like ids that do not exist. No global permission widens these reads.
"""

from typing import Any

from django.contrib.auth.models import AnonymousUser, Permission
from django.db.models import QuerySet

from crm.models import Product, User
from extranet.models import InventoryLevel, ProposedOrder, SupplierBuyerPermission, SupplierMembership
from extranet.models.orders import BUYER_PERMISSION_CODENAME

ACCESS_EXTRANET = "extranet.access_extranet"


def membership_of(user: User | AnonymousUser) -> SupplierMembership | None:
    """The active user's supplier membership with its supplier, or None (staff, removed users, anonymous).

    The membership is read on every request rather than kept in the session: removing it locks the
    user out at once.
    """
    if not user.is_authenticated or not user.is_active:
        return None
    return (
        SupplierMembership.objects.select_related("supplier", "user")
        .filter(user_id=user.pk, supplier__is_active=True)
        .first()
    )


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
