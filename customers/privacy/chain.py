"""The access log's hash chain: appending a record, verifying the chain, purging old records.

Each record's ``hash`` is HMAC-SHA256, keyed by ``CRM_ACCESS_LOG_KEY``, over its canonical content and the
previous record's hash. Appends are serialised by locking the single chain-head row: the lock is held for
two statements (read the head; insert the record and move the head in one statement), so appends from
many requests queue briefly instead of forking the chain.
"""

import hashlib
import hmac
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from customers.privacy.models import AccessAction, AccessChainHead, AccessCheckpoint, AccessRecord

GENESIS = "0" * 64
PURGE_SETTING = "crm.access_log_purge"


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
    """Append one record to the chain, in the caller's transaction if there is one (so that a change and
    its record commit together), otherwise in its own."""
    ids = sorted({int(pk) for pk in customer_ids})
    with transaction.atomic():
        head = AccessChainHead.objects.select_for_update().filter(pk=1).first()
        if head is None:
            AccessChainHead.objects.get_or_create(pk=1)
            head = AccessChainHead.objects.select_for_update().get(pk=1)
        seq = head.seq + 1
        at = timezone.now()
        digest = record_hash(
            seq=seq,
            at=at,
            user_id=user_id,
            username=username,
            ip=ip,
            action=action,
            route=route[:200],
            customer_ids=ids,
            reason=reason,
            prev_hash=head.hash,
        )
        record = AccessRecord(
            seq=seq,
            at=at,
            user_id=user_id,
            username=username,
            ip=ip,
            action=action,
            route=route[:200],
            customer_ids=ids,
            customer_count=len(ids),
            reason=reason,
            prev_hash=head.hash,
            hash=digest,
        )
        if connection.vendor == "postgresql":
            _insert_and_move_head(record)
        else:
            record.save(force_insert=True)
            AccessChainHead.objects.filter(pk=1).update(seq=seq, hash=digest)
    return record


_COLUMNS = (
    "seq",
    "at",
    "user_id",
    "username",
    "ip",
    "action",
    "route",
    "customer_ids",
    "customer_count",
    "reason",
    "prev_hash",
    "hash",
)


def _insert_and_move_head(record: AccessRecord) -> None:
    """One statement for both writes (PostgreSQL's data-modifying CTE): one round trip fewer while the
    chain head is locked."""
    fields: list[Any] = [AccessRecord._meta.get_field(name) for name in _COLUMNS]
    values = [field.get_db_prep_save(getattr(record, field.attname), connection) for field in fields]
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH record AS (INSERT INTO {AccessRecord._meta.db_table} ({columns}) VALUES ({placeholders})) "  # noqa: S608
            f"UPDATE {AccessChainHead._meta.db_table} SET seq = %s, hash = %s WHERE id = 1",
            [*values, record.seq, record.hash],
        )


@dataclass(frozen=True)
class ChainProblem:
    """Where the chain breaks, and how."""

    seq: int
    problem: str

    def __str__(self) -> str:
        return f"record #{self.seq}: {self.problem}"


def _records() -> Iterator[dict[str, Any]]:
    fields = [
        "seq",
        "at",
        "user_id",
        "username",
        "ip",
        "action",
        "route",
        "customer_ids",
        "reason",
        "prev_hash",
        "hash",
    ]
    yield from AccessRecord.objects.order_by("seq").values(*fields).iterator(chunk_size=5000)


def chain_verify() -> tuple[int, list[ChainProblem]]:
    """Walk the chain in sequence order: every record's hash must match its content, link to the one
    before it, and follow it without a gap; the last must be the chain head. Answers the number of
    records checked and the problems found."""
    checkpoint = AccessCheckpoint.objects.order_by("-seq").first()
    expected_seq = (checkpoint.seq if checkpoint else 0) + 1
    prev_hash = checkpoint.hash if checkpoint else GENESIS
    problems: list[ChainProblem] = []
    checked = 0
    for row in _records():
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
    """Delete the records older than ``before``, leaving a checkpoint (the last purged record's number and
    hash) so that the rest still verifies, and a record of the purge itself in the chain."""
    last = AccessRecord.objects.filter(at__lt=before).order_by("-seq").values("seq", "hash").first()
    if last is None:
        return 0
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # The append-only trigger lets this transaction alone delete.
            cursor.execute("SELECT set_config(%s, 'on', true)", [PURGE_SETTING])
    purged, _ = AccessRecord.objects.filter(seq__lte=last["seq"]).delete()
    AccessCheckpoint.objects.create(seq=last["seq"], hash=last["hash"], purged=purged, before=before)
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
