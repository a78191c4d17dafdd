"""The monthly review of the access log (customers/privacy/review.py, its page and command)."""

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client

from crm.roles import Role
from customers.privacy.chain import chain_append
from customers.privacy.models import AccessRecord
from customers.privacy.review import access_review
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SEOUL = ZoneInfo("Asia/Seoul")


def record_at(at: dt.datetime, user, customer_ids: list[int], action: str = "view", reason: str = "") -> None:
    """An access record at a given time (the chain is not what these tests are about)."""
    record = chain_append(
        user_id=user.pk,
        username=user.username,
        ip="10.0.0.9",
        action=action,
        route="GET test",
        customer_ids=customer_ids,
        reason=reason,
    )
    from tests.customers.privacy.test_chain import tamper

    # As the ORM stores a time (on SQLite: UTC text), so that the database's own date functions read it.
    stored = connection.ops.adapt_datetimefield_value(at)
    tamper("UPDATE customers_accessrecord SET at = %s WHERE seq = %s", [stored, record.seq])


@pytest.fixture
def month_of_records(settings):
    settings.CRM_REVIEW_SPIKE_MIN = 5
    rep, night_owl = UserFactory(username="rep"), UserFactory(username="owl")
    # The three months before: rep reads 2 customers a month.
    for month in (8, 9, 10):
        record_at(dt.datetime(2026, month, 10, 10, tzinfo=SEOUL), rep, [1, 2])
    # November: rep reads 30 customers (well above 2), owl reads at 23:00 and downloads at 02:00 on a Sunday.
    record_at(dt.datetime(2026, 11, 3, 10, tzinfo=SEOUL), rep, list(range(1, 21)))
    record_at(dt.datetime(2026, 11, 4, 11, tzinfo=SEOUL), rep, list(range(11, 31)))
    record_at(dt.datetime(2026, 11, 5, 23, tzinfo=SEOUL), night_owl, [5])
    record_at(
        dt.datetime(2026, 11, 22, 2, tzinfo=SEOUL), night_owl, [], action="download", reason="monthly report"
    )
    record_at(dt.datetime(2026, 12, 1, 10, tzinfo=SEOUL), rep, [99])  # another month
    return rep, night_owl


def test_the_review_counts_users_off_hours_downloads_and_spikes(month_of_records) -> None:
    review = access_review(month=dt.date(2026, 11, 1))
    users = {user.username: user for user in review.users}
    assert (users["rep"].customer_count, users["rep"].records, round(users["rep"].usual, 1)) == (30, 2, 2.0)
    assert users["rep"].spike and not users["owl"].spike
    assert (users["owl"].off_hours, users["owl"].downloads) == (2, 1)
    assert [row["reason"] for row in review.downloads] == ["monthly report"]
    assert len(list(review.off_hours)) == 2 == review.off_hours_total


def test_the_page_and_its_csv(client: Client, month_of_records) -> None:
    client.force_login(UserFactory(role=Role.ADMINISTRATOR))
    page = client.get("/customers/privacy/review/", {"month": "2026-11"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "monthly report" in html and "owl" in html
    response = client.get("/customers/privacy/review/", {"month": "2026-11", "format": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode().lstrip("\ufeff"))))
    assert rows[0][0] == "section"
    assert ["users", "rep", "2", "30", "2.0", "0", "0", "yes"] in rows
    assert any(row[:1] == ["downloads"] and row[-1] == "monthly report" for row in rows)
    assert client.get("/customers/privacy/review/", {"month": "November"}).status_code == 400


@pytest.mark.parametrize("role", [Role.SERVICE_REP, Role.MARKETER, Role.SUPPLIER_ADMIN])
def test_the_page_needs_the_review_permission(client: Client, role: Role) -> None:
    client.force_login(UserFactory(role=role))
    assert client.get("/customers/privacy/review/").status_code == 403


def test_the_command(month_of_records, capsys) -> None:
    call_command("access_review", month="2026-11")
    out = capsys.readouterr().out
    assert "rep: 30 customers in 2 records (usual 2)" in out and "WELL ABOVE USUAL" in out
    assert "monthly report" in out
    call_command("access_review", month="2026-11", csv=True)
    assert "users,rep,2,30,2.0,0,0,yes" in capsys.readouterr().out
    assert AccessRecord.objects.count() == 8


def test_off_hours_are_counted_in_local_time_at_the_edges(settings) -> None:
    settings.CRM_OFFICE_HOURS = (8, 20)
    user = UserFactory(username="edge")
    times = [
        dt.datetime(2026, 11, 2, 7, 59, tzinfo=SEOUL),  # Monday, before 08:00: off
        dt.datetime(2026, 11, 2, 8, 0, tzinfo=SEOUL),  # in
        dt.datetime(2026, 11, 2, 19, 59, tzinfo=SEOUL),  # in
        dt.datetime(2026, 11, 2, 20, 0, tzinfo=SEOUL),  # off
        dt.datetime(2026, 11, 7, 12, 0, tzinfo=SEOUL),  # Saturday: off
        dt.datetime(2026, 11, 8, 12, 0, tzinfo=SEOUL),  # Sunday: off
        dt.datetime(
            2026, 11, 1, 0, 30, tzinfo=SEOUL
        ),  # the month's first half hour (Sunday, still October in UTC)
    ]
    for at in times:
        record_at(at, user, [1])

    review = access_review(month=dt.date(2026, 11, 1))

    from customers.privacy.review import is_off_hours

    assert [row["at"] for row in review.off_hours] == [at for at in sorted(times) if is_off_hours(at)]
    assert review.users[0].off_hours == 5 and review.users[0].records == 7


def test_the_page_lists_the_first_records_and_says_how_many_there_are(client: Client, settings) -> None:
    from customers.privacy import views

    settings.CRM_OFFICE_HOURS = (8, 20)
    user = UserFactory(username="owl")
    for day in range(1, 5):
        record_at(dt.datetime(2026, 11, day, 23, tzinfo=SEOUL), user, [day])
    client.force_login(UserFactory(role=Role.ADMINISTRATOR))
    settings_rows, views.REVIEW_ROWS = views.REVIEW_ROWS, 3
    try:
        html = client.get("/customers/privacy/review/", {"month": "2026-11"}).content.decode()
        rows = list(
            csv.reader(
                io.StringIO(
                    client.get("/customers/privacy/review/", {"month": "2026-11", "format": "csv"})
                    .getvalue()
                    .decode("utf-8-sig")
                )
            )
        )
    finally:
        views.REVIEW_ROWS = settings_rows

    assert "The first 3 of 4" in html
    assert sum(row[:1] == ["off_hours"] for row in rows) == 4
