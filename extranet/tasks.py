"""Celery tasks of the extranet."""

from celery import shared_task

from extranet.rollup import sales_rollup_fold


@shared_task(name="extranet.sales_rollup_fold")
def sales_rollup_fold_task() -> int:
    """Fold new purchase lines into the dashboards' rollups; safe to run twice (the state row is locked)."""
    return sales_rollup_fold()
