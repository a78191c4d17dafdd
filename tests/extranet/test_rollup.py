"""Daily sales rollups (extranet/rollup.py): folding purchase lines counts each line exactly once."""

import datetime as dt
import random
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone

from customers.models import Interaction, PurchaseLine
from extranet.models import ProductSalesDay, SalesRollupState, SupplierSalesDay
from extranet.rollup import sales_rollup_fold
from tests.factories import LocationFactory, ProductFactory, PurchaseLineFactory, SupplierFactory

pytestmark = pytest.mark.django_db
NOW = dt.timedelta(0)


def lines(count: int, seed: int) -> None:
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
            interaction__occurred_at=timezone.now() - dt.timedelta(hours=rng.randint(0, 24 * 20)),
            interaction__channel=rng.choice([Interaction.Channel.STORE, Interaction.Channel.WEB]),
        )


def from_lines() -> dict:
    """What the rollups must hold, computed from the raw lines in Python."""
    expected: dict = {}
    for line in PurchaseLine.objects.all():
        day = timezone.localtime(line.occurred_at).date()
        key = (line.product_id, day)
        units, revenue, returned = expected.get(key, (0, Decimal(0), 0))
        if line.is_return:
            returned += line.quantity
        else:
            units += line.quantity
            revenue += line.quantity * line.unit_price
        expected[key] = (units, revenue, returned)
    return expected


def from_rollup() -> dict:
    return {
        (row.product_id, row.day): (row.units, Decimal(row.revenue), row.return_units)
        for row in ProductSalesDay.objects.all()
        if row.units or row.return_units
    }


def test_folding_in_batches_gives_what_the_lines_say() -> None:
    lines(40, seed=1)
    sales_rollup_fold(lag=NOW)
    lines(25, seed=2)
    sales_rollup_fold(lag=NOW, chunk=3)  # many small id ranges

    assert from_rollup() == from_lines()
    totals = SupplierSalesDay.objects.aggregate(units=Sum("units"), returned=Sum("return_units"))
    raw = PurchaseLine.objects.filter(is_return=False).aggregate(units=Sum("quantity"))
    raw_returned = PurchaseLine.objects.filter(is_return=True).aggregate(units=Sum("quantity"))
    assert totals["units"] == raw["units"]
    assert totals["returned"] == raw_returned["units"]


def test_folding_again_counts_nothing_twice() -> None:
    lines(20, seed=3)
    sales_rollup_fold(lag=NOW)
    before = from_rollup()

    assert sales_rollup_fold(lag=NOW) == 0
    assert from_rollup() == before


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
