"""The outbox relay (crm/outbox.py): messages handled once, merged runs of a topic, failures kept."""

from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from campaigns.models import Segment, SegmentMembership
from crm import outbox
from crm.models import OutboxMessage
from customers.ingest import events_ingest
from customers.models import CustomerAnalytics
from tests.factories import SourceSystemFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def topic(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """A test topic ``t`` that merges by adding up its ``n``; the payloads its handler saw."""
    seen: list[dict[str, Any]] = []

    def handler(payload: dict[str, Any]) -> None:
        if payload.get("fail"):
            raise RuntimeError("no")
        seen.append(payload)

    monkeypatch.setitem(outbox._handlers, "t", [handler])

    def merger(payloads: list[dict[str, Any]]) -> dict[str, Any]:
        merged: dict[str, Any] = {"n": sum(p["n"] for p in payloads)}
        if any(p.get("fail") for p in payloads):
            merged["fail"] = True
        return merged

    monkeypatch.setitem(outbox._mergers, "t", (merger, lambda payload: payload["n"]))
    return seen


def test_consecutive_messages_of_a_merging_topic_are_handled_once(topic) -> None:
    """Issue 3 (ingestion throughput): a backlog of ingested batches costs the handlers' statements once."""
    for n in (1, 2, 3):
        OutboxMessage.objects.create(topic="t", payload={"n": n})
    assert outbox.outbox_relay() == 3
    assert topic == [{"n": 6}]
    assert not OutboxMessage.objects.filter(processed_at__isnull=True).exists()
    assert set(OutboxMessage.objects.values_list("attempts", flat=True)) == {1}


def test_a_run_is_at_most_merge_limit_messages_and_other_topics_keep_their_place(topic, monkeypatch) -> None:
    monkeypatch.setattr(outbox, "MERGE_LIMIT", 2)
    monkeypatch.setattr(outbox, "MERGE_SIZE", 6)
    other: list[dict[str, Any]] = []
    monkeypatch.setitem(outbox._handlers, "other", [other.append])
    for payload in ({"n": 1}, {"n": 2}, {"n": 4}, {"x": 1}, {"n": 8}):
        OutboxMessage.objects.create(topic="other" if "x" in payload else "t", payload=payload)
    assert outbox.outbox_relay() == 5
    assert topic == [{"n": 3}, {"n": 4}, {"n": 8}]
    assert other == [{"x": 1}]


def test_a_run_stops_before_merge_size(topic, monkeypatch) -> None:
    monkeypatch.setattr(outbox, "MERGE_SIZE", 3)
    for n in (1, 2, 1, 5):
        OutboxMessage.objects.create(topic="t", payload={"n": n})
    assert outbox.outbox_relay() == 4
    assert topic == [{"n": 3}, {"n": 1}, {"n": 5}]


def test_a_merged_run_that_fails_is_handled_one_by_one(topic) -> None:
    good = OutboxMessage.objects.create(topic="t", payload={"n": 1})
    bad = OutboxMessage.objects.create(topic="t", payload={"n": 2, "fail": True})
    assert outbox.outbox_relay() == 1
    assert topic == [{"n": 1}]
    good.refresh_from_db()
    bad.refresh_from_db()
    assert good.processed_at is not None and good.attempts == 1
    assert bad.processed_at is None and bad.attempts == 1 and "RuntimeError" in bad.last_error


def test_ingested_batches_relayed_together_count_each_event_once_and_move_segments() -> None:
    """Issue 3: the analytics and segment handlers take several batches' merged message as they take
    each batch's: every purchase is folded in once, and the buyers enter the segment."""
    SourceSystemFactory(code="pos")
    buyers = Segment.objects.create(
        name="Buyers", rule={"field": "purchases_total", "operator": "gte", "value": 2}
    )
    now = timezone.now().isoformat()

    def purchase(n: int, customer: str) -> dict[str, Any]:
        return {
            "source": "pos",
            "external_id": f"T-{n}",
            "customer": {"source": "pos", "id": customer},
            "kind": "purchase",
            "channel": "store",
            "occurred_at": now,
            "amount": "1000",
            "currency": "KRW",
        }

    # Three batches (the relay's enqueue is left out: the on-commit callbacks are not run).
    first = events_ingest(events=[purchase(1, "C-1"), purchase(2, "C-2")])
    events_ingest(events=[purchase(3, "C-1")])
    events_ingest(events=[purchase(4, "C-1"), purchase(5, "C-3")])
    assert OutboxMessage.objects.filter(processed_at__isnull=True).count() == 3
    assert outbox.outbox_relay() == 3
    c1 = first.results[0].customer_id
    analytics = CustomerAnalytics.objects.get(customer_id=c1)
    assert (analytics.purchases_total, analytics.lifetime_value) == (3, Decimal(3000))
    assert set(
        SegmentMembership.objects.filter(segment=buyers, exited_at__isnull=True).values_list(
            "customer_id", flat=True
        )
    ) == {c1}
