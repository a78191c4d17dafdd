"""Merging two customers into one, undoing a merge, and the reads the merge pages and endpoints need.

``customer_merge`` moves everything the merged customer has (identities, interactions with their purchase
lines, contracts, consent history and current consents) to the survivor, one ``UPDATE ... RETURNING id``
per table, so that a merge costs the same number of statements for 3 interactions or 30,000. The ids it
moved, deleted and changed are written to the ``MergeRecord`` with both profiles as they were, and
``customer_merge_undo`` puts exactly those rows back.

Undo is safe only in reverse order: a merge can be undone while no later merge that is still in place
involves either of its customers (the survivor merged away in turn, or another customer merged into it
since). Rows that arrive for the survivor after the merge (events, new identities, consent changes) stay
with the survivor on undo: nothing tells whose they are, and the survivor is the one they named.
"""

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Field, Model, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from crm.admin_utils import search_id
from crm.models import User
from crm.outbox import outbox_publish
from customers.analytics import customer_analytics_refresh
from customers.contact import normalize_email, normalize_phone
from customers.models import (
    Consent,
    ConsentChange,
    Contract,
    Customer,
    CustomerAnalytics,
    CustomerIdentity,
    Interaction,
    MergeRecord,
    SourceSystem,
)

TOPIC_MERGED = "customers.merged"
TOPIC_UNMERGED = "customers.unmerged"

# Profile fields a merge fills on the survivor when they are blank there, in groups that only make sense
# together: a postal code from one address and a street from another would describe no place at all.
FILL_GROUPS: tuple[tuple[str, ...], ...] = (
    ("name",),
    ("email",),
    ("phone", "phone_normalized"),
    ("birth_date",),
    ("gender",),
    ("address", "postal_code", "region"),
    ("preferred_language",),
    ("signup_at",),
)
_CONSENT_FIELDS = ("id", "customer_id", "channel", "purpose", "granted", "source", "changed_at")
# The tables whose rows move by their customer_id, under the key the record keeps their ids.
_MOVED_TABLES: tuple[tuple[str, type[Model]], ...] = (
    ("interactions", Interaction),
    ("contracts", Contract),
    ("consent_changes", ConsentChange),
)


class MergeError(Exception):
    """A merge or an undo that must not happen, with a stable ``code`` and a message for people."""

    messages: dict[str, Promise] = {
        "same_customer": _("A customer cannot be merged into itself."),
        "not_found": _("One of the two customers does not exist."),
        "merged_not_active": _(
            "The customer to merge away is not active: it was already merged into another customer or erased."
        ),
        "survivor_not_active": _(
            "The customer to keep is not active: it was merged into another customer or erased."
        ),
        "already_undone": _("This merge has already been undone."),
        "later_merge": _(
            "A later merge involving one of these customers is still in place. Undo that merge first."
        ),
        "merged_changed": _(
            "The merged customer no longer points at the survivor (it was erased or changed since), so this "
            "merge cannot be undone safely."
        ),
    }

    def __init__(self, code: str) -> None:
        self.code = code
        # In the language of the request being served.
        self.message = str(self.messages[code])
        super().__init__(self.message)


# --- writes -----------------------------------------------------------------------------------------


@transaction.atomic
def customer_merge(
    *, survivor: Customer, merged: Customer, actor: User | None, reason: str = ""
) -> MergeRecord:
    """Merge ``merged`` into ``survivor`` and return the record that can undo it.

    The instances given are refreshed from their locked rows and left as the merge made them.
    """
    if survivor.pk == merged.pk:
        raise MergeError("same_customer")
    _lock_customers(survivor, merged, also=Q(merged_into_id=merged.pk))
    if merged.status != Customer.Status.ACTIVE:
        raise MergeError("merged_not_active")
    if survivor.status != Customer.Status.ACTIVE:
        raise MergeError("survivor_not_active")

    snapshot: dict[str, Any] = {"survivor": _profile(survivor), "merged": _profile(merged)}
    moved: dict[str, Any] = {}

    # Identities keep how they were first matched in the record, and say on their row that a merge moved them.
    original = CustomerIdentity.objects.filter(customer_id=merged.pk).values_list("pk", "matched_by")
    matched_by = dict(original)
    moved["identities"] = _execute_returning_ids(
        f"UPDATE {_table(CustomerIdentity)} SET customer_id = %s, matched_by = %s WHERE customer_id = %s "  # noqa: S608
        "RETURNING id",
        [survivor.pk, CustomerIdentity.MatchedBy.MERGE, merged.pk],
    )
    by_value: dict[str, list[int]] = defaultdict(list)
    for pk in moved["identities"]:
        by_value[matched_by.get(pk, "")].append(pk)
    moved["identity_matched_by"] = dict(by_value)

    for key, model in _MOVED_TABLES:
        moved[key] = _execute_returning_ids(
            f"UPDATE {_table(model)} SET customer_id = %s WHERE customer_id = %s RETURNING id",  # noqa: S608
            [survivor.pk, merged.pk],
        )

    snapshot["consents"], moved["consents_deleted"], moved["consents"] = _merge_consents(
        survivor=survivor, merged=merged
    )

    # Customers merged into the merged one earlier now point at the survivor: pointers stay one hop long.
    moved["customers"] = _execute_returning_ids(
        f"UPDATE {_table(Customer)} SET merged_into_id = %s WHERE merged_into_id = %s RETURNING id",  # noqa: S608
        [survivor.pk, merged.pk],
    )

    moved["filled"] = _fill_blanks(survivor=survivor, merged=merged)
    if moved["filled"]:
        survivor.save(update_fields=[*moved["filled"], "updated_at"])
    merged.status = Customer.Status.MERGED
    merged.merged_into = survivor
    merged.save(update_fields=["status", "merged_into", "updated_at"])

    analytics = CustomerAnalytics.objects.filter(customer_id=merged.pk)
    snapshot["analytics"] = next((_jsonable_row(row) for row in analytics.values()), None)
    analytics.delete()
    customer_analytics_refresh(customer_ids=[survivor.pk])

    record = MergeRecord.objects.create(
        survivor=survivor, merged=merged, actor=actor, reason=reason, moved=moved, snapshot=snapshot
    )
    outbox_publish(
        topic=TOPIC_MERGED,
        payload={
            "merge_id": record.pk,
            "survivor_id": survivor.pk,
            "merged_id": merged.pk,
            "repointed_customer_ids": moved["customers"],
        },
    )
    return record


@transaction.atomic
def customer_merge_undo(*, record: MergeRecord, actor: User | None) -> MergeRecord:
    """Undo a merge: move the recorded rows back, restore both customers, and mark the record undone."""
    survivor = Customer(pk=record.survivor_id)
    merged = Customer(pk=record.merged_id)
    _lock_customers(survivor, merged, also=Q(pk__in=record.moved.get("customers", [])))
    locked = MergeRecord.objects.select_for_update().get(pk=record.pk)
    blocker = _undo_blocker(locked, survivor=survivor, merged=merged)
    if blocker:
        raise MergeError(blocker)

    moved, snapshot = locked.moved, locked.snapshot
    _identities_back(moved, survivor=survivor, merged=merged)
    for key, model in _MOVED_TABLES:
        _move_back(model, "customer_id", moved.get(key, []), from_id=survivor.pk, to_id=merged.pk)
    _consents_back(moved, snapshot, survivor=survivor, merged=merged)
    _move_back(Customer, "merged_into_id", moved.get("customers", []), from_id=survivor.pk, to_id=merged.pk)

    restored = _restore_blanks(survivor=survivor, filled=moved.get("filled", {}), before=snapshot["survivor"])
    if restored:
        survivor.save(update_fields=[*restored, "updated_at"])
    merged.status = Customer.Status.ACTIVE
    merged.merged_into = None
    merged.save(update_fields=["status", "merged_into", "updated_at"])
    customer_analytics_refresh(customer_ids=[survivor.pk, merged.pk])

    record.undone_at = timezone.now()
    record.undone_by = actor
    record.save(update_fields=["undone_at", "undone_by"])
    outbox_publish(
        topic=TOPIC_UNMERGED,
        payload={"merge_id": record.pk, "survivor_id": survivor.pk, "merged_id": merged.pk},
    )
    return record


def _lock_customers(*customers: Customer, also: Q | None = None) -> None:
    """Lock the customers' rows, and those ``also`` names (the customers whose pointer the merge or undo
    moves), in one statement and in id order, so that merges and undos that share customers wait for
    each other instead of deadlocking; refresh the instances from the locked rows.

    ``FOR UPDATE`` (not ``FOR NO KEY UPDATE``) also holds off, until commit, every insert of a row that
    references these customers: ingestion cannot add an event to the merged customer behind our back.
    """
    condition = Q(pk__in=[c.pk for c in customers])
    if also is not None:
        condition |= also
    rows = {row.pk: row for row in Customer.objects.select_for_update().filter(condition).order_by("pk")}
    for customer in customers:
        row = rows.get(customer.pk)
        if row is None:
            raise MergeError("not_found")
        for field in Customer._meta.concrete_fields:
            setattr(customer, field.attname, getattr(row, field.attname))
        customer._state.adding = False
        customer._state.db = row._state.db


def _merge_consents(
    *, survivor: Customer, merged: Customer
) -> tuple[list[dict[str, Any]], list[int], list[int]]:
    """Give the survivor the merged customer's current consents; where both have one for a channel and
    purpose, the later decision wins, and on the same instant a withdrawal beats a grant.

    Returns both customers' consent rows as they were, the ids of the losing rows (deleted), and the ids
    of the merged customer's rows that moved. A customer has at most one row per channel and purpose, so
    the decision runs over at most 30 rows in memory; the writes are one DELETE and one UPDATE.
    """
    rows = list(
        Consent.objects.select_for_update()
        .filter(customer_id__in=[survivor.pk, merged.pk])
        .order_by("pk")
        .values(*_CONSENT_FIELDS)
    )
    kept = {(r["channel"], r["purpose"]): r for r in rows if r["customer_id"] == survivor.pk}
    losers = []
    for theirs in (r for r in rows if r["customer_id"] == merged.pk):
        ours = kept.get((theirs["channel"], theirs["purpose"]))
        if ours is None:
            continue
        theirs_wins = (theirs["changed_at"], not theirs["granted"]) > (
            ours["changed_at"],
            not ours["granted"],
        )
        losers.append(ours["id"] if theirs_wins else theirs["id"])
    if losers:
        Consent.objects.filter(pk__in=losers).delete()
    moved = _execute_returning_ids(
        f"UPDATE {_table(Consent)} SET customer_id = %s WHERE customer_id = %s RETURNING id",  # noqa: S608
        [survivor.pk, merged.pk],
    )
    return [_jsonable_row(r) for r in rows], sorted(losers), moved


def _fill_blanks(*, survivor: Customer, merged: Customer) -> dict[str, Any]:
    """Copy the merged customer's profile values into the survivor's blank fields; return what was filled."""
    filled: dict[str, Any] = {}
    for group in FILL_GROUPS:
        if all(_is_blank(getattr(survivor, name)) for name in group) and not all(
            _is_blank(getattr(merged, name)) for name in group
        ):
            for name in group:
                value = getattr(merged, name)
                setattr(survivor, name, value)
                filled[name] = _jsonable(value)
    return filled


def _restore_blanks(*, survivor: Customer, filled: dict[str, Any], before: dict[str, Any]) -> list[str]:
    """Blank again the survivor's fields the merge filled, where they still hold the value it put there
    (a field someone corrected since keeps the correction)."""
    restored = []
    for name, value in filled.items():
        if _jsonable(getattr(survivor, name)) == value:
            field = Customer._meta.get_field(name)
            assert isinstance(field, Field)
            setattr(survivor, name, field.to_python(before.get(name)))
            restored.append(name)
    return restored


def _undo_blocker(record: MergeRecord, *, survivor: Customer, merged: Customer) -> str:
    """The code of the reason the merge cannot be undone, or "" when it can."""
    if record.undone_at is not None:
        return "already_undone"
    if later_merges(record).exists():
        return "later_merge"
    if survivor.status != Customer.Status.ACTIVE:
        return "survivor_not_active"
    if merged.status != Customer.Status.MERGED or merged.merged_into_id != survivor.pk:
        return "merged_changed"
    return ""


def _identities_back(moved: dict[str, Any], *, survivor: Customer, merged: Customer) -> None:
    """Move the identities back, each with the ``matched_by`` it had before the merge, in one statement."""
    ids = moved.get("identities", [])
    if not ids:
        return
    cases, params = [], []
    for value, group in sorted(moved.get("identity_matched_by", {}).items()):
        condition, condition_params = _ids_in("id", group)
        cases.append(f"WHEN {condition} THEN %s")
        params += [*condition_params, value]
    matched_by = f"CASE {' '.join(cases)} ELSE matched_by END" if cases else "matched_by"
    condition, condition_params = _ids_in("id", ids)
    _execute(
        f"UPDATE {_table(CustomerIdentity)} SET customer_id = %s, matched_by = {matched_by} "  # noqa: S608
        f"WHERE {condition} AND customer_id = %s",
        [merged.pk, *params, *condition_params, survivor.pk],
    )


def _consents_back(
    moved: dict[str, Any], snapshot: dict[str, Any], *, survivor: Customer, merged: Customer
) -> None:
    """Give each customer back the current consents it had before the merge.

    A moved row that changed since the merge records a later decision made for the survivor: it stays
    with the survivor, and the merged customer gets its old decision back as a new row. A survivor's row
    that lost to a moved one comes back only when the moved row leaves.
    """
    before = {row["id"]: row for row in snapshot.get("consents", [])}
    moved_ids = moved.get("consents", [])
    current = (
        {
            row["id"]: row
            for row in Consent.objects.select_for_update()
            .filter(customer_id=survivor.pk, pk__in=moved_ids)
            .values(*_CONSENT_FIELDS)
        }
        if moved_ids
        else {}
    )
    unchanged = [
        pk for pk in moved_ids if pk in current and _consent_state(current[pk]) == _consent_state(before[pk])
    ]
    _move_back(Consent, "customer_id", unchanged, from_id=survivor.pk, to_id=merged.pk)
    returned_pairs = {(before[pk]["channel"], before[pk]["purpose"]) for pk in unchanged}

    restore: list[Consent] = []
    for pk in moved.get("consents_deleted", []):
        row = before[pk]
        if row["customer_id"] == merged.pk or (row["channel"], row["purpose"]) in returned_pairs:
            restore.append(_consent_from(row, keep_id=True))
    restore += [_consent_from(before[pk], keep_id=False) for pk in moved_ids if pk not in unchanged]
    if restore:
        Consent.objects.bulk_create(restore)


def _consent_state(row: dict[str, Any]) -> tuple[Any, ...]:
    changed_at = row["changed_at"]
    if isinstance(changed_at, str):
        changed_at = dt.datetime.fromisoformat(changed_at)
    return row["granted"], row["source"], changed_at


def _consent_from(row: dict[str, Any], *, keep_id: bool) -> Consent:
    return Consent(
        pk=row["id"] if keep_id else None,
        customer_id=row["customer_id"],
        channel=row["channel"],
        purpose=row["purpose"],
        granted=row["granted"],
        source=row["source"],
        changed_at=dt.datetime.fromisoformat(row["changed_at"]),
    )


# --- SQL helpers ----------------------------------------------------------------------------------


def _table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _ids_in(column: str, ids: Sequence[int]) -> tuple[str, list[Any]]:
    """``column`` is one of ``ids``, as one bind parameter whatever their number: an array on PostgreSQL,
    a JSON list on SQLite (whose ``IN (%s, %s, ...)`` would run out of parameters)."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s::bigint[])", [list(ids)]
    return f"{column} IN (SELECT value FROM json_each(%s))", [json.dumps(list(ids))]  # noqa: S608


def _execute(sql: str, params: list[Any]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _execute_returning_ids(sql: str, params: list[Any]) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return sorted(row[0] for row in cursor.fetchall())


def _move_back(model: type[Model], column: str, ids: Sequence[int], *, from_id: int, to_id: int) -> None:
    """Point the rows with these ids from one customer back to another; rows that point elsewhere by now
    are left alone."""
    if not ids:
        return
    condition, params = _ids_in("id", ids)
    _execute(
        f"UPDATE {_table(model)} SET {column} = %s WHERE {condition} AND {column} = %s",  # noqa: S608
        [to_id, *params, from_id],
    )


# --- values kept in the record --------------------------------------------------------------------


def _is_blank(value: Any) -> bool:
    return value is None or value == ""


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _jsonable_row(row: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _jsonable(value) for key, value in row.items()}


def _profile(customer: Customer) -> dict[str, Any]:
    return {
        field.attname: _jsonable(getattr(customer, field.attname)) for field in Customer._meta.concrete_fields
    }


# --- reads ----------------------------------------------------------------------------------------

# How many customers one look-up term may name: one email or phone shared by a handful, at most.
MAX_LOOKUP_MATCHES = 10
# Interactions are counted up to this many: beyond it the page says "more than".
INTERACTION_COUNT_CAP = 10_000


def customer_lookup(term: str) -> list[Customer]:
    """The customers a person means by ``term``: a customer number, an exact email, a phone in any
    format, or an id in a source system. Every branch is an indexed lookup; merged and erased customers
    are included, for the page to say what became of them."""
    term = term.strip()
    if not term:
        return []
    if "@" in term:
        email = normalize_email(term) or term
        condition = Q(email__iexact=email)
    else:
        # Resolved to ids first, so that each branch of the OR below keeps its own index.
        identities = CustomerIdentity.objects.filter(
            source_system__in=SourceSystem.objects.all(), external_id=term
        ).order_by()
        condition = Q(pk__in=list(identities.values_list("customer_id", flat=True)[:MAX_LOOKUP_MATCHES]))
        customer_id = search_id(term)
        if customer_id is not None:
            condition |= Q(pk=customer_id)
        phone = normalize_phone(term)
        if phone:
            condition |= Q(phone_normalized=phone)
    return list(
        Customer.objects.filter(condition).select_related("merged_into").order_by("pk")[:MAX_LOOKUP_MATCHES]
    )


@dataclass
class MergeCandidate:
    """A customer as the merge page compares it, with its number of interactions."""

    customer: Customer
    interaction_count: int

    count_cap = INTERACTION_COUNT_CAP

    @property
    def interactions_capped(self) -> bool:
        """True when the customer has more interactions than were counted."""
        return self.interaction_count > INTERACTION_COUNT_CAP


def merge_candidates(customer_ids: Iterable[int]) -> dict[int, MergeCandidate]:
    """The customers with what the merge page compares: analytics, identities, contracts and consents
    loaded for all of them at once, and each one's number of interactions, counted up to
    ``INTERACTION_COUNT_CAP + 1`` on one range of the timeline index."""
    customers = (
        Customer.objects.filter(pk__in=list(customer_ids))
        .select_related("analytics", "merged_into")
        .prefetch_related(_prefetch_identities(), "contracts", "consents")
    )
    return {
        customer.pk: MergeCandidate(
            customer=customer,
            interaction_count=Interaction.objects.filter(customer_id=customer.pk)
            .order_by()[: INTERACTION_COUNT_CAP + 1]
            .count(),
        )
        for customer in customers
    }


def _prefetch_identities() -> Prefetch:
    return Prefetch(
        "identities",
        queryset=CustomerIdentity.objects.select_related("source_system").order_by(
            "source_system__code", "external_id"
        ),
    )


def merge_list(*, with_moved: bool = False) -> QuerySet[MergeRecord]:
    """Merges with their customers and people, newest first. The snapshot, and unless asked for the
    moved ids, which can both be large, are left unread."""
    records = MergeRecord.objects.select_related("survivor", "merged", "actor", "undone_by").order_by("-pk")
    return records.defer("snapshot") if with_moved else records.defer("moved", "snapshot")


def merge_detail() -> QuerySet[MergeRecord]:
    """Merges with everything their detail shows, except the moved rows (see ``merge_moved_rows``)."""
    return MergeRecord.objects.select_related("survivor", "merged", "actor", "undone_by")


def later_merges(record: MergeRecord) -> QuerySet[MergeRecord]:
    """Merges made after this one, still in place, that involve either of its customers."""
    ids = [record.survivor_id, record.merged_id]
    return MergeRecord.objects.filter(pk__gt=record.pk, undone_at__isnull=True).filter(
        Q(survivor_id__in=ids) | Q(merged_id__in=ids)
    )


def merge_undo_blocker(record: MergeRecord) -> str:
    """Why the merge cannot be undone now ("" when it can), for pages to say so before anyone tries.
    The undo itself checks again under lock."""
    return _undo_blocker(record, survivor=record.survivor, merged=record.merged)


def merge_moved_rows(record: MergeRecord) -> dict[str, Any]:
    """The rows a merge moved that a page lists by name (identities, contracts, consents, re-pointed
    customers), one query per table whatever their number; interactions and consent changes are counted."""
    moved = record.moved
    return {
        "identities": list(
            CustomerIdentity.objects.filter(pk__in=moved.get("identities", []))
            .select_related("source_system", "customer")
            .order_by("source_system__code", "external_id")
        ),
        "contracts": list(
            Contract.objects.filter(pk__in=moved.get("contracts", []))
            .select_related("customer")
            .order_by("pk")
        ),
        "consents": list(
            Consent.objects.filter(pk__in=moved.get("consents", []))
            .select_related("customer")
            .order_by("channel", "purpose")
        ),
        "customers": list(Customer.objects.filter(pk__in=moved.get("customers", [])).order_by("pk")),
    }


def merge_counts(record: MergeRecord) -> dict[str, int]:
    """How many rows of each table the merge moved."""
    moved = record.moved
    return {
        "identities": len(moved.get("identities", [])),
        "interactions": len(moved.get("interactions", [])),
        "contracts": len(moved.get("contracts", [])),
        "consent_changes": len(moved.get("consent_changes", [])),
        "consents": len(moved.get("consents", [])),
        "consents_deleted": len(moved.get("consents_deleted", [])),
        "customers": len(moved.get("customers", [])),
        "filled": len(moved.get("filled", {})),
    }
