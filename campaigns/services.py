"""Writes of the campaigns app: segments created and changed, and their memberships refreshed.

A refresh is set-based statements in one transaction, whatever the number of customers: it closes the
open memberships of customers the rule no longer matches (``exited_at``) and opens one for each matching
customer without one (``entered_at``); customers who stay are not written. The
segment row is locked for the refresh, so a daily refresh and an event's refresh of the same segment
take turns. ``member_count`` moves by the rows the two statements touched, so pages never count
members; a full refresh, in the background, re-counts them.
"""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Exists, F, OuterRef, QuerySet, Subquery
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.utils import timezone

from campaigns.compiler import rule_queryset
from campaigns.models import Segment, SegmentMembership
from campaigns.rules import rule_segment_ids, rule_validate
from crm.models import User
from customers.models import Customer

MEMBERSHIP_TABLE = SegmentMembership._meta.db_table


@dataclass(frozen=True)
class RefreshResult:
    """What a refresh changed."""

    segment_id: int
    entered: int
    exited: int


@transaction.atomic
def segment_create(
    *,
    name: str,
    rule: Any = None,
    kind: str = Segment.Kind.DYNAMIC,
    description: str = "",
    created_by: User | None = None,
    builtin_key: str | None = None,
) -> Segment:
    """Create a segment; a dynamic one is filled by a refresh enqueued when the transaction commits."""
    clean = rule_validate(rule) if kind == Segment.Kind.DYNAMIC else {}
    segment = Segment.objects.create(
        name=name,
        description=description,
        kind=kind,
        rule=clean,
        created_by=created_by,
        builtin_key=builtin_key,
    )
    if kind == Segment.Kind.DYNAMIC:
        _refresh_on_commit(segment.pk)
    return segment


@transaction.atomic
def segment_update(*, segment: Segment, name: str, description: str = "", rule: Any = None) -> Segment:
    """Change a segment's name, description and (for a dynamic one) rule; a new rule is applied by a
    refresh enqueued on commit. A rule that would make the segment contain itself is refused."""
    segment.name = name
    segment.description = description
    fields = ["name", "description", "updated_at"]
    if segment.kind == Segment.Kind.DYNAMIC:
        clean = rule_validate(rule, segment_id=segment.pk)
        if clean != segment.rule:
            segment.rule = clean
            fields.append("rule")
            _refresh_on_commit(segment.pk)
    segment.save(update_fields=fields)
    return segment


def _refresh_on_commit(segment_id: int) -> None:
    from campaigns.tasks import segment_refresh_task

    transaction.on_commit(lambda: segment_refresh_task.delay(segment_id))


@transaction.atomic
def segment_refresh(
    *, segment_id: int, customer_ids: Iterable[int] | None = None, now: dt.datetime | None = None
) -> RefreshResult:
    """Bring a dynamic segment's memberships up to date with its rule, for everyone or for the given
    customers only (the event-driven refresh). Safe to run twice: a second run changes nothing."""
    now = now or timezone.now()
    segment = Segment.objects.select_for_update().get(pk=segment_id)
    if segment.kind != Segment.Kind.DYNAMIC:
        return RefreshResult(segment_id, 0, 0)
    ids = None if customer_ids is None else sorted(set(customer_ids))
    matching = rule_queryset(segment.rule, now=now).order_by()
    if connection.vendor == "postgresql":
        entered, exited, matched = _memberships_replace(segment, matching, ids, now)
    else:
        if ids is not None:
            matching = matching.filter(pk__in=ids)
        exited = _memberships_close(segment, matching, ids, now)
        entered = _memberships_open(segment, matching, now)
        matched = None
    if ids is None:
        # A full refresh also re-counts, so that the count heals after anything that bypassed the
        # services (a truncate, a restore). On PostgreSQL the open memberships are now exactly the
        # matching customers, whose number the refresh already has; elsewhere the partial index counts.
        counted: Any = matched
        if counted is None:
            counted = Coalesce(
                Subquery(
                    SegmentMembership.objects.filter(segment=segment, exited_at__isnull=True)
                    .values("segment_id")
                    .annotate(n=Count("*"))
                    .values("n")
                ),
                0,
            )
        Segment.objects.filter(pk=segment.pk).update(member_count=counted, refreshed_at=now)
    else:
        _count_move(segment, entered, exited, now)
    return RefreshResult(segment_id, entered, exited)


# Memory for the refresh's hash joins (the rule's joins, and the diff of the matching customers against
# the open memberships), for the statements of a full refresh only: the default 4 MB made the diff of a
# few hundred thousand members spill to disk in batches.
REFRESH_WORK_MEM = "64MB"


def _memberships_replace(
    segment: Segment, matching: QuerySet[Any], ids: list[int] | None, now: dt.datetime
) -> tuple[int, int, int | None]:
    """PostgreSQL: close and open in one statement that compares the matching customers with the open
    memberships once. Returns (entered, exited, matching customers, for a full refresh).

    The comparison is a ``FULL JOIN`` of the two sets that keeps only the rows present on one side: an
    open membership without a matching customer is closed, a matching customer without an open
    membership gets one, and the customers on both sides (most of them, day to day) are not written at
    all. A full join is also robust to a wrong estimate: PostgreSQL can only hash or merge it, while the
    two ``NOT EXISTS`` it replaced became a quadratic nested loop once the statistics expected a
    segment of 3 rows that had 300,000. For a full refresh the rule's one SELECT first fills a temporary
    table: ``CREATE TABLE AS`` may run in parallel workers, which a statement that writes may not. A full
    refresh of a segment without open memberships (its first) has nothing to compare: every matching
    customer is inserted straight from that table, without the diff. New rows are inserted in customer
    order, which keeps the index insertions on neighbouring pages. JIT compilation is switched off: on
    these plans it costs more than it saves.
    """
    with connection.cursor() as cursor:
        if ids is None:
            select_sql, select_params = matching.values("pk").query.sql_with_params()
            return _memberships_replace_all(cursor, segment, select_sql, select_params, now)
        cursor.execute("SELECT set_config('jit', 'off', true)")
        # The rule, evaluated for each touched customer by an equality on its key (LIMIT 1 keeps the
        # subquery a per-customer probe: PostgreSQL cannot flatten it into a join). Not "pk = ANY(ids)"
        # in the rule's statement: for a rule joining the customer row to its analytics row, PostgreSQL
        # hashed a sequential scan of all the analytics rows for 8,840 touched customers (320 ms on 1M
        # customers, against 40 ms by the probes), and estimating an ANY of thousands of ids cost up to
        # 18 ms of planning per segment.
        hit_sql, hit_params = (
            matching.filter(pk=RawSQL("touched.customer_id", ())).values("pk")[:1].query.sql_with_params()
        )
        matching_sql = (
            "(SELECT touched.customer_id AS pk FROM unnest(%s::bigint[]) AS touched(customer_id) "  # noqa: S608
            f"CROSS JOIN LATERAL ({hit_sql}) AS hit)"
        )
        # The open row of each touched customer, if any, by an equality on both columns of the one-open
        # index (LIMIT 1: the index is unique, and it keeps the probe a nested loop). Not
        # "customer_id = ANY(ids)" beside the segment: while the statistics do not yet know a
        # segment's new members, PostgreSQL read all of them from the segment's range and filtered.
        open_rows = (
            "SELECT open_row.id, open_row.customer_id FROM unnest(%s::bigint[]) AS touched(customer_id) "  # noqa: S608
            f"CROSS JOIN LATERAL (SELECT id, customer_id FROM {connection.ops.quote_name(MEMBERSHIP_TABLE)} "
            "WHERE segment_id = %s AND customer_id = touched.customer_id AND exited_at IS NULL "
            "LIMIT 1) AS open_row",
            [ids, segment.pk],
        )
        entered, exited = _memberships_diff(cursor, segment, open_rows, matching_sql, [ids, *hit_params], now)
    return entered, exited, None


def _memberships_replace_all(
    cursor: Any, segment: Segment, select_sql: str, select_params: Any, now: dt.datetime
) -> tuple[int, int, int]:
    """A full refresh: the rule into a temporary table, then the diff, or for a segment without open
    memberships one ``INSERT … SELECT`` of every row of that table. (entered, exited, matched)."""
    table = connection.ops.quote_name(MEMBERSHIP_TABLE)
    # Every value is a bound parameter; the names are the model's own table and column names.
    cursor.execute(
        "SELECT set_config('jit', 'off', true), set_config('work_mem', %s, true), "  # noqa: S608
        f"EXISTS (SELECT 1 FROM {table} WHERE segment_id = %s AND exited_at IS NULL)",
        [REFRESH_WORK_MEM, segment.pk],
    )
    any_open = cursor.fetchone()[2]
    cursor.execute(f"CREATE TEMPORARY TABLE segment_matching AS {select_sql}", select_params)
    matched = cursor.rowcount
    if any_open:
        open_rows = (
            f"SELECT id, customer_id FROM {table} WHERE segment_id = %s AND exited_at IS NULL",  # noqa: S608
            [segment.pk],
        )
        entered, exited = _memberships_diff(cursor, segment, open_rows, "segment_matching", [], now)
    else:
        cursor.execute(
            f"INSERT INTO {table} (segment_id, customer_id, entered_at, exited_at) "  # noqa: S608
            "SELECT %s, matching.pk, %s, NULL FROM segment_matching AS matching ORDER BY matching.pk",
            [segment.pk, now],
        )
        entered, exited = max(cursor.rowcount, 0), 0
    cursor.execute("DROP TABLE segment_matching")
    return entered, exited, matched


def _memberships_diff(
    cursor: Any,
    segment: Segment,
    open_rows: tuple[str, list[Any]],
    source: str,
    source_params: list[Any],
    now: dt.datetime,
) -> tuple[int, int]:
    """The one statement that closes and opens (see ``_memberships_replace``) the open memberships
    ``open_rows`` selects (id, customer_id) against the matching customers of ``source``; returns
    (entered, exited)."""
    table = connection.ops.quote_name(MEMBERSHIP_TABLE)
    open_sql, open_params = open_rows
    # Every value is a bound parameter; the names are the model's own table and column names.
    sql = (
        f"WITH open_row AS ({open_sql}), "  # noqa: S608
        "diff AS MATERIALIZED ("
        "SELECT open_row.id AS membership_id, matching.pk AS customer_id "
        f"FROM open_row FULL JOIN {source} AS matching ON matching.pk = open_row.customer_id "
        "WHERE open_row.id IS NULL OR matching.pk IS NULL), "
        f"closed AS (UPDATE {table} AS membership SET exited_at = %s FROM diff "
        "WHERE diff.customer_id IS NULL AND membership.id = diff.membership_id RETURNING 1), "
        f"opened AS (INSERT INTO {table} (segment_id, customer_id, entered_at, exited_at) "
        "SELECT %s, diff.customer_id, %s, NULL FROM diff WHERE diff.membership_id IS NULL "
        "ORDER BY diff.customer_id RETURNING 1) "
        "SELECT (SELECT COUNT(*) FROM opened), (SELECT COUNT(*) FROM closed)"
    )
    cursor.execute(sql, [*open_params, *source_params, now, segment.pk, now])
    entered, exited = cursor.fetchone()
    return int(entered), int(exited)


def _memberships_close(
    segment: Segment, matching: QuerySet[Any], ids: list[int] | None, now: dt.datetime
) -> int:
    """Close the open memberships of customers the rule no longer matches (one UPDATE, an anti-join)."""
    still_open = SegmentMembership.objects.filter(segment=segment, exited_at__isnull=True)
    if ids is not None:
        still_open = still_open.filter(customer_id__in=ids)
    return still_open.filter(~Exists(matching.filter(pk=OuterRef("customer_id")))).update(exited_at=now)


def _memberships_open(segment: Segment, customers: QuerySet[Any], now: dt.datetime) -> int:
    """Open a membership for each of ``customers`` without an open one (one INSERT … SELECT)."""
    select_sql, select_params = customers.values("pk").query.sql_with_params()
    quote = connection.ops.quote_name
    # Every value is a bound parameter; the names are the model's own table and column names.
    sql = (
        f"INSERT INTO {quote(MEMBERSHIP_TABLE)} (segment_id, customer_id, entered_at, exited_at) "  # noqa: S608
        f"SELECT %s, matching.pk, %s, NULL FROM ({select_sql}) AS matching "
        f"WHERE NOT EXISTS (SELECT 1 FROM {quote(MEMBERSHIP_TABLE)} AS open_row "
        "WHERE open_row.segment_id = %s AND open_row.customer_id = matching.pk "
        "AND open_row.exited_at IS NULL)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [segment.pk, now, *select_params, segment.pk])
        return max(cursor.rowcount, 0)


def _count_move(segment: Segment, entered: int, exited: int, now: dt.datetime) -> None:
    Segment.objects.filter(pk=segment.pk).update(
        member_count=F("member_count") + entered - exited, refreshed_at=now
    )


def segments_in_refresh_order(segments: list[Segment]) -> list[Segment]:
    """Dynamic segments ordered so that a segment comes after those its rule refers to."""
    by_id = {segment.pk: segment for segment in segments}
    ordered: list[Segment] = []
    done: set[int] = set()

    def visit(segment: Segment, trail: set[int]) -> None:
        if segment.pk in done or segment.pk in trail:
            return
        for referenced in sorted(rule_segment_ids(segment.rule)):
            if referenced in by_id:
                visit(by_id[referenced], trail | {segment.pk})
        done.add(segment.pk)
        ordered.append(segment)

    for segment in sorted(segments, key=lambda s: s.pk):
        visit(segment, set())
    return ordered


def segments_refresh(
    *, customer_ids: Iterable[int] | None = None, now: dt.datetime | None = None
) -> list[RefreshResult]:
    """Refresh every dynamic segment (daily), or every one for the given customers (after an event)."""
    ids = None if customer_ids is None else sorted(set(customer_ids))
    if ids == []:
        return []
    segments = list(Segment.objects.filter(kind=Segment.Kind.DYNAMIC).only("pk", "rule"))
    return [
        segment_refresh(segment_id=segment.pk, customer_ids=ids, now=now)
        for segment in segments_in_refresh_order(segments)
    ]


@transaction.atomic
def segment_members_add(
    *, segment: Segment, customer_ids: Iterable[int], now: dt.datetime | None = None
) -> int:
    """Put customers in a static segment (chosen by hand or uploaded); return how many entered.
    Unknown, merged or erased customers and those already in are skipped."""
    now = now or timezone.now()
    segment = Segment.objects.select_for_update().get(pk=segment.pk)
    if segment.kind != Segment.Kind.STATIC:
        raise ValueError("Only a static segment takes chosen customers.")
    customers = Customer.objects.filter(
        pk__in=sorted(set(customer_ids)), status=Customer.Status.ACTIVE
    ).order_by()
    entered = _memberships_open(segment, customers, now)
    _count_move(segment, entered, 0, now)
    return entered


@transaction.atomic
def segment_members_remove(
    *, segment: Segment, customer_ids: Iterable[int], now: dt.datetime | None = None
) -> int:
    """Take customers out of a static segment (their memberships are closed, not deleted)."""
    now = now or timezone.now()
    segment = Segment.objects.select_for_update().get(pk=segment.pk)
    if segment.kind != Segment.Kind.STATIC:
        raise ValueError("Only a static segment takes chosen customers.")
    exited = SegmentMembership.objects.filter(
        segment=segment, customer_id__in=sorted(set(customer_ids)), exited_at__isnull=True
    ).update(exited_at=now)
    _count_move(segment, 0, exited, now)
    return exited
