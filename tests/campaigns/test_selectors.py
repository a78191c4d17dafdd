"""Issue 6: the segments a customer is in and why, for the customer page (selector and partial)."""

from decimal import Decimal

import pytest
from django.db import connection
from django.template.loader import render_to_string
from pytest_django import DjangoAssertNumQueries

from campaigns.models import Segment
from campaigns.rules import rule_validate
from campaigns.selectors import _open_memberships_sql, customer_segments, segment_preview
from campaigns.services import segment_members_add, segment_refresh
from tests.factories import CustomerAnalyticsFactory, CustomerFactory

pytestmark = pytest.mark.django_db


def test_customer_segments_say_which_conditions_held(
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    customer = CustomerAnalyticsFactory(lifetime_value=Decimal(5000), churn_risk=Decimal("0.2")).customer
    either = Segment.objects.create(
        name="Rich or leaving",
        rule={
            "op": "or",
            "conditions": [
                {"field": "lifetime_value", "operator": "gte", "value": "1000"},
                {"field": "churn_risk", "operator": "gte", "value": "0.5"},
            ],
        },
    )
    Segment.objects.create(
        name="Leaving",
        rule={"op": "and", "conditions": [{"field": "churn_risk", "operator": "gte", "value": "0.5"}]},
    )
    chosen = Segment.objects.create(name="Chosen", kind=Segment.Kind.STATIC)
    segment_refresh(segment_id=either.pk)
    segment_members_add(segment=chosen, customer_ids=[customer.pk])

    with django_assert_num_queries(2):  # memberships with their segments; one row of booleans
        found = customer_segments(customer.pk)

    assert [item.segment.name for item in found] == ["Chosen", "Rich or leaving"]
    assert found[0].checks == []
    assert [(check.sentence, check.held) for check in found[1].checks] == [
        ("Lifetime value is at least 1000", True),
        ("Churn risk is at least 0.5", False),
    ]

    html = render_to_string("campaigns/partials/customer_segments.html", {"customer_segments": found})
    assert "Rich or leaving" in html
    assert "✓</span> Lifetime value is at least 1000" in html
    assert "✗</span> Churn risk is at least 0.5" in html
    assert "Chosen by hand or from a list." in html


def test_a_customer_in_no_segment() -> None:
    customer = CustomerAnalyticsFactory().customer
    Segment.objects.filter(builtin_key__isnull=False).delete()
    assert customer_segments(customer.pk) == []
    assert "In no segment." in render_to_string(
        "campaigns/partials/customer_segments.html", {"customer_segments": []}
    )


def test_a_preview_counts_exactly_up_to_its_cap_and_says_so_beyond(
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    """Issue 6: a preview counted every matching customer on each change of the builder (5 s on 1M)."""
    rule = rule_validate(
        {"op": "and", "conditions": [{"field": "region", "operator": "eq", "value": "Seoul"}]}
    )
    seoul = [CustomerFactory(region="Seoul").pk for _ in range(4)]
    CustomerFactory(region="Busan")

    with django_assert_num_queries(2):  # at most cap + 1 ids, then the sample's rows
        exact = segment_preview(rule=rule, cap=4, size=3)
    assert (exact.count, exact.exact) == (4, True)
    assert [customer.pk for customer in exact.sample] == sorted(seoul, reverse=True)[:3]

    capped = segment_preview(rule=rule, cap=3, size=3)
    assert (capped.count, capped.exact) == (3, False)
    assert len(capped.sample) == 3
    assert {customer.pk for customer in capped.sample} <= set(seoul)

    with django_assert_num_queries(1):
        nobody = segment_preview(rule=rule_validate({"op": "or", "conditions": []}))
    assert (nobody.count, nobody.exact, nobody.sample) == (0, True, [])


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the plan is PostgreSQL's")
def test_a_customers_segments_are_read_by_one_probe_per_segment() -> None:
    """Without statistics for the segment table, a plain join read the whole one-open index for the
    customer (its second column); the lateral form probes it by segment and customer."""
    customer = CustomerFactory()
    chosen = Segment.objects.create(name="Chosen", kind=Segment.Kind.STATIC)
    segment_members_add(segment=chosen, customer_ids=[customer.pk])
    assert [item.segment.name for item in customer_segments(customer.pk)] == ["Chosen"]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {_open_memberships_sql(connection.vendor)}", [customer.pk])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Index Cond: ((segment_id = s.id) AND (customer_id =" in plan
