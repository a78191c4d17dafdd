"""Compile a validated rule to one SQL statement: a ``Q`` over customers, with ``EXISTS`` and scalar
subqueries for behaviour, consent and segment conditions.

Every value is passed to the ORM, which binds it as a parameter; field names and operators only select
which of the fixed expressions below is built. Windows ("within 30 days") and ages are turned into
timestamps and dates in Python, so that each comparison is a plain, index-friendly range on a column.

Semantics shared with the documentation and the test's Python evaluator: a comparison with a missing
value (no birth date, no analytics row, no NPS) is false, while ``not_set`` and ``not_within_days`` hold
for it; ``ne`` and ``not_in`` on a column are written without negation so that NULL never flips them.
Only active customers (not merged away, not erased) are ever members.

A rule that can only hold for customers with an analytics row, and tests nothing on the customer row
(say "spend in 90 days at least 100,000 and churn risk below 0.5"), is compiled over the analytics table
instead: the few customers who are not active are then excluded through the partial index that lists them,
and the million-row customer table is not read at all. Every other rule is compiled over the customer
table, with one join to the analytics row when it needs one.
"""

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.db.models import Count, DecimalField, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.db.models.lookups import (
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    LessThan,
    LessThanOrEqual,
)
from django.utils import timezone

from campaigns.models import SegmentMembership
from campaigns.rules import FIELDS, age_cutoff
from customers.models import Consent, Customer, CustomerAnalytics, Interaction, PurchaseLine

# Profile columns of the customer row, and the analytics row's columns, as rule fields name them.
_PROFILE_COLUMNS = {"gender", "region", "postal_code", "preferred_language", "signup_at", "created_at"}
_CUSTOMER_ROW_FIELDS = {*_PROFILE_COLUMNS, "age"}
_ANALYTICS_COLUMNS = {name for name, spec in FIELDS.items() if spec.category == "analytics"}
_LOOKUPS = {"eq": "exact", "gt": "gt", "gte": "gte", "lt": "lt", "lte": "lte"}
_EXPRESSION_LOOKUPS: dict[str, Callable[..., Any]] = {
    "eq": Exact,
    "gt": GreaterThan,
    "gte": GreaterThanOrEqual,
    "lt": LessThan,
    "lte": LessThanOrEqual,
}


def rule_queryset(rule: dict[str, Any], *, now: dt.datetime | None = None) -> QuerySet[Any]:
    """The active customers a validated rule matches, as one statement: a queryset whose ``pk`` is the
    customer's id (over the analytics table when the rule allows it, see the module's docstring)."""
    if rule_over_analytics(rule):
        not_active = Customer.objects.filter(pk=OuterRef("pk")).exclude(status=Customer.Status.ACTIVE)
        return CustomerAnalytics.objects.filter(~Exists(not_active)).filter(
            rule_q(rule, now=now, base=ANALYTICS)
        )
    return Customer.objects.filter(status=Customer.Status.ACTIVE).filter(rule_q(rule, now=now))


CUSTOMER, ANALYTICS = "customer", "analytics"


def rule_over_analytics(node: dict[str, Any]) -> bool:
    """Whether a validated rule may be evaluated over the analytics table: it tests no column of the
    customer row, and it cannot hold for a customer without an analytics row."""
    leaves = _leaves(node)
    return not any(leaf["field"] in _CUSTOMER_ROW_FIELDS for leaf in leaves) and _needs_analytics(node)


def _leaves(node: dict[str, Any]) -> list[dict[str, Any]]:
    if "conditions" not in node:
        return [node]
    return [leaf for child in node["conditions"] for leaf in _leaves(child)]


def _needs_analytics(node: dict[str, Any]) -> bool:
    """True when the (part of a) rule is false for every customer without an analytics row."""
    if "conditions" in node:
        children = [_needs_analytics(child) for child in node["conditions"]]
        return any(children) if node["op"] == "and" else bool(children) and all(children)
    name, operator = node["field"], node["operator"]
    if name == "last_visit_at":
        return operator == "within_days"
    if name not in _ANALYTICS_COLUMNS:
        return False
    if operator == "is_set":
        # A number or a date is NULL without the row; a text's "is set" is a negation, and a negation
        # across the join is not relied on here.
        return FIELDS[name].value_type not in ("text", "choice")
    # A comparison with a missing value does not hold, ``ne``/``not_in`` included, nor does "within N
    # days".
    return operator not in ("not_set", "not_within_days")


def rule_q(node: dict[str, Any], *, now: dt.datetime | None = None, base: str = CUSTOMER) -> Q:
    """The condition of a validated rule (or group, or condition) on the customer table, or on the
    analytics table (``base=ANALYTICS``, for the rules ``rule_over_analytics`` allows)."""
    now = now or timezone.now()
    if "conditions" in node:
        children = [rule_q(child, now=now, base=base) for child in node["conditions"]]
        if not children:
            # An empty AND holds for everyone, an empty OR for no one. Not ``Q()``: Django drops an empty
            # Q when combining, so OR(x, empty AND) would become x instead of everyone.
            return Q(pk__isnull=False) if node["op"] == "and" else Q(pk__isnull=True)
        combined = children[0]
        for child in children[1:]:
            combined = combined & child if node["op"] == "and" else combined | child
        return combined
    return _condition_q(node, now, base)


def _compare(column: str, operator: str, value: Any, *, nullable: bool, choices: list[Any] | None) -> Q:
    """A comparison on a column. On a column that may be NULL (the analytics row may be missing),
    ``ne`` and ``not_in`` are written positively, so that a missing value never makes them hold; the
    customer row's text columns are never NULL and are simply negated."""
    if operator in _LOOKUPS:
        return Q(**{f"{column}__{_LOOKUPS[operator]}": value})
    if operator == "in":
        return Q(**{f"{column}__in": value})
    excluded = [value] if operator == "ne" else value
    if not nullable:
        return ~Q(**{f"{column}__in": excluded})
    if choices is not None:
        return Q(**{f"{column}__in": [c for c in choices if c not in excluded]})
    if operator == "ne":
        return Q(**{f"{column}__lt": value}) | Q(**{f"{column}__gt": value})
    raise ValueError(operator)


def _recency(column: str, operator: str, days: int, now: dt.datetime) -> Q:
    since = now - dt.timedelta(days=days)
    if operator == "within_days":
        return Q(**{f"{column}__gte": since})
    return Q(**{f"{column}__lt": since}) | Q(**{f"{column}__isnull": True})


def _analytics_column(name: str, base: str) -> str:
    return name if base == ANALYTICS else f"analytics__{name}"


def _condition_q(node: dict[str, Any], now: dt.datetime, base: str) -> Q:
    name, operator = node["field"], node["operator"]
    value: Any = node.get("value")
    spec = FIELDS[name]
    if base == ANALYTICS and name in _CUSTOMER_ROW_FIELDS:
        raise ValueError(f"{name} is on the customer row")
    if name == "last_visit_at":
        return _last_visit(node, now, base)
    builder = _BUILDERS.get(name)
    if builder is not None:
        return builder(node, now)
    column = _analytics_column(name, base) if name in _ANALYTICS_COLUMNS else name
    if name not in _ANALYTICS_COLUMNS and name not in _PROFILE_COLUMNS:
        raise ValueError(name)
    if operator in ("within_days", "not_within_days"):
        return _recency(column, operator, value, now)
    if operator in ("is_set", "not_set"):
        if spec.value_type in ("text", "choice"):
            return ~Q(**{column: ""}) if operator == "is_set" else Q(**{column: ""})
        return Q(**{f"{column}__isnull": operator == "not_set"})
    choices = [choice for choice, _label in spec.choices] if spec.choices else None
    if spec.value_type == "decimal":
        value = [Decimal(v) for v in value] if isinstance(value, list) else Decimal(value)
    return _compare(column, operator, value, nullable=name in _ANALYTICS_COLUMNS, choices=choices)


def _age(node: dict[str, Any], now: dt.datetime) -> Q:
    """Age in whole years on today's local date, as a range on the birth date."""
    today = timezone.localdate(now)
    years, operator = node["value"], node["operator"]
    at_least = {"gte": years, "gt": years + 1, "eq": years, "ne": None}.get(operator)
    younger_than = {"lt": years, "lte": years + 1, "eq": years + 1}.get(operator)
    if operator == "ne":
        return Q(birth_date__gt=age_cutoff(today, years)) | Q(birth_date__lte=age_cutoff(today, years + 1))
    q = Q()
    if at_least is not None:
        q &= Q(birth_date__lte=age_cutoff(today, at_least))
    if younger_than is not None:
        q &= Q(birth_date__gt=age_cutoff(today, younger_than))
    return q


def _interactions(node: dict[str, Any], now: dt.datetime) -> QuerySet[Interaction]:
    """The customer's interactions a behaviour condition counts, correlated with the outer customer."""
    rows = Interaction.objects.filter(
        customer_id=OuterRef("pk"), occurred_at__gte=now - dt.timedelta(days=node["days"])
    )
    if node.get("kind"):
        rows = rows.filter(kind=node["kind"])
    if node.get("channel"):
        rows = rows.filter(channel=node["channel"])
    if node.get("source"):
        rows = rows.filter(source_system__code=node["source"])
    return rows.order_by()


def _interaction_count(node: dict[str, Any], now: dt.datetime) -> Q:
    rows = _interactions(node, now)
    operator, value = node["operator"], node["value"]
    # "At least one" and "none" are EXISTS: the database stops at the first row.
    if (operator, value) in {("gte", 1), ("gt", 0)}:
        return Q(Exists(rows))
    if (operator, value) in {("lt", 1), ("eq", 0), ("lte", 0)}:
        return ~Q(Exists(rows))
    counted = Coalesce(
        Subquery(
            rows.values("customer_id").annotate(n=Count("*")).values("n")[:1], output_field=IntegerField()
        ),
        0,
    )
    return _expression_compare(counted, operator, value)


def _interaction_sum(node: dict[str, Any], now: dt.datetime) -> Q:
    rows = _interactions(node, now)
    output: DecimalField = DecimalField(max_digits=20, decimal_places=2)
    total = Coalesce(
        Subquery(rows.values("customer_id").annotate(s=Sum("amount")).values("s")[:1], output_field=output),
        Decimal(0),
        output_field=output,
    )
    return _expression_compare(total, node["operator"], Decimal(node["value"]))


def _expression_compare(expression: Any, operator: str, value: Any) -> Q:
    if operator == "ne":
        return Q(LessThan(expression, value)) | Q(GreaterThan(expression, value))
    return Q(_EXPRESSION_LOOKUPS[operator](expression, value))


def _bought(node: dict[str, Any], now: dt.datetime) -> Q:
    lines = PurchaseLine.objects.filter(interaction__customer_id=OuterRef("pk"), is_return=False)
    if node["field"] == "bought_product":
        lines = lines.filter(product__sku__in=node["value"])
    else:
        lines = lines.filter(supplier__code__in=node["value"])
    if node.get("days") is not None:
        lines = lines.filter(occurred_at__gte=now - dt.timedelta(days=node["days"]))
    exists = Q(Exists(lines.order_by()))
    return exists if node["operator"] == "in" else ~exists


def _last_visit(node: dict[str, Any], now: dt.datetime, base: str) -> Q:
    web = _recency(_analytics_column("last_web_visit_at", base), node["operator"], node["value"], now)
    app = _recency(_analytics_column("last_app_visit_at", base), node["operator"], node["value"], now)
    return web | app if node["operator"] == "within_days" else web & app


def _consent(node: dict[str, Any], now: dt.datetime) -> Q:
    granted = Q(
        Exists(
            Consent.objects.filter(
                customer_id=OuterRef("pk"), channel=node["channel"], purpose=node["purpose"], granted=True
            )
        )
    )
    return granted if node["value"] else ~granted


def _segment(node: dict[str, Any], now: dt.datetime) -> Q:
    member = Q(
        Exists(
            SegmentMembership.objects.filter(
                customer_id=OuterRef("pk"), segment_id=node["value"], exited_at__isnull=True
            )
        )
    )
    return member if node["operator"] == "eq" else ~member


_BUILDERS: dict[str, Callable[[dict[str, Any], dt.datetime], Q]] = {
    "age": _age,
    "interaction_count": _interaction_count,
    "interaction_sum": _interaction_sum,
    "bought_product": _bought,
    "bought_supplier": _bought,
    "consent": _consent,
    "segment": _segment,
}
