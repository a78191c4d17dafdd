"""Celery tasks of the project package."""

from celery import shared_task

from crm import outbox


@shared_task(name="crm.outbox_relay", max_retries=3, default_retry_delay=5)
def outbox_relay() -> int:
    """Run pending outbox messages; safe to run twice and concurrently."""
    return outbox.outbox_relay()
