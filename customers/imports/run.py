"""Creating, previewing, starting and running imports; resuming stale ones."""

import datetime as dt
import itertools
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from crm.models import User
from crm.outbox import outbox_publish
from customers.imports.files import _job_records, _Record, file_inspect
from customers.imports.mapping import PREVIEW_ROWS, TARGETS, mapping_clean, mapping_suggest
from customers.imports.rows import (
    RowError,
    _customer_row,
    _event,
    _ingest_errors,
    _plain_event,
    _PlainLayout,
    _Plan,
)
from customers.ingest import (
    TOPIC_INGESTED,
    BatchResult,
    Checked,
    CustomerRow,
    Lookups,
    customers_upsert,
    events_check,
    events_lookups,
    events_store,
    events_validate,
)
from customers.ingest.batch import gc_paused
from customers.ingest.sql import staging_prepare
from customers.ingest.staged import plain_events_resolve, plain_events_write
from customers.models import ImportJob, ImportRowError, SourceSystem

logger = logging.getLogger(__name__)

Label: TypeAlias = str | Promise


# --- creating, previewing and starting ---------------------------------------------------------------


@transaction.atomic
def import_create(*, upload: File, kind: str, source_system: SourceSystem, user: User) -> ImportJob:
    """Check an uploaded CSV file and keep it as an import waiting for its mapping, with a mapping
    suggested from its header. Raises ``ValidationError`` naming what is wrong with the file."""
    if kind not in TARGETS:
        raise ValidationError(
            {"kind": [ValidationError(_("Choose customers or events."), code="invalid_choice")]}
        )
    if not source_system.is_active:
        raise ValidationError(
            {"source": [ValidationError(_("This source system is switched off."), code="inactive_source")]}
        )
    facts = file_inspect(upload)
    job = ImportJob(
        kind=kind,
        status=ImportJob.Status.UPLOADED,
        original_name=(upload.name or "")[:255],
        size=facts.size,
        sha256=facts.sha256,
        encoding=facts.encoding,
        delimiter=facts.delimiter,
        source_system=source_system,
        mapping=mapping_suggest(kind=kind, header=facts.header),
        total_rows=facts.total_rows,
        created_by=user,
    )
    upload.seek(0)
    job.file.save(f"{uuid.uuid4().hex}.csv", upload, save=False)
    job.save()
    return job


def import_header(*, job: ImportJob) -> list[str]:
    """The column names of the job's file."""
    with _job_records(job) as (header, _rest):
        return header


@dataclass
class PreviewRow:
    row: int
    values: list[str]
    errors: list[RowError]


@dataclass
class ImportPreview:
    """The first rows of a file as the mapping reads them, and what the run would reject."""

    header: list[str]
    mapping: dict[str, str]
    mapping_errors: dict[str, list[str]]
    rows: list[PreviewRow]

    def as_dict(self) -> dict[str, Any]:
        return {
            "header": self.header,
            "mapping": self.mapping,
            "mapping_errors": self.mapping_errors,
            "rows": [
                {"row": r.row, "values": r.values, "errors": [e.as_dict() for e in r.errors]}
                for r in self.rows
            ],
        }


def import_preview(*, job: ImportJob, mapping: Any, rows: int = PREVIEW_ROWS) -> ImportPreview:
    """The first ``rows`` rows of the file with the errors the run would report for them under this
    mapping (validated as the run validates them, looking products and locations up, storing nothing).
    Mapping errors come back in ``mapping_errors``; the rows are then read with its valid part."""
    assert job.source_system is not None
    with _job_records(job) as (header, records):
        head = list(itertools.islice(records, rows))
    mapping_errors: dict[str, list[str]] = {}
    try:
        cleaned = mapping_clean(kind=job.kind, header=header, mapping=mapping)
    except ValidationError as invalid:
        mapping_errors = {
            key: [str(message) for message in messages] for key, messages in invalid.message_dict.items()
        }
        given = mapping if isinstance(mapping, dict) else {}
        cleaned = {
            name: target
            for name, target in given.items()
            if name in header and name not in mapping_errors and isinstance(target, str)
        }
    plan = _Plan.of(kind=job.kind, source=job.source_system, header=header, mapping=cleaned)
    preview_rows = [PreviewRow(record.row, record.values, []) for record in head]
    errors: list[RowError] = []
    if job.kind == ImportJob.Kind.CUSTOMERS:
        for record in head:
            _customer_row(plan, record, errors)
    else:
        events, owners = [], []
        for record in head:
            event = _event(plan, record, errors)
            if event is not None:
                events.append(event)
                owners.append(record.row)
        for row, by_path in zip(owners, events_check(events=events), strict=True):
            errors += _ingest_errors(plan, row, by_path)
    by_row: dict[int, list[RowError]] = {}
    for error in errors:
        if mapping_errors and error.code == "required" and not error.field:
            continue  # a required field without a column: said once, in the mapping's errors
        by_row.setdefault(error.row, []).append(error)
    for preview_row in preview_rows:
        preview_row.errors = by_row.get(preview_row.row, [])
    return ImportPreview(header=header, mapping=cleaned, mapping_errors=mapping_errors, rows=preview_rows)


class NotStartable(Exception):
    """The import was started already."""


def import_start(*, job: ImportJob, mapping: Any) -> ImportJob:
    """Fix the mapping and queue the import; the task is enqueued once this transaction commits.
    Raises ``ValidationError`` for a bad mapping and ``NotStartable`` when the job was started before."""
    header = import_header(job=job)
    cleaned = mapping_clean(kind=job.kind, header=header, mapping=mapping)
    with transaction.atomic():
        locked = ImportJob.objects.select_for_update().get(pk=job.pk)
        if locked.status != ImportJob.Status.UPLOADED:
            raise NotStartable(_("This import was started already."))
        now = timezone.now()
        ImportJob.objects.filter(pk=job.pk).update(
            mapping=cleaned, status=ImportJob.Status.QUEUED, heartbeat_at=now
        )
        _enqueue_on_commit(job.pk, translation.get_language())
    job.refresh_from_db()
    return job


def _enqueue_on_commit(job_id: int, language: str | None) -> None:
    from customers.tasks import import_run as task

    transaction.on_commit(lambda: task.delay(job_id, language=language))


# --- running -----------------------------------------------------------------------------------------


@dataclass
class _Outcome:
    created: int = 0
    duplicates: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len({error.row for error in self.errors})


def import_run(*, job_id: int, time_budget: float | None = None) -> str:
    """Import the job's file from its checkpoint on; return the job's status, or ``paused`` when
    ``time_budget`` seconds ran out between chunks (the caller runs it again to go on), or ``superseded``
    when another run of the same job is ahead of this one. Safe to run twice, and concurrently.

    Each chunk is one transaction: its rows, its rejected rows and the advanced checkpoint and counters
    commit together, under a lock on the job row that also tells a second run it is behind. An events
    import on PostgreSQL stores two chunks at once, on two connections, committed in order (see
    ``_store_chunk``); inside a transaction (a test's) the chunks go one by one on its connection.
    """
    started = time.monotonic()
    job = ImportJob.objects.select_related("source_system").filter(pk=job_id).first()
    if job is None or job.status not in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING):
        return job.status if job else "missing"
    now = timezone.now()
    ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.QUEUED).update(
        status=ImportJob.Status.RUNNING, started_at=Coalesce(F("started_at"), now), heartbeat_at=now
    )
    try:
        assert job.source_system is not None
        chunk_rows = settings.CRM_IMPORT_CHUNK_ROWS
        staging_prepare()  # the temporary tables, once for this session, outside the chunks' transactions
        position = job.processed_rows
        with _job_records(job) as (header, records):
            plan = _Plan.of(kind=job.kind, source=job.source_system, header=header, mapping=job.mapping)
            chunks = _batches(itertools.islice(records, position, None), chunk_rows)
            two = (
                plan.kind == ImportJob.Kind.EVENTS
                and connection.vendor == "postgresql"
                and not connection.in_atomic_block
            )
            with (
                gc_paused(),
                _prepared_ahead(plan, chunks) as prepared_chunks,
                _Storers(2 if two else 0) as storers,
            ):
                in_flight: deque[tuple[Future[_Outcome | None], int]] = deque()
                previous: _Turn | None = None
                ahead = position  # the rows before the next chunk to hand out
                for prepared in itertools.chain(prepared_chunks, [None]):
                    if prepared is not None:
                        turn = _Turn(position=ahead, external_ids=prepared.external_ids)
                        in_flight.append(
                            (storers.submit(_store_chunk, job_id, prepared, turn, previous), prepared.rows)
                        )
                        previous, ahead = (turn if storers.width > 1 else None), ahead + prepared.rows
                    # The chunks' outcomes in order, as they commit, keeping ``storers.width`` in flight.
                    while in_flight and (prepared is None or len(in_flight) >= storers.width):
                        future, rows = in_flight.popleft()
                        if future.result() is None:
                            return "superseded"
                        position += rows
                        if time_budget is not None and time.monotonic() - started > time_budget:
                            return "paused"  # once the chunk in flight, if any, is stored
        with transaction.atomic():
            locked = ImportJob.objects.select_for_update().get(pk=job_id)
            if locked.status != ImportJob.Status.RUNNING or locked.processed_rows != position:
                return "superseded"
            now = timezone.now()
            ImportJob.objects.filter(pk=job_id).update(
                status=ImportJob.Status.COMPLETED, total_rows=position, finished_at=now, heartbeat_at=now
            )
        return ImportJob.Status.COMPLETED
    except (SoftTimeLimitExceeded, OperationalError, InterfaceError):
        raise  # the task goes on later from the checkpoint: out of time, or the database went away
    except Exception as error:
        logger.exception("import %s failed", job_id)
        ImportJob.objects.filter(pk=job_id).update(
            status=ImportJob.Status.FAILED,
            error=_("The import stopped at row %(row)d: %(error)s")
            % {"row": position + 2, "error": f"{type(error).__name__}: {error}"[:2000]},
            finished_at=timezone.now(),
        )
        return ImportJob.Status.FAILED


class _Behind(Exception):
    """This run of the import is behind another one, or the chunk before failed: roll the chunk back."""


@dataclass
class _Turn:
    """A chunk's place in a run, as the next chunk sees it: where it starts in the file (also the key of
    the lock its transaction holds until it ends), its events' ids, and, once its customers are resolved
    (``resolved``), the new customers it created, not committed yet (``customers``; None when the next
    chunk must wait for this one's commit instead: this one has rows that go the ordinary way, which
    may create identities later in its transaction). ``finished`` once its transaction is over."""

    position: int
    external_ids: set[str]
    resolved: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)
    customers: dict[str, int] | None = None
    committed: bool = False

    def resolve(self, customers: dict[str, int] | None) -> None:
        if not self.resolved.is_set():
            self.customers = customers
            self.resolved.set()


def _store_chunk(
    job_id: int, prepared: "_Prepared", turn: _Turn, previous: _Turn | None
) -> "_Outcome | None":
    """Store a chunk and advance the checkpoint past it, in one transaction; None when this run is
    behind another (nothing is stored).

    The chunk before (``previous``) may still be in flight on the other connection: its interactions are
    being written. This chunk then resolves its customers as soon as that one's are resolved, taking
    the new customers it created as known ones (they are not visible here before it commits), writes
    its own interactions meanwhile, and commits after it, advancing the checkpoint from where that one
    left it. Nothing here can then conflict with the chunk before: their customers are told apart
    before either writes an identity the other could, and two chunks that share an event, or a chunk
    with rows that go the ordinary way, wait for the chunk before to commit first. The waits are on
    PostgreSQL locks (``pg_advisory_xact_lock``, one per chunk), which PostgreSQL's deadlock detection
    sees. If the chunk before rolls back, this one does too: its rows may name that one's customers.
    """
    try:
        with transaction.atomic():
            _chunk_lock(job_id, turn.position)  # the next chunk commits once this one's lock is released
            pending: dict[str, int] = {}
            if previous is not None:
                previous.resolved.wait()
                if (
                    previous.customers is not None
                    and not prepared.events
                    and not turn.external_ids & previous.external_ids
                ):
                    pending = previous.customers
                else:
                    _chunk_after(job_id, previous)
                    previous = None
            if previous is None:
                _job_at(job_id, turn.position)
            outcome = _store(prepared, turn, pending)
            if previous is not None:
                _chunk_after(job_id, previous)
                if not previous.committed:
                    raise _Behind
                _job_at(job_id, turn.position)
            _store_errors(job_id, outcome.errors)
            ImportJob.objects.filter(pk=job_id).update(
                processed_rows=turn.position + prepared.rows,
                created_rows=F("created_rows") + outcome.created,
                duplicate_rows=F("duplicate_rows") + outcome.duplicates,
                rejected_rows=F("rejected_rows") + outcome.rejected,
                heartbeat_at=timezone.now(),
            )
        turn.committed = True
        return outcome
    except _Behind:
        return None
    finally:
        turn.resolve(None)  # when it failed before resolving: the next chunk waits, then finds it behind
        turn.finished.set()


def _chunk_lock(job_id: int, position: int) -> None:
    """Take the lock of the job's chunk starting at ``position``, held until this transaction ends."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [job_id, position])


def _chunk_after(job_id: int, previous: _Turn) -> None:
    """Wait until the transaction of the chunk before has ended."""
    _chunk_lock(job_id, previous.position)
    previous.finished.wait()  # its thread has only to say so


def _job_at(job_id: int, position: int) -> None:
    """Lock the job row; raise ``_Behind`` unless the job runs and its checkpoint is ``position``."""
    locked = ImportJob.objects.select_for_update().get(pk=job_id)
    if locked.status != ImportJob.Status.RUNNING or locked.processed_rows != position:
        raise _Behind


class _Storers:
    """Where chunks are stored: in this thread (``count`` 0), or in ``count`` threads, each with its own
    database connection, taking chunks in turn (so each chunk starts on a connection whose chunk before
    is over). The threads speak the import's language (its rows' error messages)."""

    def __init__(self, count: int) -> None:
        self.width = max(count, 1)
        self._language = translation.get_language()
        self._pools = [
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-store", initializer=staging_prepare)
            for _ in range(count)
        ]
        self._handed = itertools.count()

    def __enter__(self) -> "_Storers":
        return self

    def __exit__(self, *exc: object) -> None:
        for pool in self._pools:
            pool.submit(connection.close)  # the thread's own connection
            pool.shutdown(wait=True)

    def submit(self, function: Callable[..., Any], *args: Any) -> "Future[Any]":
        if not self._pools:
            future: Future[Any] = Future()
            try:
                future.set_result(function(*args))
            except Exception as error:
                future.set_exception(error)
            return future
        pool = self._pools[next(self._handed) % len(self._pools)]
        return pool.submit(self._run, function, *args)

    def _run(self, function: Callable[..., Any], *args: Any) -> Any:
        with translation.override(self._language):
            return function(*args)


def _batches(records: Iterable[_Record], size: int) -> Iterator[list[_Record]]:
    iterator = iter(records)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


@contextmanager
def _prepared_ahead(plan: _Plan, chunks: Iterator[list[_Record]]) -> Iterator[Iterator["_Prepared"]]:
    """The chunks, prepared one ahead in a thread: while a chunk's statements run in PostgreSQL (which
    releases the interpreter), the thread reads and checks the CSV of the next one and validates its
    events. The thread touches no database: this thread reads what validation looks up
    (``events_lookups``) before handing the events over. Leaving the block waits for the thread's current
    step and drops what is queued, before the file is closed."""
    language = translation.get_language()
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-prepare")

    layout = _plain_layout(plan)

    def read() -> _Prepared | None:
        chunk = next(chunks, None)
        if chunk is None:
            return None
        with translation.override(language):  # the row errors' messages, in the import's language
            return _prepare(plan, chunk, layout)

    def validate(prepared: _Prepared, lookups: Lookups | None) -> _Prepared:
        if lookups is not None:
            with translation.override(language):
                prepared.checked = events_validate(events=prepared.events, lookups=lookups)
        return prepared

    def ahead() -> Iterator[_Prepared]:
        reading = pool.submit(read)
        previous: Future[_Prepared] | None = None
        while (prepared := reading.result()) is not None:
            events = plan.kind == ImportJob.Kind.EVENTS
            current = pool.submit(
                validate, prepared, events_lookups(events=prepared.events) if events else None
            )
            reading = pool.submit(read)  # queued behind the validation
            if previous is not None:
                yield previous.result()  # stored while the thread validates and reads the next chunks
            previous = current
        if previous is not None:
            yield previous.result()

    try:
        yield ahead()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@dataclass
class _Prepared:
    """A chunk read and checked, ready to be stored: customer rows, or events: plain rows typed for one
    statement (``plain``, with their records) and the others as ``events_ingest`` takes them (with their
    row numbers); and the rows already rejected."""

    plan: _Plan
    rows: int
    customers: list[CustomerRow] = field(default_factory=list)
    plain: list[tuple[Any, ...]] = field(default_factory=list)
    plain_records: dict[int, _Record] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    owners: list[int] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    checked: Checked | None = None  # the events validated (by ``_prepared_ahead``), ready to store
    external_ids: set[str] = field(default_factory=set)  # of the plain rows


def _plain_layout(plan: _Plan) -> _PlainLayout | None:
    """How to read an events import's plain rows, where they can be stored by one statement."""
    if plan.kind != ImportJob.Kind.EVENTS or connection.vendor != "postgresql":
        return None
    return _PlainLayout.of(plan)


def _prepare(plan: _Plan, chunk: list[_Record], layout: _PlainLayout | None = None) -> _Prepared:
    """The CSV work of a chunk, which needs no database."""
    prepared = _Prepared(plan=plan, rows=len(chunk))
    if plan.kind == ImportJob.Kind.CUSTOMERS:
        for record in chunk:
            customer = _customer_row(plan, record, prepared.errors)
            if customer is not None:
                prepared.customers.append(customer)
        return prepared
    slow: list[_Record] = []
    if layout is None:
        slow = chunk
    else:
        seen = prepared.external_ids
        for record in chunk:
            row = _plain_event(layout, record)
            if row is None or row[1] in seen:  # a repeat goes the ordinary way, and the first with it
                slow.append(record)
            else:
                seen.add(row[1])
                prepared.plain.append(row)
                prepared.plain_records[record.row] = record
    events_by_row: dict[int, dict[str, Any]] = {}
    for record in slow:
        event = _event(plan, record, prepared.errors)
        if event is not None:
            events_by_row[record.row] = event
    if prepared.plain and events_by_row:
        # An event or a customer that a row going the ordinary way names too goes that way whole: the
        # first of an event's copies is the one stored, the first row of a new customer gives its fields.
        # (Until nothing moves: a row that moves takes its event's and customer's other rows along.)
        external_ids = {event.get("external_id") for event in events_by_row.values()}
        customer_ids = {event["customer"].get("id") for event in events_by_row.values()}
        moved = True
        while moved:
            moved, keep = False, []
            for row in prepared.plain:
                if row[1] in external_ids or row[2] in customer_ids:
                    record = prepared.plain_records.pop(row[0])
                    event = _event(plan, record, prepared.errors)
                    assert event is not None  # a plain row
                    events_by_row[record.row] = event
                    moved = moved or row[1] not in external_ids or row[2] not in customer_ids
                    external_ids.add(row[1])
                    customer_ids.add(row[2])
                else:
                    keep.append(row)
            prepared.plain = keep
    for number in sorted(events_by_row):
        prepared.events.append(events_by_row[number])
        prepared.owners.append(number)
    return prepared


def _store(prepared: _Prepared, turn: _Turn, pending: dict[str, int]) -> _Outcome:
    """Store a prepared chunk: customers by one set-based upsert, events (validated already) by one
    ``events_store``; ``turn`` is told as soon as the chunk's customers are resolved (see
    ``_store_chunk``), ``pending`` are the new customers of the chunk before, not committed yet."""
    outcome = _Outcome(errors=prepared.errors)
    if prepared.plan.kind == ImportJob.Kind.CUSTOMERS:
        turn.resolve(None)
        for stored in customers_upsert(rows=prepared.customers):
            if stored.status == "created":
                outcome.created += 1
            else:
                outcome.duplicates += 1
        return outcome
    # The chunk goes in whole, in the chunk's transaction: its plain rows by two statements, the others
    # by one look-up and one COPY per table; an outbox message for each, whatever the chunk's size.
    others: list[_Record] = []
    if prepared.plain:
        others = _store_plain(prepared, outcome, turn, pending)
    else:
        turn.resolve(None)
    assert prepared.checked is not None  # validated by _prepared_ahead
    _count(outcome, prepared.plan, prepared.owners, events_store(checked=prepared.checked))
    if others:
        events = []
        owners = []
        for record in others:
            event = _event(prepared.plan, record, outcome.errors)
            if event is not None:
                events.append(event)
                owners.append(record.row)
        checked = events_validate(events=events, lookups=events_lookups(events=events))
        _count(outcome, prepared.plan, owners, events_store(checked=checked))
    return outcome


def _store_plain(
    prepared: _Prepared, outcome: _Outcome, turn: _Turn, pending: dict[str, int]
) -> list[_Record]:
    """Store a chunk's plain rows by two statements; return the records they did not take (an unknown
    product or location, for the ordinary way to name), or all of them when the source system was
    switched off meanwhile or a concurrent writer stored one of the events or identities since a
    statement's look-up (its savepoint is rolled back: the ordinary way sorts out what is whose; the
    customers the first statement created, when only the second failed, are found there by their
    identities). The new customers go to ``turn`` when nothing else in the chunk can create identities."""
    source = prepared.plan.source
    if not SourceSystem.objects.filter(pk=source.pk, is_active=True).exists():
        turn.resolve(None)
        return list(prepared.plain_records.values())
    now = timezone.now()
    try:
        with transaction.atomic():
            resolved = plain_events_resolve(
                source_id=source.pk, rows=prepared.plain, now=now, pending=pending
            )
    except IntegrityError:
        turn.resolve(None)
        logger.info("import chunk raced with another writer: its plain rows go the ordinary way")
        return list(prepared.plain_records.values())
    turn.resolve(None if prepared.events or resolved.unknown else resolved.customers)
    try:
        with transaction.atomic():
            written = plain_events_write(source_id=source.pk, now=now)
            if written.created:
                outbox_publish(
                    topic=TOPIC_INGESTED,
                    payload={
                        "customer_ids": written.customer_ids,
                        "interaction_ids": written.interaction_ids,
                    },
                )
    except IntegrityError:
        logger.info("import chunk raced with another writer: its plain rows go the ordinary way")
        return list(prepared.plain_records.values())
    outcome.created += written.created
    outcome.duplicates += resolved.duplicates
    return [prepared.plain_records[row] for row in resolved.unknown]


def _count(outcome: _Outcome, plan: _Plan, owners: list[int], result: BatchResult) -> None:
    for row, item in zip(owners, result.results, strict=True):
        if item.status == "created":
            outcome.created += 1
        elif item.status == "duplicate":
            outcome.duplicates += 1
        else:
            outcome.errors += _ingest_errors(plan, row, item.errors or {})


def _store_errors(job_id: int, errors: list[RowError]) -> None:
    ImportRowError.objects.bulk_create(
        [
            ImportRowError(
                job_id=job_id,
                row_number=error.row,
                field=error.field[:100],
                code=error.code[:40],
                message=error.message[:500],
            )
            for error in errors
        ],
        batch_size=1000,
        ignore_conflicts=True,  # a chunk replayed after a crash finds its errors there already
    )


def imports_resume_stale(*, now: dt.datetime | None = None) -> list[int]:
    """Enqueue again the queued or running imports without progress for ``CRM_IMPORT_STALE_MINUTES``:
    their task was lost (the broker restarted empty) or its worker died. Returns their ids.

    The heartbeat is moved on, so each is enqueued once per period; a run that turns out to be alive
    after all is harmless, since a second run of a job notices it is behind and stops.
    """
    now = now or timezone.now()
    cutoff = now - dt.timedelta(minutes=settings.CRM_IMPORT_STALE_MINUTES)
    with transaction.atomic():
        stale = list(
            ImportJob.objects.select_for_update(skip_locked=True)
            .filter(status__in=[ImportJob.Status.QUEUED, ImportJob.Status.RUNNING])
            .filter(Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, created_at__lt=cutoff))
            .values_list("pk", "created_by__preferred_language")
        )
        if stale:
            ImportJob.objects.filter(pk__in=[pk for pk, _language in stale]).update(heartbeat_at=now)
        for pk, language in stale:
            logger.warning("import %s made no progress since %s: enqueued again", pk, cutoff)
            _enqueue_on_commit(pk, language or None)
    return [pk for pk, _language in stale]
