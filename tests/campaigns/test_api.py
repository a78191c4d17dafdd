"""Issue 6: /api/v1/segments/ (list, read, create with Idempotency-Key, change), its members by cursor,
and POST /api/v1/segments/preview/: permissions for every endpoint and exact query counts."""

from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from pytest_django import DjangoAssertNumQueries
from rest_framework.test import APIClient

from campaigns.models import Segment
from campaigns.services import segment_refresh
from crm.roles import Role
from tests.factories import CustomerAnalyticsFactory, SupplierMembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

RULE = {"op": "and", "conditions": [{"field": "lifetime_value", "operator": "gte", "value": "1000"}]}


def api(role: Role | None) -> APIClient:
    client = APIClient()
    if role is not None:
        user = UserFactory(role=role)
        if role == Role.SUPPLIER_ADMIN:
            SupplierMembershipFactory(user=user, role="admin")
        client.force_authenticate(user)
    return client


def fresh(client: APIClient) -> APIClient:
    """The same user loaded anew, as each real request does (no permission cache carried over)."""
    user = client.handler._force_user
    client.force_authenticate(type(user).objects.get(pk=user.pk))
    return client


@pytest.fixture
def segment() -> Segment:
    return Segment.objects.create(name="Rich", rule=RULE)


def endpoints(segment: Segment) -> list[tuple[str, str, dict[str, Any] | None, str]]:
    return [
        ("get", reverse("api:segment-list"), None, "view"),
        ("get", reverse("api:segment-detail", args=[segment.pk]), None, "view"),
        ("get", reverse("api:segment-members", args=[segment.pk]), None, "view"),
        ("post", reverse("api:segment-list"), {"name": "New", "rule": RULE}, "build"),
        ("patch", reverse("api:segment-detail", args=[segment.pk]), {"name": "Renamed"}, "build"),
        ("post", reverse("api:segment-preview"), {"rule": RULE}, "build"),
    ]


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (None, set()),
        (Role.SUPPLIER_ADMIN, set()),
        (Role.BUYER, set()),
        (Role.SERVICE_REP, {"view"}),
        (Role.MARKETER, {"view", "build"}),
    ],
)
def test_permissions_of_every_endpoint(segment: Segment, role: Role | None, allowed: set[str]) -> None:
    client = api(role)
    for method, url, body, need in endpoints(segment):
        response = getattr(client, method)(url, body, format="json")
        if need in allowed:
            assert response.status_code in (200, 201), (url, response.status_code, response.content)
        else:
            assert response.status_code == (401 if role is None else 403), (url, response.status_code)


def test_create_is_idempotent_and_validates_the_rule() -> None:
    client = api(Role.MARKETER)
    url = reverse("api:segment-list")
    first = client.post(url, {"name": "Rich", "rule": RULE}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = client.post(url, {"name": "Rich", "rule": RULE}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert Segment.objects.filter(name="Rich").count() == 1
    other = client.post(url, {"name": "Other", "rule": RULE}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert other.status_code == 422

    bad = client.post(
        url,
        {
            "name": "Bad",
            "rule": {"op": "and", "conditions": [{"field": "ssn", "operator": "eq", "value": 1}]},
        },
        format="json",
    )
    assert bad.status_code == 400
    assert bad.json()["rule"]["conditions.0.field"][0]["code"] == "invalid_rule"
    assert not Segment.objects.filter(name="Bad").exists()


def test_members_by_cursor_cost_fixed_queries(
    segment: Segment, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    client = api(Role.MARKETER)
    url = reverse("api:segment-members", args=[segment.pk])
    CustomerAnalyticsFactory(lifetime_value=Decimal(5000))
    segment_refresh(segment_id=segment.pk)
    # permissions (one query), the segment, the page
    with django_assert_num_queries(4):
        assert len(client.get(url).json()["results"]) == 1
    for _ in range(30):
        CustomerAnalyticsFactory(lifetime_value=Decimal(5000))
    segment_refresh(segment_id=segment.pk)
    fresh(client)
    with django_assert_num_queries(4):
        body = client.get(url, {"page_size": 20}).json()
    assert len(body["results"]) == 20
    assert set(body["results"][0]) == {"id", "customer_id", "name", "email", "entered_at"}
    rest = client.get(body["next"]).json()
    assert len(rest["results"]) == 11
    assert "count" not in body


def test_preview_counts_and_samples_an_unsaved_rule(
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    client = api(Role.MARKETER)
    rich = CustomerAnalyticsFactory(lifetime_value=Decimal(5000)).customer
    CustomerAnalyticsFactory(lifetime_value=Decimal(10))
    with django_assert_num_queries(6):  # permissions, count, sample, the access record in its savepoint
        response = client.post(reverse("api:segment-preview"), {"rule": RULE}, format="json")
    assert response.status_code == 200
    assert response.json()["count"] == 1
    assert response.json()["count_exact"] is True
    assert response.json()["sample"] == [{"id": rich.pk, "name": rich.name}]
    assert response.json()["sentence"] == "Customers where Lifetime value is at least 1000."
    assert Segment.objects.filter(name="").count() == 0

    refused = client.post(
        reverse("api:segment-preview"),
        {"rule": {"op": "and", "conditions": [{"field": "age", "operator": "gte", "value": "1; DROP"}]}},
        format="json",
    )
    assert refused.status_code == 400
    assert "conditions.0.value" in refused.json()["rule"]


def test_the_endpoints_are_in_the_schema() -> None:
    client = api(Role.MARKETER)
    paths = client.get(reverse("api:schema"), {"format": "json"}).json()["paths"]
    assert {
        "/api/v1/segments/",
        "/api/v1/segments/{id}/",
        "/api/v1/segments/{id}/members/",
        "/api/v1/segments/preview/",
    } <= set(paths)
