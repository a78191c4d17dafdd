"""The monthly review of the access log: for a month, who accessed how many customers, accesses out of
office hours, downloads and exports with their reasons, and users whose volume is well above their usual.

Office hours are ``CRM_OFFICE_HOURS`` (default 08–20) on weekdays, in ``TIME_ZONE``. "Well above usual"
means more than ``CRM_REVIEW_SPIKE_FACTOR`` (3) times the user's monthly average over the three months
before, and at least ``CRM_REVIEW_SPIKE_MIN`` (100) customers.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db.models import Count, Max, Q, QuerySet
from django.db.models.functions import ExtractHour, ExtractIsoWeekDay

from customers.privacy.log import FILE_ACTIONS
from customers.privacy.models import AccessAction, AccessRecord


@dataclass
class UserMonth:
    user_id: int | None
    username: str
    records: int = 0
    customer_count: int = 0
    off_hours: int = 0
    downloads: int = 0
    usual: float = 0.0

    @property
    def spike(self) -> bool:
        factor = settings.CRM_REVIEW_SPIKE_FACTOR
        return (
            self.customer_count >= settings.CRM_REVIEW_SPIKE_MIN and self.customer_count > factor * self.usual
        )


@dataclass
class Review:
    month: dt.date
    users: list[UserMonth]
    # Lists with ``rows_limit``, else streams to be read once (the CSV, the command).
    off_hours: Iterable[dict[str, Any]]
    downloads: Iterable[dict[str, Any]]

    @property
    def spikes(self) -> list[UserMonth]:
        return [user for user in self.users if user.spike]

    @property
    def off_hours_total(self) -> int:
        return sum(user.off_hours for user in self.users)

    @property
    def downloads_total(self) -> int:
        return sum(user.downloads for user in self.users)


def parse_month(text: str) -> dt.date:
    """``"2026-11"`` → the first day of that month; ValueError otherwise."""
    year, _dash, month = text.strip().partition("-")
    if not (year.isdigit() and month.isdigit() and len(year) == 4):
        raise ValueError(text)
    return dt.date(int(year), int(month), 1)


def month_bounds(month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    zone = ZoneInfo(settings.TIME_ZONE)
    start = dt.datetime(month.year, month.month, 1, tzinfo=zone)
    end = dt.datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=zone)
    return start, end


def is_off_hours(at: dt.datetime) -> bool:
    local = at.astimezone(ZoneInfo(settings.TIME_ZONE))
    start, end = settings.CRM_OFFICE_HOURS
    return local.weekday() >= 5 or not start <= local.hour < end


def _month(start: dt.datetime, end: dt.datetime) -> QuerySet[AccessRecord]:
    """A month's records, the retention purge's own left out, with the local hour and ISO weekday."""
    zone = ZoneInfo(settings.TIME_ZONE)
    return (
        AccessRecord.objects.filter(at__gte=start, at__lt=end)
        .exclude(action=AccessAction.PURGE)
        .annotate(
            local_hour=ExtractHour("at", tzinfo=zone), local_weekday=ExtractIsoWeekDay("at", tzinfo=zone)
        )
    )


def _off_hours() -> Q:
    """Saturdays, Sundays, and hours outside ``CRM_OFFICE_HOURS``, in local time (as ``is_off_hours``)."""
    start, end = settings.CRM_OFFICE_HOURS
    return Q(local_weekday__gte=6) | Q(local_hour__lt=start) | Q(local_hour__gte=end)


def _distinct_customers(start: dt.datetime, end: dt.datetime) -> dict[int | None, int]:
    """Per account, the number of distinct customers its records of ``[start, end)`` name: the lists are
    unnested in the database (PostgreSQL's ``jsonb_array_elements_text``, SQLite's ``json_each``)."""
    table = AccessRecord._meta.db_table
    elements = (
        "CROSS JOIN LATERAL jsonb_array_elements_text(r.customer_ids) AS c (value)"
        if connection.vendor == "postgresql"
        else "CROSS JOIN json_each(r.customer_ids) AS c"
    )
    sql = (
        "SELECT r.user_id, COUNT(DISTINCT CAST(c.value AS bigint)) "  # noqa: S608  # names only
        f"FROM {table} r {elements} "
        "WHERE r.at >= %s AND r.at < %s AND r.action <> %s GROUP BY r.user_id"
    )
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(sql, [adapt(start), adapt(end), AccessAction.PURGE])
        return {user_id: int(count) for user_id, count in cursor.fetchall()}


def _usual(month: dt.date) -> dict[int | None, float]:
    """Each account's average number of distinct customers a month over the three months before."""
    totals: dict[int | None, float] = defaultdict(float)
    first = month
    for _ in range(3):
        first = (first.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
        for user_id, count in _distinct_customers(*month_bounds(first)).items():
            totals[user_id] += count / 3
    return totals


def _rows(records: QuerySet[AccessRecord], limit: int | None) -> Iterable[dict[str, Any]]:
    """The first ``limit`` records as a list, or (None) all of them streamed in chunks, read once."""
    fields = ("id", "at", "user_id", "username", "ip", "action", "route", "customer_count", "reason")
    rows = records.order_by("at", "id").values(*fields)
    return list(rows[:limit]) if limit is not None else rows.iterator(chunk_size=5000)


def access_review(*, month: dt.date, rows_limit: int | None = None) -> Review:
    """The review of one month (any day of it), counted in the database: a query per account for the
    counts, one for the distinct customers of the month and one each for the three months before. The
    off-hours and download records come in time order, the first ``rows_limit`` of each (all with None:
    the CSV and the command take all; the page shows the first ones and the totals)."""
    start, end = month_bounds(month)
    records = _month(start, end)
    counts = (
        records.values("user_id")
        .annotate(
            records=Count("id"),
            username=Max("username"),
            off_hours=Count("id", filter=_off_hours()),
            downloads=Count("id", filter=Q(action__in=FILE_ACTIONS)),
        )
        .order_by()
    )
    distinct = _distinct_customers(start, end)
    usual = _usual(month)
    users = [
        UserMonth(
            user_id=row["user_id"],
            username=row["username"] or "—",
            records=row["records"],
            customer_count=distinct.get(row["user_id"], 0),
            off_hours=row["off_hours"],
            downloads=row["downloads"],
            usual=usual.get(row["user_id"], 0.0) if row["user_id"] is not None else 0.0,
        )
        for row in counts
    ]
    users.sort(key=lambda user: (-user.customer_count, user.username))
    return Review(
        month=start.date(),
        users=users,
        off_hours=_rows(records.filter(_off_hours()), rows_limit),
        downloads=_rows(records.filter(action__in=FILE_ACTIONS), rows_limit),
    )


def review_csv_rows(review: Review) -> Iterator[list[Any]]:
    """The review as CSV rows: one section after another."""
    yield ["section", "user", "records", "customers", "usual_customers", "off_hours", "downloads", "spike"]
    for user in review.users:
        yield [
            "users",
            user.username,
            user.records,
            user.customer_count,
            round(user.usual, 1),
            user.off_hours,
            user.downloads,
            "yes" if user.spike else "",
        ]
    yield []
    yield ["section", "record", "time", "user", "ip", "action", "route", "customers", "reason"]
    for name, rows in (("off_hours", review.off_hours), ("downloads", review.downloads)):
        for row in rows:
            yield [
                name,
                row["id"],
                row["at"].isoformat(),
                row["username"],
                row["ip"],
                row["action"],
                row["route"],
                row["customer_count"],
                row["reason"],
            ]
