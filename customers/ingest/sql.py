"""Statements of many rows: COPY on PostgreSQL, multi-row statements on SQLite."""

import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection

from customers.ingest.types import MAX_PARAMS

# --- statements of many rows ---------------------------------------------------------------------------
# On PostgreSQL, rows travel by COPY into a temporary table and move to their table with one
# INSERT ... SELECT (which ON CONFLICT and RETURNING need), and key lists as one array parameter
# (``= ANY``): psycopg then neither parses thousands of placeholders nor quotes arrays of rows, which cost
# five to ten times what COPY does. SQLite binds its parameters natively and gets the plain forms.


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def _in(column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
    """``column IN (values)`` as SQL and parameters."""
    if _postgres():
        return f"{column} = ANY(%s)", [list(values)]
    return f"{column} IN ({', '.join(['%s'] * len(values))})", list(values)


def _select_by_keys(table: str, columns: str, keys: Iterable[tuple[int, str]]) -> list[tuple[Any, ...]]:
    """Rows of a table unique on ``(source_system_id, external_id)`` by those keys, one index probe each."""
    by_source: dict[int, list[str]] = defaultdict(list)
    for source_id, external_id in keys:
        by_source[source_id].append(external_id)
    if not by_source:
        return []
    conditions, params = [], []
    for source_id, external_ids in by_source.items():
        condition, values = _in("external_id", external_ids)
        conditions.append(f"(source_system_id = %s AND {condition})")
        params += [source_id, *values]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM {table} WHERE {' OR '.join(conditions)}", params)  # noqa: S608
        return cursor.fetchall()


def _insert(
    table: str, columns: Sequence[tuple[str, str]], rows: list[tuple[Any, ...]], suffix: str = ""
) -> list[tuple[Any, ...]]:
    """Insert rows (values in the order of ``columns``, each a name and its PostgreSQL type) in as few
    statements as parameter limits allow; return what ``suffix``'s RETURNING gives."""
    if not rows:
        return []
    names = ", ".join(name for name, _type in columns)
    returning = "RETURNING" in suffix
    with connection.cursor() as cursor:
        if _postgres():
            staging = f"ingest_{table}"
            definitions = ", ".join(f"{name} {pg_type}" for name, pg_type in columns)
            cursor.execute(
                f"CREATE TEMPORARY TABLE IF NOT EXISTS {staging} ({definitions}) ON COMMIT DELETE ROWS"
            )
            _copy(cursor, f"COPY {staging} ({names}) FROM STDIN", rows)
            cursor.execute(
                f"WITH staged AS (DELETE FROM {staging} RETURNING {names}) "  # noqa: S608
                f"INSERT INTO {table} ({names}) SELECT {names} FROM staged {suffix}"
            )
            return cursor.fetchall() if returning else []
        returned: list[tuple[Any, ...]] = []
        row = "(" + ", ".join(["%s"] * len(columns)) + ")"
        per_statement = MAX_PARAMS // len(columns)
        for start in range(0, len(rows), per_statement):
            batch = rows[start : start + per_statement]
            cursor.execute(
                f"INSERT INTO {table} ({names}) VALUES {', '.join([row] * len(batch))} {suffix}",  # noqa: S608
                [value for values in batch for value in values],
            )
            if returning:
                returned += cursor.fetchall()
        return returned


def _copy(cursor: Any, sql: str, rows: list[tuple[Any, ...]]) -> None:
    """Run a COPY ... FROM STDIN with the rows, listed with the queries Django records (for tests that count
    statements and for the debug toolbar) though it runs on the driver's cursor."""
    started = time.monotonic()
    with cursor.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)
    if connection.queries_logged:
        connection.queries_log.append(
            {"sql": f"{sql} -- {len(rows)} rows", "time": f"{time.monotonic() - started:.3f}"}
        )
