"""Issue 6: random rules over random data give the same members from the SQL compiler as from a plain
Python evaluation of the same rule (tests/campaigns/evaluator.py). Values sit on the boundaries
(exactly N days ago, exactly N years old) where an off-by-one would show."""

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaigns.compiler import rule_queryset
from campaigns.models import Segment, SegmentMembership
from campaigns.rules import age_cutoff, rule_validate
from customers.models import Consent, Customer, CustomerAnalytics, Interaction, PurchaseLine
from tests.campaigns import evaluator
from tests.factories import ProductFactory, SourceSystemFactory, SupplierFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC)
TODAY = timezone.localdate(NOW)
AGES = (29, 30, 31)
DAYS = (10, 40)
AMOUNTS = ("0", "100", "250.5", "1000")
SKUS = ("SKU-A", "SKU-B")
SUPPLIERS = ("sup-1", "sup-2")
SOURCES = ("pos", "web")

births = st.sampled_from(
    [None, *(age_cutoff(TODAY, age) + dt.timedelta(days=shift) for age in AGES for shift in (-1, 0, 1))]
)
# Mostly exactly on, or a second either side of, the windows the rules use.
moments = st.sampled_from(
    [
        None,
        NOW - dt.timedelta(days=1),
        *(NOW - dt.timedelta(days=d, seconds=s) for d in DAYS for s in (-1, 0, 0, 1)),
    ]
)
customer_rows = st.fixed_dictionaries(
    {
        "birth_date": births,
        "gender": st.sampled_from(["", "female", "male"]),
        "region": st.sampled_from(["", "Seoul", "Busan"]),
        "status": st.sampled_from(["active", "active", "active", "erased"]),
        "created_at": moments.filter(lambda m: m is not None),
        "signup_at": moments,
        "analytics": st.none()
        | st.fixed_dictionaries(
            {
                "lifetime_value": st.sampled_from([Decimal(a) for a in AMOUNTS]),
                "purchases_90d": st.integers(0, 3),
                "last_nps": st.none() | st.integers(0, 10),
                "churn_risk": st.sampled_from([Decimal("0.1"), Decimal("0.5"), Decimal("0.9")]),
                "rfm_group": st.sampled_from(["none", "loyal", "lost"]),
                "last_interaction_at": moments,
                "last_web_visit_at": moments,
                "last_app_visit_at": moments,
            }
        ),
        "interactions": st.lists(
            st.fixed_dictionaries(
                {
                    "kind": st.sampled_from(["purchase", "web_visit"]),
                    "channel": st.sampled_from(["web", "store"]),
                    "source": st.sampled_from(SOURCES),
                    "occurred_at": moments.filter(lambda m: m is not None),
                    "amount": st.sampled_from([None, *AMOUNTS]),
                    "sku": st.sampled_from([None, *SKUS]),
                    "is_return": st.booleans(),
                }
            ),
            max_size=4,
        ),
        "consents": st.lists(st.tuples(st.sampled_from(["email", "sms"]), st.booleans()), max_size=2),
        "in_static": st.booleans(),
    }
)


def leaves(static_segment: int) -> st.SearchStrategy[dict[str, Any]]:
    compare = st.sampled_from(["eq", "ne", "gt", "gte", "lt", "lte"])
    recency = st.sampled_from(["within_days", "not_within_days"])
    text_ops = st.sampled_from(["eq", "ne", "in", "not_in", "is_set", "not_set"])

    def text(field: str, values: list[str]) -> st.SearchStrategy[dict[str, Any]]:
        def build(op: str, chosen: list[str]) -> dict[str, Any]:
            node: dict[str, Any] = {"field": field, "operator": op}
            if op in ("in", "not_in"):
                node["value"] = chosen
            elif op not in ("is_set", "not_set"):
                node["value"] = chosen[0]
            return node

        return st.builds(build, text_ops, st.lists(st.sampled_from(values), min_size=1, max_size=2))

    return st.one_of(
        st.builds(lambda op, v: {"field": "age", "operator": op, "value": v}, compare, st.sampled_from(AGES)),
        text("region", ["Seoul", "Busan"]),
        st.builds(
            lambda op, v: {"field": "gender", "operator": op, "value": v},
            st.sampled_from(["eq", "ne"]),
            st.sampled_from(["female", "male"]),
        ),
        st.builds(
            lambda f, op, v: {"field": f, "operator": op, "value": v},
            st.sampled_from(["signup_at", "created_at", "last_interaction_at", "last_visit_at"]),
            recency,
            st.sampled_from(DAYS),
        ),
        st.builds(
            lambda f, op, v: {"field": f, "operator": op, "value": v},
            st.sampled_from(["lifetime_value", "churn_risk"]),
            compare,
            st.sampled_from(["0.5", *AMOUNTS]),
        ).filter(lambda n: n["field"] != "churn_risk" or Decimal(n["value"]) <= 1),
        st.builds(
            lambda op, v: {"field": "purchases_90d", "operator": op, "value": v}, compare, st.integers(0, 3)
        ),
        st.builds(
            lambda op, v: {"field": "last_nps", "operator": op, "value": v},
            st.sampled_from(["eq", "ne", "gte", "lt", "is_set", "not_set"]),
            st.integers(0, 10),
        ).map(lambda n: {**n, "value": None} if n["operator"] in ("is_set", "not_set") else n),
        st.builds(
            lambda op, v: {"field": "rfm_group", "operator": op, "value": v},
            st.sampled_from(["eq", "ne", "in", "not_in"]),
            st.sampled_from(["loyal", "lost", "none"]),
        ).map(lambda n: {**n, "value": [n["value"]]} if n["operator"] in ("in", "not_in") else n),
        st.builds(
            lambda f, op, v, days, kind, channel, source: {
                "field": f,
                "operator": op,
                "value": v,
                "days": days,
                **({"kind": kind} if kind else {}),
                **({"channel": channel} if channel else {}),
                **({"source": source} if source else {}),
            },
            st.sampled_from(["interaction_count", "interaction_sum"]),
            compare,
            st.sampled_from([0, 1, 2, 100]),
            st.sampled_from(DAYS),
            st.sampled_from([None, "purchase", "web_visit"]),
            st.sampled_from([None, "web"]),
            st.sampled_from([None, "pos"]),
        ),
        st.builds(
            lambda f, op, values, days: {
                "field": f,
                "operator": op,
                "value": values,
                **({"days": days} if days else {}),
            },
            st.sampled_from(["bought_product", "bought_supplier"]),
            st.sampled_from(["in", "not_in"]),
            st.lists(st.sampled_from(["0", "1"]), min_size=1, max_size=2, unique=True),
            st.sampled_from([None, *DAYS]),
        ).map(
            lambda n: {
                **n,
                "value": [
                    (SKUS if n["field"] == "bought_product" else SUPPLIERS)[int(i)] for i in n["value"]
                ],
            }
        ),
        st.builds(
            lambda channel, granted: {
                "field": "consent",
                "operator": "eq",
                "value": granted,
                "channel": channel,
            },
            st.sampled_from(["email", "sms"]),
            st.booleans(),
        ),
        st.builds(
            lambda op: {"field": "segment", "operator": op, "value": static_segment},
            st.sampled_from(["eq", "ne"]),
        ),
    )


def rules(static_segment: int) -> st.SearchStrategy[dict[str, Any]]:
    return st.recursive(
        st.builds(lambda leaf: {"op": "and", "conditions": [leaf]}, leaves(static_segment)),
        lambda children: st.builds(
            lambda op, items: {"op": op, "conditions": items},
            st.sampled_from(["and", "or"]),
            st.lists(children | leaves(static_segment), min_size=0, max_size=3),
        ),
        max_leaves=6,
    )


STATIC_ID = 900_001


def _load(rows: list[dict[str, Any]], products: dict[str, Any]) -> None:
    sources = {code: SourceSystemFactory(code=code, name=code) for code in SOURCES}
    static = Segment.objects.create(pk=STATIC_ID, name="Static", kind="static")
    for number, row in enumerate(rows):
        customer = Customer.objects.create(
            name=f"P{number}",
            birth_date=row["birth_date"],
            gender=row["gender"],
            region=row["region"],
            signup_at=row["signup_at"],
        )
        Customer.objects.filter(pk=customer.pk).update(created_at=row["created_at"], status=row["status"])
        if row["analytics"] is not None:
            CustomerAnalytics.objects.create(customer=customer, **row["analytics"])
        for index, event in enumerate(row["interactions"]):
            interaction = Interaction.objects.create(
                customer=customer,
                source_system=sources[event["source"]],
                external_id=f"{number}-{index}",
                kind=event["kind"],
                channel=event["channel"],
                occurred_at=event["occurred_at"],
                amount=None if event["amount"] is None else Decimal(event["amount"]),
                currency="" if event["amount"] is None else "KRW",
            )
            if event["sku"] and event["kind"] == "purchase":
                product = products[event["sku"]]
                PurchaseLine.objects.create(
                    interaction=interaction,
                    product=product,
                    supplier=product.supplier,
                    occurred_at=event["occurred_at"],
                    channel=event["channel"],
                    is_return=event["is_return"],
                    quantity=1,
                    unit_price=Decimal(1),
                    unit_cost=Decimal(1),
                    currency="KRW",
                )
        for channel, granted in row["consents"]:
            Consent.objects.update_or_create(
                customer=customer,
                channel=channel,
                purpose="marketing",
                defaults={"granted": granted, "source": "test", "changed_at": NOW},
            )
        if row["in_static"]:
            SegmentMembership.objects.create(segment=static, customer=customer, entered_at=NOW)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(customer_rows, min_size=2, max_size=6), rule=rules(STATIC_ID))
def test_sql_members_equal_python_members(rows: list[dict[str, Any]], rule: dict[str, Any]) -> None:
    with transaction.atomic():
        products = {
            sku: ProductFactory(sku=sku, supplier=SupplierFactory(code=code))
            for sku, code in zip(SKUS, SUPPLIERS, strict=True)
        }
        _load(rows, products)
        clean = rule_validate(rule)
        world = evaluator.world_load()

        from_sql = set(rule_queryset(clean, now=NOW).values_list("pk", flat=True))

        assert from_sql == evaluator.members(clean, world, NOW), clean
        transaction.set_rollback(True)
