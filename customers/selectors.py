"""Reads of the customers app."""

from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar, cast

from django.db import connection
from django.db.models import Model, Prefetch, QuerySet

from crm.db import prepared_cursor
from crm.rows import columns, instance_from_row
from customers.models import Consent, Contract, Customer, CustomerAnalytics, CustomerIdentity, SourceSystem

M = TypeVar("M", bound=Model)


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


@dataclass
class CustomerPage:
    """What the customer page's header and panels show of one customer. ``customer.analytics`` is
    loaded (or known to be missing), and each identity's and contract's ``source_system``."""

    customer: Customer
    analytics: CustomerAnalytics | None
    identities: list[CustomerIdentity]
    consents: list[Consent]
    contracts: list[Contract]


@cache
def _page_statements(vendor: str) -> tuple[str, str, str, str]:
    """The customer with its analytics, its identities (by source system name), its current consents
    and its contracts (newest first): written out once, since compiling the four ORM querysets cost
    more CPU than PostgreSQL spends answering them."""
    customers, analytics = Customer._meta.db_table, CustomerAnalytics._meta.db_table
    sources = SourceSystem._meta.db_table
    return (
        f"SELECT {columns(Customer, 'c')}, {columns(CustomerAnalytics, 'a')} FROM {customers} c "  # noqa: S608
        f"LEFT JOIN {analytics} a ON a.customer_id = c.id WHERE c.id = %s",
        f"SELECT {columns(CustomerIdentity, 'x')}, {columns(SourceSystem, 's')} "  # noqa: S608
        f"FROM {CustomerIdentity._meta.db_table} x JOIN {sources} s ON s.id = x.source_system_id "
        "WHERE x.customer_id = %s ORDER BY s.name, x.external_id",
        f"SELECT {columns(Consent, 'x')} FROM {Consent._meta.db_table} x "  # noqa: S608
        "WHERE x.customer_id = %s ORDER BY x.channel, x.purpose",
        f"SELECT {columns(Contract, 'x')}, {columns(SourceSystem, 's')} "  # noqa: S608
        f"FROM {Contract._meta.db_table} x JOIN {sources} s ON s.id = x.source_system_id "
        "WHERE x.customer_id = %s ORDER BY x.start_date DESC, x.id DESC",
    )


def customer_page(pk: int) -> CustomerPage | None:
    """Everything the customer page's header and panels show, in one prepared statement per kind of
    row (customer with analytics, identities, consents, contracts); None when there is no such
    customer (then no other statement runs)."""
    customer_sql, identities_sql, consents_sql, contracts_sql = _page_statements(connection.vendor)
    width = len(Customer._meta.concrete_fields)
    source_width = len(SourceSystem._meta.concrete_fields)
    with prepared_cursor() as cursor:
        cursor.execute(customer_sql, [pk])
        row = cursor.fetchone()
        if row is None:
            return None
        customer = instance_from_row(Customer, row[:width])
        analytics = instance_from_row(CustomerAnalytics, row[width:]) if row[width] is not None else None
        cursor.execute(identities_sql, [pk])
        identities = [_with_source(CustomerIdentity, values, source_width) for values in cursor.fetchall()]
        cursor.execute(consents_sql, [pk])
        consents = [instance_from_row(Consent, values) for values in cursor.fetchall()]
        cursor.execute(contracts_sql, [pk])
        contracts = [_with_source(Contract, values, source_width) for values in cursor.fetchall()]
    # As select_related leaves them: the analytics (or their absence) and the source systems cached.
    cast(Any, Customer._meta.get_field("analytics")).set_cached_value(customer, analytics)
    if analytics is not None:
        CustomerAnalytics._meta.get_field("customer").set_cached_value(analytics, customer)
    return CustomerPage(customer, analytics, identities, consents, contracts)


def _with_source(model: type[M], values: tuple[Any, ...], source_width: int) -> M:
    """An instance from its columns followed by its source system's, with ``source_system`` cached."""
    obj = instance_from_row(model, values[:-source_width])
    source = instance_from_row(SourceSystem, values[-source_width:])
    model._meta.get_field("source_system").set_cached_value(obj, source)  # type: ignore[union-attr]
    return obj


@cache
def _sources_sql(vendor: str) -> str:
    return f"SELECT s.code, s.name FROM {SourceSystem._meta.db_table} s ORDER BY s.name"  # noqa: S608


def source_choices() -> list[tuple[str, str]]:
    """``(code, name)`` of every source system, by name (the timeline's filter): one prepared statement."""
    with prepared_cursor() as cursor:
        cursor.execute(_sources_sql(connection.vendor))
        return [(code, name) for code, name in cursor.fetchall()]
