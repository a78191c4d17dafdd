"""Reads of the customers app."""

from django.db.models import Prefetch, QuerySet

from customers.models import Consent, Contract, Customer, CustomerIdentity


def customer_list() -> QuerySet[Customer]:
    """Customers with what their API representation needs, loaded for a whole page at once."""
    return Customer.objects.select_related("analytics").prefetch_related(
        Prefetch(
            "identities",
            queryset=CustomerIdentity.objects.select_related("source_system").order_by(
                "source_system__code", "external_id"
            ),
        )
    )


def customer_page() -> QuerySet[Customer]:
    """Customers with everything the customer page's header shows, in one query per kind of row:
    analytics and the survivor of a merge joined, identities, current consents and contracts prefetched."""
    return Customer.objects.select_related("analytics", "merged_into").prefetch_related(
        Prefetch(
            "identities",
            queryset=CustomerIdentity.objects.select_related("source_system").order_by(
                "source_system__name", "external_id"
            ),
        ),
        Prefetch("consents", queryset=Consent.objects.order_by("channel", "purpose")),
        Prefetch(
            "contracts",
            queryset=Contract.objects.select_related("source_system").order_by("-start_date", "-id"),
        ),
    )
