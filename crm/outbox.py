"""The transactional outbox: write a message with the data that causes it, relay it after commit.

Apps register a handler per topic (``@handles("interactions.ingested")``) in their ``AppConfig.ready``;
a service calls ``outbox_publish`` inside its transaction; the relay task runs the handlers. Several apps
may handle one topic (analytics now, segments and journeys later), each idempotently.
"""

import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from crm.models import OutboxMessage

logger = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], None]
Merger = Callable[[list[dict[str, Any]]], dict[str, Any]]
_handlers: dict[str, list[Handler]] = defaultdict(list)
_mergers: dict[str, tuple[Merger, Callable[[dict[str, Any]], int]]] = {}

RELAY_BATCH = 100
MAX_ATTEMPTS = 10
# At most this many pending messages of a topic handled as one, of at most this size together (see
# ``merges``): the handlers' statements grow with the merged payload.
MERGE_LIMIT = 10
MERGE_SIZE = 10_000


def handles(topic: str) -> Callable[[Handler], Handler]:
    """Register the decorated function as a handler of ``topic``."""

    def register(handler: Handler) -> Handler:
        if handler not in _handlers[topic]:
            _handlers[topic].append(handler)
        return handler

    return register


def merges(
    topic: str, *, size: Callable[[dict[str, Any]], int] = lambda payload: 1
) -> Callable[[Merger], Merger]:
    """Register the decorated function as the way to merge pending messages of ``topic`` into one
    payload, which the handlers then take once for all of them (a backlog of ingested batches costs the
    handlers' statements once, not once per batch): up to ``MERGE_LIMIT`` messages whose ``size`` adds
    up to at most ``MERGE_SIZE``. Only for topics whose handlers give the same result for the merged
    payload as for its parts one after the other."""

    def register(merger: Merger) -> Merger:
        _mergers[topic] = (merger, size)
        return merger

    return register


def outbox_publish(*, topic: str, payload: dict[str, Any]) -> OutboxMessage:
    """Write a message in the caller's transaction and ask for a relay once that transaction commits."""
    message = OutboxMessage.objects.create(topic=topic, payload=payload)
    from crm.tasks import outbox_relay

    transaction.on_commit(outbox_relay.delay)
    return message


def outbox_relay(*, limit: int = RELAY_BATCH) -> int:
    """Run the handlers of up to ``limit`` pending messages, oldest first; return how many were processed.

    Rows are locked with SKIP LOCKED on PostgreSQL, so concurrent relays share the work instead of
    running a message twice. Consecutive messages of a topic that ``merges`` are handled as one. A
    failing handler leaves its message pending for the next relay, up to ``MAX_ATTEMPTS`` tries.
    """
    processed = 0
    with transaction.atomic():
        pending = list(
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(processed_at__isnull=True, attempts__lt=MAX_ATTEMPTS)
            .order_by("id")[:limit]
        )
        for group in _runs(pending):
            if len(group) > 1 and _relay_merged(group):
                processed += len(group)
                continue
            for message in group:
                processed += _relay_one(message)
    return processed


def _runs(messages: list[OutboxMessage]) -> list[list[OutboxMessage]]:
    """The messages in order, consecutive ones of a topic that merges grouped (at most ``MERGE_LIMIT``)."""
    runs: list[list[OutboxMessage]] = []
    total = 0
    for message in messages:
        last = runs[-1] if runs else None
        merger = _mergers.get(message.topic)
        size = merger[1](message.payload) if merger else 0
        if (
            last is not None
            and merger is not None
            and last[0].topic == message.topic
            and len(last) < MERGE_LIMIT
            and total + size <= MERGE_SIZE
        ):
            last.append(message)
            total += size
        else:
            runs.append([message])
            total = size
    return runs


def _relay_merged(group: list[OutboxMessage]) -> bool:
    """Run the handlers once on the merged payload of messages of one topic, in a savepoint, and mark
    them all processed; False (nothing done) when that fails, for each to be tried on its own."""
    topic = group[0].topic
    try:
        with transaction.atomic():
            payload = _mergers[topic][0]([message.payload for message in group])
            for handler in _handlers.get(topic, []):
                handler(payload)
    except Exception:
        logger.warning("outbox messages %s (%s) failed together; one by one now", group[0].pk, topic)
        return False
    OutboxMessage.objects.filter(pk__in=[message.pk for message in group]).update(
        attempts=F("attempts") + 1, processed_at=timezone.now()
    )
    return True


def _relay_one(message: OutboxMessage) -> int:
    """Run the handlers of one message in a savepoint; 1 when it was processed, 0 when it failed."""
    try:
        with transaction.atomic():
            for handler in _handlers.get(message.topic, []):
                handler(message.payload)
    except Exception as error:
        logger.exception("outbox message %s (%s) failed", message.pk, message.topic)
        message.attempts += 1
        message.last_error = f"{type(error).__name__}: {error}"[:2000]
        message.save(update_fields=["attempts", "last_error"])
        return 0
    message.attempts += 1
    message.processed_at = timezone.now()
    message.save(update_fields=["attempts", "processed_at"])
    return 1
