"""Reads of the customers app."""

from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar, cast

from django.db import connection
from django.db.models import Field, Model, Prefetch, QuerySet

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
    """What the customer page's header, cards and timeline filter show of one customer. ``customer.analytics``
    is loaded (or known to be missing), and each identity's and contract's ``source_system``; ``sources``
    are ``(code, name)`` of every source system, by name."""

    customer: Customer
    analytics: CustomerAnalytics | None
    identities: list[CustomerIdentity]
    consents: list[Consent]
    contracts: list[Contract]
    sources: list[tuple[str, str]]


# The kinds of row of the page's statement, in the order it answers them.
_CUSTOMER, _IDENTITY, _CONSENT, _CONTRACT, _SOURCE = range(5)


def _typed_nulls(fields: "list[Field[Any, Any]]", vendor: str) -> str:
    """A NULL per field, typed on PostgreSQL: it types a UNION's columns pairwise, so bare NULLs in two
    branches before the one with the values would make a text column."""
    if vendor != "postgresql":
        return ", ".join("NULL" for _field in fields)
    return ", ".join(f"NULL::{cast(Any, field).cast_db_type(connection)}" for field in fields)


@cache
def _page_sql(vendor: str) -> str:
    """One statement for the customer with its analytics, its identities (by source system name), its
    current consents, its contracts (newest first) and every source system (the timeline's filter):
    a ``UNION ALL`` whose rows give their kind and their place among that kind, each kind in columns
    of its own (NULL in the others'). It was five statements, whose round trips and cursor handling
    cost more CPU than PostgreSQL spends answering them."""

    def concrete(*models: type[Model]) -> "list[Field[Any, Any]]":
        return [field for model in models for field in model._meta.concrete_fields]

    source = SourceSystem._meta
    layout: list[list[Field[Any, Any]]] = [
        concrete(Customer, CustomerAnalytics),
        concrete(CustomerIdentity, SourceSystem),
        concrete(Consent),
        concrete(Contract, SourceSystem),
        [source.get_field("code"), source.get_field("name")],
    ]
    branches = {
        _CUSTOMER: (
            "1",
            f"{columns(Customer, 'c')}, {columns(CustomerAnalytics, 'a')}",
            f"{Customer._meta.db_table} c LEFT JOIN {CustomerAnalytics._meta.db_table} a "
            "ON a.customer_id = c.id WHERE c.id = %s",
        ),
        _IDENTITY: (
            "ROW_NUMBER() OVER (ORDER BY s.name, x.external_id)",
            f"{columns(CustomerIdentity, 'x')}, {columns(SourceSystem, 's')}",
            f"{CustomerIdentity._meta.db_table} x JOIN {source.db_table} s ON s.id = x.source_system_id "
            "WHERE x.customer_id = %s",
        ),
        _CONSENT: (
            "ROW_NUMBER() OVER (ORDER BY x.channel, x.purpose)",
            columns(Consent, "x"),
            f"{Consent._meta.db_table} x WHERE x.customer_id = %s",
        ),
        _CONTRACT: (
            "ROW_NUMBER() OVER (ORDER BY x.start_date DESC, x.id DESC)",
            f"{columns(Contract, 'x')}, {columns(SourceSystem, 's')}",
            f"{Contract._meta.db_table} x JOIN {source.db_table} s ON s.id = x.source_system_id "
            "WHERE x.customer_id = %s",
        ),
        _SOURCE: ("ROW_NUMBER() OVER (ORDER BY s.name)", "s.code, s.name", f"{source.db_table} s"),
    }
    selects = []
    for kind, (place, values, source_and_filter) in branches.items():
        blocks = [
            values if other == kind else _typed_nulls(fields, vendor) for other, fields in enumerate(layout)
        ]
        selects.append(f"SELECT {kind}, {place}, {', '.join(blocks)} FROM {source_and_filter}")  # noqa: S608
    return " UNION ALL ".join(selects) + " ORDER BY 1, 2"


def customer_page(pk: int) -> CustomerPage | None:
    """Everything the customer page's header, cards and timeline filter show, in one prepared statement;
    None when there is no such customer."""
    widths = [len(Customer._meta.concrete_fields), len(CustomerAnalytics._meta.concrete_fields)]
    identity_width = len(CustomerIdentity._meta.concrete_fields)
    consent_width = len(Consent._meta.concrete_fields)
    contract_width = len(Contract._meta.concrete_fields)
    source_width = len(SourceSystem._meta.concrete_fields)
    # Where each kind's columns start, after the kind and the place.
    at_identity = 2 + sum(widths)
    at_consent = at_identity + identity_width + source_width
    at_contract = at_consent + consent_width
    at_source = at_contract + contract_width + source_width
    with prepared_cursor() as cursor:
        cursor.execute(_page_sql(connection.vendor), [pk] * 4)
        rows = cursor.fetchall()
    if not rows or rows[0][0] != _CUSTOMER:
        return None
    row = rows[0]
    customer = instance_from_row(Customer, row[2 : 2 + widths[0]])
    analytics_values = row[2 + widths[0] : at_identity]
    analytics = (
        instance_from_row(CustomerAnalytics, analytics_values) if analytics_values[0] is not None else None
    )
    identities, consents, contracts, sources = [], [], [], []
    for row in rows[1:]:
        kind = row[0]
        if kind == _IDENTITY:
            identities.append(_with_source(CustomerIdentity, row[at_identity:at_consent], source_width))
        elif kind == _CONSENT:
            consents.append(instance_from_row(Consent, row[at_consent:at_contract]))
        elif kind == _CONTRACT:
            contracts.append(_with_source(Contract, row[at_contract:at_source], source_width))
        else:
            sources.append((row[at_source], row[at_source + 1]))
    # As select_related leaves them: the analytics (or their absence) and the source systems cached.
    cast(Any, Customer._meta.get_field("analytics")).set_cached_value(customer, analytics)
    if analytics is not None:
        CustomerAnalytics._meta.get_field("customer").set_cached_value(analytics, customer)
    return CustomerPage(customer, analytics, identities, consents, contracts, sources)


def _with_source(model: type[M], values: tuple[Any, ...], source_width: int) -> M:
    """An instance from its columns followed by its source system's, with ``source_system`` cached."""
    obj = instance_from_row(model, values[:-source_width])
    source = instance_from_row(SourceSystem, values[-source_width:])
    model._meta.get_field("source_system").set_cached_value(obj, source)  # type: ignore[union-attr]
    return obj
