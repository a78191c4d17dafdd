"""Data-subject requests (customers/privacy/subject.py, their page and API): the export holds everything,
erasure leaves no personal value anywhere in the database, and both are audited and logged."""

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.test import Client

from crm.roles import Role
from customers.merge import customer_merge
from customers.models import Customer, CustomerIdentity, Interaction
from customers.privacy.models import DataSubjectRequest
from customers.privacy.subject import (
    SubjectRequestError,
    customer_data_export,
    customer_erase,
    register_erasure_step,
    register_export_section,
)
from customers.services import consent_record
from tests.customers.privacy.conftest import api_client, head_seq, records_since
from tests.factories import (
    ContractFactory,
    CustomerAnalyticsFactory,
    CustomerFactory,
    CustomerIdentityFactory,
    ImportJobFactory,
    InteractionFactory,
    SourceSystemFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

PERSONAL_VALUES = [
    "Minji Kim",
    "minji.kim@example.kr",
    "010-1234-5678",
    "+821012345678",
    "Teheran-ro 123, Gangnam-gu",
    "06236",
    "1990-05-17",
    "POS-991",
    "minji.old@example.kr",
    "010-9999-8888",
]


def person() -> Customer:
    """A customer with personal data in every place the CRM keeps it, and a second record of the same
    person merged into it."""
    pos = SourceSystemFactory(code="pos")
    admin = UserFactory(role=Role.ADMINISTRATOR)
    customer = CustomerFactory(
        name="Minji Kim",
        email="minji.kim@example.kr",
        phone="010-1234-5678",
        phone_normalized="+821012345678",
        address="Teheran-ro 123, Gangnam-gu",
        postal_code="06236",
        birth_date=dt.date(1990, 5, 17),
        gender="female",
        region="Seoul",
    )
    CustomerIdentityFactory(customer=customer, source_system=pos, external_id="POS-991")
    for n in range(3):
        InteractionFactory(
            customer=customer,
            summary=f"Call with Minji Kim #{n}",
            kind="service_call",
            channel="phone",
            properties={
                "store": "Gangnam",
                "callback": "010-1234-5678",
                "contact": {"email": "minji.kim@example.kr"},
            },
        )
    InteractionFactory(
        customer=customer,
        kind="purchase",
        channel="store",
        amount=Decimal("129000"),
        currency="KRW",
        properties={},
    )
    ContractFactory(customer=customer, properties={"insured": "Minji Kim", "plan": "gold"})
    consent_record(
        customer=customer,
        channel="email",
        purpose="marketing",
        granted=True,
        source="web form minji.kim@example.kr",
        changed_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        recorded_by=admin,
    )
    CustomerAnalyticsFactory(customer=customer)
    old = CustomerFactory(
        name="Minji Kim",
        email="minji.old@example.kr",
        phone="010-9999-8888",
        phone_normalized="+821099998888",
    )
    customer_merge(survivor=customer, merged=old, actor=admin, reason="same person: minji.old@example.kr")
    LogEntry.objects.create(
        user_id=admin.pk,
        content_type_id=ContentType.objects.get_for_model(Customer).pk,
        object_id=str(customer.pk),
        object_repr=str(customer),
        action_flag=CHANGE,
        change_message="Changed email from minji.old@example.kr",
    )
    return customer


def test_the_export_holds_everything() -> None:
    customer = person()
    data = customer_data_export(customer=customer)
    assert {row["email"] for row in data["profiles"]} == {"minji.kim@example.kr", "minji.old@example.kr"}
    assert [row["external_id"] for row in data["identities"]] == ["POS-991"]
    assert len(data["interactions"]) == 4
    assert data["interactions"][0]["properties"]
    assert len(data["contracts"]) == 1 and len(data["consents"]) == 1 and len(data["consent_history"]) == 1
    assert len(data["analytics"]) == 1 and len(data["merges"]) == 1
    json.dumps(data)  # JSON-ready throughout


def test_apps_to_the_right_add_sections_and_steps(monkeypatch) -> None:
    from customers.privacy import subject

    monkeypatch.setattr(subject, "_EXPORT_SECTIONS", {})
    monkeypatch.setattr(subject, "_ERASURE_STEPS", {})
    seen: dict[str, Any] = {}
    register_export_section("segment_memberships", lambda ids: [{"segment": "vip", "customer_id": ids[0]}])
    register_erasure_step("deliveries", lambda ids, values: seen.setdefault("erased", (ids, values)) and 2)
    customer = CustomerFactory(email="a.person@example.kr")
    assert customer_data_export(customer=customer)["segment_memberships"] == [
        {"segment": "vip", "customer_id": customer.pk}
    ]
    summary = customer_erase(customer=customer)
    assert summary["deliveries"] == 2
    assert (
        seen["erased"] == ([customer.pk], ["a.person@example.kr"])
        or "a.person@example.kr" in seen["erased"][1]
    )


def _text_columns() -> list[tuple[type[models.Model], str]]:
    kinds = (models.CharField, models.TextField, models.JSONField, models.EmailField)
    return [
        (model, field.name)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if isinstance(field, kinds)
    ]


def _places_holding(values: list[str]) -> list[str]:
    """Every text and JSON column of every table that holds one of the values, as "table.column: value"."""
    return [
        f"{model._meta.label}.{name}: {value}"
        for model, name in _text_columns()
        for value in values
        if model._default_manager.filter(**{f"{name}__icontains": value}).exists()
    ]


def test_erasure_leaves_no_personal_value_anywhere() -> None:
    customer = person()
    # A stored API answer holding the profile (replayed for 24 hours).
    client = api_client(UserFactory(role=Role.SERVICE_REP))
    client.get(f"/api/v1/customers/{customer.pk}/")
    from crm.models import IdempotencyKey

    IdempotencyKey.objects.create(
        user=UserFactory(),
        key="k",
        method="POST",
        path="/api/v1/customers/",
        request_hash="x",
        response_status=201,
        response_body={"email": "minji.kim@example.kr"},
    )
    interactions_before = Interaction.objects.filter(customer=customer).count()
    # The search finds every value before erasure, so that finding none after it means something.
    assert {value.split(": ")[1] for value in _places_holding(PERSONAL_VALUES)} == set(PERSONAL_VALUES)

    summary = customer_erase(customer=customer)

    assert _places_holding(PERSONAL_VALUES) == []
    assert Customer.objects.filter(pk=customer.pk, birth_date__isnull=True, status="erased").exists()
    # De-identified facts stay for analytics: interactions, their amounts, the analytics row, consent decisions.
    assert Interaction.objects.filter(customer=customer).count() == interactions_before + 0
    assert Interaction.objects.filter(customer=customer, amount=Decimal("129000")).exists()
    assert Interaction.objects.filter(customer=customer, properties__store="Gangnam").count() == 3
    assert customer.consents.get().granted is True
    assert CustomerIdentity.objects.get(customer=customer).external_id.startswith("erased-")
    assert summary["customers"] == 2 and summary["idempotency_keys"] == 1


def test_erasure_removes_the_files_of_finished_imports(django_capture_on_commit_callbacks) -> None:
    customer = person()
    done = ImportJobFactory(status="completed", file__data=b"name,email\nMinji Kim,minji.kim@example.kr\n")
    failed = ImportJobFactory(status="failed")
    stored = [job.file.path for job in (done, failed)]
    assert all(Path(path).exists() for path in stored)

    with django_capture_on_commit_callbacks(execute=True):
        summary = customer_erase(customer=customer)

    assert summary["import_files"] == 2
    assert not any(Path(path).exists() for path in stored)
    done.refresh_from_db()
    assert done.file.name == "" and done.status == "completed"


@pytest.mark.parametrize("status", ["uploaded", "queued", "running"])
def test_erasure_waits_for_an_unfinished_import_that_holds_the_person(status: str) -> None:
    customer = person()
    job = ImportJobFactory(status=status, file__data=b"name,email\nMINJI KIM,Minji.Kim@example.kr\n")

    with pytest.raises(SubjectRequestError, match=f"#{job.pk}") as refused:
        customer_erase(customer=customer)

    assert refused.value.code == "import_in_progress"
    customer.refresh_from_db()
    assert customer.name == "Minji Kim" and customer.status == "active"
    assert Path(job.file.path).exists()


def test_an_unfinished_import_of_other_people_does_not_stop_erasure() -> None:
    customer = person()
    job = ImportJobFactory(status="running", file__data=b"name,email\nSoyeon Park,soyeon@example.kr\n")

    summary = customer_erase(customer=customer)

    assert summary["customers"] == 2 and summary["import_files"] == 0
    job.refresh_from_db()
    assert Path(job.file.path).exists()


def test_the_api_answers_409_while_an_import_holds_the_person() -> None:
    customer = person()
    ImportJobFactory(status="running", file__data=b"email\nminji.kim@example.kr\n")
    client = api_client(UserFactory(role=Role.ADMINISTRATOR))

    response = client.post(
        f"/api/v1/customers/{customer.pk}/erase/", {"reference": "ticket 7"}, format="json"
    )

    assert response.status_code == 409, response.content
    assert response.json()["code"] == "import_in_progress"
    assert not DataSubjectRequest.objects.exists()


def test_a_merged_away_customer_is_refused() -> None:
    survivor, merged = CustomerFactory(), CustomerFactory()
    customer_merge(survivor=survivor, merged=merged, actor=None)
    merged.refresh_from_db()
    from customers.privacy.subject import SubjectRequestError

    with pytest.raises(SubjectRequestError, match=f"#{survivor.pk}"):
        customer_erase(customer=merged)


# --- the page ---------------------------------------------------------------------------------------


def test_the_page_exports_with_an_audit_and_a_record(client: Client) -> None:
    customer = person()
    admin = UserFactory(role=Role.ADMINISTRATOR)
    client.force_login(admin)
    assert client.get("/customers/privacy/requests/").status_code == 200
    seq = head_seq()
    response = client.post(
        "/customers/privacy/requests/new/",
        {"customer": customer.pk, "kind": "export", "reference": "letter 2026-11-20", "format": "json"},
    )
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="customer-{customer.pk}.json"'
    assert json.loads(response.content)["profiles"][0]["name"] == "Minji Kim"
    [record] = records_since(seq)
    assert (record.action, record.customer_ids, record.reason) == (
        "export",
        [customer.pk],
        "letter 2026-11-20",
    )
    audit = DataSubjectRequest.objects.get()
    assert (audit.kind, audit.requested_by, audit.summary["interactions"]) == ("export", admin, 4)

    csv_response = client.post(
        "/customers/privacy/requests/new/",
        {"customer": customer.pk, "kind": "export", "reference": "letter 2026-11-20", "format": "csv"},
    )
    text = b"".join(csv_response.streaming_content).decode()
    assert "profiles,1,email,minji.kim@example.kr" in text


def test_the_page_erases_after_confirmation(client: Client) -> None:
    customer = person()
    client.force_login(UserFactory(role=Role.ADMINISTRATOR))
    unconfirmed = client.post(
        "/customers/privacy/requests/new/",
        {"customer": customer.pk, "kind": "erasure", "reference": "email of 2026-11-20"},
    )
    assert unconfirmed.status_code == 400
    assert Customer.objects.get(pk=customer.pk).status == "active"
    seq = head_seq()
    done = client.post(
        "/customers/privacy/requests/new/",
        {"customer": customer.pk, "kind": "erasure", "reference": "email of 2026-11-20", "confirm": "on"},
    )
    assert done.status_code == 302
    assert Customer.objects.get(pk=customer.pk).email == ""
    [record] = records_since(seq)
    assert (record.action, record.customer_ids) == ("delete", [customer.pk])
    assert DataSubjectRequest.objects.get().kind == "erasure"


@pytest.mark.parametrize("role", [Role.SERVICE_REP, Role.MARKETER, Role.BUYER, Role.SUPPLIER_ADMIN])
def test_the_page_is_for_administrators(client: Client, role: Role) -> None:
    customer = CustomerFactory()
    client.force_login(UserFactory(role=role))
    assert client.get("/customers/privacy/requests/").status_code == 403
    assert (
        client.post(
            "/customers/privacy/requests/new/",
            {"customer": customer.pk, "kind": "export", "reference": "xxxxx"},
        ).status_code
        == 403
    )


# --- the API ----------------------------------------------------------------------------------------


def test_the_api_export_needs_the_reason() -> None:
    customer = person()
    client = api_client(UserFactory(role=Role.ADMINISTRATOR))
    seq = head_seq()
    refused = client.get(f"/api/v1/customers/{customer.pk}/export/")
    assert refused.status_code == 400 and refused.json()["reason"][0]["code"] == "reason_required"
    assert records_since(seq) == []
    response = client.get(f"/api/v1/customers/{customer.pk}/export/", {"reason": "ticket 42"})
    assert response.status_code == 200
    assert len(json.loads(response.content)["interactions"]) == 4
    [record] = records_since(seq)
    assert (record.action, record.reason, record.customer_ids) == ("export", "ticket 42", [customer.pk])
    csv_body = b"".join(
        client.get(
            f"/api/v1/customers/{customer.pk}/export/", {"as": "csv"}, HTTP_X_ACCESS_REASON="ticket 42"
        ).streaming_content
    )
    assert b"identities,1,external_id,POS-991" in csv_body


def test_the_api_erases() -> None:
    customer = person()
    client = api_client(UserFactory(role=Role.ADMINISTRATOR))
    assert client.post(f"/api/v1/customers/{customer.pk}/erase/", {}, format="json").status_code == 400
    seq = head_seq()
    response = client.post(
        f"/api/v1/customers/{customer.pk}/erase/", {"reference": "email 2026-11-20"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["kind"] == "erasure"
    assert Customer.objects.get(pk=customer.pk).status == "erased"
    assert [r.action for r in records_since(seq)] == ["delete"]


@pytest.mark.parametrize("role", [Role.SERVICE_REP, Role.MARKETER, Role.INTEGRATION])
def test_the_api_requests_are_for_administrators(role: Role) -> None:
    customer = CustomerFactory()
    client = api_client(UserFactory(role=role))
    assert client.get(f"/api/v1/customers/{customer.pk}/export/", {"reason": "ticket 42"}).status_code == 403
    assert (
        client.post(
            f"/api/v1/customers/{customer.pk}/erase/", {"reference": "ticket 42"}, format="json"
        ).status_code
        == 403
    )
    assert Customer.objects.get(pk=customer.pk).status == "active"
