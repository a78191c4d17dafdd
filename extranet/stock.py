"""Writes of stock levels, and the per-supplier stock totals (``SupplierStock``) they keep.

Every change of an ``InventoryLevel`` goes through ``inventory_level_save`` or ``inventory_level_delete``
(the admin, the tests' factory, a stock feed), which move the supplier's totals by the difference in the
same transaction: dashboards read one row instead of summing every product at every location. A product
that moves to another supplier, or is deleted with its levels, goes through ``product_save`` or
``product_delete`` (the admin's product pages), which move its stock between the suppliers' totals. Bulk
loads that write levels with COPY (the demo seed, the benchmark) call ``stock_totals_rebuild`` afterwards.

A level's writer reads its product's supplier under a share lock of the product row, and a product's move
holds that row's update lock while it sums the product's levels: a stock write and a move of the same
product run one after the other, so no level is counted for the wrong supplier.
"""

from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from crm.models import Product
from extranet.models import InventoryLevel, SupplierStock

_ADD_SQL = (
    f"INSERT INTO {SupplierStock._meta.db_table} (supplier_id, on_hand, on_order) VALUES (%s, %s, %s) "  # noqa: S608
    f"ON CONFLICT (supplier_id) DO UPDATE SET on_hand = {SupplierStock._meta.db_table}.on_hand + excluded.on_hand, "
    f"on_order = {SupplierStock._meta.db_table}.on_order + excluded.on_order"
)


def _totals_add(supplier_id: int, on_hand: int, on_order: int) -> None:
    """Move a supplier's totals by a difference, creating its row on first use (one upsert)."""
    if on_hand or on_order:
        with connection.cursor() as cursor:
            cursor.execute(_ADD_SQL, [supplier_id, on_hand, on_order])


def _supplier_of(product_id: int) -> int:
    """The product's supplier, share-locked until the transaction ends (see the module's docstring)."""
    if connection.vendor != "postgresql":  # SQLite writes one transaction at a time anyway
        return Product.objects.filter(pk=product_id).values_list("supplier_id", flat=True).get()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT supplier_id FROM {Product._meta.db_table} WHERE id = %s FOR SHARE",  # noqa: S608
            [product_id],
        )
        row = cursor.fetchone()
    if row is None:
        raise Product.DoesNotExist
    return int(row[0])


def _product_stock(product_id: int) -> tuple[int, int]:
    """The product's stock on hand and on order over every location."""
    sums = InventoryLevel.objects.filter(product_id=product_id).aggregate(
        on_hand=Sum("on_hand"), on_order=Sum("on_order")
    )
    return int(sums["on_hand"] or 0), int(sums["on_order"] or 0)


def inventory_level_save(*, level: InventoryLevel) -> InventoryLevel:
    """Save a new or changed stock level and move its supplier's totals (both, if its product changed)."""
    with transaction.atomic():
        moves: dict[int, list[int]] = {}
        stored = (
            InventoryLevel.objects.select_for_update()
            .filter(pk=level.pk)
            .values("product_id", "on_hand", "on_order")
            .first()
            if level.pk
            else None
        )
        if stored is not None:
            moves[_supplier_of(stored["product_id"])] = [-stored["on_hand"], -stored["on_order"]]
        if not level.updated_at:
            level.updated_at = timezone.now()
        level.save()
        move = moves.setdefault(_supplier_of(level.product_id), [0, 0])
        move[0] += level.on_hand
        move[1] += level.on_order
        for supplier_id, (on_hand, on_order) in moves.items():
            _totals_add(supplier_id, on_hand, on_order)
    return level


def inventory_level_set(*, product_id: int, location_id: int, on_hand: int, on_order: int) -> InventoryLevel:
    """Set one product's stock at one location (a stock feed's write), creating the level if need be."""
    with transaction.atomic():
        level = (
            InventoryLevel.objects.select_for_update()
            .filter(product_id=product_id, location_id=location_id)
            .first()
        ) or InventoryLevel(product_id=product_id, location_id=location_id)
        level.on_hand, level.on_order, level.updated_at = on_hand, on_order, timezone.now()
        return inventory_level_save(level=level)


def inventory_level_delete(*, level: InventoryLevel) -> None:
    """Delete a stock level and take it out of its supplier's totals."""
    with transaction.atomic():
        stored = (
            InventoryLevel.objects.select_for_update()
            .filter(pk=level.pk)
            .values("product_id", "on_hand", "on_order")
            .first()
        )
        if stored is None:
            return
        InventoryLevel.objects.filter(pk=level.pk).delete()
        _totals_add(_supplier_of(stored["product_id"]), -stored["on_hand"], -stored["on_order"])


def product_save(*, product: Product) -> Product:
    """Save a new or changed product; when it moved to another supplier, its stock moves with it."""
    with transaction.atomic():
        before = (
            Product.objects.select_for_update()
            .filter(pk=product.pk)
            .values_list("supplier_id", flat=True)
            .first()
            if product.pk
            else None
        )
        product.save()
        if before is not None and before != product.supplier_id:
            on_hand, on_order = _product_stock(product.pk)
            _totals_add(before, -on_hand, -on_order)
            _totals_add(product.supplier_id, on_hand, on_order)
    return product


def product_delete(*, product: Product) -> None:
    """Delete a product (its stock levels go with it) and take its stock out of its supplier's totals."""
    with transaction.atomic():
        supplier_id = (
            Product.objects.select_for_update()
            .filter(pk=product.pk)
            .values_list("supplier_id", flat=True)
            .first()
        )
        if supplier_id is None:
            return
        on_hand, on_order = _product_stock(product.pk)
        product.delete()
        _totals_add(supplier_id, -on_hand, -on_order)


def stock_totals_rebuild() -> int:
    """Recompute every supplier's totals from the levels (after a bulk load, or to repair); return how many.

    One ``DELETE`` and one ``INSERT … SELECT … GROUP BY``; on PostgreSQL the levels are locked against
    writes meanwhile, so that no concurrent change is lost or counted twice.
    """
    table = SupplierStock._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"LOCK TABLE {InventoryLevel._meta.db_table} IN SHARE MODE")
        cursor.execute(f"DELETE FROM {table}")  # noqa: S608
        cursor.execute(
            f"INSERT INTO {table} (supplier_id, on_hand, on_order) "  # noqa: S608
            f"SELECT product.supplier_id, SUM(level.on_hand), SUM(level.on_order) "
            f"FROM {InventoryLevel._meta.db_table} AS level "
            f"JOIN {Product._meta.db_table} AS product ON product.id = level.product_id "
            "GROUP BY product.supplier_id"
        )
        return cursor.rowcount
