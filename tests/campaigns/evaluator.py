"""A plain Python evaluation of segment rules over data loaded into memory: what the SQL compiler must
agree with (tests/campaigns/test_property.py). Written from the README's definition of each field, not
from the compiler."""

import datetime as dt
import operator as operator_module
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils import timezone

from campaigns.models import SegmentMembership
from customers.models import Consent, Customer, CustomerAnalytics, Interaction, PurchaseLine


@dataclass
class World:
    customers: list[Customer]
    analytics: dict[int, CustomerAnalytics]
    interactions: dict[int, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    lines: dict[int, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    consents: set[tuple[int, str, str]] = field(default_factory=set)
    memberships: set[tuple[int, int]] = field(default_factory=set)


def world_load() -> World:
    world = World(
        customers=list(Customer.objects.filter(status="active")),
        analytics={a.customer_id: a for a in CustomerAnalytics.objects.all()},
    )
    for row in Interaction.objects.values(
        "customer_id", "kind", "channel", "occurred_at", "amount", "source_system__code"
    ):
        world.interactions[row["customer_id"]].append(row)
    for line in PurchaseLine.objects.values(
        "interaction__customer_id", "product__sku", "supplier__code", "occurred_at", "is_return"
    ):
        world.lines[line["interaction__customer_id"]].append(line)
    world.consents = {(c.customer_id, c.channel, c.purpose) for c in Consent.objects.filter(granted=True)}
    world.memberships = set(
        SegmentMembership.objects.filter(exited_at__isnull=True).values_list("segment_id", "customer_id")
    )
    return world


def _age(birth: dt.date, today: dt.date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def _compare(actual: Any, operator: str, value: Any) -> bool:
    if actual is None:
        return False
    if operator == "in":
        return actual in value
    if operator == "not_in":
        return actual not in value
    return {
        "eq": operator_module.eq,
        "ne": operator_module.ne,
        "gt": operator_module.gt,
        "gte": operator_module.ge,
        "lt": operator_module.lt,
        "lte": operator_module.le,
    }[operator](actual, value)


def _recent(moment: dt.datetime | None, operator: str, days: int, now: dt.datetime) -> bool:
    within = moment is not None and moment >= now - dt.timedelta(days=days)
    return within if operator == "within_days" else not within


ANALYTICS = {
    "lifetime_value",
    "purchases_total",
    "purchases_90d",
    "spend_90d",
    "visits_30d",
    "last_nps",
    "churn_risk",
    "rfm_group",
    "rfm_recency",
    "rfm_frequency",
    "rfm_monetary",
    "last_purchase_at",
    "last_interaction_at",
}
DECIMALS = {"lifetime_value", "spend_90d", "churn_risk", "interaction_sum"}


def holds(node: dict[str, Any], customer: Customer, world: World, now: dt.datetime) -> bool:
    if "conditions" in node:
        results = [holds(child, customer, world, now) for child in node["conditions"]]
        return all(results) if node["op"] == "and" else any(results)
    name, operator = node["field"], node["operator"]
    value: Any = node.get("value")
    if name in DECIMALS and value is not None:
        value = Decimal(value)
    analytics = world.analytics.get(customer.pk)
    if name == "age":
        if customer.birth_date is None:
            return False
        return _compare(_age(customer.birth_date, timezone.localdate(now)), operator, value)
    if name in ("gender", "region", "postal_code", "preferred_language"):
        actual = getattr(customer, name)
        if operator == "is_set":
            return actual != ""
        if operator == "not_set":
            return actual == ""
        return _compare(actual, operator, value)
    if name in ("signup_at", "created_at"):
        actual = getattr(customer, name)
        if operator in ("is_set", "not_set"):
            return (actual is not None) == (operator == "is_set")
        return _recent(actual, operator, value, now)
    if name in ANALYTICS:
        actual = getattr(analytics, name) if analytics else None
        if operator in ("is_set", "not_set"):
            return (actual is not None) == (operator == "is_set")
        if operator in ("within_days", "not_within_days"):
            return _recent(actual, operator, value, now)
        return _compare(actual, operator, value)
    if name == "last_visit_at":
        web = analytics.last_web_visit_at if analytics else None
        app = analytics.last_app_visit_at if analytics else None
        if operator == "within_days":
            return _recent(web, operator, value, now) or _recent(app, operator, value, now)
        return _recent(web, operator, value, now) and _recent(app, operator, value, now)
    if name in ("interaction_count", "interaction_sum"):
        since = now - dt.timedelta(days=node["days"])
        rows = [
            row
            for row in world.interactions[customer.pk]
            if row["occurred_at"] >= since
            and node.get("kind") in (None, row["kind"])
            and node.get("channel") in (None, row["channel"])
            and node.get("source") in (None, row["source_system__code"])
        ]
        if name == "interaction_count":
            return _compare(len(rows), operator, value)
        return _compare(sum((row["amount"] or Decimal(0) for row in rows), Decimal(0)), operator, value)
    if name in ("bought_product", "bought_supplier"):
        key = "product__sku" if name == "bought_product" else "supplier__code"
        cut: dt.datetime | None = (
            now - dt.timedelta(days=node["days"]) if node.get("days") is not None else None
        )
        bought = any(
            not row["is_return"] and row[key] in value and (cut is None or row["occurred_at"] >= cut)
            for row in world.lines[customer.pk]
        )
        return bought if operator == "in" else not bought
    if name == "consent":
        granted = (customer.pk, node["channel"], node["purpose"]) in world.consents
        return granted == value
    if name == "segment":
        member = (value, customer.pk) in world.memberships
        return member if operator == "eq" else not member
    raise AssertionError(name)


def members(rule: dict[str, Any], world: World, now: dt.datetime) -> set[int]:
    return {customer.pk for customer in world.customers if holds(rule, customer, world, now)}
