"""The figures of the supplier dashboards, read from the sales rollups (``extranet.models.sales``).

Every function takes the supplier id that the caller's membership resolved, so a dashboard can only ever
aggregate its own supplier's rows; each is one set-based query over indexes that start with the supplier
and the day, week or month: a range's whole months (whole weeks, for weekly series) are read from the
monthly (weekly) rollups and only the days at its edges from the daily ones (``split_by_months``,
``split_by_weeks``), so that a year costs about as much as a few weeks.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from crm.models import Location, Product
from extranet.models import (
    InventoryLevel,
    ProductSalesDay,
    ProductSalesMonth,
    SalesRollupState,
    SupplierSalesDay,
    SupplierSalesMonth,
    SupplierSalesWeek,
    SupplierStock,
)

MAX_RANGE_DAYS = 731
RECENT_SALES_DAYS = 28  # weeks of supply are on hand over the average week of the last four
LOW_STOCK_WEEKS = Decimal(2)
ZERO = Decimal(0)
# A cached product ranking lives at most this long (a fold invalidates it sooner, through the watermark).
PRODUCT_CACHE_SECONDS = 600


@dataclass(frozen=True)
class Period:
    """A range of whole days, both ends included, in the interface's time zone."""

    start: dt.date
    end: dt.date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @classmethod
    def default(cls) -> "Period":
        today = timezone.localdate()
        return cls(today - dt.timedelta(days=RECENT_SALES_DAYS - 1), today)


def _derive(row: dict[str, Any]) -> dict[str, Any]:
    """Net figures of a row of sums: revenue and cost net of returns, margin, margin %, returns rate."""
    units = int(row.get("units") or 0)
    returned = int(row.get("return_units") or 0)
    revenue = Decimal(row.get("revenue") or 0) - Decimal(row.get("return_revenue") or 0)
    cost = Decimal(row.get("cost") or 0) - Decimal(row.get("return_cost") or 0)
    margin = revenue - cost
    return {
        **row,
        "units": units,
        "return_units": returned,
        "net_units": units - returned,
        "net_revenue": revenue.quantize(Decimal("1")),
        "net_cost": cost.quantize(Decimal("1")),
        "gross_margin": margin.quantize(Decimal("1")),
        "margin_pct": (margin / revenue * 100).quantize(Decimal("0.1")) if revenue else None,
        "returns_rate": (Decimal(returned) / units * 100).quantize(Decimal("0.1")) if units else None,
    }


def _month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def split_by_months(period: Period) -> tuple[Period | None, list[Period]]:
    """The range's whole calendar months (first days of the first and last month) and the days around them.

    ``(None, [period])`` when the range holds no whole month.
    """
    first = period.start if period.start.day == 1 else _next_month(period.start)
    after_last = _next_month(period.end)
    if period.end + dt.timedelta(days=1) != after_last:
        after_last = _month_start(period.end)  # the end's month is partial: stop before it
    if first >= after_last:
        return None, [period]
    months = Period(first, _month_start(after_last - dt.timedelta(days=1)))
    edges = [Period(period.start, first - dt.timedelta(days=1)), Period(after_last, period.end)]
    return months, [edge for edge in edges if edge.start <= edge.end]


def split_by_weeks(period: Period) -> tuple[Period | None, list[Period]]:
    """The range's whole weeks, Monday to Sunday (the Mondays of the first and last), and the days around them."""
    first = period.start + dt.timedelta(days=(7 - period.start.weekday()) % 7)
    after_last = period.end + dt.timedelta(days=1) - dt.timedelta(days=(period.end.weekday() + 1) % 7)
    if first >= after_last:
        return None, [period]
    weeks = Period(first, after_last - dt.timedelta(days=7))
    edges = [Period(period.start, first - dt.timedelta(days=1)), Period(after_last, period.end)]
    return weeks, [edge for edge in edges if edge.start <= edge.end]


_FIGURE_COLUMNS = ("units", "revenue", "cost", "return_units", "return_revenue", "return_cost")
_SUMS = ", ".join(f"SUM({name}) AS {name}" for name in _FIGURE_COLUMNS)
_CENT = Decimal("0.01")


def _month_of_day() -> str:
    if connection.vendor == "postgresql":
        return "date_trunc('month', day)::date"
    return "date(day, 'start of month')"


def _week_of_day() -> str:
    """SQL for the Monday of a day's week."""
    if connection.vendor == "postgresql":
        return "date_trunc('week', day)::date"
    return "date(day, 'weekday 0', '-6 days')"  # the next Sunday (or that day), back to its Monday


def _rollup_rows(
    day_model: type[Any],
    coarse_model: type[Any],
    columns: str,
    supplier_id: int,
    period: Period,
    grain: str = "month",
) -> tuple[str, list[Any]]:
    """SQL (and its parameters) of the rollup rows that cover the range exactly: its whole months (or
    weeks) from the monthly (or weekly) table, the days before the first and after the last from the
    daily one.

    Each row has a ``month`` (or ``week``) column, its first day, then ``columns`` and the figures.
    """
    figures = ", ".join(_FIGURE_COLUMNS)
    whole, edges = split_by_weeks(period) if grain == "week" else split_by_months(period)
    of_day = _week_of_day() if grain == "week" else _month_of_day()
    parts, params = [], []
    if whole is not None:
        parts.append(
            f"SELECT {grain}, {columns}, {figures} FROM {coarse_model._meta.db_table} "  # noqa: S608
            f"WHERE supplier_id = %s AND {grain} >= %s AND {grain} <= %s"
        )
        params += [supplier_id, whole.start, whole.end]
    for edge in edges:
        parts.append(
            f"SELECT {of_day} AS {grain}, {columns}, {figures} "  # noqa: S608
            f"FROM {day_model._meta.db_table} WHERE supplier_id = %s AND day >= %s AND day <= %s"
        )
        params += [supplier_id, edge.start, edge.end]
    return " UNION ALL ".join(parts), params


def _sum(value: Any) -> Decimal:
    """A sum of money as the database returns it (SQLite sums decimals as floats)."""
    if value is None:
        return ZERO
    if isinstance(value, float):
        return Decimal(repr(value)).quantize(_CENT)
    return Decimal(value)


def _fetch(sql: str, params: list[Any], keys: tuple[str, ...]) -> list[dict[str, Any]]:
    """Rows of ``keys`` followed by the six figures, with the figures as ints and Decimals."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    count = len(keys)
    return [
        {
            **dict(zip(keys, row[:count], strict=True)),
            "units": int(row[count] or 0),
            "revenue": _sum(row[count + 1]),
            "cost": _sum(row[count + 2]),
            "return_units": int(row[count + 3] or 0),
            "return_revenue": _sum(row[count + 4]),
            "return_cost": _sum(row[count + 5]),
        }
        for row in rows
    ]


def _supplier_sums(supplier_id: int, period: Period, group: str, where: str = "") -> list[dict[str, Any]]:
    """The supplier rollup's figures over the range grouped by ``group`` (a column, or ``""`` for totals)."""
    rows, params = _rollup_rows(
        SupplierSalesDay, SupplierSalesMonth, "channel, location_id_or_zero", supplier_id, period
    )
    select = f"{group}, " if group else ""
    grouping = f" GROUP BY {group} ORDER BY revenue DESC, {group}" if group else ""
    sql = f"SELECT {select}{_SUMS} FROM ({rows}) AS rows{where}{grouping}"  # noqa: S608
    return _fetch(sql, params, (group,) if group else ())


def sales_totals(*, supplier_id: int, period: Period) -> dict[str, Any]:
    return _derive(_supplier_sums(supplier_id, period, "")[0])


def sales_by_period(*, supplier_id: int, period: Period, grain: str) -> list[dict[str, Any]]:
    """Sums per week (starting Monday) or per calendar month of the range."""
    grain = "month" if grain == "month" else "week"
    coarse = SupplierSalesMonth if grain == "month" else SupplierSalesWeek
    rows, params = _rollup_rows(SupplierSalesDay, coarse, "channel", supplier_id, period, grain)
    sql = f"SELECT {grain}, {_SUMS} FROM ({rows}) AS rows GROUP BY {grain} ORDER BY {grain}"  # noqa: S608
    return [{**_derive(row), "bucket": _as_date(row["bucket"])} for row in _fetch(sql, params, ("bucket",))]


def _as_date(value: dt.date | dt.datetime | str) -> dt.date:
    if isinstance(value, str):  # SQLite's dates in raw SQL
        return dt.date.fromisoformat(value[:10])
    return value.date() if isinstance(value, dt.datetime) else value


def sales_by_channel(*, supplier_id: int, period: Period) -> list[dict[str, Any]]:
    return [_derive(row) for row in _supplier_sums(supplier_id, period, "channel")]


def sales_by_location(*, supplier_id: int, period: Period) -> list[dict[str, Any]]:
    """Sums per store, warehouse or online shop, with its ``location_id`` and its name as ``location``;
    sales without a location are left out."""
    rows, params = _rollup_rows(
        SupplierSalesDay, SupplierSalesMonth, "channel, location_id_or_zero", supplier_id, period
    )
    figures = ", ".join(f"sums.{name}" for name in _FIGURE_COLUMNS)
    sql = (
        f"SELECT sums.location_id_or_zero, location.name, {figures} FROM ("  # noqa: S608
        f"SELECT location_id_or_zero, {_SUMS} FROM ({rows}) AS rows "
        "WHERE location_id_or_zero <> 0 GROUP BY location_id_or_zero"
        f") AS sums JOIN {Location._meta.db_table} AS location ON location.id = sums.location_id_or_zero "
        "ORDER BY sums.revenue DESC, sums.location_id_or_zero"
    )
    return [
        _derive({**row, "location_id": row["location_id_or_zero"]})
        for row in _fetch(sql, params, ("location_id_or_zero", "location"))
    ]


def _ranking_sql(rows: str, order_by: str, limit: int | None) -> str:
    """The ranking of products by one figure, with each product's SKU and name joined to the winners."""
    column = order_by.lstrip("-")
    if column not in _FIGURE_COLUMNS:
        raise ValueError(f"cannot rank products by {order_by!r}")
    direction = "DESC" if order_by.startswith("-") else "ASC"
    figures = ", ".join(f"ranked.{name}" for name in _FIGURE_COLUMNS)
    ranking = (
        f"SELECT product_id, {_SUMS} FROM ({rows}) AS rows "  # noqa: S608
        f"GROUP BY product_id ORDER BY {column} {direction}, product_id"
        + (f" LIMIT {int(limit)}" if limit is not None else "")
    )
    return (
        f"SELECT ranked.product_id, product.sku, product.name, {figures} "  # noqa: S608
        f"FROM ({ranking}) AS ranked JOIN {Product._meta.db_table} AS product ON product.id = ranked.product_id "
        f"ORDER BY ranked.{column} {direction}, ranked.product_id"
    )


def _rollup_version() -> str:
    """The state of the rollups: the watermark and the time of the last fold that moved it (written out:
    one row, read on every ranking)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT watermark, folded_at FROM {SalesRollupState._meta.db_table} ORDER BY id LIMIT 1"  # noqa: S608
        )
        row = cursor.fetchone()
    if row is None:
        return "0.0"
    watermark, folded_at = row
    if isinstance(folded_at, str):  # SQLite's times in raw SQL: naive, in UTC
        folded_at = dt.datetime.fromisoformat(folded_at).replace(tzinfo=dt.UTC)
    return f"{watermark}.{folded_at.timestamp() if folded_at else 0}"


def sales_by_product(
    *, supplier_id: int, period: Period, order_by: str = "-revenue", limit: int | None = 50
) -> list[dict[str, Any]]:
    """Sums per product over the range, best first; ``limit=None`` for every product that sold.

    Each row has the product's ``product_id``, ``sku`` and ``name`` (plain values, not model instances:
    they are cached and rendered, never saved). Ranking needs every product's figures over the whole
    range: the range's whole months come from the monthly rollup (one row a product and month) and only
    the days before the first and after the last whole month from the daily one, in one statement that
    also joins the winners' names. The top ``limit`` rows are also cached until the next fold of the
    rollups changes the watermark, so repeated views between folds cost one cache read. The key names
    the supplier: a supplier's ranking is only ever read back for that supplier.
    """
    key = None
    if limit is not None:
        # The watermark and the time of the last fold that moved it name one state of the rollups, even
        # across databases whose ids start again (a test run, a restored copy).
        version = _rollup_version()
        # "v2": rows of plain values; a deploy must not read back the rows of model instances cached before.
        key = f"extranet:products:v2:{supplier_id}:{period.start}:{period.end}:{order_by}:{limit}:{version}"
        cached = cache.get(key)
        if cached is not None:
            return cached
    rows, params = _rollup_rows(ProductSalesDay, ProductSalesMonth, "product_id", supplier_id, period)
    result = [
        _derive(row)
        for row in _fetch(_ranking_sql(rows, order_by, limit), params, ("product_id", "sku", "name"))
    ]
    if key is not None:
        cache.set(key, result, timeout=PRODUCT_CACHE_SECONDS)
    return result


def inventory_totals(*, supplier_id: int) -> dict[str, int]:
    """Stock on hand and on order over all the supplier's products: one row kept by the stock writes."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT on_hand, on_order FROM {SupplierStock._meta.db_table} WHERE supplier_id = %s",  # noqa: S608
            [supplier_id],
        )
        row = cursor.fetchone()
    return {"on_hand": int(row[0]), "on_order": int(row[1])} if row else {"on_hand": 0, "on_order": 0}


def _inventory_page_sql(after_sku: str) -> str:
    """A page of products by SKU with their stock over every location and their net units since a day.

    Correlated subqueries rather than joins: PostgreSQL walks the products in SKU order on an index, stops
    at the limit, and only then sums the page's own levels (the unique (product, location) index) and
    recent days (the index that holds the units: an index-only scan); about 1.5 ms for a page of 50.
    """
    levels, days = InventoryLevel._meta.db_table, ProductSalesDay._meta.db_table
    return (
        "SELECT product.id, product.sku, product.name, "  # noqa: S608
        f"(SELECT SUM(level.on_hand) FROM {levels} AS level WHERE level.product_id = product.id), "
        f"(SELECT SUM(level.on_order) FROM {levels} AS level WHERE level.product_id = product.id), "
        f"(SELECT SUM(sold.units) - SUM(sold.return_units) FROM {days} AS sold "
        "WHERE sold.product_id = product.id AND sold.day >= %s) "
        f"FROM {Product._meta.db_table} AS product WHERE product.supplier_id = %s"
        + (" AND product.sku > %s" if after_sku else "")
        + " ORDER BY product.sku LIMIT %s"
    )


def inventory_by_product(*, supplier_id: int, after_sku: str = "", size: int = 50) -> dict[str, Any]:
    """A page of the supplier's products by SKU (keyset) with stock, recent sales and weeks of supply.

    One query whatever the page size. Each row has the product's ``product_id``, ``sku`` and ``name``.
    """
    since = timezone.localdate() - dt.timedelta(days=RECENT_SALES_DAYS - 1)
    params: list[Any] = [since, supplier_id, *([after_sku] if after_sku else []), size + 1]
    with connection.cursor() as cursor:
        cursor.execute(_inventory_page_sql(after_sku), params)
        page = cursor.fetchall()
    rows = page[:size]
    return {
        "rows": [
            _stock_row(product_id, sku, name, on_hand, on_order, sold)
            for product_id, sku, name, on_hand, on_order, sold in rows
        ],
        "next_sku": rows[-1][1] if len(page) > size else None,
    }


def _stock_row(
    product_id: int, sku: str, name: str, on_hand: int | None, on_order: int | None, recent_units: int | None
) -> dict[str, Any]:
    on_hand, recent_units = int(on_hand or 0), int(recent_units or 0)
    weekly = Decimal(recent_units) * 7 / RECENT_SALES_DAYS
    weeks = (Decimal(max(on_hand, 0)) / weekly).quantize(Decimal("0.1")) if weekly > 0 else None
    return {
        "product_id": product_id,
        "sku": sku,
        "name": name,
        "on_hand": on_hand,
        "on_order": int(on_order or 0),
        "recent_units": recent_units,
        "weeks_of_supply": weeks,
        "low_stock": on_hand <= 0 or (weeks is not None and weeks < LOW_STOCK_WEEKS),
    }


def inventory_rows_for_export(*, supplier_id: int) -> Any:
    """Every stock row of the supplier (product × location), streamed by SKU for a CSV file."""
    return (
        InventoryLevel.objects.filter(product__supplier_id=supplier_id)
        .order_by("product__sku", "location__name")
        .values_list("product__sku", "product__name", "location__name", "on_hand", "on_order")
        .iterator(chunk_size=5000)
    )


def profitability(*, supplier_id: int, period: Period) -> dict[str, Any]:
    """Totals of the range with sell-through: net units sold over those units plus what is on hand now."""
    totals = sales_totals(supplier_id=supplier_id, period=period)
    on_hand = max(inventory_totals(supplier_id=supplier_id)["on_hand"], 0)
    sold = totals["net_units"]
    totals["on_hand"] = on_hand
    totals["sell_through"] = (
        (Decimal(sold) / (sold + on_hand) * 100).quantize(Decimal("0.1")) if sold + on_hand > 0 else None
    )
    return totals
