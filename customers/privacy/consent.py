"""The one question every feature asks before contacting anyone: does this customer consent to this
channel for this purpose? Set-based, so a campaign asks once for a million recipients.

No consent row means no consent. Erased and merged-away customers are never contactable.
"""

import datetime as dt
from collections.abc import Iterable
from typing import Any, Protocol, overload

from django.db.models import QuerySet

from customers.models import Consent, ConsentChannel, ConsentPurpose, Customer


def _check(channel: str, purpose: str) -> None:
    if channel not in ConsentChannel.values:
        raise ValueError(f"Unknown consent channel {channel!r}; one of {ConsentChannel.values}.")
    if purpose not in ConsentPurpose.values:
        raise ValueError(f"Unknown consent purpose {purpose!r}; one of {ConsentPurpose.values}.")


def consent_allowed_ids(customer_ids: Any, channel: str, purpose: str) -> "QuerySet[Consent, int]":
    """The ids of the given customers who consent, as a query (usable as a subquery: ``pk__in=...``).

    ``customer_ids`` may be a list of ids or a queryset of customers (or of their ids), which stays in SQL.
    """
    _check(channel, purpose)
    if isinstance(customer_ids, QuerySet) and customer_ids.model is Customer:
        customer_ids = customer_ids.values("pk")
    return (
        Consent.objects.filter(
            customer_id__in=customer_ids,
            channel=channel,
            purpose=purpose,
            granted=True,
            customer__status=Customer.Status.ACTIVE,
        )
        .order_by()
        .values_list("customer_id", flat=True)
    )


@overload
def consent_allows(customer_ids: int, channel: str, purpose: str) -> bool: ...
@overload
def consent_allows(
    customer_ids: Iterable[int] | QuerySet[Customer], channel: str, purpose: str
) -> set[int]: ...
def consent_allows(
    customer_ids: int | Iterable[int] | QuerySet[Customer], channel: str, purpose: str
) -> bool | set[int]:
    """For one customer id: whether they consent. For many: the set of those who do (one query)."""
    if isinstance(customer_ids, int):
        return consent_allowed_ids([customer_ids], channel, purpose).exists()
    return set(consent_allowed_ids(customer_ids, channel, purpose))


class _ErrorSink(Protocol):
    def add(self, path: str, code: str, message: str) -> None: ...


def consent_changes_validate(value: Any, errors: _ErrorSink) -> list[tuple[str, str, bool]]:
    """An event's ``consents``: a list of ``{"channel", "purpose" (default marketing), "granted"}``,
    checked with errors named by path (``consents.0.channel``)."""
    if value in (None, []):
        return []
    if not isinstance(value, list):
        errors.add("consents", "invalid", "A list of consent decisions.")
        return []
    changes = []
    for position, item in enumerate(value):
        path = f"consents.{position}"
        if not isinstance(item, dict):
            errors.add(path, "invalid", "A consent decision is an object.")
            continue
        for unknown in sorted(set(item) - {"channel", "purpose", "granted"}):
            errors.add(f"{path}.{unknown}", "unknown_field", "Unknown field.")
        channel, purpose = item.get("channel"), item.get("purpose", ConsentPurpose.MARKETING)
        granted = item.get("granted")
        if channel not in ConsentChannel.values:
            errors.add(f"{path}.channel", "invalid_choice", f"Use one of {', '.join(ConsentChannel.values)}.")
        if purpose not in ConsentPurpose.values:
            errors.add(f"{path}.purpose", "invalid_choice", f"Use one of {', '.join(ConsentPurpose.values)}.")
        if not isinstance(granted, bool):
            errors.add(f"{path}.granted", "invalid", "true or false.")
        else:
            changes.append((str(channel), str(purpose), granted))
    return changes


def consent_changes_apply(
    *, changes: list[tuple[int | None, str, dt.datetime, list[tuple[str, str, bool]]]]
) -> int:
    """Record the consent decisions of newly stored events: source is the event's source system, the
    time the event's. Replayed (duplicate) events are not passed, so history is never doubled."""
    from customers.services import consent_record

    applied = 0
    for customer_id, source, occurred_at, decisions in changes:
        if customer_id is None:
            continue
        customer = Customer(pk=customer_id)
        for channel, purpose, granted in decisions:
            consent_record(
                customer=customer,
                channel=channel,
                purpose=purpose,
                granted=granted,
                source=source,
                changed_at=occurred_at,
                publish=False,  # the batch's interactions.ingested message names this customer
            )
            applied += 1
    return applied
