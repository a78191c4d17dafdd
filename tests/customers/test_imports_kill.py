"""A CSV import survives its Celery worker being killed with SIGKILL mid-way: every row lands exactly once
and the counters add up (DESIGN.md, reliability promises).

A real ``celery -A crm worker`` runs in a process group of its own against the test database and Redis
DB 9, with a short visibility timeout. Once the import has committed some chunks, the whole group is
killed; a second worker gets the unacknowledged task back from Redis when the visibility timeout has
passed (``imports_resume_stale`` is the fallback should the message be lost) and goes on from the
checkpoint.

Needs PostgreSQL, which the worker process shares with the test (SQLite runs skip it) and Redis. Marked
``kill``: ``make test-fast`` leaves it out.
"""

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone

from crm.celery import app as celery_app
from crm.roles import Role
from customers.imports import import_create, import_start, imports_resume_stale
from customers.models import Customer, CustomerIdentity, ImportJob, Interaction
from tests.factories import SourceSystemFactory, UserFactory

pytestmark = [
    pytest.mark.kill,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs a PostgreSQL database that a worker process can share: set DATABASE_URL",
    ),
]

BROKER = "redis://127.0.0.1:6379/9"
ROWS = 30_000
CHUNK_ROWS = 1_000
VISIBILITY_TIMEOUT = 3
DEADLINE = 90  # seconds for the whole import, kill and restart included


def database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def broker() -> Iterator[redis.Redis]:
    """Redis DB 9, empty, as the broker of this process's Celery app too (tasks are not run inline)."""
    client = redis.Redis.from_url(BROKER)
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.fail(f"Redis is not reachable at {BROKER} ({error}): start it, or run `make test-fast`.")
    client.flushdb()
    # The settings reach Celery under their CELERY_ names, which win over the plain ones.
    overrides = {
        "CELERY_BROKER_URL": BROKER,
        "CELERY_TASK_ALWAYS_EAGER": False,
        "CELERY_BROKER_TRANSPORT_OPTIONS": {"visibility_timeout": VISIBILITY_TIMEOUT},
    }
    saved = {key: celery_app.conf[key] for key in overrides}
    celery_app.conf.update(overrides)
    assert not celery_app.conf.task_always_eager
    forget_connections()
    yield client
    forget_connections()
    celery_app.conf.update(saved)
    client.flushdb()


def forget_connections() -> None:
    """Make the Celery app pick its producer pools again: one made earlier sends to the broker of then.

    They are dropped, not closed: kombu keeps them per broker URL for the whole process, and other tests
    (whose eager tasks go through a producer too) get them back when the URL is theirs again."""
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Callable[[str], subprocess.Popen[bytes]]]:
    """Start ``celery -A crm worker`` processes, each in a process group of its own; all are killed at the end."""
    workers: list[subprocess.Popen[bytes]] = []
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "crm.settings",
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": BROKER,
        "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
        "CRM_IMPORT_CHUNK_ROWS": str(CHUNK_ROWS),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "LOG_LEVEL": "INFO",
    }

    def start(name: str) -> subprocess.Popen[bytes]:
        log = (tmp_path / f"{name}.log").open("wb")
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "crm",
                "worker",
                "--concurrency=1",
                f"--hostname={name}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel=INFO",
            ],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: killpg reaches the pool's children too
        )
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    for log in sorted(tmp_path.glob("*.log")):  # shown by pytest when the test failed
        print(f"--- {log.name}\n{log.read_text(errors='replace')[-4000:]}")


def wait_for(condition: Callable[[], bool], timeout: float, every: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return False


def customer_of(n: int) -> str:
    """Ten customers per 700 rows: many are new in one chunk and named again in the next, which two
    chunks stored at once hand on (the import's issue 3)."""
    return f"C-{n // 700 * 10 + n % 10}"


def test_a_killed_worker_leaves_every_row_imported_exactly_once(broker, start_worker) -> None:
    started = time.monotonic()
    source = SourceSystemFactory(code="pos", name="POS", trust_email=True, trust_phone=True)
    user = UserFactory(role=Role.INTEGRATION)
    header = "event_id,customer_id,kind,channel,occurred_at,summary\n"
    rows = "".join(
        f"K-{n},{customer_of(n)},web_visit,web,2026-11-{1 + n % 28:02d} 10:{n % 60:02d},Visit {n}\n"
        for n in range(ROWS)
    )
    job = import_create(
        upload=SimpleUploadedFile("events.csv", (header + rows).encode()),
        kind="events",
        source_system=source,
        user=user,
    )
    assert job.total_rows == ROWS

    first = start_worker("first")
    import_start(job=job, mapping=job.mapping)  # enqueued in Redis once committed
    assert broker.llen("celery") + broker.hlen("unacked") > 0, "the task did not reach Redis"

    def progress() -> int:
        return ImportJob.objects.values_list("processed_rows", flat=True).get(pk=job.pk)

    assert wait_for(lambda: progress() > 0, timeout=45), "the first worker never committed a chunk"
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    at_kill = progress()
    assert first.returncode == -signal.SIGKILL
    assert 0 < at_kill < ROWS, f"killed too late to prove anything: {at_kill} rows processed"
    assert ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.RUNNING

    killed_after = time.monotonic() - started
    # kombu gives unacknowledged tasks back when a worker starts (then only every 100 s or so): start the
    # second worker once the task's visibility timeout has passed.
    time.sleep(VISIBILITY_TIMEOUT + 0.5)
    start_worker("second")

    def finished() -> bool:
        return ImportJob.objects.get(pk=job.pk).status in (
            ImportJob.Status.COMPLETED,
            ImportJob.Status.FAILED,
        )

    # Redis gives the unacknowledged task back once the visibility timeout passed; should it have been
    # lost, the beat task that resumes stale imports is the way back.
    resumed = False
    if not wait_for(finished, timeout=30, every=0.2):
        resumed = True
        imports_resume_stale(now=timezone.now() + dt.timedelta(hours=1))
        assert wait_for(finished, timeout=DEADLINE - (time.monotonic() - started), every=0.2), (
            f"not finished: {progress()} of {ROWS} rows"
        )

    job.refresh_from_db()
    print(
        f"killed at {at_kill} rows after {killed_after:.1f}s; finished after {time.monotonic() - started:.1f}s; resumed: {resumed}"
    )
    assert job.status == ImportJob.Status.COMPLETED, job.error
    assert job.processed_rows == job.total_rows == ROWS
    assert (job.created_rows, job.duplicate_rows, job.rejected_rows) == (ROWS, 0, 0)
    assert not job.row_errors.exists()
    stored = Interaction.objects.filter(source_system=source, external_id__startswith="K-")
    assert stored.count() == ROWS
    assert stored.values("external_id").distinct().count() == ROWS
    # One customer per customer id, and every interaction's customer there.
    customers = {customer_of(n) for n in range(ROWS)}
    identities = CustomerIdentity.objects.filter(source_system=source)
    assert sorted(identities.values_list("external_id", flat=True)) == sorted(customers)
    assert Customer.objects.filter(pk__in=identities.values("customer_id")).count() == len(customers)
    assert not stored.exclude(customer_id__in=identities.values("customer_id")).exists()
    assert time.monotonic() - started < DEADLINE
