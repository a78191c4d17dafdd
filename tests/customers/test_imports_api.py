"""The imports API (customers/api/imports.py): upload, start, progress, rejected rows; permissions and costs."""

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from pytest_django.fixtures import SettingsWrapper
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from crm.roles import Role
from customers.models import Customer, ImportJob, ImportRowError, Interaction
from tests.factories import ImportJobFactory, ImportRowErrorFactory, SourceSystemFactory, UserFactory

pytestmark = pytest.mark.django_db

IMPORTS = "/api/v1/imports/"
CUSTOMERS_CSV = "고객번호,이름,이메일\nC-1,김민지,minji@example.kr\nC-2,이서준,not-an-email\n"
EVENTS_CSV = (
    "event_id,customer_id,kind,channel,occurred_at,amount,currency,sku\n"
    "T-1,C-1,web_visit,web,2026-11-20 14:03,,,\n"
    "T-2,C-1,purchase,store,2026-11-20 15:00,5000,KRW,NOPE\n"
)
MAPPING = {"고객번호": "external_id", "이름": "name", "이메일": "email"}


@pytest.fixture
def pos():
    return SourceSystemFactory(code="pos", name="POS", trust_email=True, trust_phone=True)


def api_as(role: Role | None) -> APIClient:
    """A client with a token of a new user holding the role (``client.user``), or an anonymous one."""
    client = APIClient()
    if role is not None:
        user = UserFactory(role=role)
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
        client.user = user
    return client


def csv_file(
    content: str = CUSTOMERS_CSV, name: str = "customers.csv", encoding: str = "utf-8"
) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content.encode(encoding), content_type="text/csv")


def upload(client: APIClient, headers: dict[str, str] | None = None, **data: object) -> Any:
    body = {"kind": "customers", "source": "pos", "file": csv_file(), **data}
    if isinstance(body.get("mapping"), dict):
        body["mapping"] = json.dumps(body["mapping"])
    return client.post(IMPORTS, body, format="multipart", **(headers or {}))


def test_the_routes_are_the_documented_ones() -> None:
    from django.urls import reverse

    assert reverse("api:import-list") == IMPORTS
    assert reverse("api:import-start", args=[3]) == "/api/v1/imports/3/start/"
    assert reverse("api:import-errors", args=[3]) == "/api/v1/imports/3/errors/"


# --- upload, preview, start --------------------------------------------------------------------------


def test_an_upload_without_mapping_answers_the_suggestion_and_a_preview(pos) -> None:
    response = upload(api_as(Role.INTEGRATION), file=csv_file(encoding="cp949"))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "uploaded"
    assert (body["encoding"], body["delimiter"], body["total_rows"], body["source"]) == (
        "cp949",
        ",",
        2,
        "pos",
    )
    assert body["mapping"] == MAPPING
    assert body["preview"]["header"] == ["고객번호", "이름", "이메일"]
    assert [row["errors"] for row in body["preview"]["rows"]] == [
        [],
        [{"row": 3, "field": "이메일", "code": "invalid", "message": "Not an email address."}],
    ]
    assert {"name": "external_id", "label": "Customer number in the source system", "required": True} in body[
        "targets"
    ]
    assert not Customer.objects.exists()


def test_an_upload_with_a_valid_mapping_starts_at_once(pos, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(api_as(Role.INTEGRATION), mapping=MAPPING)
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "queued"
    assert response.json()["preview"] is None
    job = ImportJob.objects.get()
    assert (job.status, job.created_rows, job.rejected_rows) == ("completed", 1, 1)


def test_an_upload_with_a_bad_mapping_creates_nothing(pos) -> None:
    response = upload(api_as(Role.INTEGRATION), mapping={"이름": "name", "전화": "phone"})
    assert response.status_code == 400
    errors = response.json()["mapping"]
    assert errors["전화"] == [{"message": "The file has no column named “전화”.", "code": "unknown_column"}]
    assert errors["고객번호"][0]["code"] == "unmapped_column"
    assert errors["non_field_errors"][0]["code"] == "required"
    assert not ImportJob.objects.exists()


def test_start_with_a_mapping(pos, django_capture_on_commit_callbacks) -> None:
    client = api_as(Role.MARKETER)
    job_id = upload(client).json()["id"]
    refused = client.post(f"{IMPORTS}{job_id}/start/", {"mapping": {"이름": "name"}}, format="json")
    assert refused.status_code == 400
    assert "고객번호" in refused.json()["mapping"]
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(f"{IMPORTS}{job_id}/start/", {"mapping": MAPPING}, format="json")
    assert started.status_code == 202, started.content
    assert started.json()["status"] == "queued"
    again = client.post(f"{IMPORTS}{job_id}/start/", {"mapping": MAPPING}, format="json")
    assert again.status_code == 409
    assert again.json()["code"] == "already_started"
    progress = client.get(f"{IMPORTS}{job_id}/").json()
    assert (progress["status"], progress["progress"], progress["processed_rows"]) == ("completed", 100, 2)
    assert (progress["created_rows"], progress["duplicate_rows"], progress["rejected_rows"]) == (1, 0, 1)


def test_events_are_imported_through_the_api(pos, django_capture_on_commit_callbacks) -> None:
    mapping = {
        "event_id": "external_id",
        "customer_id": "customer_id",
        "kind": "kind",
        "channel": "channel",
        "occurred_at": "occurred_at",
        "amount": "amount",
        "currency": "currency",
        "sku": "sku",
    }
    client = api_as(Role.INTEGRATION)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, kind="events", file=csv_file(EVENTS_CSV, "events.csv"), mapping=mapping)
    assert response.status_code == 201, response.content
    job_id = response.json()["id"]
    errors = client.get(f"{IMPORTS}{job_id}/errors/").json()["results"]
    assert [(e["row"], e["field"], e["code"]) for e in errors] == [(3, "sku", "unknown_sku")]
    assert list(Interaction.objects.values_list("external_id", flat=True)) == ["T-1"]


@pytest.mark.parametrize(
    ("data", "name", "code"),
    [
        (b"", "empty.csv", "empty"),
        (b"id,name\n1,Kim\n", "customers.json", "invalid_extension"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "customers.csv", "not_csv"),
        (b"id,name\n1,\xff\xfe\xfd\n", "customers.csv", "invalid_encoding"),
        (b'id,name\n1,"Kim\n', "customers.csv", "unclosed_quote"),
        (b"id,name\n" + b"1,Kim\n" * 40, "customers.csv", "too_large"),
    ],
)
def test_files_that_cannot_be_imported_answer_400_with_a_code(
    pos, settings: SettingsWrapper, data: bytes, name: str, code: str
) -> None:
    settings.CRM_IMPORT_MAX_BYTES = 100
    response = upload(api_as(Role.INTEGRATION), file=SimpleUploadedFile(name, data))
    assert response.status_code == 400
    [error] = response.json()["file"]
    assert error["code"] in (code, "empty" if code == "empty" else code)
    assert not ImportJob.objects.exists()


def test_an_unknown_source_is_refused(pos) -> None:
    response = upload(api_as(Role.INTEGRATION), source="nowhere")
    assert response.status_code == 400
    assert response.json()["source"][0]["code"] == "does_not_exist"


def test_the_idempotency_key_replays_the_first_upload(pos) -> None:
    client = api_as(Role.INTEGRATION)
    first = upload(client, headers={"HTTP_IDEMPOTENCY_KEY": "upload-1"})
    again = upload(client, headers={"HTTP_IDEMPOTENCY_KEY": "upload-1"})
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert ImportJob.objects.count() == 1
    other = upload(
        client,
        file=csv_file(CUSTOMERS_CSV + "C-3,박지훈,park@example.kr\n"),
        headers={"HTTP_IDEMPOTENCY_KEY": "upload-1"},
    )
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"


def test_the_idempotency_key_replays_a_start(pos, django_capture_on_commit_callbacks) -> None:
    client = api_as(Role.INTEGRATION)
    job_id = upload(client).json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(
            f"{IMPORTS}{job_id}/start/", {"mapping": MAPPING}, format="json", HTTP_IDEMPOTENCY_KEY="s"
        )
    again = client.post(
        f"{IMPORTS}{job_id}/start/", {"mapping": MAPPING}, format="json", HTTP_IDEMPOTENCY_KEY="s"
    )
    assert first.status_code == again.status_code == 202
    assert again["Idempotent-Replayed"] == "true"


# --- reading -------------------------------------------------------------------------------------------


def test_errors_are_cursor_paginated_in_file_order() -> None:
    client = api_as(Role.MARKETER)
    job = ImportJobFactory(created_by=client.user)
    for row in (5, 2, 9, 3, 7):
        ImportRowErrorFactory(job=job, row_number=row)
    first = client.get(f"{IMPORTS}{job.pk}/errors/", {"page_size": 2}).json()
    assert [e["row"] for e in first["results"]] == [2, 3]
    second = client.get(first["next"]).json()
    assert [e["row"] for e in second["results"]] == [5, 7]
    assert "count" not in first


def test_the_list_is_newest_first_and_costs_the_same_for_one_and_many() -> None:
    client = api_as(Role.MARKETER)
    source = SourceSystemFactory(code="pos")
    ImportJobFactory(created_by=client.user, source_system=source)
    client.get(IMPORTS)
    with CaptureQueriesContext(connection) as one:
        assert client.get(IMPORTS).status_code == 200
    jobs = [
        ImportJobFactory(created_by=client.user, source_system=SourceSystemFactory(code=f"s{n}"))
        for n in range(20)
    ]
    with CaptureQueriesContext(connection) as many:
        body = client.get(IMPORTS).json()
    assert [j["id"] for j in body["results"]][:2] == [jobs[-1].pk, jobs[-2].pk]
    assert len(one) == len(many), [q["sql"][:90] for q in many.captured_queries]


@pytest.mark.parametrize("errors", [1, 30])
def test_errors_cost_the_same_for_few_and_many(errors: int) -> None:
    client = api_as(Role.MARKETER)
    job = ImportJobFactory(created_by=client.user)
    for n in range(errors):
        ImportRowErrorFactory(job=job, row_number=n + 2)
    client.get(f"{IMPORTS}{job.pk}/errors/")
    with CaptureQueriesContext(connection) as queries:
        assert len(client.get(f"{IMPORTS}{job.pk}/errors/").json()["results"]) == errors
    # the token with its user and permissions (one query), the job, the page
    assert len(queries) == 3, [q["sql"][:90] for q in queries.captured_queries]


# --- permissions ---------------------------------------------------------------------------------------


def endpoints(job: ImportJob) -> list[tuple[str, str]]:
    return [
        ("get", IMPORTS),
        ("post", IMPORTS),
        ("get", f"{IMPORTS}{job.pk}/"),
        ("post", f"{IMPORTS}{job.pk}/start/"),
        ("get", f"{IMPORTS}{job.pk}/errors/"),
    ]


def test_anonymous_gets_401_everywhere() -> None:
    job = ImportJobFactory()
    for method, path in endpoints(job):
        response = getattr(api_as(None), method)(path, {})
        assert response.status_code == 401, (method, path)
        assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize(
    "role",
    [Role.SERVICE_REP, Role.BUYER, Role.SUPPLIER_ADMIN, Role.SUPPLIER_MEMBER, Role.SUPPLIER_READ_ONLY],
    ids=lambda r: r.value,
)
def test_roles_without_imports_get_403_everywhere(pos, role: Role) -> None:
    client = api_as(role)
    job = ImportJobFactory(created_by=client.user)
    for method, path in endpoints(job):
        body = {"kind": "customers", "source": "pos", "file": csv_file()} if path == IMPORTS else {}
        response = getattr(client, method)(path, body, format="multipart")
        assert response.status_code == 403, (method, path)
        assert response.json()["code"] == "permission_denied"
    assert ImportJob.objects.count() == 1


@pytest.mark.parametrize("role", [Role.MARKETER, Role.INTEGRATION, Role.ADMINISTRATOR], ids=lambda r: r.value)
def test_roles_with_imports_upload_and_read(pos, role: Role) -> None:
    client = api_as(role)
    job_id = upload(client).json()["id"]
    assert client.get(f"{IMPORTS}{job_id}/").status_code == 200
    assert [j["id"] for j in client.get(IMPORTS).json()["results"]] == [job_id]


def test_another_users_import_answers_404(pos) -> None:
    job = ImportJobFactory(created_by=UserFactory(role=Role.MARKETER))
    ImportRowErrorFactory(job=job)
    client = api_as(Role.INTEGRATION)
    for method, path in endpoints(job)[2:]:
        response = getattr(client, method)(path, {"mapping": {}}, format="json")
        assert response.status_code == 404, (method, path)
    assert client.get(IMPORTS).json()["results"] == []
    admin = api_as(Role.ADMINISTRATOR)
    assert admin.get(f"{IMPORTS}{job.pk}/").status_code == 200
    assert len(admin.get(f"{IMPORTS}{job.pk}/errors/").json()["results"]) == 1
    assert ImportRowError.objects.count() == 1
