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
from django.utils import timezone

from crm.models import OutboxMessage

logger = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], None]
_handlers: dict[str, list[Handler]] = defaultdict(list)

RELAY_BATCH = 100
MAX_ATTEMPTS = 10


def handles(topic: str) -> Callable[[Handler], Handler]:
    """Register the decorated function as a handler of ``topic``."""

    def register(handler: Handler) -> Handler:
        if handler not in _handlers[topic]:
            _handlers[topic].append(handler)
        return handler

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
    running a message twice. A failing handler leaves its message pending for the next relay, up to
    ``MAX_ATTEMPTS`` tries.
    """
    processed = 0
    with transaction.atomic():
        pending = (
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(processed_at__isnull=True, attempts__lt=MAX_ATTEMPTS)
            .order_by("id")[:limit]
        )
        for message in pending:
            try:
                with transaction.atomic():
                    for handler in _handlers.get(message.topic, []):
                        handler(message.payload)
            except Exception as error:
                logger.exception("outbox message %s (%s) failed", message.pk, message.topic)
                message.attempts += 1
                message.last_error = f"{type(error).__name__}: {error}"[:2000]
                message.save(update_fields=["attempts", "last_error"])
                continue
            message.attempts += 1
            message.processed_at = timezone.now()
            message.save(update_fields=["attempts", "processed_at"])
            processed += 1
    return processed
