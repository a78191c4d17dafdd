"""Customer analytics: the per-customer feature row that profiles and segments read.

Two ways keep it current, both set-based SQL, the same on PostgreSQL and SQLite 3.35+:

- ``customer_analytics_apply(interaction_ids=...)``, as interactions arrive: the new interactions alone
  are aggregated per customer and folded into the rows (sums added, latest dates kept), and the scores
  computed from the folded values, in one statement that writes each row once. Its cost follows the
  batch, not the customers' histories.
  It must see each interaction once: the outbox relay runs it in the same transaction that marks the
  message processed.
- ``customer_analytics_refresh(customer_ids=...)`` recomputes rows from the whole history: for everyone
  nightly, because the 30- and 90-day windows and recency move with the calendar alone, and for the
  customers a merge or an undo changed.

The formulas, which the README repeats for the people who read the scores:

- **Lifetime value**: purchases minus returns, converted to ``CRM_BASE_CURRENCY`` at ``CRM_EXCHANGE_RATES``.
- **RFM scores** (1–5, 0 when the customer never bought), on fixed thresholds so that one customer's
  score never depends on the others' and can be updated alone:
  recency by days since the last purchase (≤30: 5, ≤90: 4, ≤180: 3, ≤365: 2, older: 1);
  frequency by purchases (≥20: 5, ≥10: 4, ≥5: 3, ≥2: 2, 1: 1);
  monetary by lifetime value (≥5,000,000: 5, ≥2,000,000: 4, ≥500,000: 3, ≥100,000: 2, less: 1).
- **RFM group**, in this order: no purchases → none; R≥4 and F≥4 → champions; R≥4 and F=1 → new;
  R≥3 and F≥3 → loyal; R≥3 → potential; R≤2 and F≥4 → at risk; R=2 → hibernating; else lost.
- **Churn risk** (0–1): a base by recency (R5 0.05, R4 0.15, R3 0.35, R2 0.60, R1 0.85; never bought:
  0.30 if any interaction in the last 30 days, else 0.60), +0.15 for a detractor's last NPS (0–6),
  −0.10 for a promoter's (9–10), −0.10 for 3 or more web/app visits in 30 days, +0.05 for none while
  R ≤ 3 (never bought included), clamped to 0–1.
"""

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

RECENCY_DAYS = (30, 90, 180, 365)  # boundaries of recency scores 5, 4, 3, 2
FREQUENCY_PURCHASES = (20, 10, 5, 2)  # least purchases for frequency scores 5, 4, 3, 2
MONETARY_VALUE = (5_000_000, 2_000_000, 500_000, 100_000)  # least lifetime value for scores 5, 4, 3, 2
CHUNK = 1000  # customers (or interactions) per statement
TABLE = "customers_customeranalytics"
RAW_COLUMNS = (
    "lifetime_value",
    "purchases_total",
    "first_purchase_at",
    "last_purchase_at",
    "purchases_90d",
    "spend_90d",
    "last_web_visit_at",
    "last_app_visit_at",
    "visits_30d",
    "last_interaction_at",
    "last_nps",
    "last_nps_at",
)
SCORE_COLUMNS = ("rfm_recency", "rfm_frequency", "rfm_monetary", "rfm_group", "churn_risk", "updated_at")


class _Query:
    """Bound parameters for SQL built from fragments: each value gets a named placeholder, so fragments may
    be built in any order and used more than once."""

    def __init__(self, now: dt.datetime) -> None:
        self.params: dict[str, Any] = {}
        self.now = now

    def p(self, value: Any) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f"%({name})s"

    def at(self, days_ago: int = 0) -> str:
        return self.p(connection.ops.adapt_datetimefield_value(self.now - dt.timedelta(days=days_ago)))

    def ids(self, values: list[int]) -> str:
        """The ids, for ``IN (...)``. On PostgreSQL they travel as one array literal: psycopg binds
        client-side, and splitting a query of a thousand placeholders cost more than running it."""
        if connection.vendor == "postgresql":
            return f"SELECT unnest({self.p('{' + ','.join(str(int(v)) for v in values) + '}')}::bigint[])"
        return ", ".join(self.p(v) for v in values)


# --- the formulas, as SQL over named columns ------------------------------------------------------------


def _converted(q: _Query) -> str:
    """An interaction's amount in the base currency; a currency without a rate counts at 1."""
    cases = " ".join(
        f"WHEN {q.p(code)} THEN {q.p(Decimal(str(rate)))}"
        for code, rate in settings.CRM_EXCHANGE_RATES.items()
    )
    return f"(i.amount * CASE i.currency WHEN {q.p(settings.CRM_BASE_CURRENCY)} THEN 1 {cases} ELSE 1 END)"


def _aggregates(q: _Query, where: str) -> str:
    """Per customer, the raw figures of the interactions that ``where`` selects (alias ``i``)."""
    return f"""
        SELECT i.customer_id,
            SUM(CASE WHEN i.amount IS NULL THEN 0
                     WHEN i.kind = 'purchase' THEN {_converted(q)}
                     WHEN i.kind = 'return' THEN -ABS({_converted(q)}) ELSE 0 END) AS ltv,
            SUM(CASE WHEN i.kind = 'purchase' THEN 1 ELSE 0 END) AS purchases,
            MIN(CASE WHEN i.kind = 'purchase' THEN i.occurred_at END) AS first_purchase,
            MAX(CASE WHEN i.kind = 'purchase' THEN i.occurred_at END) AS last_purchase,
            SUM(CASE WHEN i.kind = 'purchase' AND i.occurred_at >= {q.at(90)} THEN 1 ELSE 0 END) AS purchases_90d,
            SUM(CASE WHEN i.occurred_at < {q.at(90)} OR i.amount IS NULL THEN 0
                     WHEN i.kind = 'purchase' THEN {_converted(q)}
                     WHEN i.kind = 'return' THEN -ABS({_converted(q)}) ELSE 0 END) AS spend_90d,
            MAX(CASE WHEN i.kind = 'web_visit' THEN i.occurred_at END) AS last_web,
            MAX(CASE WHEN i.kind = 'app_visit' THEN i.occurred_at END) AS last_app,
            SUM(CASE WHEN i.kind IN ('web_visit', 'app_visit') AND i.occurred_at >= {q.at(30)}
                     THEN 1 ELSE 0 END) AS visits_30d,
            MAX(i.occurred_at) AS last_interaction,
            MAX(CASE WHEN i.nps_score IS NOT NULL THEN i.occurred_at END) AS last_nps_at
        FROM customers_interaction i
        WHERE {where}
        GROUP BY i.customer_id"""


def _recency(q: _Query, last_purchase: str) -> str:
    d5, d4, d3, d2 = RECENCY_DAYS
    return (
        f"CASE WHEN {last_purchase} IS NULL THEN 0 WHEN {last_purchase} >= {q.at(d5)} THEN 5 "
        f"WHEN {last_purchase} >= {q.at(d4)} THEN 4 WHEN {last_purchase} >= {q.at(d3)} THEN 3 "
        f"WHEN {last_purchase} >= {q.at(d2)} THEN 2 ELSE 1 END"
    )


def _frequency(purchases: str) -> str:
    f5, f4, f3, f2 = FREQUENCY_PURCHASES
    return (
        f"CASE WHEN {purchases} >= {f5} THEN 5 WHEN {purchases} >= {f4} THEN 4 WHEN {purchases} >= {f3} THEN 3 "
        f"WHEN {purchases} >= {f2} THEN 2 WHEN {purchases} >= 1 THEN 1 ELSE 0 END"
    )


def _monetary(ltv: str, purchases: str) -> str:
    m5, m4, m3, m2 = MONETARY_VALUE
    return (
        f"CASE WHEN {purchases} = 0 THEN 0 WHEN {ltv} >= {m5} THEN 5 WHEN {ltv} >= {m4} THEN 4 "
        f"WHEN {ltv} >= {m3} THEN 3 WHEN {ltv} >= {m2} THEN 2 ELSE 1 END"
    )


def _group(r: str, f: str) -> str:
    return (
        f"CASE WHEN {f} = 0 THEN 'none' WHEN {r} >= 4 AND {f} >= 4 THEN 'champions' "
        f"WHEN {r} >= 4 AND {f} = 1 THEN 'new' WHEN {r} >= 3 AND {f} >= 3 THEN 'loyal' "
        f"WHEN {r} >= 3 THEN 'potential' WHEN {f} >= 4 THEN 'at_risk' WHEN {r} = 2 THEN 'hibernating' "
        f"ELSE 'lost' END"
    )


def _risk(q: _Query, r: str, last_interaction: str, last_nps: str, visits_30d: str) -> str:
    return (
        f"(CASE {r} WHEN 5 THEN 0.05 WHEN 4 THEN 0.15 WHEN 3 THEN 0.35 WHEN 2 THEN 0.60 WHEN 1 THEN 0.85 "
        f"ELSE CASE WHEN {last_interaction} >= {q.at(30)} THEN 0.30 ELSE 0.60 END END"
        f" + CASE WHEN {last_nps} <= 6 THEN 0.15 WHEN {last_nps} >= 9 THEN -0.10 ELSE 0 END"
        f" + CASE WHEN {visits_30d} >= 3 THEN -0.10 WHEN {visits_30d} = 0 AND {r} <= 3 THEN 0.05 ELSE 0 END)"
    )


def _clamped(expression: str) -> str:
    return f"CASE WHEN {expression} < 0 THEN 0 WHEN {expression} > 1 THEN 1 ELSE {expression} END"


def _execute(q: _Query, sql: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, q.params)
        if cursor.rowcount < 0:  # Python's sqlite3 reports no row count for a statement opening with WITH
            cursor.execute("SELECT changes()")
            return int(cursor.fetchone()[0])
        return int(cursor.rowcount)


# --- recompute from the whole history -------------------------------------------------------------------


def customer_analytics_refresh(
    *, customer_ids: Iterable[int] | None = None, now: dt.datetime | None = None
) -> int:
    """Recompute the analytics rows of the given customers (all customers when ``customer_ids`` is None)
    from their whole history, and return how many rows were written."""
    now = now or timezone.now()
    if customer_ids is None:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                # Aggregating every interaction spills to disk at the default work_mem.
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL work_mem = '256MB'")
            return _refresh(None, now)
    ids = sorted(set(customer_ids))
    written = 0
    with transaction.atomic():
        for start in range(0, len(ids), CHUNK):
            written += _refresh(ids[start : start + CHUNK], now)
    return written


def _refresh(ids: list[int] | None, now: dt.datetime) -> int:
    q = _Query(now)
    in_ids = f"i.customer_id IN ({q.ids(ids)})" if ids is not None else "1 = 1"
    aggregates = _aggregates(q, in_ids)
    customers = f"c.id IN ({q.ids(ids)})" if ids is not None else "1 = 1"
    # MATERIALIZED: computed once; otherwise PostgreSQL inlines v and runs the last_nps subquery once per
    # reference in the scores.
    v = f"""
        SELECT c.id AS customer_id, COALESCE(a.ltv, 0) AS ltv, COALESCE(a.purchases, 0) AS purchases,
            a.first_purchase, a.last_purchase, COALESCE(a.purchases_90d, 0) AS purchases_90d,
            COALESCE(a.spend_90d, 0) AS spend_90d, a.last_web, a.last_app,
            COALESCE(a.visits_30d, 0) AS visits_30d, a.last_interaction, a.last_nps_at,
            (SELECT n.nps_score FROM customers_interaction n
              WHERE n.customer_id = c.id AND n.nps_score IS NOT NULL
              ORDER BY n.occurred_at DESC, n.id DESC LIMIT 1) AS last_nps
        FROM customers_customer c LEFT JOIN a ON a.customer_id = c.id
        WHERE {customers}"""
    scored = f"""
        SELECT v.*, {_recency(q, "v.last_purchase")} AS r, {_frequency("v.purchases")} AS f,
            {_monetary("v.ltv", "v.purchases")} AS m
        FROM v"""
    risked = f"""
        SELECT sc.*, {_risk(q, "sc.r", "sc.last_interaction", "sc.last_nps", "sc.visits_30d")} AS risk
        FROM ({scored}) sc"""
    sql = f"""
    WITH a AS MATERIALIZED ({aggregates}),
    v AS MATERIALIZED ({v})
    INSERT INTO {TABLE} (customer_id, {", ".join(RAW_COLUMNS)}, {", ".join(SCORE_COLUMNS)})
    SELECT s.customer_id, s.ltv, s.purchases, s.first_purchase, s.last_purchase, s.purchases_90d, s.spend_90d,
        s.last_web, s.last_app, s.visits_30d, s.last_interaction, s.last_nps, s.last_nps_at,
        s.r, s.f, s.m, {_group("s.r", "s.f")}, {_clamped("s.risk")}, {q.at()}
    FROM ({risked}) s
    WHERE 1 = 1
    ON CONFLICT (customer_id) DO UPDATE SET
        {", ".join(f"{column} = excluded.{column}" for column in RAW_COLUMNS + SCORE_COLUMNS)}
    """
    return _execute(q, sql)


# --- fold new interactions in ---------------------------------------------------------------------------


def customer_analytics_apply(*, interaction_ids: Iterable[int], now: dt.datetime | None = None) -> int:
    """Fold newly stored interactions into their customers' rows and rescore those customers; return how
    many customers' rows were touched. Each interaction must be applied once (see the module docstring)."""
    now = now or timezone.now()
    ids = sorted(set(interaction_ids))
    touched: set[int] = set()
    with transaction.atomic():
        for start in range(0, len(ids), CHUNK):
            touched |= _apply(ids[start : start + CHUNK], now)
    return len(touched)


def _apply(ids: list[int], now: dt.datetime) -> set[int]:
    q = _Query(now)
    in_batch = q.ids(ids)  # named placeholders: the list may be used twice
    aggregates = _aggregates(q, f"i.id IN ({in_batch})")
    # Each customer's latest survey in the batch (the highest id among surveys of the same moment).
    latest_survey = f"""
        SELECT i.customer_id, MAX(i.id) AS id FROM customers_interaction i
        JOIN a ON a.customer_id = i.customer_id AND i.occurred_at = a.last_nps_at
        WHERE i.id IN ({in_batch}) AND i.nps_score IS NOT NULL
        GROUP BY i.customer_id"""
    row = TABLE

    # Each column's value once this batch is folded in: sums added, the earliest and the latest dates
    # kept, the last NPS of the later survey. The scores are computed from these same expressions in
    # the same statement, so that a row is written once per batch, not folded and then rescored.
    def earliest(column: str) -> str:
        return (
            f"CASE WHEN {row}.{column} IS NULL OR excluded.{column} < {row}.{column} "
            f"THEN excluded.{column} ELSE {row}.{column} END"
        )

    def latest(column: str) -> str:
        return (
            f"CASE WHEN {row}.{column} IS NULL OR excluded.{column} > {row}.{column} "
            f"THEN excluded.{column} ELSE {row}.{column} END"
        )

    def added(column: str) -> str:
        return f"{row}.{column} + excluded.{column}"

    folded = {
        "lifetime_value": added("lifetime_value"),
        "purchases_total": added("purchases_total"),
        "first_purchase_at": earliest("first_purchase_at"),
        "last_purchase_at": latest("last_purchase_at"),
        "purchases_90d": added("purchases_90d"),
        "spend_90d": added("spend_90d"),
        "last_web_visit_at": latest("last_web_visit_at"),
        "last_app_visit_at": latest("last_app_visit_at"),
        "visits_30d": added("visits_30d"),
        "last_interaction_at": latest("last_interaction_at"),
        "last_nps": f"CASE WHEN excluded.last_nps_at IS NOT NULL "
        f"AND ({row}.last_nps_at IS NULL OR excluded.last_nps_at >= {row}.last_nps_at) "
        f"THEN excluded.last_nps ELSE {row}.last_nps END",
        "last_nps_at": latest("last_nps_at"),
    }
    new = {column: f"({expression})" for column, expression in folded.items()}
    inserted = {  # a customer's first row: the batch's own figures
        "lifetime_value": "a.ltv",
        "purchases_total": "a.purchases",
        "last_purchase_at": "a.last_purchase",
        "visits_30d": "a.visits_30d",
        "last_interaction_at": "a.last_interaction",
        "last_nps": "n.nps_score",
    }

    def scores(v: dict[str, str]) -> list[str]:
        """rfm_recency, rfm_frequency, rfm_monetary, rfm_group, churn_risk, updated_at of the values ``v``."""
        r = f"({_recency(q, v['last_purchase_at'])})"
        f = f"({_frequency(v['purchases_total'])})"
        risk = _risk(q, r, v["last_interaction_at"], v["last_nps"], v["visits_30d"])
        return [
            r,
            f,
            _monetary(v["lifetime_value"], v["purchases_total"]),
            _group(r, f),
            _clamped(f"({risk})"),
            now_sql,
        ]

    now_sql = q.at()
    sql = f"""
    WITH a AS MATERIALIZED ({aggregates}),
    s AS MATERIALIZED ({latest_survey})
    INSERT INTO {TABLE} (customer_id, {", ".join(RAW_COLUMNS)}, {", ".join(SCORE_COLUMNS)})
    SELECT a.customer_id, a.ltv, a.purchases, a.first_purchase, a.last_purchase, a.purchases_90d, a.spend_90d,
        a.last_web, a.last_app, a.visits_30d, a.last_interaction, n.nps_score, a.last_nps_at,
        {", ".join(scores(inserted))}
    FROM a
    LEFT JOIN s ON s.customer_id = a.customer_id
    LEFT JOIN customers_interaction n ON n.id = s.id
    WHERE 1 = 1
    ORDER BY a.customer_id
    ON CONFLICT (customer_id) DO UPDATE SET
        {", ".join(f"{column} = {expression}" for column, expression in folded.items())},
        {", ".join(f"{column} = {value}" for column, value in zip(SCORE_COLUMNS, scores(new), strict=True))}
    RETURNING customer_id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, q.params)
        return {customer_id for (customer_id,) in cursor.fetchall()}
