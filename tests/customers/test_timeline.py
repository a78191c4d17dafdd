"""The unified timeline's reads (customers/timeline.py), issue 4 item 2: keyset pages, filters, polling."""

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from customers.timeline import (
    InvalidCursor,
    Position,
    TimelineFilters,
    below,
    page_statement,
    timeline_newer,
    timeline_page,
)
from tests.factories import CustomerFactory, InteractionFactory, PurchaseLineFactory, SourceSystemFactory

pytestmark = pytest.mark.django_db

NOON = dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC)


def read_all(customer_id: int, size: int, filters: TimelineFilters | None = None) -> list[int]:
    ids: list[int] = []
    cursor = None
    for _ in range(1000):
        page = timeline_page(customer_id=customer_id, cursor=cursor, size=size, filters=filters)
        ids += [item["id"] for item in page.items]
        if page.next_cursor is None:
            return ids
        cursor = page.next_cursor
    raise AssertionError("the pages never ended")


@pytest.mark.parametrize("size", [1, 2, 3, 7, 50])
def test_keyset_pages_return_every_item_exactly_once_when_timestamps_tie(size: int) -> None:
    customer = CustomerFactory()
    # Three bursts of items sharing one time each, and single items between them.
    times = [NOON] * 7 + [NOON - dt.timedelta(minutes=1)] + [NOON - dt.timedelta(hours=1)] * 5
    times += [NOON + dt.timedelta(seconds=1)] + [NOON - dt.timedelta(days=1)] * 4
    items = [InteractionFactory(customer=customer, occurred_at=at) for at in times]
    InteractionFactory.create_batch(3, occurred_at=NOON)  # another customer's, at the same time

    ids = read_all(customer.pk, size)

    assert len(ids) == len(set(ids)) == len(items)
    expected = sorted(items, key=lambda i: (i.occurred_at, i.pk), reverse=True)
    assert ids == [item.pk for item in expected]


def test_the_next_cursor_is_none_exactly_at_the_end() -> None:
    customer = CustomerFactory()
    InteractionFactory.create_batch(4, customer=customer, occurred_at=NOON)
    first = timeline_page(customer_id=customer.pk, size=2)
    second = timeline_page(customer_id=customer.pk, size=2, cursor=first.next_cursor)
    assert first.next_cursor and second.next_cursor is None
    assert timeline_page(customer_id=customer.pk, size=4).next_cursor is None


def test_filters_by_kind_channel_source_and_date_range() -> None:
    customer = CustomerFactory()
    web = SourceSystemFactory(code="web", name="Website", kind="web")
    visit = InteractionFactory(customer=customer, source_system=web, occurred_at=NOON)
    call = InteractionFactory(
        customer=customer, kind="service_call", channel="phone", occurred_at=NOON - dt.timedelta(days=3)
    )
    old = InteractionFactory(customer=customer, occurred_at=NOON - dt.timedelta(days=30))

    assert read_all(customer.pk, 10, TimelineFilters(kinds=("service_call",))) == [call.pk]
    assert read_all(customer.pk, 10, TimelineFilters(channels=("web",))) == [visit.pk, old.pk]
    assert read_all(customer.pk, 10, TimelineFilters(source="web")) == [visit.pk]
    in_range = TimelineFilters(since=NOON - dt.timedelta(days=5), until=NOON)
    assert read_all(customer.pk, 10, in_range) == [call.pk]
    assert read_all(customer.pk, 1, TimelineFilters(kinds=("web_visit",), channels=("web",))) == [
        visit.pk,
        old.pk,
    ]


def test_items_carry_their_source_and_purchases_their_lines() -> None:
    line = PurchaseLineFactory(quantity=2)
    purchase = line.interaction
    page = timeline_page(customer_id=purchase.customer_id, with_lines=True)
    (item,) = page.items
    assert item["source"] == "pos"
    assert item["lines"] == [
        {
            "quantity": 2,
            "unit_price": line.unit_price,
            "currency": "KRW",
            "sku": line.product.sku,
            "product_name": line.product.name,
            "total": line.unit_price * 2,
        }
    ]


def test_newer_items_are_those_above_the_newest_shown_including_ties() -> None:
    customer = CustomerFactory()
    shown = InteractionFactory(customer=customer, occurred_at=NOON)
    InteractionFactory(customer=customer, occurred_at=NOON - dt.timedelta(hours=1))
    tie = InteractionFactory(customer=customer, occurred_at=NOON)  # same time, later id
    later = InteractionFactory(customer=customer, occurred_at=NOON + dt.timedelta(seconds=5))

    newer = timeline_newer(customer_id=customer.pk, after=Position(occurred_at=NOON, id=shown.pk))
    assert [item["id"] for item in newer] == [later.pk, tie.pk]
    assert timeline_newer(customer_id=customer.pk, after=Position.of(newer[0])) == []


@pytest.mark.parametrize("cursor", ["nonsense", "bm90LWEtY3Vyc29y", Position(NOON, 3).encode() + "x"])
def test_a_cursor_this_module_did_not_make_is_refused(cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        timeline_page(customer_id=1, cursor=cursor)


def test_a_cursor_keeps_the_time_zone_and_the_id() -> None:
    seoul = timezone.localtime(NOON)
    position = Position.decode(Position(occurred_at=seoul, id=42).encode())
    assert position == Position(occurred_at=NOON, id=42)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="reads PostgreSQL's plan")
def test_a_page_is_a_seek_on_the_timeline_index() -> None:
    customer = CustomerFactory()
    InteractionFactory.create_batch(5, customer=customer, occurred_at=NOON)
    first = timeline_page(customer_id=customer.pk, size=2)
    # The statement of the next page, as timeline_page runs it (prepared, so captured with placeholders).
    where, params = below(Position.decode(first.next_cursor or ""))
    sql, values = page_statement(customer.pk, TimelineFilters(source="pos"), where, params, 3)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, values)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "customers_interaction_timeline" in plan
    assert "Sort" not in plan  # the index gives the order: no sort of the customer's history
