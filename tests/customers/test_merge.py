"""Merging customers and undoing merges (customers/merge.py), issue 3 item 4."""

import datetime as dt
import threading
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, connections
from django.forms.models import model_to_dict
from pytest_django import DjangoAssertNumQueries

from crm.models import OutboxMessage
from customers.analytics import customer_analytics_refresh
from customers.ingest import events_ingest
from customers.merge import (
    MergeError,
    customer_lookup,
    customer_merge,
    customer_merge_undo,
    merge_candidates,
    merge_undo_blocker,
)
from customers.models import (
    Consent,
    ConsentChange,
    Contract,
    Customer,
    CustomerAnalytics,
    CustomerIdentity,
    Interaction,
    MergeRecord,
    PurchaseLine,
)
from customers.services import consent_record, customer_update
from tests.factories import (
    ConsentChangeFactory,
    ConsentFactory,
    ContractFactory,
    CustomerFactory,
    CustomerIdentityFactory,
    InteractionFactory,
    PurchaseLineFactory,
    SourceSystemFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 1, 1, 9, 0, tzinfo=dt.UTC)
# customer_analytics_refresh: its savepoint, the statement and the release; on SQLite also the row count,
# which Python's sqlite3 does not report for a statement that opens with WITH.
ANALYTICS_REFRESH = 3 + (connection.vendor == "sqlite")


def days(n: int) -> dt.datetime:
    return T0 + dt.timedelta(days=n)


@pytest.fixture
def pos():
    return SourceSystemFactory(code="pos", name="POS", trust_email=True, trust_phone=True)


def rich_customer(pos, *, interactions: int = 2, **fields: Any) -> Customer:
    """A customer with a row in every table a merge moves."""
    customer = CustomerFactory(**fields)
    CustomerIdentityFactory(customer=customer, source_system=pos, matched_by="email")
    CustomerIdentityFactory(customer=customer, source_system=pos, matched_by="new")
    InteractionFactory.create_batch(interactions, customer=customer, source_system=pos)
    PurchaseLineFactory(interaction__customer=customer, interaction__source_system=pos)
    ContractFactory(customer=customer)
    ConsentChangeFactory(customer=customer, channel="sms", changed_at=days(1))
    ConsentFactory(customer=customer, channel="sms", changed_at=days(1))
    customer_analytics_refresh(customer_ids=[customer.pk])
    return customer


def rows_of(*customers: Customer) -> dict[str, Any]:
    """Every row that belongs to these customers, as plain values, for comparing before and after."""
    ids = [c.pk for c in customers]

    def dump(queryset: Any, exclude: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        return sorted(
            ({k: v for k, v in model_to_dict(row).items() if k not in exclude} for row in queryset),
            key=lambda row: sorted(row.items(), key=str).__repr__(),
        )

    return {
        "customers": [
            {
                f.attname: getattr(c, f.attname)
                for f in Customer._meta.concrete_fields
                if f.name != "updated_at"
            }
            for c in Customer.objects.filter(pk__in=ids).order_by("pk")
        ],
        "identities": dump(CustomerIdentity.objects.filter(customer_id__in=ids).order_by("pk")),
        "identity_ids": sorted(
            CustomerIdentity.objects.filter(customer_id__in=ids).values_list("pk", "customer_id")
        ),
        "interactions": sorted(
            Interaction.objects.filter(customer_id__in=ids).values_list("pk", "customer_id")
        ),
        "lines": sorted(
            PurchaseLine.objects.filter(interaction__customer_id__in=ids).values_list("pk", "interaction_id")
        ),
        "contracts": sorted(Contract.objects.filter(customer_id__in=ids).values_list("pk", "customer_id")),
        "consent_changes": sorted(
            ConsentChange.objects.filter(customer_id__in=ids).values_list("pk", "customer_id")
        ),
        "consents": sorted(
            Consent.objects.filter(customer_id__in=ids).values_list(
                "pk", "customer_id", "channel", "purpose", "granted", "source", "changed_at"
            )
        ),
        "analytics": dump(
            CustomerAnalytics.objects.filter(customer_id__in=ids).order_by("pk"), ("updated_at",)
        ),
    }


# --- merging ----------------------------------------------------------------------------------------


def test_every_table_moves_to_the_survivor(pos) -> None:
    survivor = rich_customer(pos)
    merged = rich_customer(pos, interactions=3)
    merged_identities = dict(CustomerIdentity.objects.filter(customer=merged).values_list("pk", "matched_by"))
    merged_rows = {
        "interactions": set(merged.interactions.values_list("pk", flat=True)),
        "contracts": set(merged.contracts.values_list("pk", flat=True)),
        "consent_changes": set(merged.consent_changes.values_list("pk", flat=True)),
    }
    lines = set(PurchaseLine.objects.filter(interaction__customer=merged).values_list("pk", "interaction_id"))
    actor = UserFactory()

    record = customer_merge(survivor=survivor, merged=merged, actor=actor, reason="same person, two cards")

    assert (record.survivor, record.merged, record.actor, record.reason) == (
        survivor,
        merged,
        actor,
        "same person, two cards",
    )
    for table, ids in merged_rows.items():
        assert set(record.moved[table]) == ids
    assert set(record.moved["identities"]) == set(merged_identities)
    assert record.moved["identity_matched_by"] == {
        "email": [min(merged_identities)],
        "new": [max(merged_identities)],
    }
    assert not Interaction.objects.filter(customer=merged).exists()
    assert not Contract.objects.filter(customer=merged).exists()
    assert not ConsentChange.objects.filter(customer=merged).exists()
    assert not CustomerIdentity.objects.filter(customer=merged).exists()
    assert set(
        CustomerIdentity.objects.filter(pk__in=merged_identities).values_list("matched_by", flat=True)
    ) == {"merge"}
    assert survivor.interactions.count() == 2 + 1 + 3 + 1
    # Purchase lines hang on their interactions: they follow without being touched.
    assert (
        set(PurchaseLine.objects.filter(interaction__customer=survivor).values_list("pk", "interaction_id"))
        >= lines
    )

    merged.refresh_from_db()
    assert (merged.status, merged.merged_into) == (Customer.Status.MERGED, survivor)
    assert record.snapshot["merged"]["status"] == "active"
    assert record.snapshot["survivor"]["id"] == survivor.pk


def test_every_table_that_points_at_customers_is_handled_by_the_merge() -> None:
    """A new table with a foreign key to customers must be moved (or knowingly left) by customer_merge."""
    handled = {
        ("Customer", "merged_into"),  # re-pointed
        ("CustomerIdentity", "customer"),
        ("Interaction", "customer"),  # purchase lines follow their interaction
        ("Contract", "customer"),
        ("Consent", "customer"),
        ("ConsentChange", "customer"),
        ("CustomerAnalytics", "customer"),  # recomputed
        ("MergeRecord", "survivor"),  # the history of merges stays as it was
        ("MergeRecord", "merged"),
        # The campaigns app's merge handler re-evaluates both: the merged customer leaves its segments.
        ("SegmentMembership", "customer"),
    }
    relations = {(r.related_model.__name__, r.field.name) for r in Customer._meta.related_objects}
    assert relations == handled


def test_merge_writes_an_outbox_message() -> None:
    survivor, merged = CustomerFactory(), CustomerFactory()
    record = customer_merge(survivor=survivor, merged=merged, actor=None)
    message = OutboxMessage.objects.get(topic="customers.merged")
    assert message.payload == {
        "merge_id": record.pk,
        "survivor_id": survivor.pk,
        "merged_id": merged.pk,
        "repointed_customer_ids": [],
    }


@pytest.mark.parametrize(
    ("survivor_consent", "merged_consent", "winner"),
    [
        # A later withdrawal beats an earlier grant, whoever holds it.
        ((True, days(1)), (False, days(5)), "merged"),
        ((False, days(5)), (True, days(1)), "survivor"),
        # A later grant beats an earlier withdrawal too: the latest decision is the customer's will.
        ((False, days(1)), (True, days(5)), "merged"),
        ((True, days(5)), (False, days(1)), "survivor"),
        # Made at the same instant: the withdrawal wins.
        ((True, days(3)), (False, days(3)), "merged"),
        ((False, days(3)), (True, days(3)), "survivor"),
    ],
)
def test_consent_conflicts_go_to_the_later_decision(survivor_consent, merged_consent, winner) -> None:
    survivor, merged = CustomerFactory(), CustomerFactory()
    ours = ConsentFactory(
        customer=survivor, channel="email", granted=survivor_consent[0], changed_at=survivor_consent[1]
    )
    theirs = ConsentFactory(
        customer=merged, channel="email", granted=merged_consent[0], changed_at=merged_consent[1]
    )
    only_theirs = ConsentFactory(customer=merged, channel="push", granted=True, changed_at=days(2))

    record = customer_merge(survivor=survivor, merged=merged, actor=None)

    current = Consent.objects.get(customer=survivor, channel="email")
    expected = ours if winner == "survivor" else theirs
    loser = theirs if winner == "survivor" else ours
    assert (current.pk, current.granted, current.changed_at) == (
        expected.pk,
        expected.granted,
        expected.changed_at,
    )
    assert not Consent.objects.filter(pk=loser.pk).exists()
    assert record.moved["consents_deleted"] == [loser.pk]
    assert Consent.objects.get(pk=only_theirs.pk).customer == survivor
    assert not Consent.objects.filter(customer=merged).exists()
    assert {row["id"] for row in record.snapshot["consents"]} == {ours.pk, theirs.pk, only_theirs.pk}


def test_customers_merged_into_the_merged_one_point_at_the_survivor() -> None:
    survivor, middle, earliest = CustomerFactory(), CustomerFactory(), CustomerFactory()
    customer_merge(survivor=middle, merged=earliest, actor=None)

    record = customer_merge(survivor=survivor, merged=middle, actor=None)

    earliest.refresh_from_db()
    assert (earliest.status, earliest.merged_into) == (Customer.Status.MERGED, survivor)
    assert record.moved["customers"] == [earliest.pk]
    assert Customer.objects.filter(merged_into=middle).count() == 0


def test_blank_survivor_fields_are_filled_from_the_merged_customer() -> None:
    survivor = CustomerFactory(
        name="Kim Minji", phone="", phone_normalized="", birth_date=None, region="Seoul", address=""
    )
    merged = CustomerFactory(
        name="Minji",
        phone="010-2937-4410",
        phone_normalized="+821029374410",
        birth_date=dt.date(1990, 3, 1),
        gender="female",
        address="12 Teheran-ro",
        postal_code="06234",
        region="Gangnam",
    )

    record = customer_merge(survivor=survivor, merged=merged, actor=None)

    survivor.refresh_from_db()
    assert (survivor.name, survivor.phone, survivor.phone_normalized) == (
        "Kim Minji",
        "010-2937-4410",
        "+821029374410",
    )
    assert (survivor.birth_date, survivor.gender) == (dt.date(1990, 3, 1), "female")
    # The address goes as a whole or not at all: the survivor's region belongs to an address of its own.
    assert (survivor.address, survivor.postal_code, survivor.region) == ("", "", "Seoul")
    assert record.moved["filled"] == {
        "phone": "010-2937-4410",
        "phone_normalized": "+821029374410",
        "birth_date": "1990-03-01",
        "gender": "female",
    }


def test_analytics_are_recomputed_for_the_survivor_and_dropped_for_the_merged(pos) -> None:
    survivor = CustomerFactory()
    merged = CustomerFactory()
    InteractionFactory(
        customer=survivor,
        source_system=pos,
        kind="purchase",
        channel="store",
        amount=Decimal("1000"),
        currency="KRW",
    )
    InteractionFactory(
        customer=merged,
        source_system=pos,
        kind="purchase",
        channel="store",
        amount=Decimal("2500"),
        currency="KRW",
    )
    customer_analytics_refresh(customer_ids=[survivor.pk, merged.pk])

    record = customer_merge(survivor=survivor, merged=merged, actor=None)

    analytics = CustomerAnalytics.objects.get(customer=survivor)
    assert (analytics.lifetime_value, analytics.purchases_total) == (Decimal("3500"), 2)
    assert not CustomerAnalytics.objects.filter(customer=merged).exists()
    assert record.snapshot["analytics"]["lifetime_value"] == "2500.00"
    assert record.snapshot["analytics"]["purchases_total"] == 1


@pytest.mark.parametrize(
    ("survivor_status", "merged_status", "code"),
    [
        ("active", "merged", "merged_not_active"),
        ("active", "erased", "merged_not_active"),
        ("merged", "active", "survivor_not_active"),
        ("erased", "active", "survivor_not_active"),
    ],
)
def test_only_active_customers_merge(survivor_status: str, merged_status: str, code: str) -> None:
    elsewhere = CustomerFactory()

    def make(status: str) -> Customer:
        return CustomerFactory(status=status, merged_into=elsewhere if status == "merged" else None)

    survivor, merged = make(survivor_status), make(merged_status)
    with pytest.raises(MergeError) as refused:
        customer_merge(survivor=survivor, merged=merged, actor=None)
    assert refused.value.code == code
    assert not MergeRecord.objects.exists()


def test_a_customer_is_not_merged_into_itself() -> None:
    customer = CustomerFactory()
    with pytest.raises(MergeError) as refused:
        customer_merge(survivor=customer, merged=customer, actor=None)
    assert refused.value.code == "same_customer"


def test_a_refused_merge_changes_nothing(pos) -> None:
    survivor = rich_customer(pos)
    merged = rich_customer(pos, status="erased")
    before = rows_of(survivor, merged)
    with pytest.raises(MergeError):
        customer_merge(survivor=survivor, merged=merged, actor=None)
    assert rows_of(survivor, merged) == before


@pytest.mark.parametrize("interactions", [3, 50])
def test_a_merge_costs_a_fixed_number_of_queries(
    pos, django_assert_num_queries: DjangoAssertNumQueries, interactions: int
) -> None:
    survivor = rich_customer(pos)
    merged = rich_customer(pos, interactions=interactions)
    Consent.objects.filter(customer=merged).update(changed_at=days(9))  # replaces the survivor's
    customer_merge(survivor=merged, merged=CustomerFactory(), actor=None)  # to be re-pointed
    with django_assert_num_queries(17 + ANALYTICS_REFRESH):
        # savepoint, lock both, identities (read, move), interactions, contracts, consent changes,
        # consents (read, delete the losers, move), re-point, mark merged (no blank to fill here),
        # analytics (read, delete, refresh in a savepoint of its own), record, outbox, release
        customer_merge(survivor=survivor, merged=merged, actor=None)
    assert survivor.interactions.count() == 2 + 1 + interactions + 1


# --- undoing ----------------------------------------------------------------------------------------


def test_undo_restores_both_customers_exactly(pos) -> None:
    survivor = rich_customer(pos, phone="", phone_normalized="", birth_date=None)
    merged = rich_customer(pos, birth_date=dt.date(1985, 5, 5))
    ConsentFactory(customer=survivor, channel="email", granted=True, changed_at=days(1))
    ConsentFactory(customer=merged, channel="email", granted=False, changed_at=days(4))  # wins
    ConsentFactory(customer=merged, channel="push", granted=True, changed_at=days(1))
    ConsentFactory(customer=survivor, channel="phone", granted=True, changed_at=days(6))
    ConsentFactory(customer=merged, channel="phone", granted=False, changed_at=days(2))  # loses
    earlier = CustomerFactory()
    customer_merge(survivor=merged, merged=earlier, actor=None)
    customer_analytics_refresh(customer_ids=[survivor.pk, merged.pk])
    before = rows_of(survivor, merged, earlier)
    actor = UserFactory()

    record = customer_merge(survivor=survivor, merged=merged, actor=actor)
    assert rows_of(survivor, merged, earlier) != before
    undone = customer_merge_undo(record=record, actor=actor)

    assert rows_of(survivor, merged, earlier) == before
    undone.refresh_from_db()
    assert undone.undone_at is not None and undone.undone_by == actor
    assert OutboxMessage.objects.filter(topic="customers.unmerged", payload__merge_id=record.pk).exists()


def test_rows_that_arrive_after_the_merge_stay_with_the_survivor(pos) -> None:
    survivor = rich_customer(pos)
    merged = rich_customer(pos)
    moved_identity = CustomerIdentity.objects.filter(customer=merged).first()
    record = customer_merge(survivor=survivor, merged=merged, actor=None)
    # An event naming the merged customer's old id in the POS lands on the survivor.
    result = events_ingest(
        events=[
            {
                "source": "pos",
                "external_id": "after-merge",
                "customer": {"source": "pos", "id": moved_identity.external_id},
                "kind": "note",
                "channel": "phone",
                "occurred_at": "2026-11-20T14:03:00+09:00",
            }
        ]
    )
    assert result.results[0].customer_id == survivor.pk

    customer_merge_undo(record=record, actor=None)

    assert Interaction.objects.get(external_id="after-merge").customer == survivor
    assert CustomerIdentity.objects.get(pk=moved_identity.pk).customer == merged


def test_a_consent_changed_after_the_merge_stays_with_the_survivor() -> None:
    survivor, merged = CustomerFactory(), CustomerFactory()
    theirs = ConsentFactory(customer=merged, channel="sms", granted=True, source="shop", changed_at=days(1))
    ours = ConsentFactory(customer=survivor, channel="email", granted=True, changed_at=days(1))
    merged_email = ConsentFactory(customer=merged, channel="email", granted=False, changed_at=days(2))
    record = customer_merge(survivor=survivor, merged=merged, actor=None)
    # The survivor withdraws SMS consent after the merge: the moved row takes the new decision.
    consent_record(
        customer=survivor,
        channel="sms",
        purpose="marketing",
        granted=False,
        source="call",
        changed_at=days(10),
    )

    customer_merge_undo(record=record, actor=None)

    survivor_sms = Consent.objects.get(customer=survivor, channel="sms")
    assert (survivor_sms.pk, survivor_sms.granted) == (theirs.pk, False)
    merged_sms = Consent.objects.get(customer=merged, channel="sms")
    assert (merged_sms.granted, merged_sms.source, merged_sms.changed_at) == (True, "shop", days(1))
    # The email pair was untouched since: each customer has its own row back, ids and all.
    assert Consent.objects.get(customer=survivor, channel="email").pk == ours.pk
    assert Consent.objects.get(customer=merged, channel="email").pk == merged_email.pk


def test_undo_keeps_a_filled_field_that_was_corrected_since() -> None:
    survivor = CustomerFactory(phone="", phone_normalized="", birth_date=None)
    merged = CustomerFactory(
        phone="010-2937-4410", phone_normalized="+821029374410", birth_date=dt.date(1990, 3, 1)
    )
    record = customer_merge(survivor=survivor, merged=merged, actor=None)
    customer_update(customer=survivor, data={"phone": "010-5555-0101"})

    customer_merge_undo(record=record, actor=None)

    survivor.refresh_from_db()
    assert (survivor.phone, survivor.phone_normalized) == ("010-5555-0101", "+821055550101")
    assert survivor.birth_date is None


def test_undo_recomputes_both_customers_analytics(pos) -> None:
    survivor, merged = CustomerFactory(), CustomerFactory()
    InteractionFactory(
        customer=merged,
        source_system=pos,
        kind="purchase",
        channel="store",
        amount=Decimal("2500"),
        currency="KRW",
    )
    record = customer_merge(survivor=survivor, merged=merged, actor=None)
    customer_merge_undo(record=record, actor=None)
    assert CustomerAnalytics.objects.get(customer=merged).lifetime_value == Decimal("2500")
    assert CustomerAnalytics.objects.get(customer=survivor).lifetime_value == 0


def test_a_merge_is_undone_once() -> None:
    record = customer_merge(survivor=CustomerFactory(), merged=CustomerFactory(), actor=None)
    customer_merge_undo(record=record, actor=None)
    with pytest.raises(MergeError) as refused:
        customer_merge_undo(record=record, actor=None)
    assert refused.value.code == "already_undone"


def test_undo_is_refused_when_the_survivor_was_merged_away_since() -> None:
    a, b, c = CustomerFactory(), CustomerFactory(), CustomerFactory()
    first = customer_merge(survivor=b, merged=a, actor=None)
    second = customer_merge(survivor=c, merged=b, actor=None)
    assert merge_undo_blocker(first) == "later_merge"
    with pytest.raises(MergeError) as refused:
        customer_merge_undo(record=first, actor=None)
    assert refused.value.code == "later_merge"

    # In reverse order, both come undone and every pointer is back where it was.
    customer_merge_undo(record=second, actor=None)
    a.refresh_from_db()
    assert a.merged_into == b
    customer_merge_undo(record=first, actor=None)
    assert set(Customer.objects.filter(pk__in=[a.pk, b.pk, c.pk]).values_list("status", flat=True)) == {
        "active"
    }


def test_undo_is_refused_while_a_later_merge_into_the_survivor_is_in_place() -> None:
    survivor = CustomerFactory()
    first = customer_merge(survivor=survivor, merged=CustomerFactory(), actor=None)
    second = customer_merge(survivor=survivor, merged=CustomerFactory(), actor=None)
    with pytest.raises(MergeError) as refused:
        customer_merge_undo(record=first, actor=None)
    assert refused.value.code == "later_merge"
    customer_merge_undo(record=second, actor=None)
    assert merge_undo_blocker(first) == ""
    customer_merge_undo(record=first, actor=None)


def test_an_undone_later_merge_no_longer_blocks() -> None:
    a, b, c = CustomerFactory(), CustomerFactory(), CustomerFactory()
    first = customer_merge(survivor=b, merged=a, actor=None)
    customer_merge_undo(record=customer_merge(survivor=c, merged=b, actor=None), actor=None)
    customer_merge_undo(record=first, actor=None)


@pytest.mark.parametrize(
    ("who", "status", "code"),
    [("survivor", "erased", "survivor_not_active"), ("merged", "erased", "merged_changed")],
)
def test_undo_is_refused_when_a_customer_was_erased_since(who: str, status: str, code: str) -> None:
    record = customer_merge(survivor=CustomerFactory(), merged=CustomerFactory(), actor=None)
    Customer.objects.filter(pk=getattr(record, f"{who}_id")).update(status=status, merged_into=None)
    with pytest.raises(MergeError) as refused:
        customer_merge_undo(record=record, actor=None)
    assert refused.value.code == code
    record.refresh_from_db()
    assert record.undone_at is None


@pytest.mark.parametrize("interactions", [3, 50])
def test_an_undo_costs_a_fixed_number_of_queries(
    pos, django_assert_num_queries: DjangoAssertNumQueries, interactions: int
) -> None:
    survivor = rich_customer(pos)
    merged = rich_customer(pos, interactions=interactions)
    Consent.objects.filter(customer=merged).update(changed_at=days(9))  # replaces the survivor's
    record = customer_merge(survivor=survivor, merged=merged, actor=None)
    with django_assert_num_queries(15 + ANALYTICS_REFRESH):
        # savepoint, lock both, lock the record, later merges, identities, interactions, contracts,
        # consent changes, consents (read, move back, restore the survivor's), mark active,
        # analytics (refresh in a savepoint of its own), record, outbox, release
        customer_merge_undo(record=record, actor=None)
    assert merged.interactions.count() == interactions + 1


# --- identity resolution after a merge ----------------------------------------------------------------


def test_ingestion_never_matches_a_merged_customer(pos) -> None:
    survivor = CustomerFactory(email="")
    merged = CustomerFactory(email="minji@shop.kr")
    customer_merge(survivor=survivor, merged=merged, actor=None)
    # The survivor took the email over: the merged customer keeps its copy, and is never matched by it.
    result = events_ingest(
        events=[
            {
                "source": "pos",
                "external_id": "T-1",
                "customer": {"source": "pos", "email": "minji@shop.kr"},
                "kind": "note",
                "channel": "phone",
                "occurred_at": "2026-11-20T14:03:00+09:00",
            }
        ]
    )
    assert (result.results[0].customer_id, result.results[0].match) == (survivor.pk, "email")


# --- reads ----------------------------------------------------------------------------------------------


def test_lookup_finds_a_customer_by_number_email_phone_or_external_id(pos) -> None:
    customer = CustomerFactory(
        email="Minji.Kim@Shop.kr", phone="010-2937-4410", phone_normalized="+821029374410"
    )
    CustomerIdentityFactory(customer=customer, source_system=pos, external_id="C-991")
    CustomerFactory()
    for term in [
        str(customer.pk),
        "minji.kim@shop.kr",
        "+82 10 2937 4410",
        "01029374410",
        "C-991",
        " C-991 ",
    ]:
        assert customer_lookup(term) == [customer], term
    assert customer_lookup("nobody@shop.kr") == []
    assert customer_lookup("") == []


def test_merge_candidates_count_interactions(pos, django_assert_num_queries: DjangoAssertNumQueries) -> None:
    one, other = rich_customer(pos, interactions=3), rich_customer(pos, interactions=1)
    with django_assert_num_queries(6):  # customers with analytics, identities, contracts, consents, 2 counts
        candidates = merge_candidates([one.pk, other.pk])
    assert candidates[one.pk].interaction_count == 4
    assert candidates[other.pk].interaction_count == 2
    assert not candidates[one.pk].interactions_capped


# --- concurrency --------------------------------------------------------------------------------------


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="row locks are PostgreSQL's; SQLite's in-memory test database refuses a second writer outright",
)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # brings back the role groups
def test_two_merges_of_the_same_customer_at_once_merge_it_once() -> None:
    """The row locks make the second merge wait and then see the customer already merged."""
    merged = CustomerFactory()
    survivors = [CustomerFactory(), CustomerFactory()]
    InteractionFactory.create_batch(5, customer=merged)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def merge_into(survivor: Customer) -> None:
        try:
            barrier.wait()
            customer_merge(survivor=survivor, merged=Customer.objects.get(pk=merged.pk), actor=None)
            outcomes.append("merged")
        except MergeError as error:
            outcomes.append(error.code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=merge_into, args=(survivor,)) for survivor in survivors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["merged", "merged_not_active"]
    record = MergeRecord.objects.get()
    assert Interaction.objects.filter(customer=record.survivor).count() == 5
