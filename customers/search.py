"""Customer search: what a service rep types into one box, as they type.

A term is tried as everything it could be, each through its own index:

- an email (the ``UPPER(email)`` index), exactly;
- a phone number in any common format, normalised to E.164 (the ``phone_normalized`` index);
- an id in any source system (the unique ``(source_system, external_id)`` index, read once per source
  system with ``= ANY``, so no index of its own is needed);
- a customer number (the primary key);
- a part of a name, Korean or Latin. On PostgreSQL, three characters or more are matched anywhere in the
  name through the ``pg_trgm`` GIN index on ``UPPER(name)`` (migration 0008); shorter terms (a surname,
  ``김``, ``김민``) match the start of the name through the ``text_pattern_ops`` index beside it, because a
  trigram index cannot narrow a pattern of fewer than three characters. On SQLite the same lookups run
  without those indexes, which is fine at demo size.

Only terms with letters and no digits are matched against names; digits mean a phone, a number or an id.
Exact matches come first, then name matches. A search is one query however many customers match: the
exact matches (the ids in source systems, the number, the phone or the email) and the name matches are
two parts of one ``UNION ALL``, so that a keystroke costs one round trip to the database. Name matches are
read in no order and capped (a common name such as 김민지 matches thousands at 1M customers: sorting them
all would read every one); the rep narrows by typing more.

The statement is written out here (``customer.pk = ANY(ARRAY(...))`` and Django's own forms of the
case-insensitive lookups, from the backend's operators, so that the same indexes serve them), and
prepared on PostgreSQL (``crm.db``) when it has no name part: compiling ORM querysets and turning their
rows into deferred-field instances cost more CPU per keystroke than PostgreSQL spends answering them.
With a name part it is planned on every run: a generic plan cannot see the pattern, which the planner
needs to choose between the prefix index, the trigram index and reading the table (and a prefix pattern
can only use the first).
"""

from functools import cache
from typing import Any, cast

from django.db import connection
from django.db.models import Model

from crm.admin_utils import search_id
from crm.db import prepared_cursor
from crm.rows import instance_loaded
from customers.contact import normalize_email, normalize_phone
from customers.models import Customer, CustomerAnalytics, CustomerIdentity, SourceSystem

MIN_TERM = 1
MAX_TERM = 200
# A pattern of fewer characters has no trigram: it is matched at the start of the name instead.
TRIGRAM_MIN = 3
EXACT_MATCHES = 10
# Name matches a list (the API) pages through: a longer list means the term is too vague to browse.
MAX_MATCHES = 1000
# What a result row shows: only these are read (not every profile field of a customer and its analytics).
RESULT_FIELDS = ("id", "name", "email", "phone", "status", "merged_into_id")
RESULT_ANALYTICS_FIELDS = ("customer_id", "rfm_group")


def _in_order(model: type[Model], names: tuple[str, ...]) -> tuple[str, ...]:
    """``names`` in ``concrete_fields`` order, the order ``Model.from_db`` takes values in."""
    return tuple(field.attname for field in model._meta.concrete_fields if field.attname in names)


CUSTOMER_FIELDS = _in_order(Customer, RESULT_FIELDS)
ANALYTICS_FIELDS = _in_order(CustomerAnalytics, RESULT_ANALYTICS_FIELDS)

_CUSTOMERS = Customer._meta.db_table


@cache
def _identity_sql(vendor: str) -> str:
    """The customers owning an id in any source system, as a condition on ``c``: one index probe per
    system. On PostgreSQL an ``ARRAY`` of the subquery, which the planner runs once before the scan (an
    InitPlan) so that ``c.id = ANY(...)`` stays an index condition beside the others it is ORed with;
    ``c.id IN (subquery)`` there would filter a scan of every customer."""
    subquery = (
        f"SELECT x.customer_id FROM {CustomerIdentity._meta.db_table} x "  # noqa: S608  # model names
        f"WHERE x.source_system_id IN (SELECT s.id FROM {SourceSystem._meta.db_table} s) "
        "AND x.external_id = %s LIMIT %s"
    )
    return f"c.id = ANY(ARRAY({subquery}))" if vendor == "postgresql" else f"c.id IN ({subquery})"


def _normalised(term: str) -> str | None:
    term = " ".join(term.split())
    return term if MIN_TERM <= len(term) <= MAX_TERM else None


def _lookup(column: str, lookup: str, internal_type: str) -> str:
    """``column <lookup> %s`` as Django compiles it on this database (``UPPER(c."name"::text) LIKE
    UPPER(%s)`` on PostgreSQL), so that the expression indexes made for the ORM's lookups serve it."""
    lhs = connection.ops.lookup_cast(lookup, internal_type) % column
    return f"{lhs} {connection.operators[lookup] % '%s'}"


def _exact_condition(term: str) -> tuple[str, list[Any]] | None:
    """Email, phone, source-system id or customer number, as a condition on ``c`` and its parameters;
    None when the term can be none of them."""
    if "@" in term:
        email = connection.ops.prep_for_iexact_query(normalize_email(term) or term)
        return _lookup('c."email"', "iexact", "CharField"), [email]
    conditions: list[str] = []
    params: list[Any] = []
    if len(term) <= 128:  # the longest id a source system may give
        conditions.append(_identity_sql(connection.vendor))
        params += [term, EXACT_MATCHES]
    customer_id = search_id(term)
    if customer_id is not None:
        conditions.append("c.id = %s")
        params.append(customer_id)
    phone = normalize_phone(term)
    if phone:
        conditions.append("c.phone_normalized = %s")
        params.append(phone)
    if not conditions:
        return None
    return " OR ".join(conditions), params


def _is_name(term: str) -> bool:
    """Whether a term can be (part of) a name: letters, and no digit or ``@``. Ids, phones and emails are
    looked up exactly; matching their fragments against names would only read the trigram index in vain."""
    return any(ch.isalpha() for ch in term) and not any(ch.isdigit() or ch == "@" for ch in term)


def _name_condition(term: str) -> tuple[str, list[Any]]:
    """Anywhere in the name from three characters (the trigram index), at its start below."""
    pattern = connection.ops.prep_for_like_query(term)
    if len(term) >= TRIGRAM_MIN:
        return _lookup('c."name"', "icontains", "CharField"), [f"%{pattern}%"]
    return _lookup('c."name"', "istartswith", "CharField"), [f"{pattern}%"]


def _matches(
    term: str, columns: str, join: str, exact_limit: int, name_limit: int
) -> list[tuple[Any, ...]] | None:
    """The rows of ``columns`` for ``term``'s exact matches (newest first, up to ``exact_limit``) and
    name matches (in no order, up to ``name_limit``), each row ending with 0 for an exact match and 1
    for a name match: one statement. None when the term can be nothing (no query made).

    Exact matches alone are a prepared statement. With names it is planned on every run: a generic plan
    cannot see the pattern, which the planner needs to choose between the prefix index, the trigram
    index and reading the table (and a prefix pattern can only use the first)."""
    exact = _exact_condition(term)
    name = _name_condition(term) if _is_name(term) else None
    parts: list[str] = []
    params: list[Any] = []
    select = f"SELECT {columns}, {{kind}} AS k FROM {_CUSTOMERS} c {join}"  # noqa: S608  # of this module
    if exact:
        parts.append(f"{select.format(kind=0)} WHERE {exact[0]} ORDER BY c.id DESC LIMIT %s")
        params += [*exact[1], exact_limit]
    if name:
        parts.append(f"{select.format(kind=1)} WHERE {name[0]} LIMIT %s")
        params += [*name[1], name_limit]
    if not parts:
        return None
    # Each part in a subquery: SQLite takes no ORDER BY or LIMIT on a member of a compound SELECT.
    sql = " UNION ALL ".join(f"SELECT * FROM ({part}) p{n}" for n, part in enumerate(parts))  # noqa: S608
    with prepared_cursor() if name is None else connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def customer_search_ids(term: str, *, cap: int = MAX_MATCHES) -> list[int]:
    """The ids of up to ``cap`` customers ``term`` may mean, exact matches first (for filtering a list,
    such as the API's, by ``pk IN``, which any ordering then reads cheaply). One query at most."""
    cleaned = _normalised(term)
    rows = _matches(cleaned, "c.id", "", EXACT_MATCHES, cap) if cleaned is not None else None
    if not rows:
        return []
    ids = [pk for pk, kind in rows if kind == 0]
    seen = set(ids)
    ids += [pk for pk, kind in rows if kind == 1 and pk not in seen]
    return ids[:cap]


@cache
def _result_columns(vendor: str) -> str:
    quote = connection.ops.quote_name
    names = [f"c.{quote(name)}" for name in CUSTOMER_FIELDS] + [
        f"a.{quote(name)}" for name in ANALYTICS_FIELDS
    ]
    return ", ".join(names)


def _customer(row: tuple[Any, ...]) -> Customer:
    """A result row as ``Customer.objects.select_related("analytics").only(...)`` would load it."""
    width = len(CUSTOMER_FIELDS)
    customer = instance_loaded(Customer, CUSTOMER_FIELDS, row[:width], connection.alias)
    analytics = None
    if row[width] is not None:
        analytics = instance_loaded(CustomerAnalytics, ANALYTICS_FIELDS, row[width:-1], connection.alias)
    _ANALYTICS_FIELD.set_cached_value(customer, analytics)
    return customer


_ANALYTICS_FIELD = cast(Any, Customer._meta.get_field("analytics"))


def customer_search(*, term: str, limit: int = 20) -> list[Customer]:
    """Up to ``limit`` customers that ``term`` may mean: exact matches (email, phone, ids, number) first,
    newest first, then name matches, newest first among those found. One query whatever the result.
    Merged and erased customers are included, for the list to say what became of them. Only the fields a
    result row shows are loaded, with the analytics' RFM group (or none)."""
    cleaned = _normalised(term)
    join = f"LEFT JOIN {CustomerAnalytics._meta.db_table} a ON a.customer_id = c.id"
    rows = (
        _matches(cleaned, _result_columns(connection.vendor), join, EXACT_MATCHES, limit) if cleaned else None
    )
    if not rows:
        return []
    found = [_customer(row) for row in rows if row[-1] == 0]
    seen = {customer.pk for customer in found}
    names = [_customer(row) for row in rows if row[-1] == 1 and row[0] not in seen]
    found += sorted(names, key=lambda c: -c.pk)
    return found[:limit]
