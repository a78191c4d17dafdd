"""Event ingestion and identity resolution (customers/ingest/)."""

import copy
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.models import OutboxMessage
from customers.ingest import MAX_BATCH, BatchTooLarge, events_ingest
from customers.models import Customer, CustomerAnalytics, CustomerIdentity, Interaction, PurchaseLine
from tests.factories import (
    CustomerFactory,
    CustomerIdentityFactory,
    LocationFactory,
    ProductFactory,
    SourceSystemFactory,
)

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture
def pos():
    return SourceSystemFactory(code="pos", name="POS", trust_email=True, trust_phone=True)


@pytest.fixture
def web():
    return SourceSystemFactory(code="web", name="Web", kind="web", trust_email=False, trust_phone=False)


def event(n: int = 1, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "source": "pos",
        "external_id": f"T-{n}",
        "customer": {
            "source": "pos",
            "id": f"C-{n}",
            "email": f"minji{n}@example.kr",
            "phone": f"010-2{n:03d}-77{n:02d}",
        },
        "kind": "web_visit",
        "channel": "web",
        "occurred_at": "2026-11-20T14:03:00+09:00",
        "summary": "Visited",
    }
    data.update(overrides)
    return data


def statuses(result) -> list[str]:
    return [item.status for item in result.results]


def test_the_same_batch_three_times_adds_its_rows_once(pos) -> None:
    product = ProductFactory(sku="NB-1080-270")
    batch = [
        event(1),
        event(
            2,
            kind="purchase",
            channel="store",
            amount="129000",
            currency="KRW",
            lines=[{"sku": product.sku, "quantity": 1, "unit_price": "129000"}],
        ),
        event(3, kind="survey", channel="email", nps_score=9),
    ]
    first = events_ingest(events=copy.deepcopy(batch))
    assert statuses(first) == ["created", "created", "created"]
    for _ in range(2):
        again = events_ingest(events=copy.deepcopy(batch))
        assert statuses(again) == ["duplicate", "duplicate", "duplicate"]
        assert [i.id for i in again.results] == [i.id for i in first.results]
        assert [i.customer_id for i in again.results] == [i.customer_id for i in first.results]
    assert Interaction.objects.count() == 3
    assert PurchaseLine.objects.count() == 1
    assert Customer.objects.count() == 3
    assert CustomerIdentity.objects.count() == 3


def test_answer_shape_matches_the_integration_contract(pos) -> None:
    events_ingest(events=[event(2)])
    answer = events_ingest(events=[event(1), event(2), event(3, occurred_at="yesterday")]).as_dict()
    assert answer["created"] == 1 and answer["duplicates"] == 1 and answer["rejected"] == 1
    assert answer["results"][0]["status"] == "created" and answer["results"][0]["index"] == 0
    assert set(answer["results"][0]) == {"index", "status", "id", "customer_id", "match"}
    assert answer["results"][1]["status"] == "duplicate"
    assert answer["results"][2] == {
        "index": 2,
        "status": "rejected",
        "errors": {"occurred_at": [{"code": "invalid", "message": "Not an ISO 8601 time."}]},
    }


def test_an_event_twice_in_one_batch_is_stored_once(pos) -> None:
    result = events_ingest(events=[event(1), event(1)])
    assert statuses(result) == ["created", "duplicate"]
    assert result.results[0].id == result.results[1].id
    assert Interaction.objects.count() == 1


def test_valid_items_are_stored_when_others_are_rejected(pos) -> None:
    result = events_ingest(events=[event(1), event(2, kind="teleport"), event(3)])
    assert statuses(result) == ["created", "rejected", "created"]
    assert Interaction.objects.count() == 2


def test_purchase_lines_are_stored_against_catalog_products(pos) -> None:
    store = LocationFactory(code="gangnam")
    shoe = ProductFactory(sku="NB-1080-270", cost=Decimal("70000"))
    result = events_ingest(
        events=[
            event(
                1,
                kind="purchase",
                channel="store",
                currency="KRW",
                location="gangnam",
                lines=[{"sku": "NB-1080-270", "quantity": 2, "unit_price": "129000"}],
            )
        ]
    )
    interaction = Interaction.objects.get(pk=result.results[0].id)
    assert interaction.amount == Decimal("258000.00")  # the lines' sum when no amount is given
    line = PurchaseLine.objects.get(interaction=interaction)
    assert (line.product, line.supplier, line.location) == (shoe, shoe.supplier, store)
    assert (line.quantity, line.unit_price, line.unit_cost, line.currency) == (
        2,
        Decimal("129000"),
        Decimal("70000"),
        "KRW",
    )
    assert line.occurred_at == interaction.occurred_at and not line.is_return


def test_an_unknown_sku_is_reported_not_dropped(pos) -> None:
    ProductFactory(sku="KNOWN")
    result = events_ingest(
        events=[
            event(
                1,
                kind="purchase",
                channel="store",
                amount="1000",
                currency="KRW",
                lines=[{"sku": "KNOWN", "quantity": 1}, {"sku": "NOPE", "quantity": 1}],
            )
        ]
    )
    assert result.results[0].status == "rejected"
    assert result.results[0].errors == {
        "lines.1.sku": [{"code": "unknown_sku", "message": "No product has the SKU 'NOPE'."}]
    }
    assert Interaction.objects.count() == 0


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"source": None}, "source", "required"),
        ({"source": "fax"}, "source", "unknown_source"),
        ({"external_id": ""}, "external_id", "required"),
        ({"external_id": 123}, "external_id", "invalid"),
        ({"kind": "teleport"}, "kind", "invalid_choice"),
        ({"channel": "pigeon"}, "channel", "invalid_choice"),
        ({"occurred_at": "2026-11-20T14:03:00"}, "occurred_at", "naive"),
        ({"occurred_at": "2026-13-45T00:00:00Z"}, "occurred_at", "invalid"),
        ({"amount": "12.345", "currency": "KRW"}, "amount", "max_decimal_places"),
        ({"amount": "lots", "currency": "KRW"}, "amount", "invalid"),
        ({"amount": True, "currency": "KRW"}, "amount", "invalid"),
        ({"amount": "100"}, "currency", "required"),
        ({"amount": "100", "currency": "won"}, "currency", "invalid"),
        ({"nps_score": 9}, "nps_score", "invalid"),
        ({"kind": "survey", "nps_score": 11}, "nps_score", "invalid"),
        ({"properties": [1, 2]}, "properties", "invalid"),
        ({"customer": None}, "customer", "required"),
        ({"customer": {"name": "nobody"}}, "customer", "required"),
        ({"customer": {"email": "not-an-email"}}, "customer.email", "invalid"),
        ({"customer": {"id": "C-1", "source": "fax"}}, "customer.source", "unknown_source"),
        ({"location": "atlantis"}, "location", "unknown_location"),
        ({"kind": "purchase", "channel": "store"}, "amount", "required"),
        ({"lines": [{"sku": "X"}]}, "lines", "invalid"),
        ({"colour": "red"}, "colour", "unknown_field"),
    ],
)
def test_bad_input_names_the_field(pos, overrides: dict[str, Any], field: str, code: str) -> None:
    result = events_ingest(events=[event(1, **overrides)])
    item = result.results[0]
    assert item.status == "rejected" and item.errors is not None
    assert code in [error["code"] for error in item.errors[field]]
    assert Interaction.objects.count() == 0 and Customer.objects.count() == 0


def test_a_non_object_item_is_rejected(pos) -> None:
    result = events_ingest(events=["nope", 3, event(1)])
    assert statuses(result) == ["rejected", "rejected", "created"]


def test_more_than_the_batch_limit_is_refused_whole(pos) -> None:
    with pytest.raises(BatchTooLarge):
        events_ingest(events=[event(n) for n in range(MAX_BATCH + 1)])
    assert Interaction.objects.count() == 0


# --- identity resolution ------------------------------------------------------------------------


def test_match_by_source_identity_first(pos) -> None:
    known = CustomerIdentityFactory(source_system=pos, external_id="C-1").customer
    CustomerFactory(email="minji1@example.kr")  # would match by email, but the identity wins
    result = events_ingest(events=[event(1)])
    assert (result.results[0].customer_id, result.results[0].match) == (known.pk, "identity")


def test_match_by_trusted_email_then_phone(pos) -> None:
    by_email = CustomerFactory(email="Minji1@Example.kr", phone="")
    by_phone = CustomerFactory(email="", phone="+82 10 2002 7702", phone_normalized="+821020027702")
    result = events_ingest(events=[event(1), event(2)])
    assert [(r.customer_id, r.match) for r in result.results] == [
        (by_email.pk, "email"),
        (by_phone.pk, "phone"),
    ]
    identity = CustomerIdentity.objects.get(source_system=pos, external_id="C-1")
    assert identity.customer == by_email and identity.matched_by == "email"
    assert "trusted by source pos" in identity.match_note


def test_an_untrusted_source_never_matches_by_email_or_phone(web) -> None:
    CustomerFactory(email="minji1@example.kr", phone="010-2001-7701", phone_normalized="+821020017701")
    result = events_ingest(
        events=[
            event(
                1,
                source="web",
                customer={
                    "source": "web",
                    "id": "W-1",
                    "email": "minji1@example.kr",
                    "phone": "010-2001-7701",
                },
            )
        ]
    )
    assert result.results[0].match == "new"
    assert Customer.objects.count() == 2


@pytest.mark.parametrize(
    "customer",
    [
        {"id": "C-9", "email": "test@test.com"},
        {"id": "C-9", "phone": "000-0000-0000"},
        {"id": "C-9", "phone": "010-0000-0000"},
        {"id": "C-9", "email": "none@none.com", "phone": "010-1111-1111"},
    ],
)
def test_placeholders_never_match(pos, customer: dict[str, str]) -> None:
    CustomerFactory(email="test@test.com", phone="000-0000-0000", phone_normalized="+82000000000")
    CustomerFactory(email="none@none.com", phone="010-1111-1111", phone_normalized="+821011111111")
    CustomerFactory(phone="010-0000-0000", phone_normalized="+821000000000")
    result = events_ingest(events=[event(1, customer=customer)])
    assert result.results[0].match == "new"


def test_an_email_shared_by_several_customers_is_ambiguous(pos) -> None:
    CustomerFactory(email="family@example.kr")
    CustomerFactory(email="family@example.kr")
    result = events_ingest(events=[event(1, customer={"id": "C-1", "email": "family@example.kr"})])
    assert result.results[0].match == "new"
    assert "ambiguous" in CustomerIdentity.objects.get(external_id="C-1").match_note


def test_one_new_customer_per_customer_in_a_batch(pos) -> None:
    result = events_ingest(events=[event(1), event(2, customer=event(1)["customer"]), event(3)])
    ids = [r.customer_id for r in result.results]
    assert ids[0] == ids[1] != ids[2]
    assert Customer.objects.count() == 2
    customer = Customer.objects.get(pk=ids[0])
    assert (customer.email, customer.phone_normalized) == ("minji1@example.kr", "+821020017701")


def test_a_customer_named_by_email_only(pos) -> None:
    first = events_ingest(events=[event(1, customer={"email": "solo@example.kr"})])
    second = events_ingest(events=[event(2, customer={"email": "SOLO@example.kr"})])
    assert first.results[0].match == "new" and second.results[0].match == "email"
    assert first.results[0].customer_id == second.results[0].customer_id
    assert CustomerIdentity.objects.count() == 0


def test_merged_customers_are_not_matched_by_email(pos) -> None:
    survivor = CustomerFactory(email="other@example.kr")
    CustomerFactory(email="minji1@example.kr", status="merged", merged_into=survivor)
    result = events_ingest(events=[event(1)])
    assert result.results[0].match == "new"


# --- downstream work ---------------------------------------------------------------------------------


def test_accepted_events_write_an_outbox_row_that_updates_analytics(
    pos, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        result = events_ingest(
            events=[event(1, kind="purchase", channel="store", amount="50000", currency="KRW")]
        )
    message = OutboxMessage.objects.get()
    assert message.topic == "interactions.ingested"
    assert message.payload["customer_ids"] == [result.results[0].customer_id]
    assert message.processed_at is not None  # relayed inline: no broker in tests
    analytics = CustomerAnalytics.objects.get(customer_id=result.results[0].customer_id)
    assert (analytics.purchases_total, analytics.lifetime_value) == (1, Decimal("50000.00"))


def test_a_batch_of_duplicates_writes_no_outbox_row(pos) -> None:
    events_ingest(events=[event(1)])
    events_ingest(events=[event(1)])
    assert OutboxMessage.objects.count() == 1


@pytest.mark.parametrize("size", [3, 60])
def test_a_batch_costs_a_fixed_number_of_queries(pos, size: int) -> None:
    ProductFactory(sku="SKU-A")
    batch = [
        event(n, kind="purchase", channel="store", currency="KRW", lines=[{"sku": "SKU-A", "quantity": 1}])
        for n in range(size)
    ]
    with CaptureQueriesContext(connection) as queries:
        result = events_ingest(events=batch)
    assert result.count("created") == size
    # PostgreSQL: sources, products, savepoint, COPY keys, the one look-up, ids for the new customers,
    # COPY customers, identities COPYed under a savepoint (3), ids for the interactions and their COPY
    # under a savepoint (4), COPY lines, outbox, release; inside a test's transaction the key table is
    # created if missing (1 more), which a session does once outside a transaction in production
    # (``staging_prepare``). SQLite: sources, products, savepoint, existing, identities, email, phone,
    # customers, identities, interactions, lines, outbox, release.
    expected = 17 + 1 if connection.vendor == "postgresql" else 13
    assert len(queries) == expected, [q["sql"][:80] for q in queries.captured_queries]


def test_a_batch_that_loses_a_race_answers_duplicates_and_adds_nothing_twice(pos, monkeypatch) -> None:
    """Issue 3 (throughput): rows the look-up found new are COPYed straight in; when a concurrent batch
    stored them in between, the unique constraints refuse the COPY and the ON CONFLICT path decides."""
    from customers.ingest.identity import Found

    first = events_ingest(events=[event(1), event(2)])
    customers = Customer.objects.count()
    # A concurrent batch stored these events and linked their customers after this batch looked.
    monkeypatch.setattr(
        "customers.ingest.batch.identities_lookup", lambda items, events=False: [Found() for _item in items]
    )
    again = events_ingest(events=[event(1), event(2), event(3)])
    assert statuses(again) == ["duplicate", "duplicate", "created"]
    assert [r.id for r in again.results[:2]] == [r.id for r in first.results]
    assert [r.customer_id for r in again.results[:2]] == [r.customer_id for r in first.results]
    assert Interaction.objects.count() == 3
    assert CustomerIdentity.objects.count() == 3
    # The customers this batch created in vain for C-1 and C-2 are gone; C-3's is new.
    assert Customer.objects.count() == customers + 1


def _rollbacks(queries: CaptureQueriesContext) -> int:
    return sum(q["sql"].startswith("ROLLBACK TO SAVEPOINT") for q in queries.captured_queries)


def test_a_replayed_batch_creates_no_customer_even_where_its_first_try_would(web) -> None:
    """Issue 3 (throughput): on PostgreSQL an API batch is first stored as if all its events were new,
    creating the customers it resolves to none; a replay rolls that back and answers duplicates. Here
    no customer can be found again (an untrusted source, no customer id): each try would make new ones."""
    batch = [event(n, source="web", customer={"email": f"guest{n}@example.kr"}) for n in range(1, 4)]
    first = events_ingest(events=copy.deepcopy(batch))
    assert statuses(first) == ["created"] * 3
    customers, identities = Customer.objects.count(), CustomerIdentity.objects.count()
    with CaptureQueriesContext(connection) as queries:
        again = events_ingest(events=copy.deepcopy(batch))
    assert statuses(again) == ["duplicate"] * 3
    assert [r.customer_id for r in again.results] == [r.customer_id for r in first.results]
    assert (Customer.objects.count(), CustomerIdentity.objects.count()) == (customers, identities)
    assert Interaction.objects.count() == 3
    if connection.vendor == "postgresql":
        assert _rollbacks(queries) == 1  # the optimistic try, undone


def test_a_batch_of_stored_and_new_events_stores_the_new_ones_once(pos) -> None:
    first = events_ingest(events=[event(1), event(2)])
    customers = Customer.objects.count()
    with CaptureQueriesContext(connection) as queries:
        mixed = events_ingest(events=[event(3), event(1), event(4), event(2), event(3)])
    assert statuses(mixed) == ["created", "duplicate", "created", "duplicate", "duplicate"]
    assert [r.id for r in (mixed.results[1], mixed.results[3])] == [r.id for r in first.results]
    assert mixed.results[4].id == mixed.results[0].id
    assert Interaction.objects.count() == 4
    assert Customer.objects.count() == customers + 2
    assert CustomerIdentity.objects.count() == 4
    assert OutboxMessage.objects.count() == 2
    # A batch of new events stores in one try; this one needed the second.
    if connection.vendor == "postgresql":
        assert _rollbacks(queries) == 1
        with CaptureQueriesContext(connection) as fresh:
            events_ingest(events=[event(5), event(6)])
        assert _rollbacks(fresh) == 0


def test_staging_tables_are_created_once_per_session_outside_transactions(pos) -> None:
    """Issue 3 (throughput): after a first batch, a session's batches skip the CREATE TEMPORARY TABLE."""
    events_ingest(events=[event(1)])
    with CaptureQueriesContext(connection) as queries:
        events_ingest(events=[event(2)])
    creates = [q for q in queries.captured_queries if q["sql"].startswith("CREATE TEMPORARY")]
    # Inside the test's transaction the tables cannot be kept (a rollback would drop them).
    assert len(creates) == (1 if connection.vendor == "postgresql" else 0)


def test_the_garbage_collector_is_on_again_after_a_batch_even_a_failing_one(pos, monkeypatch) -> None:
    """Issue 3: a batch runs with Python's cyclic collector paused, and must hand it back."""
    import gc

    from customers.ingest import batch

    assert gc.isenabled()
    events_ingest(events=[event(1)])
    assert gc.isenabled()

    def boom(**kwargs: Any) -> None:
        assert not gc.isenabled()
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(batch, "events_store", boom)
    with pytest.raises(RuntimeError):
        events_ingest(events=[event(2)])
    assert gc.isenabled()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="binary COPY is PostgreSQL's")
def test_the_types_binary_copy_declares_are_the_columns_own() -> None:
    """Issue 3: rows go into their tables by COPY in binary format, which refuses a value of another
    type than its column's (varchar takes text's format)."""
    from customers.ingest.identity import _CUSTOMER_DEFAULTS, _CUSTOMER_TYPES
    from customers.ingest.writes import _IDENTITY_COLUMNS, _INTERACTION_COLUMNS, _LINE_COLUMNS

    tables = {
        "customers_interaction": _INTERACTION_COLUMNS,
        "customers_purchaseline": _LINE_COLUMNS,
        "customers_customeridentity": _IDENTITY_COLUMNS,
        "customers_customer": tuple(
            zip(["id", "created_at", "updated_at", *_CUSTOMER_DEFAULTS], _CUSTOMER_TYPES, strict=True)
        ),
    }
    with connection.cursor() as cursor:
        for table, columns in tables.items():
            for name, declared in columns:
                cursor.execute(
                    "SELECT a.atttypid = %s::regtype OR (a.atttypid = 'varchar'::regtype AND %s = 'text') "
                    "FROM pg_attribute a WHERE a.attrelid = %s::regclass AND a.attname = %s",
                    [declared, declared, table, name],
                )
                assert cursor.fetchone() == (True,), (table, name, declared)
