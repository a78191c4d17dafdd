"""The one question every feature asks before contacting anyone: does this customer consent to this
channel for this purpose? Set-based, so a campaign asks once for a million recipients.

No consent row means no consent. Erased and merged-away customers are never contactable.
"""

from collections.abc import Iterable
from typing import Any, overload

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
