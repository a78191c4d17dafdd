"""Data-subject requests: export everything the CRM holds about a customer, and erase (anonymise) it.

Apps to the right of ``customers`` add their own data without ``customers`` importing them: they
register an export section and an erasure step in their ``AppConfig.ready`` (campaigns: segment
memberships, deliveries)::

    from customers.privacy.subject import register_erasure_step, register_export_section
    register_export_section("segment_memberships", lambda customer_ids: [...rows...])
    register_erasure_step("deliveries", lambda customer_ids, values: rows_changed)

A customer merged into another is the same person: both export and erasure cover the customer and every
customer merged into it.
"""

import csv
import datetime as dt
import io
import json
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import Any

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.exports import spreadsheet_safe
from crm.models import IdempotencyKey, User
from customers.models import (
    Consent,
    ConsentChange,
    Contract,
    Customer,
    CustomerAnalytics,
    CustomerIdentity,
    ImportJob,
    Interaction,
    MergeRecord,
    PurchaseLine,
)
from customers.privacy.models import DataSubjectRequest

ExportSection = Callable[[list[int]], Iterable[dict[str, Any]]]
ErasureStep = Callable[[list[int], list[str]], int]

_EXPORT_SECTIONS: dict[str, ExportSection] = {}
_ERASURE_STEPS: dict[str, ErasureStep] = {}

ERASED = "[erased]"
# Profile fields blanked by erasure; region and preferred language are kept, coarse enough for aggregates.
ERASED_FIELDS = {
    "name": "",
    "email": "",
    "phone": "",
    "phone_normalized": "",
    "birth_date": None,
    "gender": "",
    "address": "",
    "postal_code": "",
}
# Values shorter than this are not searched for inside other text: "Kim" would blank half the database.
MIN_SCRUB_LENGTH = 4


class SubjectRequestError(ValueError):
    """A data-subject request that cannot be carried out, with a code and a message for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def register_export_section(name: str, rows: ExportSection) -> None:
    """Add a section to every export: ``rows(customer_ids)`` yields JSON-ready dicts."""
    _EXPORT_SECTIONS[name] = rows


def register_erasure_step(name: str, step: ErasureStep) -> None:
    """Add a step to every erasure: ``step(customer_ids, personal_values)`` anonymises the app's rows of
    those customers in the erasure's transaction and answers how many rows it changed."""
    _ERASURE_STEPS[name] = step


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _rows(queryset: Any) -> list[dict[str, Any]]:
    return [{key: _jsonable(value) for key, value in row.items()} for row in queryset.values()]


def subject_customer_ids(customer: Customer) -> list[int]:
    """The customer and every customer merged into it: one person's records."""
    if customer.status == Customer.Status.MERGED:
        raise SubjectRequestError(
            "merged",
            _("Customer #%(id)d was merged into #%(into)d: make the request on that one.")
            % {"id": customer.pk, "into": customer.merged_into_id},
        )
    merged = Customer.objects.filter(merged_into_id=customer.pk).values_list("pk", flat=True)
    return [customer.pk, *merged]


def customer_data_export(*, customer: Customer) -> dict[str, Any]:
    """Everything held about the customer, by section."""
    ids = subject_customer_ids(customer)
    interactions = Interaction.objects.filter(customer_id__in=ids).order_by("occurred_at", "id")
    data: dict[str, Any] = {
        "exported_at": timezone.now().isoformat(),
        "customer_id": customer.pk,
        "profiles": _rows(Customer.objects.filter(pk__in=ids).order_by("pk")),
        "identities": _rows(CustomerIdentity.objects.filter(customer_id__in=ids).order_by("pk")),
        "interactions": _rows(interactions),
        "purchase_lines": _rows(
            PurchaseLine.objects.filter(interaction__customer_id__in=ids).order_by("interaction_id", "id")
        ),
        "contracts": _rows(Contract.objects.filter(customer_id__in=ids).order_by("pk")),
        "consents": _rows(Consent.objects.filter(customer_id__in=ids).order_by("channel", "purpose")),
        "consent_history": _rows(
            ConsentChange.objects.filter(customer_id__in=ids).order_by("changed_at", "id")
        ),
        "analytics": _rows(CustomerAnalytics.objects.filter(customer_id__in=ids)),
        "merges": _rows(
            MergeRecord.objects.filter(Q(survivor_id__in=ids) | Q(merged_id__in=ids))
            .order_by("pk")
            .defer("snapshot")
        ),
    }
    for name, section in _EXPORT_SECTIONS.items():
        data[name] = [{key: _jsonable(value) for key, value in row.items()} for row in section(ids)]
    return data


def export_json(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, indent=1)


def export_csv_lines(data: dict[str, Any]) -> Iterator[str]:
    """The export as one CSV in long form (section, row, field, value): every section fits one file, and
    every cell a spreadsheet could run is escaped."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(["section", "row", "field", "value"])
    yield "\ufeff" + flush()
    for section, rows in data.items():
        if not isinstance(rows, list):
            writer.writerow([section, "", "", spreadsheet_safe(rows)])
            continue
        for number, row in enumerate(rows, start=1):
            for key, value in row.items():
                text = json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value
                writer.writerow([section, number, key, spreadsheet_safe(text)])
        yield flush()


def _personal_values(ids: list[int]) -> list[str]:
    """The texts erasure hunts for in free text and JSON: profile values and ids in source systems."""
    values: set[str] = set()
    for row in Customer.objects.filter(pk__in=ids).values(*ERASED_FIELDS):
        for value in row.values():
            if value:
                values.add(value.isoformat() if isinstance(value, dt.date) else str(value))
    values.update(CustomerIdentity.objects.filter(customer_id__in=ids).values_list("external_id", flat=True))
    return sorted((value for value in values if len(value) >= MIN_SCRUB_LENGTH), key=len, reverse=True)


def scrub(value: Any, values: list[str]) -> Any:
    """``value`` (text or JSON) with every personal value replaced by ``[erased]``."""
    if isinstance(value, str):
        lowered = value.lower()
        for personal in values:
            if personal.lower() in lowered:
                start = lowered.find(personal.lower())
                while start != -1:
                    value = value[:start] + ERASED + value[start + len(personal) :]
                    lowered = value.lower()
                    start = lowered.find(personal.lower(), start + len(ERASED))
        return value
    if isinstance(value, dict):
        return {key: scrub(item, values) for key, item in value.items()}
    if isinstance(value, list):
        return [scrub(item, values) for item in value]
    return value


def _scrub_rows(model: Any, queryset: Any, fields: list[str], values: list[str]) -> int:
    changed = []
    for obj in queryset.only("pk", *fields).iterator(chunk_size=2000):
        dirty = False
        for name in fields:
            before = getattr(obj, name)
            after = scrub(before, values)
            if after != before:
                setattr(obj, name, after)
                dirty = True
        if dirty:
            changed.append(obj)
    model.objects.bulk_update(changed, fields, batch_size=1000)
    return len(changed)


_UNFINISHED_IMPORTS = (ImportJob.Status.UPLOADED, ImportJob.Status.QUEUED, ImportJob.Status.RUNNING)


def unfinished_imports() -> "QuerySet[ImportJob]":
    """Imports not yet finished that still have their uploaded file."""
    return ImportJob.objects.filter(status__in=_UNFINISHED_IMPORTS).exclude(file="").order_by("pk")


def _import_holding(values: list[str]) -> ImportJob | None:
    """The first import not yet finished whose uploaded file holds one of the person's values (compared
    without case): erasing now would let it bring the person back."""
    wanted = [value.casefold() for value in values]
    for job in unfinished_imports():
        try:
            with job.file.open("rb") as stored:
                text = io.TextIOWrapper(stored, encoding=job.encoding or "utf-8-sig", errors="replace")
                if any(value in line.casefold() for line in text for value in wanted):
                    return job
        except FileNotFoundError:
            continue
    return None


def _import_files_remove() -> int:
    """Remove the uploaded files of finished imports, which may hold the person's row: once an import has
    finished, its rows are in the database and its rejected rows in its report, so the file is not needed.
    The files go when the erasure commits, so a rolled-back erasure keeps them."""
    jobs = ImportJob.objects.exclude(status__in=_UNFINISHED_IMPORTS).exclude(file="")
    names = list(jobs.values_list("file", flat=True))
    if names:
        storage = ImportJob._meta.get_field("file").storage
        jobs.update(file="")

        def remove() -> None:
            for name in names:
                storage.delete(name)

        transaction.on_commit(remove)
    return len(names)


@transaction.atomic
def customer_erase(*, customer: Customer) -> dict[str, int]:
    """Anonymise the customer irreversibly, keeping de-identified interactions, purchase lines, contracts'
    facts, consent decisions and analytics. Answers the rows changed by table.

    Refused (``SubjectRequestError``, ``import_in_progress``) while an unfinished import's file holds the
    person's data; the files of finished imports are removed."""
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    ids = subject_customer_ids(customer)
    values = _personal_values(ids)
    pending = _import_holding(values) if values else None
    if pending is not None:
        raise SubjectRequestError(
            "import_in_progress",
            _(
                "Import #%(id)d, not finished yet, holds this person's data: erase them once it has "
                "finished, or delete it in the admin."
            )
            % {"id": pending.pk},
        )
    summary: dict[str, int] = {}
    summary["customers"] = Customer.objects.filter(pk__in=ids).update(
        **ERASED_FIELDS, updated_at=timezone.now()
    )
    Customer.objects.filter(pk=customer.pk).update(status=Customer.Status.ERASED)
    identities = list(CustomerIdentity.objects.filter(customer_id__in=ids).only("pk"))
    for identity in identities:
        identity.external_id = f"erased-{identity.pk}"
        identity.match_note = ""
    CustomerIdentity.objects.bulk_update(identities, ["external_id", "match_note"], batch_size=1000)
    summary["identities"] = len(identities)
    # Free text written about the person cannot be told apart from personal data: summaries go whole;
    # properties keep what holds none of the person's values (a store, a campaign code).
    interactions = Interaction.objects.filter(customer_id__in=ids)
    summary["interaction_summaries"] = interactions.exclude(summary="").update(summary="")
    summary["interaction_properties"] = _scrub_rows(
        Interaction, interactions.exclude(properties={}), ["properties"], values
    )
    summary["contracts"] = _scrub_rows(
        Contract, Contract.objects.filter(customer_id__in=ids), ["properties"], values
    )
    summary["consent_sources"] = _scrub_rows(
        ConsentChange, ConsentChange.objects.filter(customer_id__in=ids), ["source"], values
    ) + _scrub_rows(Consent, Consent.objects.filter(customer_id__in=ids), ["source"], values)
    merges = MergeRecord.objects.filter(Q(survivor_id__in=ids) | Q(merged_id__in=ids))
    summary["merge_records"] = _scrub_rows(MergeRecord, merges, ["snapshot", "moved", "reason"], values)
    summary["admin_history"] = _scrub_rows(
        LogEntry,
        LogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(Customer), object_id__in=[str(pk) for pk in ids]
        ),
        ["object_repr", "change_message"],
        values,
    )
    # Stored API answers (replayed for 24 hours) may hold the profile.
    keys = IdempotencyKey.objects.none()
    for value in values:
        keys = keys | IdempotencyKey.objects.filter(response_body__icontains=value)
    summary["idempotency_keys"] = keys.delete()[0] if values else 0
    summary["import_files"] = _import_files_remove()
    for name, step in _ERASURE_STEPS.items():
        summary[name] = step(ids, values)
    return summary


@transaction.atomic
def subject_request_record(
    *, kind: str, customer: Customer, user: User | None, reference: str, summary: dict[str, Any]
) -> DataSubjectRequest:
    """The audit of a carried-out request."""
    return DataSubjectRequest.objects.create(
        kind=kind,
        customer=customer,
        requested_by=user,
        reference=reference,
        summary=summary,
        finished_at=timezone.now(),
    )
