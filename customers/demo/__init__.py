"""Demo customers for ``manage.py seed_demo``: source systems, then customers with their identities,
contracts, consents, interactions and purchase lines, then their analytics rows.

Customers are generated in chunks by a worker thread (``crm.demo.prefetch``) while the previous chunk
is loaded, so that memory stays flat at any size and both cores work. The first customer, 김민지, has
an interaction of every kind; the second, Emily Johnson, shops online from New York in dollars.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace

from django.conf import settings

from crm.demo import DemoLogin, SeedContext, catalog_of, prefetch
from customers.demo.activity import Activity, Chunk
from customers.demo.people import People, Person
from customers.models import (
    Consent,
    ConsentChange,
    Contract,
    Customer,
    CustomerAnalytics,
    CustomerIdentity,
    Interaction,
    PurchaseLine,
    SourceSystem,
)

SEEDED_MODELS = [
    SourceSystem,
    Customer,
    CustomerIdentity,
    Interaction,
    PurchaseLine,
    Contract,
    Consent,
    ConsentChange,
    CustomerAnalytics,
]
LOGINS: list[DemoLogin] = []

# code, name, kind, trust email, trust phone: a source may match customers by what it verifies.
SOURCE_SYSTEMS = [
    ("pos", "Store POS", SourceSystem.Kind.POS, False, True),  # cashiers look members up by phone
    ("web", "Website", SourceSystem.Kind.WEB, True, False),  # verified by a confirmation email
    ("app", "Mobile app", SourceSystem.Kind.APP, True, True),  # verified by SMS at signup
    ("call_center", "Call centre", SourceSystem.Kind.CALL_CENTER, False, False),
    ("ecommerce", "Online shop", SourceSystem.Kind.ECOMMERCE, True, True),
    ("policy", "Policy system", SourceSystem.Kind.INSURANCE, True, True),  # identity checked at underwriting
    ("survey", "Survey tool", SourceSystem.Kind.SURVEY, False, False),
    ("marketing", "Marketing platform", SourceSystem.Kind.MARKETING, True, False),
    ("crm", "CRM", SourceSystem.Kind.CRM, True, True),
]

CUSTOMER_COLUMNS = [
    "id",
    "created_at",
    "updated_at",
    "name",
    "email",
    "phone",
    "phone_normalized",
    "birth_date",
    "gender",
    "address",
    "postal_code",
    "region",
    "preferred_language",
    "signup_at",
    "status",
    "merged_into_id",
]
IDENTITY_COLUMNS = ["customer_id", "source_system_id", "external_id", "matched_by", "created_at"]
CONTRACT_COLUMNS = [
    "created_at",
    "updated_at",
    "customer_id",
    "source_system_id",
    "external_id",
    "kind",
    "name",
    "status",
    "start_date",
    "end_date",
    "premium",
    "currency",
    "properties",
]
INTERACTION_COLUMNS = [
    "id",
    "customer_id",
    "source_system_id",
    "external_id",
    "kind",
    "channel",
    "occurred_at",
    "amount",
    "currency",
    "summary",
    "nps_score",
    "properties",
    "recorded_at",
]
LINE_COLUMNS = [
    "interaction_id",
    "product_id",
    "supplier_id",
    "location_id",
    "occurred_at",
    "channel",
    "is_return",
    "quantity",
    "unit_price",
    "unit_cost",
    "currency",
]
CONSENT_COLUMNS = ["customer_id", "channel", "purpose", "granted", "source", "changed_at"]
CONSENT_CHANGE_COLUMNS = [
    "customer_id",
    "channel",
    "purpose",
    "granted",
    "source",
    "changed_at",
    "recorded_by_id",
    "recorded_at",
]
CHUNK_SIZE = 5000  # customers: about 100,000 interactions at the default average


def seed(ctx: SeedContext) -> None:
    """Seed source systems, customers and everything they did, then compute their analytics."""
    with ctx.phase("Source systems"):
        source_ids = seed_source_systems(ctx)
    with ctx.phase("Customers and their activity"):
        seed_customers(ctx, source_ids)
    with ctx.phase("Customer analytics"):
        # Imported on use: reading this module's SEEDED_MODELS (seed_demo --if-empty) needs none of it.
        from customers.analytics import customer_analytics_refresh

        # One aggregation over every interaction: with memory, PostgreSQL hashes it without spilling.
        with ctx.local_settings(work_mem="512MB"):
            customer_analytics_refresh(now=ctx.now)


def seed_source_systems(ctx: SeedContext) -> dict[str, int]:
    """The systems customers come from; returns their ids by code."""
    systems = SourceSystem.objects.bulk_create(
        SourceSystem(code=code, name=name, kind=kind, trust_email=trust_email, trust_phone=trust_phone)
        for code, name, kind, trust_email, trust_phone in SOURCE_SYSTEMS
    )
    if not all(system.pk for system in systems):  # SQLite before 3.35 returns no ids from bulk_create
        return dict(SourceSystem.objects.values_list("code", "id"))
    return {system.code: system.pk for system in systems}


def seed_customers(ctx: SeedContext, source_ids: dict[str, int]) -> None:
    """Generate customers in chunks in a worker thread and load each chunk while the next is generated."""
    rates = settings.CRM_EXCHANGE_RATES
    activity = Activity(
        rng=ctx.rng,
        clock=ctx.clock,
        catalog=catalog_of(ctx),
        source_ids=source_ids,
        trusted={
            code: (trust_email, trust_phone)
            for code, _name, _kind, trust_email, trust_phone in SOURCE_SYSTEMS
        },
        first_interaction_id=ctx.next_id(Interaction),
        interactions_per_customer=ctx.options.interactions,
        # The online shop charges dollars in cents and yen whole, converted from its won prices.
        minor_units_per_won={"KRW": 1, "USD": 100 / rates["USD"], "JPY": 1 / rates["JPY"]},
        recorded_by=ctx.shared.get("crm.staff_user_ids", {}).get("rep"),
    )
    people = People(ctx.rng, ctx.clock, activity.times_of_day)
    total = ctx.options.customers
    chunks = generate_chunks(people, activity, first_id=ctx.next_id(Customer), count=total)
    loaded = [Customer, CustomerIdentity, Contract, Interaction, PurchaseLine, Consent, ConsentChange]
    started = time.perf_counter()
    done = interactions = 0
    next_report = 0.1
    with ctx.bulk_load(*loaded):
        for chunk in prefetch(chunks):
            ctx.copy_rows(Customer, CUSTOMER_COLUMNS, chunk.customers)
            ctx.copy_rows(CustomerIdentity, IDENTITY_COLUMNS, chunk.identities)
            ctx.copy_rows(Contract, CONTRACT_COLUMNS, chunk.contracts)
            ctx.copy_rows(Interaction, INTERACTION_COLUMNS, chunk.interactions)
            ctx.copy_rows(PurchaseLine, LINE_COLUMNS, chunk.lines)
            ctx.copy_rows(Consent, CONSENT_COLUMNS, chunk.consents)
            ctx.copy_rows(ConsentChange, CONSENT_CHANGE_COLUMNS, chunk.consent_changes)
            done += len(chunk.customers)
            interactions += len(chunk.interactions)
            if done >= next_report * total:
                ctx.log(
                    f"  {done:,} / {total:,} customers, {interactions:,} interactions, "
                    f"{time.perf_counter() - started:.0f} s"
                )
                next_report += 0.1
    ctx.sync_sequences(Customer, Interaction)
    ctx.analyze(*loaded)


def generate_chunks(people: People, activity: Activity, *, first_id: int, count: int) -> Iterator[Chunk]:
    """Chunks of ``CHUNK_SIZE`` customers with all their rows; the first two are the showcase customers."""
    for chunk_start in range(0, count, CHUNK_SIZE):
        chunk = Chunk()
        for offset in range(chunk_start, min(count, chunk_start + CHUNK_SIZE)):
            person = people.person(first_id + offset)
            if offset < 2:
                person = showcase(person, offset, people)
            activity.add_customer(person, chunk, every_kind=offset == 0)
        yield chunk


def showcase(person: Person, offset: int, people: People) -> Person:
    """The demo's two known faces, whatever the seed. 김민지 has DESIGN.md's example email (its example
    phone, 010-1234-5678, is a placeholder that matching ignores, so she has a real-looking one)."""
    four_years_ago = people.clock.local_midnight - 4 * 365 * 86400 + 11 * 3600
    if offset == 0:
        return replace(
            person,
            name="김민지",
            email="minji.kim@example.kr",
            phone="010-3842-1957",
            phone_normalized="+821038421957",
            birth_date="1992-04-17",
            gender="female",
            address="서울특별시 강남구 테헤란로 152, 103동 1502호",
            postal_code="06236",
            region="서울",
            preferred_language="ko",
            signup_at=four_years_ago,
            korean=True,
            currency="KRW",
            sources=("pos", "app", "ecommerce", "policy"),
        )
    return replace(
        person,
        name="Emily Johnson",
        email="emily.johnson@gmail.example",
        phone="+1 212-555-0142",
        phone_normalized="+12125550142",
        birth_date="1988-09-03",
        gender="female",
        address="350 5th Ave, New York, NY",
        postal_code="10118",
        region="United States",
        preferred_language="en",
        signup_at=four_years_ago + 200 * 86400,
        korean=False,
        currency="USD",
        sources=("ecommerce", "app", "web"),
    )
