"""Every door to personal data writes its access record (issue 7): the customers API, events, merges and
imports (pages and API), the admin, the privacy pages; a request never succeeds without its record; and
the route inventory finds no door without logging."""

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from crm.roles import Role
from customers.imports import import_create
from customers.merge import customer_merge
from customers.models import Customer
from customers.privacy.inventory import unlogged_routes
from customers.privacy.models import AccessRecord
from tests.customers.privacy.conftest import head_seq, last_record, records_since
from tests.factories import (
    ConsentFactory,
    CustomerFactory,
    CustomerIdentityFactory,
    ImportRowErrorFactory,
    InteractionFactory,
    SourceSystemFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

CUSTOMERS_CSV = "고객번호,이름,이메일\nC-1,김민지,minji@example.kr\nC-2,이서준,not-an-email\n"


@pytest.fixture
def pos():
    return SourceSystemFactory(code="pos", name="POS", trust_email=True, trust_phone=True)


def only_record_since(seq: int) -> AccessRecord:
    records = records_since(seq)
    assert len(records) == 1, [(r.action, r.route) for r in records]
    return records[0]


def assert_record(
    seq: int, *, action: str, customers: list[int], route: str, username: str | None = None, **more: Any
) -> AccessRecord:
    record = only_record_since(seq)
    assert record.action == action
    assert record.customer_ids == sorted(customers)
    assert route in record.route
    assert record.ip == "127.0.0.1"
    if username is not None:
        assert record.username == username
    for key, value in more.items():
        assert getattr(record, key) == value
    return record


def test_no_route_touches_customers_without_logging() -> None:
    assert unlogged_routes() == []


# --- the customers API -------------------------------------------------------------------------------


def test_api_customer_list_logs_every_customer_shown(api_as) -> None:
    shown = CustomerFactory.create_batch(3)
    seq = head_seq()
    response = api_as(Role.SERVICE_REP).get("/api/v1/customers/", {"page_size": 2})
    ids = [row["id"] for row in response.json()["results"]]
    assert len(ids) == 2 and set(ids) <= {c.pk for c in shown}
    assert_record(seq, action="search", customers=ids, route="api:customer-list")


def test_api_customer_detail_logs_the_customer(api_as) -> None:
    customer = CustomerFactory()
    seq = head_seq()
    assert api_as(Role.SERVICE_REP).get(f"/api/v1/customers/{customer.pk}/").status_code == 200
    assert_record(seq, action="view", customers=[customer.pk], route="GET api:customer-detail")


def test_api_customer_create_logs_input(api_as) -> None:
    seq = head_seq()
    response = api_as(Role.ADMINISTRATOR).post(
        "/api/v1/customers/", {"name": "Kim", "email": "k@example.kr"}, format="json"
    )
    assert response.status_code == 201
    assert_record(seq, action="input", customers=[response.json()["id"]], route="api:customer-list")


def test_api_customer_update_logs_change(api_as) -> None:
    customer = CustomerFactory()
    seq = head_seq()
    response = api_as(Role.SERVICE_REP).patch(
        f"/api/v1/customers/{customer.pk}/", {"name": "New"}, format="json"
    )
    assert response.status_code == 200
    assert_record(seq, action="change", customers=[customer.pk], route="PATCH api:customer-detail")


def test_a_refused_request_writes_no_record(api_as) -> None:
    customer = CustomerFactory()
    seq = head_seq()
    assert api_as(Role.BUYER).get(f"/api/v1/customers/{customer.pk}/").status_code == 403
    assert api_as(Role.SERVICE_REP).get("/api/v1/customers/999999/").status_code == 404
    assert records_since(seq) == []


def test_a_request_fails_when_its_record_cannot_be_written(api_as, monkeypatch) -> None:
    """Fail closed: no record, no answer, and the change rolled back."""
    customer = CustomerFactory(name="Before")
    client = api_as(Role.SERVICE_REP)
    client.raise_request_exception = False

    def broken(**kwargs: Any) -> None:
        raise RuntimeError("the log is unavailable")

    monkeypatch.setattr("customers.privacy.log.record_write", broken)
    assert client.get(f"/api/v1/customers/{customer.pk}/").status_code == 500
    assert (
        client.patch(f"/api/v1/customers/{customer.pk}/", {"name": "After"}, format="json").status_code == 500
    )
    customer.refresh_from_db()
    assert customer.name == "Before"


def test_api_events_log_input_with_their_customers(api_as, pos) -> None:
    seq = head_seq()
    events = [
        {
            "source": "pos",
            "external_id": f"T-{n}",
            "customer": {"source": "pos", "id": f"C-{n}"},
            "kind": "web_visit",
            "channel": "web",
            "occurred_at": "2026-11-20T14:03:00+09:00",
        }
        for n in range(3)
    ]
    body = api_as(Role.INTEGRATION).post("/api/v1/events/", events, format="json").json()
    assert_record(
        seq,
        action="input",
        customers=[item["customer_id"] for item in body["results"]],
        route="api:event-ingest",
    )


# --- merges -----------------------------------------------------------------------------------------


def test_api_merge_logs_both_customers(api_as) -> None:
    survivor, merged = CustomerFactory(), CustomerFactory()
    seq = head_seq()
    response = api_as(Role.SERVICE_REP).post(
        f"/api/v1/customers/{survivor.pk}/merge/", {"merged": merged.pk}, format="json"
    )
    assert response.status_code == 201
    assert_record(seq, action="change", customers=[survivor.pk, merged.pk], route="api:customer-merge")


def test_api_merge_list_detail_and_undo_log_the_customers(api_as) -> None:
    survivor, merged = CustomerFactory(), CustomerFactory()
    record = customer_merge(survivor=survivor, merged=merged, actor=None)
    client = api_as(Role.SERVICE_REP)
    for method, url, action in [
        ("get", "/api/v1/merges/", "view"),
        ("get", f"/api/v1/merges/{record.pk}/", "view"),
        ("post", f"/api/v1/merges/{record.pk}/undo/", "change"),
    ]:
        seq = head_seq()
        assert getattr(client, method)(url).status_code == 200
        assert_record(seq, action=action, customers=[survivor.pk, merged.pk], route="api:merge-")


def test_merge_pages_log_the_customers_shown(client_for) -> None:
    first, second = CustomerFactory(), CustomerFactory()
    rep = client_for(Role.SERVICE_REP)
    seq = head_seq()
    assert rep.get("/customers/merges/new/", {"first": first.pk, "second": second.pk}).status_code == 200
    assert_record(seq, action="search", customers=[first.pk, second.pk], route="customers:merge_new")

    seq = head_seq()
    response = rep.post(
        "/customers/merges/new/",
        {"first_id": first.pk, "second_id": second.pk, "survivor": first.pk, "confirm": "on"},
    )
    assert response.status_code == 302
    assert_record(seq, action="change", customers=[first.pk, second.pk], route="POST customers:merge_new")
    merge = first.merges_received.get()

    for url, action in [
        ("/customers/merges/", "view"),
        (f"/customers/merges/{merge.pk}/", "view"),
    ]:
        seq = head_seq()
        assert rep.get(url).status_code == 200
        assert_record(seq, action=action, customers=[first.pk, second.pk], route="customers:merge_")
    seq = head_seq()
    assert rep.post(f"/customers/merges/{merge.pk}/undo/").status_code == 302
    assert_record(seq, action="change", customers=[first.pk, second.pk], route="customers:merge_undo")


# --- imports ----------------------------------------------------------------------------------------


def test_import_pages_log_input_preview_and_download(client_for, pos) -> None:
    client = client_for(Role.ADMINISTRATOR)
    seq = head_seq()
    upload = SimpleUploadedFile("c.csv", CUSTOMERS_CSV.encode(), content_type="text/csv")
    response = client.post("/customers/imports/new/", {"kind": "customers", "source": pos.pk, "file": upload})
    assert response.status_code == 302
    assert_record(seq, action="input", customers=[], route="customers:import_new")
    job_url = response["Location"]

    seq = head_seq()
    assert client.get(job_url).status_code == 200
    assert_record(seq, action="view", customers=[], route="customers:import_detail")

    seq = head_seq()
    assert client.post(job_url + "preview/", {}).status_code == 200
    assert_record(seq, action="view", customers=[], route="customers:import_preview")

    seq = head_seq()
    mapping = {"column_0": "external_id", "column_1": "name", "column_2": "email"}
    assert client.post(job_url + "start/", mapping).status_code == 302
    assert_record(seq, action="input", customers=[], route="customers:import_start")


def test_the_rejected_rows_download_asks_the_reason_first(client_for, pos) -> None:
    client = client_for(Role.ADMINISTRATOR)
    user = UserFactory(role=Role.ADMINISTRATOR)
    job = import_create(
        upload=SimpleUploadedFile("c.csv", CUSTOMERS_CSV.encode()),
        kind="customers",
        source_system=pos,
        user=user,
    )
    ImportRowErrorFactory(job=job)
    client.force_login(user)
    url = f"/customers/imports/{job.pk}/rejected-rows.csv"
    seq = head_seq()

    asked = client.get(url)
    assert asked.status_code == 200 and "text/html" in asked["Content-Type"]
    assert 'name="reason"' in asked.content.decode()
    too_short = client.get(url, {"reason": "x"})
    assert too_short.status_code == 400 and "text/html" in too_short["Content-Type"]
    assert records_since(seq) == []

    response = client.get(url, {"reason": "correct the POS export"})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert_record(
        seq, action="download", customers=[], route="customers:import_errors", reason="correct the POS export"
    )


def test_api_import_upload_and_start_log_input(api_as, pos) -> None:
    client = api_as(Role.INTEGRATION)
    seq = head_seq()
    body = {
        "kind": "customers",
        "source": "pos",
        "file": SimpleUploadedFile("c.csv", CUSTOMERS_CSV.encode(), content_type="text/csv"),
    }
    response = client.post("/api/v1/imports/", body, format="multipart")
    assert response.status_code == 201, response.content
    assert_record(seq, action="input", customers=[], route="api:import-list")
    seq = head_seq()
    started = client.post(
        f"/api/v1/imports/{response.json()['id']}/start/",
        {"mapping": {"고객번호": "external_id", "이름": "name", "이메일": "email"}},
        format="json",
    )
    assert started.status_code in (200, 202), started.content
    assert_record(seq, action="input", customers=[], route="api:import-start")


# --- the admin --------------------------------------------------------------------------------------


def test_admin_customer_list_logs_the_customers_shown(admin_client: Client) -> None:
    customers = CustomerFactory.create_batch(3)
    seq = head_seq()
    assert admin_client.get("/admin/customers/customer/").status_code == 200
    assert_record(
        seq, action="view", customers=[c.pk for c in customers], route="admin:customers_customer_changelist"
    )

    seq = head_seq()
    assert admin_client.get("/admin/customers/customer/", {"q": customers[0].email}).status_code == 200
    assert_record(
        seq, action="search", customers=[customers[0].pk], route="admin:customers_customer_changelist"
    )


def test_admin_customer_page_logs_view_and_change(admin_client: Client) -> None:
    customer = CustomerFactory()
    seq = head_seq()
    page = admin_client.get(f"/admin/customers/customer/{customer.pk}/change/")
    assert page.status_code == 200
    assert_record(seq, action="view", customers=[customer.pk], route="admin:customers_customer_change")

    form = page.context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and name in form.fields}
    data.update(name="Changed", status="active")
    for prefix in ("identities", "contracts", "consents", "interactions", "analytics"):
        for key in ("TOTAL_FORMS", "INITIAL_FORMS", "MIN_NUM_FORMS", "MAX_NUM_FORMS"):
            data.setdefault(f"{prefix}-{key}", "0")
    seq = head_seq()
    response = admin_client.post(f"/admin/customers/customer/{customer.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    assert_record(seq, action="change", customers=[customer.pk], route="admin:customers_customer_change")
    assert Customer.objects.get(pk=customer.pk).name == "Changed"


@pytest.mark.parametrize(
    ("url", "make"),
    [
        ("/admin/customers/customeridentity/", lambda: CustomerIdentityFactory()),
        ("/admin/customers/interaction/", lambda: InteractionFactory()),
        ("/admin/customers/consent/", lambda: ConsentFactory()),
    ],
)
def test_admin_lists_of_customer_rows_log_their_customers(admin_client: Client, url: str, make: Any) -> None:
    row = make()
    seq = head_seq()
    assert admin_client.get(url).status_code == 200
    assert_record(seq, action="view", customers=[row.customer_id], route="_changelist")


def test_admin_merge_undo_logs_the_customers(admin_client: Client) -> None:
    survivor, merged = CustomerFactory(), CustomerFactory()
    record = customer_merge(survivor=survivor, merged=merged, actor=None)
    seq = head_seq()
    assert admin_client.post(f"/admin/customers/mergerecord/{record.pk}/undo/").status_code == 302
    assert_record(
        seq, action="change", customers=[survivor.pk, merged.pk], route="admin:customers_mergerecord_undo"
    )


def test_the_record_names_the_account(api_as) -> None:
    customer = CustomerFactory()
    user = UserFactory(role=Role.SERVICE_REP)
    from tests.customers.privacy.conftest import api_client

    api_client(user).get(f"/api/v1/customers/{customer.pk}/")
    record = last_record()
    assert (record.user_id, record.username) == (user.pk, user.username)
