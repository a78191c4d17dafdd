"""Reads of the customers app."""

from django.db.models import Prefetch, QuerySet

from customers.models import Customer, CustomerIdentity


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
