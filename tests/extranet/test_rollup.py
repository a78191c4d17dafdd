"""Daily sales rollups (extranet/rollup.py): folding purchase lines counts each line exactly once."""

import datetime as dt
import random
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone

from customers.models import Interaction, PurchaseLine
from extranet.models import (
    ProductSalesDay,
    ProductSalesMonth,
    SalesRollupState,
    SupplierSalesDay,
    SupplierSalesMonth,
    SupplierSalesWeek,
)
from extranet.rollup import sales_rollup_fold
from tests.factories import LocationFactory, ProductFactory, PurchaseLineFactory, SupplierFactory

pytestmark = pytest.mark.django_db
NOW = dt.timedelta(0)


def lines(count: int, seed: int, days: int = 20) -> None:
    rng = random.Random(seed)
    suppliers = [SupplierFactory(), SupplierFactory()]
    products = [ProductFactory(supplier=suppliers[n % 2]) for n in range(4)]
    stores = [LocationFactory(), None]
    for _ in range(count):
        product = rng.choice(products)
        PurchaseLineFactory(
            product=product,
            location=rng.choice(stores),
            is_return=rng.random() < 0.2,
            quantity=rng.randint(1, 4),
            unit_price=Decimal(rng.randint(1, 9) * 10000),
            unit_cost=Decimal(rng.randint(1, 5) * 10000),
            interaction__occurred_at=timezone.now() - dt.timedelta(hours=rng.randint(0, 24 * days)),
            interaction__channel=rng.choice([Interaction.Channel.STORE, Interaction.Channel.WEB]),
        )


def from_lines(grain: str = "day") -> dict:
    """What a product rollup must hold (per day or per month), computed from the raw lines in Python."""
    expected: dict = {}
    for line in PurchaseLine.objects.all():
        day = timezone.localtime(line.occurred_at).date()
        key = (line.product_id, day.replace(day=1) if grain == "month" else day)
        units, revenue, cost, returned = expected.get(key, (0, Decimal(0), Decimal(0), 0))
        if line.is_return:
            returned += line.quantity
        else:
            units += line.quantity
            revenue += line.quantity * line.unit_price
            cost += line.quantity * line.unit_cost
        expected[key] = (units, revenue, cost, returned)
    return expected


def from_rollup(grain: str = "day") -> dict:
    model = ProductSalesMonth if grain == "month" else ProductSalesDay
    return {
        (row.product_id, getattr(row, grain)): (
            row.units,
            Decimal(row.revenue),
            Decimal(row.cost),
            row.return_units,
        )
        for row in model.objects.all()
        if row.units or row.return_units
    }


def supplier_lines(grain: str) -> dict:
    """What a supplier rollup must hold per (supplier, day or month, channel, location), from the lines."""
    expected: dict = {}
    for line in PurchaseLine.objects.all():
        day = timezone.localtime(line.occurred_at).date()
        if grain == "month":
            day = day.replace(day=1)
        elif grain == "week":
            day -= dt.timedelta(days=day.weekday())
        key = (line.supplier_id, day, line.channel, line.location_id or 0)
        units, revenue, returned, returned_cost = expected.get(key, (0, Decimal(0), 0, Decimal(0)))
        if line.is_return:
            returned += line.quantity
            returned_cost += line.quantity * line.unit_cost
        else:
            units += line.quantity
            revenue += line.quantity * line.unit_price
        expected[key] = (units, revenue, returned, returned_cost)
    return expected


def supplier_rollup(model: type, grain: str) -> dict:
    return {
        (row.supplier_id, getattr(row, grain), row.channel, row.location_id_or_zero): (
            row.units,
            Decimal(row.revenue),
            row.return_units,
            Decimal(row.return_cost),
        )
        for row in model.objects.all()
        if row.units or row.return_units
    }


def test_folding_in_batches_gives_what_the_lines_say() -> None:
    lines(40, seed=1)
    sales_rollup_fold(lag=NOW)
    lines(25, seed=2)
    sales_rollup_fold(lag=NOW, chunk=3)  # many small id ranges

    assert from_rollup() == from_lines()
    assert from_rollup("month") == from_lines("month")
    assert supplier_rollup(SupplierSalesDay, "day") == supplier_lines("day")
    assert supplier_rollup(SupplierSalesMonth, "month") == supplier_lines("month")
    assert supplier_rollup(SupplierSalesWeek, "week") == supplier_lines("week")


def test_folding_again_counts_nothing_twice() -> None:
    lines(20, seed=3)
    sales_rollup_fold(lag=NOW)
    before, months = from_rollup(), from_rollup("month")

    assert sales_rollup_fold(lag=NOW) == 0
    assert from_rollup() == before
    assert from_rollup("month") == months


def test_store_and_online_sales_are_kept_apart_by_location() -> None:
    lines(30, seed=4)
    sales_rollup_fold(lag=NOW)

    with_store = PurchaseLine.objects.filter(location__isnull=False, is_return=False).aggregate(
        u=Sum("quantity")
    )
    rolled = SupplierSalesDay.objects.exclude(location_id_or_zero=0).aggregate(u=Sum("units"))
    assert rolled["u"] == with_store["u"]


def test_the_lag_waits_before_folding_the_newest_lines() -> None:
    lines(5, seed=5)
    lag = dt.timedelta(seconds=30)

    assert sales_rollup_fold(lag=lag) == 0  # first sight of the newest id: not folded yet
    state = SalesRollupState.objects.get()
    assert state.horizon == PurchaseLine.objects.order_by("-id").first().pk

    SalesRollupState.objects.update(horizon_seen_at=timezone.now() - dt.timedelta(seconds=31))
    assert sales_rollup_fold(lag=lag) > 0
    assert from_rollup() == from_lines()
    assert from_rollup("month") == from_lines("month")


def test_months_hold_the_lines_of_every_day_of_the_month() -> None:
    """Lines over about four months, folded in small ranges: each month is its days, and its lines."""
    lines(60, seed=6, days=120)
    sales_rollup_fold(lag=NOW, chunk=7)

    assert from_rollup("month") == from_lines("month")
    assert supplier_rollup(SupplierSalesMonth, "month") == supplier_lines("month")
    assert supplier_rollup(SupplierSalesWeek, "week") == supplier_lines("week")
    by_days: dict = {}
    for (product_id, day), (units, revenue, cost, returned) in from_rollup().items():
        key = (product_id, day.replace(day=1))
        old = by_days.get(key, (0, Decimal(0), Decimal(0), 0))
        by_days[key] = (old[0] + units, old[1] + revenue, old[2] + cost, old[3] + returned)
    assert by_days == from_rollup("month")
