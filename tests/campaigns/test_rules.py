"""Issue 6: the rule language accepts only its fixed fields and operators, types every value, and
binds values as parameters: injection attempts through names, operators and values are refused or
stay data."""

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns.compiler import rule_over_analytics, rule_queryset
from campaigns.rules import FIELDS, RuleError, rule_validate
from campaigns.sentences import rule_sentence
from customers.models import Customer
from tests.factories import CustomerAnalyticsFactory, CustomerFactory, ProductFactory

pytestmark = pytest.mark.django_db


def one(condition: dict[str, Any]) -> dict[str, Any]:
    return {"op": "and", "conditions": [condition]}


INJECTIONS = [
    (
        one({"field": "age; DROP TABLE customers_customer;--", "operator": "gte", "value": 1}),
        "conditions.0.field",
    ),
    (one({"field": "analytics__lifetime_value", "operator": "gte", "value": 1}), "conditions.0.field"),
    (one({"field": "name", "operator": "eq", "value": "x"}), "conditions.0.field"),
    (one({"field": "age", "operator": "gte) OR 1=1 --", "value": 1}), "conditions.0.operator"),
    (one({"field": "age", "operator": "regex", "value": ".*"}), "conditions.0.operator"),
    (one({"field": "age", "operator": "gte", "value": "1 OR 1=1"}), "conditions.0.value"),
    (one({"field": "lifetime_value", "operator": "gte", "value": "1e400"}), "conditions.0.value"),
    (one({"field": "lifetime_value", "operator": "gte", "value": "NaN"}), "conditions.0.value"),
    (one({"field": "age", "operator": "gte", "value": True}), "conditions.0.value"),
    (one({"field": "gender", "operator": "eq", "value": "female' OR '1'='1"}), "conditions.0.value"),
    (one({"field": "rfm_group", "operator": "in", "value": ["loyal", {"$ne": 1}]}), "conditions.0.value"),
    (
        one({"field": "interaction_count", "operator": "gte", "value": 1, "days": 7, "kind": "purchase'--"}),
        "conditions.0.kind",
    ),
    (one({"field": "interaction_count", "operator": "gte", "value": 1}), "conditions.0.days"),
    (one({"field": "age", "operator": "gte", "value": 1, "extra": "x"}), "conditions.0.extra"),
    ({"op": "xor", "conditions": []}, "op"),
    ({"op": "and", "conditions": "age > 1"}, "conditions"),
    ({"op": "and", "conditions": [], "where": "1=1"}, "where"),
    (
        one({"field": "consent", "operator": "eq", "value": True, "channel": "carrier pigeon"}),
        "conditions.0.channel",
    ),
    (one({"field": "segment", "operator": "eq", "value": 987654}), "conditions.0.value"),
    (one({"field": "bought_product", "operator": "in", "value": ["NO-SUCH-SKU"]}), "conditions.0.value"),
    (
        one({"field": "interaction_count", "operator": "gte", "value": 1, "days": 1, "source": "nope"}),
        "conditions.0.source",
    ),
]


@pytest.mark.parametrize(("rule", "where"), INJECTIONS)
def test_names_operators_and_values_outside_the_lists_are_refused(rule: dict[str, Any], where: str) -> None:
    with pytest.raises(RuleError) as caught:
        rule_validate(rule)
    assert where in caught.value.errors, caught.value.errors


def test_text_values_are_bound_as_parameters_not_spliced() -> None:
    CustomerFactory(region="Seoul")
    hostile = "Seoul' OR '1'='1"
    rule = rule_validate(one({"field": "region", "operator": "eq", "value": hostile}))

    with CaptureQueriesContext(connection) as queries:
        assert list(rule_queryset(rule)) == []
    sql, params = rule_queryset(rule).query.sql_with_params()
    assert hostile not in sql
    assert hostile in params
    assert Customer.objects.count() == 1
    assert len(queries) == 1


def test_too_deep_and_too_many_are_refused() -> None:
    deep: dict[str, Any] = {"op": "and", "conditions": []}
    node = deep
    for _ in range(6):
        child: dict[str, Any] = {"op": "or", "conditions": []}
        node["conditions"].append(child)
        node = child
    with pytest.raises(RuleError):
        rule_validate(deep)
    many = {"op": "and", "conditions": [{"field": "age", "operator": "gte", "value": 1}] * 41}
    with pytest.raises(RuleError) as caught:
        rule_validate(many)
    assert "conditions.40" in caught.value.errors


def test_values_come_back_typed() -> None:
    ProductFactory(sku="NB-1")
    clean = rule_validate(
        {
            "op": "or",
            "conditions": [
                {"field": "age", "operator": "gte", "value": "30"},
                {"field": "lifetime_value", "operator": "gte", "value": 1000.50},
                {"field": "rfm_group", "operator": "in", "value": "loyal, champions"},
                {"field": "bought_product", "operator": "in", "value": "NB-1", "days": "30"},
                {"field": "consent", "operator": "eq", "value": True, "channel": "sms"},
            ],
        }
    )
    assert clean["conditions"] == [
        {"field": "age", "operator": "gte", "value": 30},
        {"field": "lifetime_value", "operator": "gte", "value": "1000.5"},
        {"field": "rfm_group", "operator": "in", "value": ["loyal", "champions"]},
        {"field": "bought_product", "operator": "in", "value": ["NB-1"], "days": 30},
        {"field": "consent", "operator": "eq", "value": True, "channel": "sms", "purpose": "marketing"},
    ]


def test_every_field_compiles_with_each_of_its_operators() -> None:
    ProductFactory(sku="NB-1", supplier__code="nb")
    CustomerAnalyticsFactory(lifetime_value=Decimal(10))
    sample = {"int": 1, "decimal": "1", "text": "Seoul", "bool": True, "sku": ["NB-1"], "supplier": ["nb"]}
    for spec in FIELDS.values():
        if spec.value_type == "segment":
            continue
        for operator in spec.operators:
            node: dict[str, Any] = {"field": spec.name, "operator": operator}
            if operator in ("is_set", "not_set"):
                pass
            elif operator in ("within_days", "not_within_days"):
                node["value"] = 30
            elif operator in ("in", "not_in") and spec.choices:
                node["value"] = [spec.choices[0][0]]
            elif operator in ("in", "not_in") and spec.value_type == "text":
                node["value"] = ["Seoul"]
            elif spec.choices:
                node["value"] = spec.choices[0][0]
            else:
                node["value"] = sample[spec.value_type]
            if "days" in spec.params:
                node["days"] = 30
            if spec.name == "consent":
                node["channel"] = "email"
            rule = rule_validate(one(node))
            list(rule_queryset(rule))  # runs on the database
            assert rule_sentence(rule)


def test_the_sentence_reads_in_english_and_korean() -> None:
    from django.utils import translation

    rule = rule_validate(
        {
            "op": "and",
            "conditions": [
                {"field": "age", "operator": "gte", "value": 30},
                {
                    "op": "or",
                    "conditions": [
                        {"field": "rfm_group", "operator": "eq", "value": "loyal"},
                        {
                            "field": "interaction_count",
                            "operator": "gte",
                            "value": 3,
                            "kind": "web_visit",
                            "days": 30,
                        },
                    ],
                },
            ],
        }
    )
    with translation.override("en"):
        english = rule_sentence(rule)
    with translation.override("ko"):
        korean = rule_sentence(rule)
    assert english == (
        "Customers where Age is at least 30 and (RFM group is Loyal or "
        "Number of interactions (Web visit) in the last 30 days is at least 3)."
    )
    assert "나이" in korean and "이상" in korean and "또는" in korean


SPEND = {"field": "spend_90d", "operator": "gte", "value": "100"}


@pytest.mark.parametrize(
    ("rule", "over_analytics"),
    [
        (one(SPEND), True),
        ({"op": "or", "conditions": [SPEND, {"field": "last_nps", "operator": "is_set"}]}, True),
        (one({"field": "last_visit_at", "operator": "within_days", "value": 7}), True),
        (
            {
                "op": "and",
                "conditions": [
                    SPEND,
                    {"field": "consent", "operator": "eq", "value": True, "channel": "sms"},
                ],
            },
            True,
        ),
        # true for customers without an analytics row
        (one({"field": "last_purchase_at", "operator": "not_within_days", "value": 30}), False),
        (one({"field": "last_nps", "operator": "not_set"}), False),
        (
            {
                "op": "or",
                "conditions": [
                    SPEND,
                    {"field": "consent", "operator": "eq", "value": True, "channel": "sms"},
                ],
            },
            False,
        ),
        ({"op": "or", "conditions": []}, False),
        # tests the customer row
        ({"op": "and", "conditions": [SPEND, {"field": "age", "operator": "gte", "value": 30}]}, False),
        (
            {"op": "and", "conditions": [SPEND, {"field": "region", "operator": "eq", "value": "Seoul"}]},
            False,
        ),
    ],
)
def test_rules_that_need_an_analytics_row_and_no_customer_column_read_the_analytics_table(
    rule: dict[str, Any], over_analytics: bool
) -> None:
    """Issue 6: the full refresh read the whole customer table for its active-status filter alone."""
    clean = rule_validate(rule)
    assert rule_over_analytics(clean) is over_analytics
    sql = str(rule_queryset(clean).query)
    assert ('FROM "customers_customeranalytics"' in sql) is over_analytics


def test_a_rule_over_analytics_leaves_out_customers_who_are_not_active() -> None:
    active = CustomerAnalyticsFactory(spend_90d=Decimal(500)).customer
    survivor = CustomerFactory()
    CustomerAnalyticsFactory(
        spend_90d=Decimal(500), customer=CustomerFactory(status="merged", merged_into=survivor)
    )
    CustomerAnalyticsFactory(spend_90d=Decimal(500), customer=CustomerFactory(status="erased"))
    CustomerAnalyticsFactory(spend_90d=Decimal(5))
    assert set(rule_queryset(rule_validate(one(SPEND))).values_list("pk", flat=True)) == {active.pk}
