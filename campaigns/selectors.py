"""Reads of the campaigns app: segments, their members, previews of unsaved rules, and the segments a
customer is in with the conditions that put them there."""

import datetime as dt
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import Case, QuerySet, Value, When
from django.utils import timezone

from campaigns.compiler import rule_q, rule_queryset
from campaigns.models import Segment, SegmentMembership
from campaigns.rules import rule_leaves, rule_segment_ids
from campaigns.sentences import condition_sentence
from crm.db import prepared_cursor
from crm.rows import columns, instance_from_row
from customers.models import Customer

PREVIEW_SAMPLE = 10
# A preview counts matching customers exactly up to this many and says "10,000+" beyond: the builder
# previews on every change, and a capped count stops reading as soon as it has found enough.
PREVIEW_COUNT_CAP = 10_000
AT_RISK_KEY = "at_risk_valuable"


def segment_list() -> QuerySet[Segment]:
    """Every segment, by name; creator loaded with it."""
    return Segment.objects.select_related("created_by").order_by("name", "id")


def segment_members(*, segment: Segment) -> QuerySet[SegmentMembership]:
    """The current members of a segment with their customer row, for keyset pages by membership id
    (the ``campaigns_membership_members`` index)."""
    return SegmentMembership.objects.filter(segment=segment, exited_at__isnull=True).select_related(
        "customer"
    )


def segment_names(ids: set[int]) -> dict[int, str]:
    """Names of segments a rule refers to, for its sentence (no query when it refers to none)."""
    if not ids:
        return {}
    return dict(Segment.objects.filter(pk__in=ids).values_list("pk", "name"))


@dataclass(frozen=True)
class Preview:
    """What an unsaved rule would give: how many customers, and a few of them. When ``exact`` is false,
    more than ``count`` customers match (the count stopped at the cap)."""

    count: int
    sample: list[Customer]
    exact: bool = True


def segment_preview(
    *,
    rule: dict[str, Any],
    now: dt.datetime | None = None,
    size: int = PREVIEW_SAMPLE,
    cap: int | None = None,
) -> Preview:
    """Count (exactly up to ``cap``, ``PREVIEW_COUNT_CAP`` by default) and sample the customers a validated rule matches: two statements,
    whatever the rule.

    The first reads the ids of at most ``cap + 1`` matching customers, in no particular order, so the
    database stops as soon as it has found that many instead of counting everyone; the sample is the
    newest ``size`` of those ids (the newest matching customers whenever the count is exact), loaded by
    primary key."""
    cap = PREVIEW_COUNT_CAP if cap is None else cap
    matching = rule_queryset(rule, now=now).order_by()
    ids = list(matching.values_list("pk", flat=True)[: cap + 1])
    newest = sorted(ids, reverse=True)[:size]
    sample = (
        list(Customer.objects.filter(pk__in=newest).only("pk", "name", "email", "region").order_by("-pk"))
        if newest
        else []
    )
    return Preview(count=min(len(ids), cap), sample=sample, exact=len(ids) <= cap)


@dataclass(frozen=True)
class ConditionCheck:
    """One condition of a segment's rule, and whether it holds for the customer now."""

    sentence: str
    held: bool


@dataclass(frozen=True)
class CustomerSegment:
    """A segment the customer is in, since when, and why: the conditions that hold (a static segment
    has none: the customer was put in it)."""

    segment: Segment
    entered_at: dt.datetime
    checks: list[ConditionCheck] = field(default_factory=list)


@cache
def _open_memberships_sql(vendor: str) -> str:
    """On PostgreSQL, for each segment a probe of the one-open index by (segment, customer): a lateral
    subquery, kept from being flattened into a join by its ``LIMIT 1`` (one open stay per segment and
    customer anyway). Written as a plain join, the planner, which rarely has statistics for a table of a
    few segments, read the whole index for the customer instead (4.6 ms at 1M customers, against 0.2 ms).
    SQLite has no lateral joins: the plain join there."""
    select = f"SELECT {columns(SegmentMembership, 'm')}, {columns(Segment, 's')} "
    memberships, segments = SegmentMembership._meta.db_table, Segment._meta.db_table
    if vendor == "postgresql":
        return (
            f"{select} FROM {segments} s CROSS JOIN LATERAL (SELECT * FROM {memberships} x "  # noqa: S608
            "WHERE x.segment_id = s.id AND x.customer_id = %s AND x.exited_at IS NULL LIMIT 1) m "
            "ORDER BY s.name, m.segment_id"
        )
    return (
        f"{select} FROM {memberships} m JOIN {segments} s ON s.id = m.segment_id "
        "WHERE m.customer_id = %s AND m.exited_at IS NULL ORDER BY s.name, m.segment_id"
    )


def _open_memberships(customer_id: int) -> list[SegmentMembership]:
    """The customer's open memberships with their segments, by segment name: one statement written out
    and prepared (``crm.db``), since the customer page runs it on every view and compiling the ORM
    queryset cost more CPU than answering it."""
    width = len(SegmentMembership._meta.concrete_fields)
    segment_field = SegmentMembership._meta.get_field("segment")
    with prepared_cursor() as cursor:
        cursor.execute(_open_memberships_sql(connection.vendor), [customer_id])
        rows = cursor.fetchall()
    memberships = []
    for row in rows:
        membership = instance_from_row(SegmentMembership, row[:width])
        segment_field.set_cached_value(membership, instance_from_row(Segment, row[width:]))
        memberships.append(membership)
    return memberships


def customer_segments(customer_id: int, *, now: dt.datetime | None = None) -> list[CustomerSegment]:
    """The segments a customer is in now, by name, with each condition of their rules checked.

    Two queries, three when a rule refers to other segments: the open memberships with their segments
    (a nested loop over the segments, probing the one-open index by segment and customer for each),
    then one row of the customer with a boolean per condition of every rule (the same compiled
    expressions as the refreshes), then those segments' names.
    """
    memberships = _open_memberships(customer_id)
    now = now or timezone.now()
    leaves: list[tuple[int, dict[str, Any]]] = [
        (membership.segment_id, leaf)
        for membership in memberships
        if membership.segment.kind == Segment.Kind.DYNAMIC
        for leaf in rule_leaves(membership.segment.rule)
    ]
    held: dict[str, Any] = {}
    if leaves:
        annotations = {
            f"c{index}": Case(When(rule_q(leaf, now=now), then=Value(True)), default=Value(False))
            for index, (_segment, leaf) in enumerate(leaves)
        }
        held = (
            Customer.objects.filter(pk=customer_id).annotate(**annotations).values(*annotations).first() or {}
        )
    referenced: set[int] = set()
    for membership in memberships:
        referenced |= rule_segment_ids(membership.segment.rule)
    names = segment_names(referenced)
    checks: dict[int, list[ConditionCheck]] = {}
    for index, (segment_id, leaf) in enumerate(leaves):
        checks.setdefault(segment_id, []).append(
            ConditionCheck(sentence=condition_sentence(leaf, names), held=bool(held.get(f"c{index}")))
        )
    return [
        CustomerSegment(
            segment=membership.segment,
            entered_at=membership.entered_at,
            checks=checks.get(membership.segment_id, []),
        )
        for membership in memberships
    ]


def at_risk_members() -> QuerySet[SegmentMembership]:
    """The members of the built-in "valuable customers at risk of churning" segment, with their
    analytics, for the reps' alert list (keyset pages by membership id)."""
    return SegmentMembership.objects.filter(
        segment__builtin_key=AT_RISK_KEY, exited_at__isnull=True
    ).select_related("customer", "customer__analytics")
