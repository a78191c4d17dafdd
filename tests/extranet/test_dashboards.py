"""Supplier dashboards (extranet/dashboards.py, extranet/views/dashboards.py), issue 5 item 3."""

import csv
import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pytest_django import DjangoAssertNumQueries

from crm.models import Product
from customers.models import Interaction, PurchaseLine
from extranet import dashboards
from extranet.rollup import sales_rollup_fold
from tests.extranet.conftest import World
from tests.factories import (
    InventoryLevelFactory,
    LocationFactory,
    ProductFactory,
    PurchaseLineFactory,
    session_queries,
)

pytestmark = pytest.mark.django_db


def sell(
    product: Product, quantity: int, *, days_ago: int = 1, is_return: bool = False, channel: str = "store"
) -> None:
    PurchaseLineFactory(
        product=product,
        quantity=quantity,
        is_return=is_return,
        unit_price=Decimal("100000"),
        unit_cost=Decimal("60000"),
        interaction__occurred_at=timezone.now() - dt.timedelta(days=days_ago),
        interaction__channel=channel,
    )


@pytest.fixture
def sales(world: World) -> World:
    sell(world.product_a, 10)
    sell(world.product_a, 2, is_return=True)
    sell(world.product_a, 4, channel=Interaction.Channel.WEB, days_ago=3)
    sell(world.product_b, 50)  # supplier B: never in A's figures
    sell(world.product_a, 99, days_ago=400)  # outside the default range
    sales_rollup_fold(lag=dt.timedelta(0))
    return world


def test_the_product_ranking_is_cached_until_the_next_fold(sales: World) -> None:
    cache.clear()
    period = dashboards.Period.default()
    first = dashboards.sales_by_product(supplier_id=sales.supplier_a.pk, period=period)
    sell(sales.product_a, 5)
    assert (
        dashboards.sales_by_product(supplier_id=sales.supplier_a.pk, period=period) == first
    )  # not folded yet

    sales_rollup_fold(lag=dt.timedelta(0))

    again = dashboards.sales_by_product(supplier_id=sales.supplier_a.pk, period=period)
    assert again[0]["units"] == first[0]["units"] + 5


@pytest.mark.parametrize(
    ("start", "end", "months", "edges"),
    [
        ("2026-11-04", "2026-12-01", None, [("2026-11-04", "2026-12-01")]),
        ("2026-11-01", "2026-11-30", ("2026-11-01", "2026-11-01"), []),
        (
            "2025-12-02",
            "2026-12-01",
            ("2026-01-01", "2026-11-01"),
            [("2025-12-02", "2025-12-31"), ("2026-12-01", "2026-12-01")],
        ),
        (
            "2026-01-31",
            "2026-03-01",
            ("2026-02-01", "2026-02-01"),
            [("2026-01-31", "2026-01-31"), ("2026-03-01", "2026-03-01")],
        ),
        ("2026-02-01", "2026-03-15", ("2026-02-01", "2026-02-01"), [("2026-03-01", "2026-03-15")]),
        ("2026-12-31", "2026-12-31", None, [("2026-12-31", "2026-12-31")]),
    ],
)
def test_a_range_is_split_into_whole_months_and_edge_days(
    start: str, end: str, months: tuple[str, str] | None, edges: list[tuple[str, str]]
) -> None:
    def period(first: str, last: str) -> dashboards.Period:
        return dashboards.Period(dt.date.fromisoformat(first), dt.date.fromisoformat(last))

    whole, around = dashboards.split_by_months(period(start, end))

    assert whole == (period(*months) if months else None)
    assert around == [period(*edge) for edge in edges]


@pytest.mark.parametrize(
    ("start", "end", "weeks", "edges"),
    [
        ("2026-11-30", "2026-12-06", ("2026-11-30", "2026-11-30"), []),  # Monday to Sunday
        (
            "2026-11-05",
            "2026-12-02",
            ("2026-11-09", "2026-11-23"),
            [("2026-11-05", "2026-11-08"), ("2026-11-30", "2026-12-02")],
        ),
        ("2026-12-01", "2026-12-06", None, [("2026-12-01", "2026-12-06")]),
        ("2026-11-30", "2026-12-07", ("2026-11-30", "2026-11-30"), [("2026-12-07", "2026-12-07")]),
        ("2026-11-29", "2026-12-06", ("2026-11-30", "2026-11-30"), [("2026-11-29", "2026-11-29")]),
    ],
)
def test_a_range_is_split_into_whole_weeks_and_edge_days(
    start: str, end: str, weeks: tuple[str, str] | None, edges: list[tuple[str, str]]
) -> None:
    def period(first: str, last: str) -> dashboards.Period:
        return dashboards.Period(dt.date.fromisoformat(first), dt.date.fromisoformat(last))

    whole, around = dashboards.split_by_weeks(period(start, end))

    assert whole == (period(*weeks) if weeks else None)
    assert around == [period(*edge) for edge in edges]


def monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def test_figures_over_months_and_edge_days_are_what_the_lines_say(world: World) -> None:
    """Regression test for issue 5: ranges read whole months from the monthly rollups."""
    store = LocationFactory()
    products = [world.product_a] + [ProductFactory(supplier=world.supplier_a) for _ in range(3)]
    for n in range(48):
        PurchaseLineFactory(
            product=products[n % 4],
            quantity=1 + n % 5,
            is_return=n % 7 == 0,
            unit_price=Decimal("100000"),
            unit_cost=Decimal("60000"),
            location=store if n % 3 else None,
            interaction__occurred_at=timezone.now() - dt.timedelta(days=n * 3 % 140),
            interaction__channel="store" if n % 3 else "web",
        )
    sell(world.product_b, 9, days_ago=40)
    sales_rollup_fold(lag=dt.timedelta(0))
    today = timezone.localdate()
    supplier_id = world.supplier_a.pk

    for days in [1, 28, 45, 90, 141]:
        period = dashboards.Period(today - dt.timedelta(days=days - 1), today)
        picked = [
            line
            for line in PurchaseLine.objects.filter(supplier=world.supplier_a)
            if period.start <= timezone.localtime(line.occurred_at).date() <= period.end
        ]

        def units(key: object, lines: list = picked) -> dict:
            expected: dict = {}
            for line in lines:
                figures = expected.setdefault(key(line), [0, 0])  # type: ignore[operator]
                figures[1 if line.is_return else 0] += line.quantity
            return expected

        ranking = dashboards.sales_by_product(supplier_id=supplier_id, period=period, limit=None)
        assert {row["product_id"]: [row["units"], row["return_units"]] for row in ranking} == units(
            lambda line: line.product_id
        )
        revenues = [row["revenue"] for row in ranking]
        assert revenues == sorted(revenues, reverse=True)
        assert all(row["revenue"] == row["units"] * Decimal("100000") for row in ranking)
        totals = dashboards.sales_totals(supplier_id=supplier_id, period=period)
        assert [totals["units"], totals["return_units"]] == units(lambda line: 0).get(0, [0, 0])
        channels = dashboards.sales_by_channel(supplier_id=supplier_id, period=period)
        assert {row["channel"]: [row["units"], row["return_units"]] for row in channels} == units(
            lambda line: line.channel
        )
        stores = dashboards.sales_by_location(supplier_id=supplier_id, period=period)
        assert {row["location_id"]: [row["units"], row["return_units"]] for row in stores} == units(
            lambda line: line.location_id, [line for line in picked if line.location_id]
        )
        months = dashboards.sales_by_period(supplier_id=supplier_id, period=period, grain="month")
        assert {row["bucket"]: [row["units"], row["return_units"]] for row in months} == units(
            lambda line: timezone.localtime(line.occurred_at).date().replace(day=1)
        )
        weeks = dashboards.sales_by_period(supplier_id=supplier_id, period=period, grain="week")
        assert {row["bucket"]: [row["units"], row["return_units"]] for row in weeks} == units(
            lambda line: monday(timezone.localtime(line.occurred_at).date())
        )


def test_totals_margin_returns_and_sell_through(sales: World) -> None:
    figures = dashboards.profitability(supplier_id=sales.supplier_a.pk, period=dashboards.Period.default())

    assert figures["units"] == 14 and figures["return_units"] == 2 and figures["net_units"] == 12
    assert figures["net_revenue"] == Decimal("1200000")
    assert figures["gross_margin"] == Decimal("480000")
    assert figures["margin_pct"] == Decimal("40.0")
    assert figures["returns_rate"] == Decimal("14.3")
    assert figures["on_hand"] == 30
    assert figures["sell_through"] == Decimal("28.6")  # 12 / (12 + 30)


def test_channels_and_weeks(sales: World) -> None:
    period = dashboards.Period.default()
    channels = {
        row["channel"]: row["net_units"]
        for row in dashboards.sales_by_channel(supplier_id=sales.supplier_a.pk, period=period)
    }
    assert channels == {"store": 8, "web": 4}
    weeks = dashboards.sales_by_period(supplier_id=sales.supplier_a.pk, period=period, grain="week")
    assert sum(row["net_units"] for row in weeks) == 12
    assert all(row["bucket"].weekday() == 0 for row in weeks)


def test_inventory_weeks_of_supply_and_low_stock(world: World) -> None:
    sell(world.product_a, 56)  # 14 a week over four weeks: 30 on hand is ~2.1 weeks
    slow = ProductFactory(supplier=world.supplier_a, sku="NB-0001")
    InventoryLevelFactory(product=slow, location=LocationFactory(), on_hand=0, on_order=40)
    sales_rollup_fold(lag=dt.timedelta(0))

    page = dashboards.inventory_by_product(supplier_id=world.supplier_a.pk)

    rows = {row["sku"]: row for row in page["rows"]}
    assert set(rows) == {"NB-1080-270", "NB-0001"}
    assert rows["NB-1080-270"]["weeks_of_supply"] == Decimal("2.1")
    assert not rows["NB-1080-270"]["low_stock"]
    assert rows["NB-0001"]["low_stock"] and rows["NB-0001"]["on_order"] == 40


def test_a_range_is_chosen_by_the_user(sales: World) -> None:
    client = sales.client("a_admin")
    start = (timezone.localdate() - dt.timedelta(days=500)).isoformat()

    response = client.get(
        "/extranet/profitability/", {"start": start, "end": timezone.localdate().isoformat()}
    )
    assert response.context["totals"]["units"] == 113

    refused = client.get("/extranet/profitability/", {"start": "2026-02-01", "end": "2026-01-01"})
    assert refused.status_code == 200
    assert "The start date is after the end date." in refused.content.decode()


def test_pages_show_charts(sales: World) -> None:
    client = sales.client("a_member")
    for url in ["/extranet/", "/extranet/sales/", "/extranet/profitability/"]:
        page = client.get(url).content.decode()
        assert '<svg class="extranet-chart"' in page, url
        assert "<rect" in page, url


def test_csv_exports_escape_formulas_and_keep_to_the_supplier(sales: World) -> None:
    Product.objects.filter(pk=sales.product_a.pk).update(name='=HYPERLINK("http://evil.example","x")')
    client = sales.client("a_admin")

    for url, column in [
        ("/extranet/sales/?export=product", 1),
        ("/extranet/profitability/?export=product", 1),
        ("/extranet/inventory/?export=locations", 1),
    ]:
        response = client.get(url)
        assert response["Content-Type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
        assert rows[1][column].startswith("'="), url
        assert all(row[0] != "NK-PEG-270" for row in rows), url
    assert client.get("/extranet/sales/?export=nonsense").status_code == 404


# Session, user, membership (one statement with the permissions and second-factor devices), then the figures: overview = totals + on hand + series;
# sales = four tables (the product ranking and the stores with their names) + the rollup watermark (the
# product ranking is cached per watermark); profitability = totals + on hand + watermark + products with
# their names; inventory = a page of products with their stock and recent sales + totals.
PAGE_QUERIES = {
    "/extranet/": 6,
    "/extranet/sales/": 8,
    "/extranet/profitability/": 7,
    "/extranet/inventory/": 5,
}


@pytest.mark.parametrize("url", list(PAGE_QUERIES))
def test_pages_cost_the_same_queries_for_one_and_many_products(
    world: World, url: str, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    client = world.client("a_admin")
    sell(world.product_a, 3)
    sales_rollup_fold(lag=dt.timedelta(0))
    client.get(url)
    cache.clear()  # the product ranking is cached per rollup watermark: measure the uncached page
    client.session.save()  # but keep the session cached (with Redis), as it is on any other request

    with CaptureQueriesContext(connection) as one:
        assert client.get(url).status_code == 200
    expected = PAGE_QUERIES[url] - 1 + session_queries()  # the table counts the session's query
    assert len(one) == expected, "\n".join(q["sql"][:100] for q in one.captured_queries)
    store = LocationFactory()
    for n in range(30):
        product = ProductFactory(supplier=world.supplier_a, sku=f"NB-X{n:03d}")
        InventoryLevelFactory(product=product, location=store)
        sell(product, 1 + n % 3, channel="web" if n % 2 else "store")
    sales_rollup_fold(lag=dt.timedelta(0))

    with django_assert_num_queries(len(one)):
        assert client.get(url).status_code == 200


def test_tables_escape_what_the_data_says(sales: World) -> None:
    """The dashboards' rows are written out by ``figure_rows`` and ``stock_rows``, past the template's
    autoescaping: names and SKUs are escaped there."""
    Product.objects.filter(pk=sales.product_a.pk).update(name='<script>alert("x")</script>')
    cache.clear()
    client = sales.client("a_member")
    for url in ["/extranet/sales/", "/extranet/profitability/", "/extranet/inventory/"]:
        page = client.get(url).content.decode()
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page, url
        assert "<script>alert" not in page, url
    inventory = client.get("/extranet/inventory/").content.decode()
    assert f'href="/extranet/inventory/{sales.product_a.pk}/"' in inventory
    sold = client.get("/extranet/sales/").content.decode()
    assert f'<td><a href="/extranet/inventory/{sales.product_a.pk}/">NB-1080-270</a></td>' in sold
    assert '<td class="text-end">40.0</td>' in sold  # margin %: (1,200,000 - 720,000) / 1,200,000


def test_the_inventory_pages_by_sku(world: World) -> None:
    for n in range(3):
        InventoryLevelFactory(product=ProductFactory(supplier=world.supplier_a, sku=f"NB-P{n}"), on_hand=n)

    first = dashboards.inventory_by_product(supplier_id=world.supplier_a.pk, size=2)
    second = dashboards.inventory_by_product(
        supplier_id=world.supplier_a.pk, after_sku=first["next_sku"], size=2
    )

    assert [row["sku"] for row in first["rows"]] == ["NB-1080-270", "NB-P0"]
    assert [row["sku"] for row in second["rows"]] == ["NB-P1", "NB-P2"]
    assert second["next_sku"] is None
    assert [row["on_hand"] for row in second["rows"]] == [1, 2]
    page = world.client("a_ro").get("/extranet/inventory/", {"after": "NB-P0"}).content.decode()
    assert "NB-P1" in page and "NB-1080-270" not in page


@pytest.mark.parametrize("grain", ["week", "month"])
def test_the_api_answers_what_its_serializers_describe(sales: World, grain: str) -> None:
    """The dashboard endpoints write their answers out (extranet/api/serializers.py); the serializers stay
    the schema, and must give the same."""
    from extranet.api import serializers as s

    PurchaseLineFactory(product=sales.product_a, quantity=3, location=LocationFactory(name="Gangnam <1>"))
    sales_rollup_fold(lag=dt.timedelta(0))
    supplier_id, period = sales.supplier_a.pk, dashboards.Period.default()
    common = {"start": period.start, "end": period.end}
    sales_data = {
        **common,
        "grain": grain,
        "totals": dashboards.sales_totals(supplier_id=supplier_id, period=period),
        "by_period": dashboards.sales_by_period(supplier_id=supplier_id, period=period, grain=grain),
        "by_channel": dashboards.sales_by_channel(supplier_id=supplier_id, period=period),
        "by_location": dashboards.sales_by_location(supplier_id=supplier_id, period=period),
        "top_products": dashboards.sales_by_product(supplier_id=supplier_id, period=period),
    }
    profit_data = {
        **common,
        "totals": dashboards.profitability(supplier_id=supplier_id, period=period),
        "top_products": sales_data["top_products"],
    }
    stock_data = {
        **dashboards.inventory_totals(supplier_id=supplier_id),
        **dashboards.inventory_by_product(supplier_id=supplier_id),
    }
    assert sales_data["by_location"] and sales_data["top_products"] and stock_data["rows"]

    assert s.sales_dashboard_data(sales_data) == s.SalesDashboardSerializer(sales_data).data
    assert s.profitability_dashboard_data(profit_data) == s.ProfitabilityDashboardSerializer(profit_data).data
    assert s.inventory_dashboard_data(stock_data) == s.InventoryDashboardSerializer(stock_data).data
    answer = sales.client("a_ro").get("/api/v1/extranet/dashboards/sales/", {"grain": grain}).json()
    assert answer == json.loads(json.dumps(s.SalesDashboardSerializer(sales_data).data))
