"""The monthly review of the access log: for a month, who accessed how many customers, accesses out of
office hours, downloads and exports with their reasons, and users whose volume is well above their usual.

Office hours are ``CRM_OFFICE_HOURS`` (default 08–20) on weekdays, in ``TIME_ZONE``. "Well above usual"
means more than ``CRM_REVIEW_SPIKE_FACTOR`` (3) times the user's monthly average over the three months
before, and at least ``CRM_REVIEW_SPIKE_MIN`` (100) customers.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings

from customers.privacy.log import FILE_ACTIONS
from customers.privacy.models import AccessRecord


@dataclass
class UserMonth:
    user_id: int | None
    username: str
    records: int = 0
    customers: set[int] = field(default_factory=set)
    off_hours: int = 0
    downloads: int = 0
    usual: float = 0.0

    @property
    def customer_count(self) -> int:
        return len(self.customers)

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
    off_hours: list[dict[str, Any]]
    downloads: list[dict[str, Any]]

    @property
    def spikes(self) -> list[UserMonth]:
        return [user for user in self.users if user.spike]


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


def _records(start: dt.datetime, end: dt.datetime) -> Iterator[Any]:
    return (
        AccessRecord.objects.filter(at__gte=start, at__lt=end)
        .order_by("at")
        .values("id", "at", "user_id", "username", "ip", "action", "route", "customer_ids", "reason")
        .iterator(chunk_size=5000)
    )


def _usual(user_ids: list[int | None], month: dt.date) -> dict[int | None, float]:
    """Each user's average number of distinct customers a month over the three months before."""
    totals: dict[int | None, float] = defaultdict(float)
    first = month
    for _ in range(3):
        first = (first.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
        start, end = month_bounds(first)
        seen: dict[int | None, set[int]] = defaultdict(set)
        for row in (
            AccessRecord.objects.filter(at__gte=start, at__lt=end, user_id__in=user_ids)
            .values_list("user_id", "customer_ids")
            .iterator(chunk_size=5000)
        ):
            seen[row[0]].update(row[1])
        for user_id, customers in seen.items():
            totals[user_id] += len(customers) / 3
    return totals


def access_review(*, month: dt.date) -> Review:
    """The review of one month (any day of it)."""
    start, end = month_bounds(month)
    users: dict[int | None, UserMonth] = {}
    off_hours: list[dict[str, Any]] = []
    downloads: list[dict[str, Any]] = []
    for row in _records(start, end):
        if row["action"] == "purge":
            continue
        user = users.setdefault(row["user_id"], UserMonth(row["user_id"], row["username"] or "—"))
        user.records += 1
        user.customers.update(row["customer_ids"])
        row["customer_count"] = len(row["customer_ids"])
        if is_off_hours(row["at"]):
            user.off_hours += 1
            off_hours.append(row)
        if row["action"] in FILE_ACTIONS:
            user.downloads += 1
            downloads.append(row)
    usual = _usual(list(users), month)
    for user_id, user in users.items():
        user.usual = usual.get(user_id, 0.0)
    ranked = sorted(users.values(), key=lambda user: (-user.customer_count, user.username))
    return Review(month=start.date(), users=ranked, off_hours=off_hours, downloads=downloads)


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
