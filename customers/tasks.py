"""Celery tasks of the customers app, and its outbox handlers."""

from typing import Any

from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.utils import translation

from crm.outbox import handles, merges
from customers import imports
from customers.analytics import customer_analytics_apply, customer_analytics_refresh
from customers.ingest import TOPIC_INGESTED


@merges(TOPIC_INGESTED, size=lambda payload: len(payload["interaction_ids"]))
def merge_ingested(payloads: list[dict[str, Any]]) -> dict[str, Any]:
    """Several ingested batches as one: their interactions, and the customers they touched. Folding the
    interactions in and re-evaluating the customers' segments once gives what doing it per batch does."""
    return {
        "customer_ids": sorted({pk for payload in payloads for pk in payload.get("customer_ids") or []}),
        "interaction_ids": [pk for payload in payloads for pk in payload["interaction_ids"]],
    }


@handles(TOPIC_INGESTED)
def refresh_analytics_of_ingested(payload: dict[str, Any]) -> None:
    """Fold a batch's new interactions into their customers' analytics rows. The relay runs this in the
    transaction that marks the message processed, so each interaction is counted once."""
    customer_analytics_apply(interaction_ids=payload["interaction_ids"])


@shared_task(name="customers.customer_analytics_refresh_all")
def customer_analytics_refresh_all() -> int:
    """Nightly: recompute every customer's analytics, since recency windows move with the calendar."""
    return customer_analytics_refresh()


@shared_task(bind=True, name="customers.import_run", max_retries=5, default_retry_delay=30)
def import_run(self: Task, job_id: int, language: str | None = None) -> str:
    """Run a CSV import from its checkpoint, writing its messages in ``language``. Safe to run twice:
    a finished import returns at once and a second run of a running one stops when it sees it is behind.

    An import longer than the task's time limit stops between chunks and enqueues its continuation; a
    lost database connection is retried; past the retries, ``imports_resume_stale`` picks it up.
    """
    budget = max(settings.CELERY_TASK_SOFT_TIME_LIMIT - 120, 30)
    with translation.override(language or settings.LANGUAGE_CODE):
        try:
            status = imports.import_run(job_id=job_id, time_budget=budget)
        except SoftTimeLimitExceeded:
            status = "paused"
        except (OperationalError, InterfaceError) as error:
            raise self.retry(exc=error) from error
    if status == "paused":
        import_run.delay(job_id, language=language)
    return status


@shared_task(name="customers.imports_resume_stale")
def imports_resume_stale() -> list[int]:
    """Every minute: enqueue again the imports whose task was lost or whose worker died."""
    return imports.imports_resume_stale()


@shared_task(name="customers.access_log_seal")
def access_log_seal() -> int:
    """Every few seconds: seal the access records written since into the hash chain."""
    from customers.privacy.chain import chain_seal

    return chain_seal()


@shared_task(name="customers.access_log_purge")
def access_log_purge() -> int:
    """Daily: delete access records past ``CRM_ACCESS_LOG_RETENTION_DAYS``, keeping the chain verifiable."""
    import datetime as dt

    from django.utils import timezone

    from customers.privacy.chain import access_log_purge as purge

    return purge(before=timezone.now() - dt.timedelta(days=settings.CRM_ACCESS_LOG_RETENTION_DAYS))


@shared_task(name="customers.retention_run")
def retention_run() -> int:
    """Daily: anonymise customers inactive for ``CRM_RETENTION_INACTIVE_YEARS`` (nothing while it is 0).
    Safe to run twice: an erased customer is no longer active, so it is not due again."""
    from customers.privacy.retention import retention_run as run

    return run().erased
