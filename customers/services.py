"""Writes of the customers app: customers created and changed by staff and integrations.

Event ingestion lives in ``customers.ingest``; analytics in ``customers.analytics``.
"""

import uuid
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from crm.models import User
from crm.outbox import outbox_publish
from customers.contact import normalize_email, normalize_phone
from customers.ingest import PROFILE_COLUMNS, events_ingest
from customers.models import Consent, ConsentChange, Customer, CustomerIdentity, Interaction, SourceSystem

# The profile fields a person or a system may set; phone_normalized follows phone.
PROFILE_FIELDS = tuple(column for column in PROFILE_COLUMNS if column != "phone_normalized")

# Published when a customer's current consent may have changed outside event ingestion (whose own
# ``interactions.ingested`` message already names the customers): segments with consent conditions
# re-evaluate them within a second instead of at the daily refresh.
TOPIC_CONSENT_CHANGED = "customers.consent_changed"
# Published when staff or an integration change a customer's profile fields (event ingestion's own
# message covers the profiles it fills in): segments over profile fields re-evaluate the customer at once.
TOPIC_PROFILE_CHANGED = "customers.profile_changed"


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    cleaned = {key: value for key, value in data.items() if key in PROFILE_FIELDS}
    if "email" in cleaned:
        cleaned["email"] = normalize_email(cleaned["email"]) or (cleaned["email"] or "").strip()
    if "phone" in cleaned:
        cleaned["phone"] = (cleaned["phone"] or "").strip()
        cleaned["phone_normalized"] = normalize_phone(cleaned["phone"])
    return cleaned


@transaction.atomic
def customer_create(
    *, data: dict[str, Any], identities: list[tuple[SourceSystem, str]] | None = None
) -> Customer:
    """Create a customer with its profile fields and its ids in source systems."""
    customer = Customer.objects.create(**_clean(data))
    CustomerIdentity.objects.bulk_create(
        CustomerIdentity(
            customer=customer,
            source_system=source,
            external_id=external_id,
            matched_by=CustomerIdentity.MatchedBy.MANUAL,
            match_note="created with the customer",
        )
        for source, external_id in identities or []
    )
    return customer


@transaction.atomic
@transaction.atomic
def customer_update(*, customer: Customer, data: dict[str, Any]) -> Customer:
    """Change a customer's profile fields; only the fields given are written. Publishes
    ``customers.profile_changed`` in the same transaction (the outbox) when a field was given."""
    cleaned = _clean(data)
    for key, value in cleaned.items():
        setattr(customer, key, value)
    if cleaned:
        customer.save(update_fields=[*cleaned, "updated_at"])
        profile_changed_publish(customer_ids=[customer.pk])
    return customer


def profile_changed_publish(*, customer_ids: list[int]) -> None:
    """Tell the outbox, in the caller's transaction, that these customers' profile fields changed."""
    outbox_publish(topic=TOPIC_PROFILE_CHANGED, payload={"customer_ids": customer_ids})


@transaction.atomic
def consent_record(
    *,
    customer: Customer,
    channel: str,
    purpose: str,
    granted: bool,
    source: str,
    changed_at: datetime,
    recorded_by: User | None = None,
    publish: bool = True,
) -> ConsentChange:
    """Record a change of a customer's consent: append it to the history, and make it the current consent
    unless a later change is already known (changes may arrive out of order).

    Publishes ``customers.consent_changed`` in the same transaction (the outbox), unless ``publish`` is
    false: event ingestion passes that, because its batch's own message names the same customers."""
    change = ConsentChange.objects.create(
        customer=customer,
        channel=channel,
        purpose=purpose,
        granted=granted,
        source=source,
        changed_at=changed_at,
        recorded_by=recorded_by,
    )
    current, created = Consent.objects.select_for_update().get_or_create(
        customer=customer,
        channel=channel,
        purpose=purpose,
        defaults={"granted": granted, "source": source, "changed_at": changed_at},
    )
    if not created and current.changed_at <= changed_at:
        current.granted = granted
        current.source = source
        current.changed_at = changed_at
        current.save(update_fields=["granted", "source", "changed_at"])
    if publish:
        outbox_publish(topic=TOPIC_CONSENT_CHANGED, payload={"customer_ids": [customer.pk]})
    return change


# What a rep logs from the customer page, and the channel each goes through.
LOGGED_KINDS: dict[str, str] = {
    Interaction.Kind.SERVICE_CALL: Interaction.Channel.PHONE,
    Interaction.Kind.NOTE: Interaction.Channel.OTHER,
}
CRM_SOURCE_CODE = "crm"


class InteractionNotLogged(ValueError):
    """The ingestion path refused what a rep logged; ``errors`` are its field errors."""

    def __init__(self, errors: dict[str, Any]) -> None:
        super().__init__(errors)
        self.errors = errors


def crm_source_system() -> SourceSystem:
    """The source system of what staff record in this CRM (code ``crm``), created on first use."""
    source, _ = SourceSystem.objects.get_or_create(
        code=CRM_SOURCE_CODE,
        defaults={"name": "CRM", "kind": SourceSystem.Kind.CRM, "trust_email": False, "trust_phone": False},
    )
    return source


@transaction.atomic
def interaction_log(
    *,
    customer: Customer,
    kind: str,
    summary: str,
    user: User,
    occurred_at: datetime | None = None,
) -> int:
    """Log a call or a note a rep took on a customer; return the interaction's id.

    It goes through event ingestion like every other interaction, as an event of the ``crm`` source
    system about the customer's id in this CRM (its number, linked on first use), so that analytics and
    all downstream work (the outbox) follow exactly as for events from other systems.
    """
    if kind not in LOGGED_KINDS:
        raise InteractionNotLogged({"kind": [{"code": "invalid_choice", "message": "Log a call or a note."}]})
    source = crm_source_system()
    CustomerIdentity.objects.get_or_create(
        source_system=source,
        external_id=str(customer.pk),
        defaults={
            "customer": customer,
            "matched_by": CustomerIdentity.MatchedBy.MANUAL,
            "match_note": "the customer's number in this CRM",
        },
    )
    result = events_ingest(
        events=[
            {
                "source": source.code,
                "external_id": f"staff-{uuid.uuid4()}",
                "customer": {"source": source.code, "id": str(customer.pk)},
                "kind": kind,
                "channel": LOGGED_KINDS[kind],
                "occurred_at": (occurred_at or timezone.now()).isoformat(),
                "summary": summary,
                "properties": {"logged_by": user.get_username()},
            }
        ]
    )
    item = result.results[0]
    if item.status != "created" or item.id is None:
        raise InteractionNotLogged(item.errors or {})
    if item.customer_id != customer.pk:  # the CRM id was moved by a merge: log nothing rather than misfile
        raise InteractionNotLogged({"customer": [{"code": "merged", "message": "The customer was merged."}]})
    return item.id
