"""The customers REST API: customers and events (customers/api)."""

import json
from typing import Any

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from crm.models import IdempotencyKey
from crm.roles import Role
from customers.models import Customer, CustomerIdentity, Interaction
from tests.factories import (
    CustomerFactory,
    CustomerIdentityFactory,
    SourceSystemFactory,
    UserFactory,
    access_record_queries,
)

pytestmark = pytest.mark.django_db

EVENTS = "/api/v1/events/"
CUSTOMERS = "/api/v1/customers/"


@pytest.fixture
def pos():
    return SourceSystemFactory(code="pos", name="POS", trust_email=True, trust_phone=True)


def api_as(role: Role | None) -> APIClient:
    client = APIClient()
    if role is not None:
        user = UserFactory(role=role)
        token = Token.objects.create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def event(n: int = 1, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "source": "pos",
        "external_id": f"T-{n}",
        "customer": {"source": "pos", "id": f"C-{n}"},
        "kind": "service_call",
        "channel": "phone",
        "occurred_at": "2026-11-20T14:03:00+09:00",
    }
    data.update(overrides)
    return data


def test_the_api_routes_are_the_documented_ones() -> None:
    assert reverse("api:customer-list") == CUSTOMERS
    assert reverse("api:event-ingest") == EVENTS


# --- permissions ------------------------------------------------------------------------------------

ENDPOINTS = [
    ("get", CUSTOMERS),
    ("post", CUSTOMERS),
    ("get", CUSTOMERS + "{id}/"),
    ("patch", CUSTOMERS + "{id}/"),
    ("put", CUSTOMERS + "{id}/"),
    ("post", EVENTS),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_anonymous_gets_401(method: str, path: str) -> None:
    customer = CustomerFactory()
    response = getattr(api_as(None), method)(path.format(id=customer.pk), {}, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
@pytest.mark.parametrize(
    "role", [Role.SUPPLIER_ADMIN, Role.SUPPLIER_MEMBER, Role.SUPPLIER_READ_ONLY, Role.BUYER]
)
def test_roles_without_customer_access_get_403(method: str, path: str, role: Role, pos) -> None:
    customer = CustomerFactory()
    before = (Customer.objects.count(), Interaction.objects.count())
    response = getattr(api_as(role), method)(path.format(id=customer.pk), event(), format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert (Customer.objects.count(), Interaction.objects.count()) == before


@pytest.mark.parametrize(
    ("role", "method", "path", "expected"),
    [
        (Role.MARKETER, "get", CUSTOMERS, 200),
        (Role.MARKETER, "post", CUSTOMERS, 403),
        (Role.MARKETER, "post", EVENTS, 403),
        (Role.SERVICE_REP, "get", CUSTOMERS + "{id}/", 200),
        (Role.SERVICE_REP, "patch", CUSTOMERS + "{id}/", 200),
        (Role.SERVICE_REP, "post", CUSTOMERS, 403),
        (Role.INTEGRATION, "post", EVENTS, 201),
        (Role.INTEGRATION, "post", CUSTOMERS, 201),
        (Role.ADMINISTRATOR, "post", EVENTS, 201),
    ],
)
def test_role_matrix(role: Role, method: str, path: str, expected: int, pos) -> None:
    customer = CustomerFactory()
    body = event() if path == EVENTS else {"name": "김민지"}
    response = getattr(api_as(role), method)(path.format(id=customer.pk), body, format="json")
    assert response.status_code == expected, response.content


# --- customers -------------------------------------------------------------------------------------


def test_create_read_update_and_list_a_customer(pos) -> None:
    client = api_as(Role.INTEGRATION)
    created = client.post(
        CUSTOMERS,
        {
            "name": "김민지",
            "email": " Minji.Kim@Example.kr ",
            "phone": "010-2937-4410",
            "identities": [{"source": "pos", "external_id": "C-991"}],
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["email"] == "minji.kim@example.kr"
    assert body["phone_normalized"] == "+821029374410"
    assert body["identities"][0]["source"] == "pos" and body["identities"][0]["external_id"] == "C-991"

    url = f"{CUSTOMERS}{body['id']}/"
    assert client.get(url).json()["name"] == "김민지"
    updated = client.patch(url, {"region": "서울"}, format="json")
    assert updated.status_code == 200 and updated.json()["region"] == "서울"

    page = client.get(CUSTOMERS, {"phone": "+82 10 2937 4410"}).json()
    assert [c["id"] for c in page["results"]] == [body["id"]]
    assert client.get(CUSTOMERS, {"email": "MINJI.KIM@example.kr"}).json()["results"][0]["id"] == body["id"]
    by_identity = client.get(CUSTOMERS, {"source": "pos", "external_id": "C-991"}).json()
    assert [c["id"] for c in by_identity["results"]] == [body["id"]]


def test_a_taken_identity_is_refused_with_its_code(pos) -> None:
    CustomerIdentityFactory(source_system=pos, external_id="C-1")
    response = api_as(Role.INTEGRATION).post(
        CUSTOMERS, {"name": "x", "identities": [{"source": "pos", "external_id": "C-1"}]}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["identities"][0]["code"] == "identity_taken"
    assert Customer.objects.count() == 1


def test_a_merged_customer_answers_with_a_pointer_to_the_survivor() -> None:
    survivor = CustomerFactory()
    merged = CustomerFactory(status="merged", merged_into=survivor)
    body = api_as(Role.SERVICE_REP).get(f"{CUSTOMERS}{merged.pk}/").json()
    assert (body["status"], body["merged_into"]) == ("merged", survivor.pk)


def test_customer_list_pages_by_cursor_with_a_fixed_number_of_queries(django_assert_num_queries) -> None:
    client = api_as(Role.SERVICE_REP)
    CustomerIdentityFactory.create_batch(3)
    # token with its user and permissions (one query), customers, identities; the access record (issue 7)
    with django_assert_num_queries(3 + access_record_queries()):
        first = client.get(CUSTOMERS, {"page_size": 2}).json()
    CustomerIdentityFactory.create_batch(30)
    with django_assert_num_queries(3 + access_record_queries()):
        client.get(CUSTOMERS, {"page_size": 50})
    second = client.get(first["next"]).json()
    assert len(first["results"]) == 2 and "count" not in first
    assert {c["id"] for c in first["results"]}.isdisjoint({c["id"] for c in second["results"]})


# --- events ----------------------------------------------------------------------------------------


def test_events_batch_answers_each_fate_in_order(pos) -> None:
    client = api_as(Role.INTEGRATION)
    client.post(EVENTS, [event(2)], format="json")
    response = client.post(EVENTS, [event(1), event(2), event(3, occurred_at="soon")], format="json")
    assert response.status_code == 200
    body = response.json()
    assert [r["status"] for r in body["results"]] == ["created", "duplicate", "rejected"]
    assert (body["created"], body["duplicates"], body["rejected"]) == (1, 1, 1)
    assert body["results"][2]["errors"]["occurred_at"][0]["code"] == "invalid"


def test_a_single_event_answers_201_then_200(pos) -> None:
    client = api_as(Role.INTEGRATION)
    assert client.post(EVENTS, event(1), format="json").status_code == 201
    assert client.post(EVENTS, event(1), format="json").status_code == 200
    assert client.post(EVENTS, event(2, kind="nope"), format="json").status_code == 400
    assert Interaction.objects.count() == 1


def test_an_events_request_runs_with_the_collector_paused_and_hands_it_back(pos, monkeypatch) -> None:
    """Issue 3 (throughput): the whole request, parsing included, runs without the cyclic garbage
    collector; it is on again after every answer, a refused one and a failing one too."""
    import gc

    from customers.api import views

    seen: list[bool] = []
    ingest = views.events_ingest

    def spy(**kwargs: Any) -> Any:
        seen.append(gc.isenabled())
        return ingest(**kwargs)

    monkeypatch.setattr(views, "events_ingest", spy)
    client = api_as(Role.INTEGRATION)
    assert gc.isenabled()
    assert client.post(EVENTS, [event(1)], format="json").status_code == 200
    assert seen == [False] and gc.isenabled()
    assert client.post(EVENTS, "[{", content_type="application/json").status_code == 400
    assert gc.isenabled()

    def boom(**kwargs: Any) -> Any:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(views, "events_ingest", boom)
    client.raise_request_exception = True
    with pytest.raises(RuntimeError):
        client.post(EVENTS, [event(2)], format="json")
    assert gc.isenabled()


def test_malformed_json_is_refused_with_a_code(pos) -> None:
    response = api_as(Role.INTEGRATION).post(EVENTS, "[{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_a_batch_of_1001_is_refused_whole(pos) -> None:
    response = api_as(Role.INTEGRATION).post(EVENTS, [event(n) for n in range(1001)], format="json")
    assert response.status_code == 400
    assert response.json()["non_field_errors"][0]["code"] == "batch_too_large"
    assert Interaction.objects.count() == 0


@pytest.mark.parametrize("body", ["a string", 42, None])
def test_a_body_that_is_neither_object_nor_list_is_refused(body: Any, pos) -> None:
    response = api_as(Role.INTEGRATION).post(EVENTS, json.dumps(body), content_type="application/json")
    assert response.status_code == 400


# --- Idempotency-Key -------------------------------------------------------------------------------


def test_idempotency_key_replays_the_first_answer() -> None:
    client = api_as(Role.INTEGRATION)
    first = client.post(CUSTOMERS, {"name": "A"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = client.post(CUSTOMERS, {"name": "A"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Customer.objects.count() == 1


def test_idempotency_key_with_another_body_is_refused_with_422() -> None:
    client = api_as(Role.INTEGRATION)
    client.post(CUSTOMERS, {"name": "A"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    response = client.post(CUSTOMERS, {"name": "B"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert Customer.objects.count() == 1


def test_idempotency_key_in_progress_is_refused_with_409() -> None:
    client = api_as(Role.INTEGRATION)
    client.post(CUSTOMERS, {"name": "A"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    IdempotencyKey.objects.update(response_status=None, response_body=None)  # as if the first still ran
    response = client.post(CUSTOMERS, {"name": "A"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_in_use"
    assert Customer.objects.count() == 1


def test_an_abandoned_idempotency_key_is_taken_over() -> None:
    import datetime as dt

    client = api_as(Role.INTEGRATION)
    client.post(CUSTOMERS, {"name": "A"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    Customer.objects.all().delete()  # the first request's work never committed
    IdempotencyKey.objects.update(
        response_status=None, response_body=None, created_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    )
    response = client.post(CUSTOMERS, {"name": "A"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert response.status_code == 201
    assert Customer.objects.count() == 1


def test_idempotency_keys_are_per_user() -> None:
    api_as(Role.INTEGRATION).post(CUSTOMERS, {"name": "A"}, format="json", HTTP_IDEMPOTENCY_KEY="same")
    api_as(Role.INTEGRATION).post(CUSTOMERS, {"name": "A"}, format="json", HTTP_IDEMPOTENCY_KEY="same")
    assert Customer.objects.count() == 2


def test_idempotency_key_on_events(pos) -> None:
    client = api_as(Role.INTEGRATION)
    first = client.post(EVENTS, [event(1)], format="json", HTTP_IDEMPOTENCY_KEY="batch-1")
    again = client.post(EVENTS, [event(1)], format="json", HTTP_IDEMPOTENCY_KEY="batch-1")
    assert again.json() == first.json() and again.json()["created"] == 1
    assert CustomerIdentity.objects.count() == 1
