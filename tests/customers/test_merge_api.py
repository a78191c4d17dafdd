"""The merges API (customers/api/merges.py), issue 3 item 4: merge, read merges, undo."""

from typing import Any

import pytest
from django.urls import reverse
from pytest_django import DjangoAssertNumQueries
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from crm.roles import Role
from customers.merge import customer_merge
from customers.models import Customer, MergeRecord
from tests.factories import (
    CustomerFactory,
    CustomerIdentityFactory,
    InteractionFactory,
    UserFactory,
    access_record_queries,
)

pytestmark = pytest.mark.django_db

CUSTOMERS = "/api/v1/customers/"
MERGES = "/api/v1/merges/"


def api_as(role: Role | None) -> APIClient:
    client = APIClient()
    if role is not None:
        token = Token.objects.create(user=UserFactory(role=role))
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def merge_url(survivor: Customer) -> str:
    return f"{CUSTOMERS}{survivor.pk}/merge/"


def test_the_routes_are_the_documented_ones() -> None:
    assert reverse("api:customer-merge", args=[7]) == "/api/v1/customers/7/merge/"
    assert reverse("api:merge-list") == MERGES
    assert reverse("api:merge-detail", args=[7]) == "/api/v1/merges/7/"
    assert reverse("api:merge-undo", args=[7]) == "/api/v1/merges/7/undo/"


# --- permissions ------------------------------------------------------------------------------------


def call(client: APIClient, endpoint: str) -> Any:
    """Call one endpoint against fresh data; return the response."""
    survivor, merged = CustomerFactory(), CustomerFactory()
    if endpoint == "merge":
        return client.post(merge_url(survivor), {"merged": merged.pk}, format="json")
    record = customer_merge(survivor=survivor, merged=merged, actor=None)
    if endpoint == "list":
        return client.get(MERGES)
    if endpoint == "detail":
        return client.get(f"{MERGES}{record.pk}/")
    return client.post(f"{MERGES}{record.pk}/undo/")


ENDPOINTS = ["merge", "list", "detail", "undo"]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_anonymous_gets_401(endpoint: str) -> None:
    response = call(api_as(None), endpoint)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(
    "role",
    [
        Role.MARKETER,
        Role.BUYER,
        Role.INTEGRATION,
        Role.SUPPLIER_ADMIN,
        Role.SUPPLIER_MEMBER,
        Role.SUPPLIER_READ_ONLY,
    ],
)
def test_roles_without_merge_rights_get_403(endpoint: str, role: Role) -> None:
    response = call(api_as(role), endpoint)
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    # Nothing merged but the record the test made itself, and nothing undone.
    assert MergeRecord.objects.count() == (0 if endpoint == "merge" else 1)
    assert not MergeRecord.objects.filter(undone_at__isnull=False).exists()


@pytest.mark.parametrize(
    ("endpoint", "expected"), [("merge", 201), ("list", 200), ("detail", 200), ("undo", 200)]
)
@pytest.mark.parametrize("role", [Role.SERVICE_REP, Role.ADMINISTRATOR])
def test_service_reps_and_administrators_merge_read_and_undo(
    endpoint: str, expected: int, role: Role
) -> None:
    assert call(api_as(role), endpoint).status_code == expected


# --- merging ----------------------------------------------------------------------------------------


def test_merge_answers_201_with_the_record_and_the_merged_id_points_at_the_survivor() -> None:
    client = api_as(Role.SERVICE_REP)
    survivor, merged = CustomerFactory(), CustomerFactory()
    identity = CustomerIdentityFactory(customer=merged)
    InteractionFactory.create_batch(2, customer=merged)

    response = client.post(merge_url(survivor), {"merged": merged.pk, "reason": "one person"}, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["survivor"], body["merged"], body["reason"]) == (survivor.pk, merged.pk, "one person")
    assert body["actor"]["username"].startswith("user")
    assert body["counts"]["interactions"] == 2 and body["counts"]["identities"] == 1
    assert body["moved"]["identities"] == [identity.pk]
    assert body["undo_blocked_by"] == ""
    assert body["undone_at"] is None

    merged_body = client.get(f"{CUSTOMERS}{merged.pk}/").json()
    assert (merged_body["status"], merged_body["merged_into"]) == ("merged", survivor.pk)
    survivor_body = client.get(f"{CUSTOMERS}{survivor.pk}/").json()
    assert [i["external_id"] for i in survivor_body["identities"]] == [identity.external_id]
    assert survivor_body["identities"][0]["matched_by"] == "merge"


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("self", "same_customer"),
        ("merged_gone", "merged_not_active"),
        ("survivor_gone", "survivor_not_active"),
        ("erased", "merged_not_active"),
    ],
)
def test_refused_merges_answer_409_with_a_code(case: str, code: str) -> None:
    survivor, merged = CustomerFactory(), CustomerFactory()
    if case == "self":
        merged = survivor
    elif case == "merged_gone":
        customer_merge(survivor=CustomerFactory(), merged=merged, actor=None)
    elif case == "survivor_gone":
        customer_merge(survivor=CustomerFactory(), merged=survivor, actor=None)
    else:
        Customer.objects.filter(pk=merged.pk).update(status="erased")
    records = MergeRecord.objects.count()

    response = api_as(Role.SERVICE_REP).post(merge_url(survivor), {"merged": merged.pk}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == code
    assert response.json()["detail"]
    assert MergeRecord.objects.count() == records


def test_an_unknown_merged_customer_is_a_validation_error() -> None:
    response = api_as(Role.SERVICE_REP).post(merge_url(CustomerFactory()), {"merged": 999999}, format="json")
    assert response.status_code == 400
    assert response.json()["merged"][0]["code"] == "does_not_exist"


def test_an_unknown_survivor_is_404() -> None:
    response = api_as(Role.SERVICE_REP).post(
        f"{CUSTOMERS}999999/merge/", {"merged": CustomerFactory().pk}, format="json"
    )
    assert response.status_code == 404


def test_a_replayed_idempotency_key_merges_once() -> None:
    client = api_as(Role.SERVICE_REP)
    survivor, merged = CustomerFactory(), CustomerFactory()
    headers = {"Idempotency-Key": "merge-41877-41878"}

    first = client.post(merge_url(survivor), {"merged": merged.pk}, format="json", headers=headers)
    again = client.post(merge_url(survivor), {"merged": merged.pk}, format="json", headers=headers)

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert MergeRecord.objects.count() == 1
    other = client.post(merge_url(survivor), {"merged": CustomerFactory().pk}, format="json", headers=headers)
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"


def test_a_replayed_idempotency_key_undoes_once() -> None:
    client = api_as(Role.SERVICE_REP)
    record = customer_merge(survivor=CustomerFactory(), merged=CustomerFactory(), actor=None)
    headers = {"Idempotency-Key": "undo-1"}
    first = client.post(f"{MERGES}{record.pk}/undo/", headers=headers)
    again = client.post(f"{MERGES}{record.pk}/undo/", headers=headers)
    assert (first.status_code, again.status_code) == (200, 200)
    assert again["Idempotent-Replayed"] == "true"
    # Without the key, a second undo is refused by the data.
    assert client.post(f"{MERGES}{record.pk}/undo/").json()["code"] == "already_undone"


# --- undoing --------------------------------------------------------------------------------------


def test_undo_answers_the_record_and_reactivates_the_merged_customer() -> None:
    client = api_as(Role.ADMINISTRATOR)
    survivor, merged = CustomerFactory(), CustomerFactory()
    record = customer_merge(survivor=survivor, merged=merged, actor=None)

    response = client.post(f"{MERGES}{record.pk}/undo/")

    assert response.status_code == 200
    body = response.json()
    assert body["undone_at"] is not None and body["undone_by"]["id"]
    assert body["undo_blocked_by"] == "already_undone"
    merged_body = client.get(f"{CUSTOMERS}{merged.pk}/").json()
    assert (merged_body["status"], merged_body["merged_into"]) == ("active", None)


def test_undo_blocked_by_a_later_merge_answers_409() -> None:
    a, b, c = CustomerFactory(), CustomerFactory(), CustomerFactory()
    first = customer_merge(survivor=b, merged=a, actor=None)
    customer_merge(survivor=c, merged=b, actor=None)
    client = api_as(Role.SERVICE_REP)
    assert client.get(f"{MERGES}{first.pk}/").json()["undo_blocked_by"] == "later_merge"
    response = client.post(f"{MERGES}{first.pk}/undo/")
    assert response.status_code == 409
    assert response.json()["code"] == "later_merge"


def test_undo_of_an_unknown_merge_is_404() -> None:
    assert api_as(Role.SERVICE_REP).post(f"{MERGES}999999/undo/").status_code == 404


# --- reading ----------------------------------------------------------------------------------------


def test_merges_are_listed_newest_first_by_cursor_and_filtered_by_customer() -> None:
    client = api_as(Role.SERVICE_REP)
    kept = CustomerFactory()
    mine = [customer_merge(survivor=kept, merged=CustomerFactory(), actor=None) for _ in range(3)]
    others = customer_merge(survivor=CustomerFactory(), merged=CustomerFactory(), actor=None)

    first = client.get(MERGES, {"page_size": 2}).json()
    assert [r["id"] for r in first["results"]] == [others.pk, mine[2].pk]
    assert "count" not in first
    second = client.get(first["next"]).json()
    assert [r["id"] for r in second["results"]] == [mine[1].pk, mine[0].pk]

    by_survivor = client.get(MERGES, {"customer": kept.pk}).json()
    assert [r["id"] for r in by_survivor["results"]] == [m.pk for m in reversed(mine)]
    by_merged = client.get(MERGES, {"customer": mine[0].merged_id}).json()
    assert [r["id"] for r in by_merged["results"]] == [mine[0].pk]
    assert client.get(MERGES, {"customer": "nope"}).status_code == 400


@pytest.mark.parametrize("merges", [1, 20])
def test_the_list_costs_a_fixed_number_of_queries(
    django_assert_num_queries: DjangoAssertNumQueries, merges: int
) -> None:
    client = api_as(Role.SERVICE_REP)
    for _ in range(merges):
        customer_merge(survivor=CustomerFactory(), merged=CustomerFactory(), actor=UserFactory())
    # token with its user and permissions (one query), merges with their people; the access record
    with django_assert_num_queries(2 + access_record_queries()):
        response = client.get(MERGES)
    assert len(response.json()["results"]) == merges


@pytest.mark.parametrize("interactions", [1, 30])
def test_the_detail_costs_a_fixed_number_of_queries(
    django_assert_num_queries: DjangoAssertNumQueries, interactions: int
) -> None:
    client = api_as(Role.SERVICE_REP)
    merged = CustomerFactory()
    InteractionFactory.create_batch(interactions, customer=merged)
    CustomerIdentityFactory.create_batch(interactions, customer=merged)
    record = customer_merge(survivor=CustomerFactory(), merged=merged, actor=UserFactory())
    # token with its user and permissions (one query), the merge, later merges; the access record
    with django_assert_num_queries(3 + access_record_queries()):
        response = client.get(f"{MERGES}{record.pk}/")
    assert len(response.json()["moved"]["interactions"]) == interactions
