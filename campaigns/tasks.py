"""Celery tasks of the campaigns app, and its outbox handlers.

The handlers run in the outbox relay's transaction, after the customers app's handlers of the same
topic (apps register in ``INSTALLED_APPS`` order, and ``campaigns`` comes after ``customers``): an
event's analytics are already folded in when its customers' segments are re-evaluated.
"""

from typing import Any

from celery import shared_task

from campaigns.services import segment_refresh, segments_refresh
from crm.outbox import handles
from customers.ingest import TOPIC_INGESTED
from customers.merge import TOPIC_MERGED, TOPIC_UNMERGED
from customers.services import TOPIC_CONSENT_CHANGED, TOPIC_PROFILE_CHANGED


@handles(TOPIC_INGESTED)
def refresh_segments_of_ingested(payload: dict[str, Any]) -> None:
    """Re-evaluate every dynamic segment for the customers a batch of events touched."""
    segments_refresh(customer_ids=payload.get("customer_ids") or [])


@handles(TOPIC_CONSENT_CHANGED)
@handles(TOPIC_PROFILE_CHANGED)
def refresh_segments_of_changed_customer(payload: dict[str, Any]) -> None:
    """Consent recorded, or profile fields changed, by staff or through the API: the customer's segments
    are re-evaluated now rather than at the daily refresh."""
    segments_refresh(customer_ids=payload.get("customer_ids") or [])


@handles(TOPIC_MERGED)
@handles(TOPIC_UNMERGED)
def refresh_segments_of_merge(payload: dict[str, Any]) -> None:
    """A merged-away customer leaves its segments; the survivor's facts changed."""
    ids = [payload["survivor_id"], payload["merged_id"], *payload.get("repointed_customer_ids", [])]
    segments_refresh(customer_ids=ids)


@shared_task(name="campaigns.segment_refresh", acks_late=True)
def segment_refresh_task(segment_id: int) -> dict[str, int]:
    """Refresh one segment (after it was created or its rule changed); safe to run twice."""
    result = segment_refresh(segment_id=segment_id)
    return {"entered": result.entered, "exited": result.exited}


@shared_task(name="campaigns.segments_refresh_all", acks_late=True)
def segments_refresh_all() -> int:
    """Daily: refresh every dynamic segment, since windows ("in the last 30 days") move with the calendar."""
    return len(segments_refresh())
