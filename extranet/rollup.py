"""Folding purchase lines into the daily sales rollups that supplier dashboards read.

Set-based: one ``INSERT … SELECT … GROUP BY … ON CONFLICT DO UPDATE`` per rollup table and id range, on
PostgreSQL and SQLite alike. The watermark moves in the same transaction as the sums it covers, and the
state row is locked for the fold, so two folds never count a line twice. See ``SalesRollupState`` for
why a fold stops at a horizon that lags the newest line.
"""

import datetime as dt

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone

from customers.models import PurchaseLine
from extranet.models import (
    ProductSalesDay,
    ProductSalesMonth,
    SalesRollupState,
    SupplierSalesDay,
    SupplierSalesMonth,
    SupplierSalesWeek,
)

CHUNK_LINES = 500_000

_FIGURES = """
    SUM(CASE WHEN is_return THEN 0 ELSE quantity END),
    SUM(CASE WHEN is_return THEN 0 ELSE quantity * unit_price END),
    SUM(CASE WHEN is_return THEN 0 ELSE quantity * unit_cost END),
    SUM(CASE WHEN is_return THEN quantity ELSE 0 END),
    SUM(CASE WHEN is_return THEN quantity * unit_price ELSE 0 END),
    SUM(CASE WHEN is_return THEN quantity * unit_cost ELSE 0 END)
"""
_FIGURE_COLUMNS = ("units", "revenue", "cost", "return_units", "return_revenue", "return_cost")


def _day_expression() -> str:
    """SQL for a line's calendar day in ``TIME_ZONE`` (one placeholder: the zone name)."""
    if connection.vendor == "postgresql":
        return "(occurred_at AT TIME ZONE %s)::date"
    return "django_datetime_cast_date(occurred_at, %s, 'UTC')"


def _month_expression() -> str:
    """SQL for the first day of a line's calendar month in ``TIME_ZONE`` (one placeholder: the zone)."""
    if connection.vendor == "postgresql":
        return "date_trunc('month', occurred_at AT TIME ZONE %s)::date"
    return "date(django_datetime_cast_date(occurred_at, %s, 'UTC'), 'start of month')"


def _week_expression() -> str:
    """SQL for the Monday of a line's week in ``TIME_ZONE`` (one placeholder: the zone)."""
    if connection.vendor == "postgresql":
        return "date_trunc('week', occurred_at AT TIME ZONE %s)::date"
    return "date(django_datetime_cast_date(occurred_at, %s, 'UTC'), 'weekday 0', '-6 days')"


def _upsert_sql(table: str, keys: tuple[str, ...], selected: tuple[str, ...]) -> str:
    """The statement that adds the lines of an id range to a rollup table's rows."""
    expressions = {"day": _day_expression(), "week": _week_expression(), "month": _month_expression()}
    select_keys = ", ".join(expressions.get(column, column) for column in selected)
    updates = ", ".join(f"{column} = {table}.{column} + excluded.{column}" for column in _FIGURE_COLUMNS)
    return (
        f"INSERT INTO {table} ({', '.join(keys)}, {', '.join(_FIGURE_COLUMNS)}) "  # noqa: S608
        f"SELECT {select_keys}, {_FIGURES} FROM {PurchaseLine._meta.db_table} "
        f"WHERE id > %s AND id <= %s GROUP BY {select_keys} "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}"
    )


# Each rollup: its model, and its period column ("day", "week" or "month", computed from the line's time).
# Supplier rollups are per channel and location, product rollups per product.
_ROLLUPS: tuple[tuple[type[models.Model], str, bool], ...] = (
    (SupplierSalesDay, "day", False),
    (SupplierSalesMonth, "month", False),
    (SupplierSalesWeek, "week", False),
    (ProductSalesDay, "day", True),
    (ProductSalesMonth, "month", True),
)


def _fold_range(after: int, up_to: int) -> None:
    # The day, week or month expression's zone is bound twice: in the SELECT list and in the GROUP BY.
    params: list[str | int] = [settings.TIME_ZONE, after, up_to, settings.TIME_ZONE]
    with connection.cursor() as cursor:
        for model, period, per_product in _ROLLUPS:
            keys: tuple[str, ...]
            selected: tuple[str, ...]
            if per_product:
                keys = selected = ("supplier_id", period, "product_id")
            else:
                keys = ("supplier_id", period, "channel", "location_id_or_zero")
                selected = ("supplier_id", period, "channel", "COALESCE(location_id, 0)")
            cursor.execute(_upsert_sql(model._meta.db_table, keys, selected), params)


def sales_rollup_fold(*, lag: dt.timedelta | None = None, chunk: int = CHUNK_LINES) -> int:
    """Fold the purchase lines added since the last fold into the rollups; return how many ids it covered.

    ``lag`` (default ``EXTRANET_ROLLUP_LAG_SECONDS``) is how long a line id must have been the newest seen
    before lines up to it are folded; ``lag=timedelta(0)`` folds everything committed now (tests, bulk
    loads with no concurrent writers).
    """
    if lag is None:
        lag = dt.timedelta(seconds=settings.EXTRANET_ROLLUP_LAG_SECONDS)
    now = timezone.now()
    newest = PurchaseLine.objects.order_by("-id").values_list("id", flat=True).first() or 0
    covered = 0
    with transaction.atomic():
        state, _created = SalesRollupState.objects.select_for_update().get_or_create(pk=1)
        if lag:
            ready = state.horizon_seen_at is not None and now - state.horizon_seen_at >= lag
            target = state.horizon if ready else state.watermark
        else:
            target = newest
        start = state.watermark
        while start < target:
            end = min(start + chunk, target)
            _fold_range(start, end)
            start = end
        covered = target - state.watermark
        state.watermark = target
        if not lag or state.horizon_seen_at is None or now - state.horizon_seen_at >= lag:
            state.horizon, state.horizon_seen_at = newest, now
        if covered:
            state.folded_at = now  # when the rollups last changed: part of the dashboards' cache keys
        state.save()
    return covered
