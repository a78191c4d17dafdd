"""The per-customer analytics row, rebuilt set-based from interactions (customers/analytics.py)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from customers.analytics import customer_analytics_apply, customer_analytics_refresh
from customers.models import CustomerAnalytics
from tests.factories import CustomerFactory, InteractionFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)


def days_ago(days: float) -> dt.datetime:
    return NOW - dt.timedelta(days=days)


def purchase(customer, days: float, amount: str, currency: str = "KRW", kind: str = "purchase"):
    return InteractionFactory(
        customer=customer,
        kind=kind,
        channel="store",
        occurred_at=days_ago(days),
        amount=Decimal(amount),
        currency=currency,
    )


def analytics_of(customer) -> CustomerAnalytics:
    return CustomerAnalytics.objects.get(customer=customer)


def test_purchases_returns_and_windows() -> None:
    customer = CustomerFactory()
    purchase(customer, 400, "1000000")
    purchase(customer, 100, "200000")
    purchase(customer, 10, "300000")
    purchase(customer, 5, "50000", kind="return")
    InteractionFactory(customer=customer, kind="web_visit", channel="web", occurred_at=days_ago(2))
    InteractionFactory(customer=customer, kind="app_visit", channel="app", occurred_at=days_ago(40))

    assert customer_analytics_refresh(customer_ids=[customer.pk], now=NOW) == 1

    row = analytics_of(customer)
    assert row.lifetime_value == Decimal("1450000.00")
    assert row.purchases_total == 3
    assert row.first_purchase_at == days_ago(400)
    assert row.last_purchase_at == days_ago(10)
    assert row.purchases_90d == 1
    assert row.spend_90d == Decimal("250000.00")
    assert row.last_web_visit_at == days_ago(2)
    assert row.last_app_visit_at == days_ago(40)
    assert row.visits_30d == 1
    assert row.last_interaction_at == days_ago(2)
    assert (row.rfm_recency, row.rfm_frequency, row.rfm_monetary) == (5, 2, 3)
    assert row.rfm_group == "potential"


def test_other_currencies_convert_to_the_base_currency(settings) -> None:
    settings.CRM_EXCHANGE_RATES = {"KRW": 1, "USD": 1400}
    customer = CustomerFactory()
    purchase(customer, 3, "100.00", currency="USD")
    purchase(customer, 4, "10000", currency="KRW")
    customer_analytics_refresh(now=NOW)
    assert analytics_of(customer).lifetime_value == Decimal("150000.00")


def test_last_nps_is_the_latest_survey() -> None:
    customer = CustomerFactory()
    InteractionFactory(
        customer=customer, kind="survey", channel="email", occurred_at=days_ago(50), nps_score=10
    )
    InteractionFactory(
        customer=customer, kind="survey", channel="email", occurred_at=days_ago(5), nps_score=3
    )
    InteractionFactory(customer=customer, kind="survey", channel="email", occurred_at=days_ago(1))  # no score
    customer_analytics_refresh(now=NOW)
    assert analytics_of(customer).last_nps == 3


@pytest.mark.parametrize(
    ("purchase_days", "group"),
    [
        ([1] * 20, "champions"),
        ([20], "new"),
        ([100] * 5, "loyal"),
        ([100], "potential"),
        ([200] * 10, "at_risk"),
        ([200], "hibernating"),
        ([500] * 2, "lost"),
        ([], "none"),
    ],
)
def test_rfm_groups(purchase_days: list[int], group: str) -> None:
    customer = CustomerFactory()
    for days in purchase_days:
        purchase(customer, days, "10000")
    customer_analytics_refresh(now=NOW)
    assert analytics_of(customer).rfm_group == group


@pytest.mark.parametrize(
    ("purchase_days", "nps", "visits", "risk"),
    [
        ([5], None, 0, "0.050"),  # R5 with no visits keeps its base
        ([5], 9, 3, "0.000"),  # promoter and engaged: clamped at 0
        ([200], 3, 0, "0.800"),  # R2 0.60 + detractor 0.15 + no visits 0.05
        ([400], 2, 0, "1.000"),  # R1 0.85 + 0.15 + 0.05, clamped at 1
        ([], None, 1, "0.300"),  # never bought, active this month
        ([], None, 0, "0.650"),  # never bought, quiet: 0.60 + no visits 0.05
    ],
)
def test_churn_risk_formula(purchase_days: list[int], nps: int | None, visits: int, risk: str) -> None:
    customer = CustomerFactory()
    for days in purchase_days:
        purchase(customer, days, "10000")
    if nps is not None:
        InteractionFactory(
            customer=customer, kind="survey", channel="email", occurred_at=days_ago(20), nps_score=nps
        )
    for n in range(visits):
        InteractionFactory(customer=customer, kind="web_visit", channel="web", occurred_at=days_ago(n + 1))
    customer_analytics_refresh(now=NOW)
    assert analytics_of(customer).churn_risk == Decimal(risk)


def test_refresh_of_some_customers_leaves_the_others_alone() -> None:
    touched, untouched = CustomerFactory(), CustomerFactory()
    purchase(touched, 1, "10000")
    purchase(untouched, 1, "10000")
    assert customer_analytics_refresh(customer_ids=[touched.pk], now=NOW) == 1
    assert CustomerAnalytics.objects.filter(customer=touched).exists()
    assert not CustomerAnalytics.objects.filter(customer=untouched).exists()


def test_refresh_is_idempotent_and_updates_rows_in_place() -> None:
    customer = CustomerFactory()
    purchase(customer, 1, "10000")
    customer_analytics_refresh(now=NOW)
    purchase(customer, 0.5, "20000")
    customer_analytics_refresh(now=NOW)
    customer_analytics_refresh(now=NOW)
    assert CustomerAnalytics.objects.count() == 1
    row = analytics_of(customer)
    assert (row.purchases_total, row.lifetime_value) == (2, Decimal("30000.00"))


def test_many_customers_in_chunks() -> None:
    customers = CustomerFactory.create_batch(5)
    for customer in customers:
        purchase(customer, 3, "1000")
    import customers.analytics as analytics

    original = analytics.CHUNK
    analytics.CHUNK = 2
    try:
        assert customer_analytics_refresh(customer_ids=[c.pk for c in customers], now=timezone.now()) == 5
    finally:
        analytics.CHUNK = original
    assert CustomerAnalytics.objects.count() == 5


# --- folding new interactions in (customer_analytics_apply) ----------------------------------------

ANALYTICS_FIELDS = [
    f.name
    for f in CustomerAnalytics._meta.get_fields()
    if f.concrete and f.name not in {"customer", "updated_at"}
]


def snapshot() -> dict[int, dict[str, object]]:
    return {
        row["customer_id"]: row for row in CustomerAnalytics.objects.values("customer_id", *ANALYTICS_FIELDS)
    }


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_applying_batches_gives_what_a_full_refresh_gives(seed: int) -> None:
    import random

    rng = random.Random(seed)
    customers = CustomerFactory.create_batch(6)
    kinds = ["purchase", "return", "web_visit", "app_visit", "survey", "service_call"]
    interactions = []
    for n in range(60):
        kind = rng.choice(kinds)
        fields: dict[str, object] = {
            "kind": kind,
            "channel": "web",
            "occurred_at": days_ago(rng.uniform(0, 500)),
        }
        if kind in {"purchase", "return"}:
            fields.update(
                amount=Decimal(rng.randint(1, 900) * 1000), currency=rng.choice(["KRW", "KRW", "USD"])
            )
        if kind == "survey" and rng.random() < 0.8:
            fields["nps_score"] = rng.randint(0, 10)
        interactions.append(
            InteractionFactory(customer=rng.choice(customers), external_id=f"X-{seed}-{n}", **fields)
        )

    rng.shuffle(interactions)  # arrival order differs from occurrence order
    for start in range(0, len(interactions), 7):
        customer_analytics_apply(interaction_ids=[i.pk for i in interactions[start : start + 7]], now=NOW)
    applied = snapshot()
    customer_analytics_refresh(customer_ids=[c.pk for c in customers], now=NOW)
    refreshed = snapshot()
    touched = {i.customer_id for i in interactions}
    assert {k: v for k, v in refreshed.items() if k in touched} == applied


def test_apply_creates_the_row_of_a_customer_without_one_and_rescores() -> None:
    customer = CustomerFactory()
    first = purchase(customer, 400, "1000")
    customer_analytics_apply(interaction_ids=[first.pk], now=NOW)
    assert analytics_of(customer).rfm_group == "lost"
    second = purchase(customer, 1, "6000000")
    assert customer_analytics_apply(interaction_ids=[second.pk], now=NOW) == 1
    row = analytics_of(customer)
    assert (row.purchases_total, row.rfm_recency, row.rfm_monetary, row.rfm_group) == (2, 5, 5, "potential")
    assert row.churn_risk == Decimal("0.050")


def test_an_older_survey_arriving_late_does_not_replace_the_last_nps() -> None:
    customer = CustomerFactory()
    recent = InteractionFactory(
        customer=customer, kind="survey", channel="email", occurred_at=days_ago(2), nps_score=9
    )
    customer_analytics_apply(interaction_ids=[recent.pk], now=NOW)
    older = InteractionFactory(
        customer=customer, kind="survey", channel="email", occurred_at=days_ago(40), nps_score=2
    )
    customer_analytics_apply(interaction_ids=[older.pk], now=NOW)
    assert analytics_of(customer).last_nps == 9
