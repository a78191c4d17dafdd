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
Exact matches come first, then name matches. A search costs at most three queries however many customers
match: the ids in source systems, the exact matches (skipped when the term can be no email, phone, number
or known id), the name matches. Name matches are read in no order and capped (a common name such as
김민지 matches thousands at 1M customers: sorting them all would read every one); the rep narrows by
typing more.
"""

from django.db.models import Q, QuerySet

from crm.admin_utils import search_id
from customers.contact import normalize_email, normalize_phone
from customers.models import Customer, CustomerIdentity, SourceSystem

MIN_TERM = 1
MAX_TERM = 200
# A pattern of fewer characters has no trigram: it is matched at the start of the name instead.
TRIGRAM_MIN = 3
EXACT_MATCHES = 10
# Name matches a list (the API) pages through: a longer list means the term is too vague to browse.
MAX_MATCHES = 1000
# What a result row shows: only these are loaded (not every profile field of a customer and its
# analytics), which saves turning unused columns into objects on every keystroke.
RESULT_FIELDS = ("name", "email", "phone", "status", "merged_into_id", "analytics__rfm_group")


def _identity_owners(term: str) -> list[int]:
    """Customers that ``term`` names as an id in any source system: one query, one index probe per system."""
    if len(term) > 128:
        return []
    sources = SourceSystem.objects.values("pk")  # a handful of rows: inlined as a subquery
    return list(
        CustomerIdentity.objects.filter(source_system__in=sources, external_id=term)
        .order_by()
        .values_list("customer_id", flat=True)[:EXACT_MATCHES]
    )


def _normalised(term: str) -> str | None:
    term = " ".join(term.split())
    return term if MIN_TERM <= len(term) <= MAX_TERM else None


def _exact_condition(term: str) -> Q:
    """Email, phone, source-system id or customer number; runs the one identity look-up query."""
    if "@" in term:
        return Q(email__iexact=normalize_email(term) or term)
    exact = Q(pk__in=_identity_owners(term))
    customer_id = search_id(term)
    if customer_id is not None:
        exact |= Q(pk=customer_id)
    phone = normalize_phone(term)
    if phone:
        exact |= Q(phone_normalized=phone)
    return exact


def _is_name(term: str) -> bool:
    """Whether a term can be (part of) a name: letters, and no digit or ``@``. Ids, phones and emails are
    looked up exactly; matching their fragments against names would only read the trigram index in vain."""
    return any(ch.isalpha() for ch in term) and not any(ch.isdigit() or ch == "@" for ch in term)


def _name_condition(term: str) -> Q:
    return Q(name__icontains=term) if len(term) >= TRIGRAM_MIN else Q(name__istartswith=term)


def _names(term: str) -> QuerySet[Customer]:
    """Customers whose name matches, in no particular order: a common name matches thousands, and
    sorting them all to show twenty would read every one; the rep narrows by typing more."""
    return Customer.objects.filter(_name_condition(term)).order_by()


def customer_search_ids(term: str, *, cap: int = MAX_MATCHES) -> list[int]:
    """The ids of up to ``cap`` customers ``term`` may mean, exact matches first (for filtering a list,
    such as the API's, by ``pk IN``, which any ordering then reads cheaply). At most three queries."""
    cleaned = _normalised(term)
    if cleaned is None:
        return []
    ids = list(
        Customer.objects.filter(_exact_condition(cleaned))
        .order_by("-pk")
        .values_list("pk", flat=True)[:EXACT_MATCHES]
    )
    if _is_name(cleaned):
        seen = set(ids)
        ids += [pk for pk in _names(cleaned).values_list("pk", flat=True)[:cap] if pk not in seen]
    return ids[:cap]


def customer_search(*, term: str, limit: int = 20) -> list[Customer]:
    """Up to ``limit`` customers that ``term`` may mean: exact matches (email, phone, ids, number) first,
    newest first, then name matches, newest first among those found. At most three queries whatever the
    result: identities, exact matches, names. Merged and erased customers are included, for the list to
    say what became of them."""
    cleaned = _normalised(term)
    if cleaned is None:
        return []
    found = list(customer_search_queryset(_exact_condition(cleaned))[:EXACT_MATCHES])
    if _is_name(cleaned):
        seen = {customer.pk for customer in found}
        names = _names(cleaned).select_related("analytics").only(*RESULT_FIELDS)[:limit]
        found += sorted((c for c in names if c.pk not in seen), key=lambda c: -c.pk)
    return found[:limit]


def customer_search_queryset(condition: Q) -> QuerySet[Customer]:
    """Customers matching a search condition, with what a result row shows, newest first."""
    return Customer.objects.filter(condition).select_related("analytics").only(*RESULT_FIELDS).order_by("-pk")
