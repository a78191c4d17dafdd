"""Stock writes (extranet/stock.py): every change keeps the supplier's totals equal to the sum of its levels."""

import random

import pytest
from django.db.models import Sum
from django.test import Client
from django.utils import timezone

from crm.models import Product
from extranet.models import InventoryLevel, SupplierStock
from extranet.stock import (
    inventory_level_delete,
    inventory_level_save,
    inventory_level_set,
    stock_totals_rebuild,
)
from tests.factories import InventoryLevelFactory, LocationFactory, ProductFactory, SupplierFactory

pytestmark = pytest.mark.django_db


def from_levels() -> dict[int, tuple[int, int]]:
    """What the totals must hold, summed from the levels."""
    rows = (
        InventoryLevel.objects.values("product__supplier_id")
        .annotate(on_hand=Sum("on_hand"), on_order=Sum("on_order"))
        .order_by()
    )
    return {
        row["product__supplier_id"]: (row["on_hand"], row["on_order"])
        for row in rows
        if row["on_hand"] or row["on_order"]
    }


def totals() -> dict[int, tuple[int, int]]:
    """The kept totals (a supplier whose levels are all gone keeps a row of zeros)."""
    return {
        row.supplier_id: (row.on_hand, row.on_order)
        for row in SupplierStock.objects.all()
        if row.on_hand or row.on_order
    }


def test_sets_changes_moves_and_deletes_keep_the_totals() -> None:
    rng = random.Random(5)
    suppliers = [SupplierFactory(), SupplierFactory()]
    products: list[Product] = [ProductFactory(supplier=suppliers[n % 2]) for n in range(5)]
    locations = [LocationFactory() for _ in range(3)]
    for _ in range(40):
        step = rng.random()
        levels = list(InventoryLevel.objects.all())
        if step < 0.5 or not levels:
            inventory_level_set(
                product_id=rng.choice(products).pk,
                location_id=rng.choice(locations).pk,
                on_hand=rng.randint(-3, 50),  # stock may run negative: sold before it was booked in
                on_order=rng.randint(0, 20),
            )
        elif step < 0.7:
            level = rng.choice(levels)
            level.on_hand = rng.randint(0, 30)
            inventory_level_save(level=level)
        elif step < 0.85:  # a level moved to another product, maybe of the other supplier
            level = rng.choice(levels)
            taken = set(
                InventoryLevel.objects.filter(location=level.location).values_list("product", flat=True)
            )
            free = [product for product in products if product.pk not in taken]
            if free:
                level.product = rng.choice(free)
                inventory_level_save(level=level)
        else:
            inventory_level_delete(level=rng.choice(levels))
        assert totals() == from_levels()

    stock_totals_rebuild()
    assert totals() == from_levels()


def test_a_rebuild_repairs_levels_written_in_bulk() -> None:
    supplier = SupplierFactory()
    InventoryLevelFactory(product__supplier=supplier, on_hand=4, on_order=1)
    # A bulk load writes past the service:
    InventoryLevel.objects.bulk_create(
        [
            InventoryLevel(
                product=ProductFactory(supplier=supplier),
                location=LocationFactory(),
                on_hand=6,
                updated_at=timezone.now(),
            )
        ],
    )
    assert totals()[supplier.pk] == (4, 1)

    stock_totals_rebuild()

    assert totals()[supplier.pk] == (10, 1)


def test_the_admin_writes_through_the_service(admin_client: Client) -> None:
    supplier = SupplierFactory()
    level = InventoryLevelFactory(product__supplier=supplier, on_hand=7, on_order=2)
    url = f"/admin/extranet/inventorylevel/{level.pk}/change/"
    response = admin_client.post(
        url,
        {
            "product": level.product_id,
            "location": level.location_id,
            "on_hand": 12,
            "on_order": 2,
            "updated_at_0": "2026-11-20",
            "updated_at_1": "10:00:00",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert totals()[supplier.pk] == (12, 2)

    response = admin_client.post(f"/admin/extranet/inventorylevel/{level.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert SupplierStock.objects.get(supplier=supplier).on_hand == 0


def test_a_product_moved_to_another_supplier_in_the_admin_moves_its_stock(admin_client: Client) -> None:
    """Issue 5's leftover: the totals drifted until ``stock_totals_rebuild()`` when the staff admin moved a
    product to another supplier."""
    old, new = SupplierFactory(), SupplierFactory()
    product = ProductFactory(supplier=old)
    InventoryLevelFactory(product=product, on_hand=5, on_order=2)
    InventoryLevelFactory(product=product, on_hand=3, on_order=0)
    InventoryLevelFactory(product__supplier=old, on_hand=10, on_order=1)  # stays with the old supplier
    form = {
        "supplier": new.pk,
        "sku": product.sku,
        "name": "Renamed",
        "category": "",
        "currency": "KRW",
        "cost": "60000",
        "price": "100000",
        "is_active": "on",
    }

    response = admin_client.post(f"/admin/crm/product/{product.pk}/change/", form)

    assert response.status_code == 302, response.content.decode()[:2000]
    product.refresh_from_db()
    assert (product.supplier_id, product.name) == (new.pk, "Renamed")
    assert totals() == from_levels() == {old.pk: (10, 1), new.pk: (8, 2)}

    # A change that keeps the supplier moves nothing.
    response = admin_client.post(f"/admin/crm/product/{product.pk}/change/", {**form, "name": "Again"})
    assert response.status_code == 302
    assert totals() == from_levels()


def test_a_product_deleted_in_the_admin_takes_its_stock_out(admin_client: Client) -> None:
    supplier = SupplierFactory()
    product = ProductFactory(supplier=supplier)
    InventoryLevelFactory(product=product, on_hand=4, on_order=3)
    InventoryLevelFactory(product__supplier=supplier, on_hand=6, on_order=0)

    response = admin_client.post(f"/admin/crm/product/{product.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302, response.content.decode()[:2000]
    assert not Product.objects.filter(pk=product.pk).exists()
    assert totals() == from_levels() == {supplier.pk: (6, 0)}


def test_a_product_added_in_the_admin_starts_without_stock(admin_client: Client) -> None:
    supplier = SupplierFactory()
    response = admin_client.post(
        "/admin/crm/product/add/",
        {
            "supplier": supplier.pk,
            "sku": "NEW-1",
            "name": "New",
            "currency": "KRW",
            "cost": "1",
            "price": "2",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Product.objects.get(sku="NEW-1").supplier_id == supplier.pk
    assert totals() == {}
