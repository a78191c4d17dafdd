"""The access log's hash chain: writing a record, sealing records into the chain, verifying the chain,
purging old records.

A request pays for one INSERT: ``record_write`` stores the record unsealed. ``chain_seal`` (Celery beat
every few seconds, and before verification and purge) takes the unsealed records in the order they were
written, under a lock of the single chain-head row, numbers them without gaps (``seq``) and sets each
``hash``: HMAC-SHA256, keyed by ``CRM_ACCESS_LOG_KEY``, over the record's canonical content and the
previous record's hash. Holding a lock only while sealing, never while a request commits, keeps requests
from queueing behind each other's commits; the database trigger keeps unsealed records unchangeable.
"""

import hashlib
import hmac
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any, cast

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Field
from django.utils import timezone

from crm.db import prepared_cursor
from customers.privacy.models import AccessAction, AccessChainHead, AccessCheckpoint, AccessRecord

GENESIS = "0" * 64
PURGE_SETTING = "crm.access_log_purge"
SEAL_BATCH = 5000
_CONTENT = ("at", "user_id", "username", "ip", "action", "route", "customer_ids", "reason")


def _key() -> bytes:
    return str(settings.CRM_ACCESS_LOG_KEY).encode()


def record_hash(
    *,
    seq: int,
    at: datetime,
    user_id: int | None,
    username: str,
    ip: str | None,
    action: str,
    route: str,
    customer_ids: list[int],
    reason: str,
    prev_hash: str,
) -> str:
    """The HMAC of one record's content chained to the previous hash."""
    content = json.dumps(
        [
            seq,
            at.astimezone(UTC).isoformat(timespec="microseconds"),
            user_id,
            username,
            ip,
            action,
            route,
            customer_ids,
            reason,
            prev_hash,
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hmac.new(_key(), content.encode(), hashlib.sha256).hexdigest()


_INSERT_COLUMNS = (*_CONTENT, "customer_count", "prev_hash", "hash")
# Values the database gets in another form than Python's (a time on SQLite, the JSON list, the address).
_PREPARED = frozenset({"at", "ip", "customer_ids"})


def _field(name: str) -> "Field[Any, Any]":
    return cast("Field[Any, Any]", AccessRecord._meta.get_field(name))


@cache
def _insert_sql(vendor: str) -> str:
    table = AccessRecord._meta.db_table
    columns = ", ".join(connection.ops.quote_name(_field(name).column) for name in _INSERT_COLUMNS)
    placeholders = ", ".join(["%s"] * len(_INSERT_COLUMNS))
    return f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) RETURNING id"  # noqa: S608


def record_write(
    *,
    user_id: int | None,
    username: str,
    ip: str | None,
    action: str,
    route: str,
    customer_ids: Iterable[int],
    reason: str = "",
) -> AccessRecord:
    """Store one record, unsealed: one INSERT, in the caller's transaction if there is one (a change and
    its record commit together), otherwise committed at once. Written with a statement built once rather
    than ``Model.save``, and only the fields that need it prepared by the model, because every request
    pays for it."""
    ids = sorted({int(pk) for pk in customer_ids})
    content: dict[str, Any] = {
        "at": timezone.now(),
        "user_id": user_id,
        "username": username,
        "ip": ip,
        "action": action,
        "route": route[:200],
        "customer_ids": ids,
        "reason": reason,
        "customer_count": len(ids),
        "prev_hash": "",
        "hash": "",
    }
    values = [
        _field(name).get_db_prep_save(content[name], connection) if name in _PREPARED else content[name]
        for name in _INSERT_COLUMNS
    ]
    with prepared_cursor() as cursor:
        cursor.execute(_insert_sql(connection.vendor), values)
        pk = cursor.fetchone()[0]
    record = AccessRecord(**content)
    record.pk = pk
    record._state.adding = False
    return record


def chain_seal(*, batch: int = SEAL_BATCH) -> int:
    """Seal every committed unsealed record into the chain, oldest first. Answers how many were sealed."""
    sealed = 0
    while True:
        with transaction.atomic():
            head = AccessChainHead.objects.select_for_update().filter(pk=1).first()
            if head is None:
                AccessChainHead.objects.get_or_create(pk=1)
                head = AccessChainHead.objects.select_for_update().get(pk=1)
            rows = list(
                AccessRecord.objects.filter(seq__isnull=True).order_by("id").values("id", *_CONTENT)[:batch]
            )
            if not rows:
                return sealed
            seq, prev = head.seq, head.hash
            updates = []
            for row in rows:
                seq += 1
                digest = record_hash(seq=seq, prev_hash=prev, **{key: row[key] for key in _CONTENT})
                updates.append((row["id"], seq, prev, digest))
                prev = digest
            _seal_rows(updates)
            AccessChainHead.objects.filter(pk=1).update(seq=seq, hash=prev)
            sealed += len(rows)


def _seal_rows(updates: list[tuple[int, int, str, str]]) -> None:
    table = AccessRecord._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            values = ", ".join(["(%s::bigint, %s::bigint, %s, %s)"] * len(updates))
            cursor.execute(
                f"UPDATE {table} AS r SET seq = v.seq, prev_hash = v.prev_hash, hash = v.hash "  # noqa: S608
                f"FROM (VALUES {values}) AS v (id, seq, prev_hash, hash) WHERE r.id = v.id",
                [value for update in updates for value in update],
            )
        else:
            cursor.executemany(
                f"UPDATE {table} SET seq = %s, prev_hash = %s, hash = %s WHERE id = %s",  # noqa: S608
                [(seq, prev, digest, pk) for pk, seq, prev, digest in updates],
            )


def chain_append(
    *,
    user_id: int | None,
    username: str,
    ip: str | None,
    action: str,
    route: str,
    customer_ids: Iterable[int],
    reason: str = "",
) -> AccessRecord:
    """Write a record and seal it at once (for jobs outside requests, and tests)."""
    record = record_write(
        user_id=user_id,
        username=username,
        ip=ip,
        action=action,
        route=route,
        customer_ids=customer_ids,
        reason=reason,
    )
    chain_seal()
    record.refresh_from_db(fields=["seq", "prev_hash", "hash"])
    return record


@dataclass(frozen=True)
class ChainProblem:
    """Where the chain breaks, and how."""

    seq: int
    problem: str

    def __str__(self) -> str:
        return f"record #{self.seq}: {self.problem}"


def _sealed() -> Iterator[dict[str, Any]]:
    fields = ["seq", *_CONTENT, "prev_hash", "hash"]
    yield from (
        AccessRecord.objects.filter(seq__isnull=False)
        .order_by("seq")
        .values(*fields)
        .iterator(chunk_size=5000)
    )


def chain_verify() -> tuple[int, list[ChainProblem]]:
    """Walk the sealed chain in sequence order: every record's hash must match its content, link to the
    one before it, and follow it without a gap; the last must be the chain head. Answers the number of
    records checked and the problems found. Seal first (``chain_seal``) to cover the latest records."""
    checkpoint = AccessCheckpoint.objects.order_by("-seq").first()
    expected_seq = (checkpoint.seq if checkpoint else 0) + 1
    prev_hash = checkpoint.hash if checkpoint else GENESIS
    problems: list[ChainProblem] = []
    checked = 0
    for row in _sealed():
        checked += 1
        if row["seq"] != expected_seq:
            problems.append(ChainProblem(row["seq"], f"expected #{expected_seq}: records are missing"))
        if row["prev_hash"] != prev_hash:
            problems.append(ChainProblem(row["seq"], "does not link to the record before it"))
        digest = record_hash(**{key: value for key, value in row.items() if key != "hash"})
        if digest != row["hash"]:
            problems.append(ChainProblem(row["seq"], "content does not match its hash (edited or moved)"))
        expected_seq = row["seq"] + 1
        prev_hash = row["hash"]
    head = AccessChainHead.objects.filter(pk=1).first()
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS)
    if (head_seq, head_hash) != (expected_seq - 1, prev_hash):
        problems.append(
            ChainProblem(
                head_seq, "the chain head does not match the last record (records removed at the end)"
            )
        )
    return checked, problems


@transaction.atomic
def access_log_purge(*, before: datetime) -> int:
    """Delete the sealed records older than ``before``, leaving a checkpoint (the last purged record's
    number and hash) so that the rest still verifies, and a record of the purge itself in the chain."""
    chain_seal()
    last = (
        AccessRecord.objects.filter(at__lt=before, seq__isnull=False)
        .order_by("-seq")
        .values("seq", "hash")
        .first()
    )
    if last is None:
        return 0
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # The append-only trigger lets this transaction alone delete.
            cursor.execute("SELECT set_config(%s, 'on', true)", [PURGE_SETTING])
    last_seq = int(last["seq"] or 0)  # sealed, so numbered
    purged, _ = AccessRecord.objects.filter(seq__lte=last_seq).delete()
    AccessCheckpoint.objects.create(seq=last_seq, hash=last["hash"], purged=purged, before=before)
    chain_append(
        user_id=None,
        username="",
        ip=None,
        action=AccessAction.PURGE,
        route="access_log_purge",
        customer_ids=[],
        reason=f"retention: {purged} records before {before.isoformat()}",
    )
    return purged
