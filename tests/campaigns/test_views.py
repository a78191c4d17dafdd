"""Issue 6: the staff pages of segments: permissions for every page, the builder's htmx round trips,
saving, the members' CSV, static members, the reps' alert list, and exact query counts."""

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pytest_django import DjangoAssertNumQueries

from campaigns.models import Segment, SegmentMembership
from campaigns.services import segment_refresh
from crm.roles import Role
from tests.factories import (
    CustomerAnalyticsFactory,
    CustomerFactory,
    SupplierMembershipFactory,
    UserFactory,
    session_queries,
)

pytestmark = pytest.mark.django_db

RULE = {"op": "and", "conditions": [{"field": "lifetime_value", "operator": "gte", "value": "1000"}]}


@pytest.fixture
def segment() -> Segment:
    return Segment.objects.create(name="Rich", rule=RULE)


@pytest.fixture
def static() -> Segment:
    return Segment.objects.create(name="VIP", kind=Segment.Kind.STATIC)


def builder_post(**extra: Any) -> dict[str, Any]:
    """The builder's fields for: all of (lifetime value ≥ 1000, region is Seoul)."""
    return {
        "name": "Seoul VIPs",
        "description": "",
        "kind": "dynamic",
        "node": ["g:r", "c:r.0", "c:r.1"],
        "r-op": "and",
        "r.0-field": "lifetime_value",
        "r.0-operator": "gte",
        "r.0-value": "1000",
        "r.1-field": "region",
        "r.1-operator": "eq",
        "r.1-value": "Seoul",
        **extra,
    }


def pages(segment: Segment, static: Segment) -> list[tuple[str, str, str]]:
    """(method, url, what it needs) of every segment page."""
    return [
        ("get", reverse("campaigns:segment_list"), "view"),
        ("get", reverse("campaigns:segment_detail", args=[segment.pk]), "view"),
        ("get", reverse("campaigns:segment_new"), "build"),
        ("get", reverse("campaigns:segment_edit", args=[segment.pk]), "build"),
        ("post", reverse("campaigns:segment_builder"), "build"),
        ("post", reverse("campaigns:segment_refresh", args=[segment.pk]), "build"),
        ("post", reverse("campaigns:segment_members", args=[static.pk]), "build"),
        ("get", reverse("campaigns:segment_export", args=[segment.pk]), "export"),
        ("get", reverse("campaigns:at_risk"), "members"),
    ]


def test_anonymous_visitors_are_sent_to_the_login_page(
    client: Client, segment: Segment, static: Segment
) -> None:
    for method, url, _need in pages(segment, static):
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login")), url


def test_supplier_users_never_reach_segment_pages(client: Client, segment: Segment, static: Segment) -> None:
    supplier_user = UserFactory(role=Role.SUPPLIER_ADMIN)
    SupplierMembershipFactory(user=supplier_user, role="admin")
    client.force_login(supplier_user)
    for method, url, _need in pages(segment, static):
        assert getattr(client, method)(url).status_code == 403, url


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.BUYER, set()),
        (Role.SERVICE_REP, {"view", "members", "export"}),
        (Role.MARKETER, {"view", "members", "export", "build"}),
    ],
)
def test_each_role_reaches_what_it_may(
    client: Client, segment: Segment, static: Segment, role: Role, allowed: set[str]
) -> None:
    client.force_login(UserFactory(role=role))
    for method, url, need in pages(segment, static):
        status = getattr(client, method)(url, builder_post() if url.endswith("builder/") else {}).status_code
        if need in allowed:
            assert status in (200, 302), (url, status)
        else:
            assert status == 403, (url, status)


def test_builder_counts_and_samples_as_you_edit(
    client_for: Callable[[Role], Client], django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    client = client_for(Role.MARKETER)
    seoul = CustomerAnalyticsFactory(lifetime_value=Decimal(5000), customer__region="Seoul").customer
    CustomerAnalyticsFactory(lifetime_value=Decimal(5000), customer__region="Busan")
    url = reverse("campaigns:segment_builder")

    # session, the user with its permissions (one query), count, sample; the access record in its
    # savepoint
    with django_assert_num_queries(6 + session_queries()):
        response = client.post(url, builder_post(), HTTP_HX_REQUEST="true")
    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="preview-count">1<' in page
    assert f"#{seoul.pk}" in page
    assert "Lifetime value is at least 1000 and Region is Seoul" in page

    response = client.post(url, builder_post(action="add_group:r"))
    assert response.content.decode().count('data-testid="condition"') == 3

    response = client.post(url, builder_post(action="remove:r.1"))
    page = response.content.decode()
    assert page.count('data-testid="condition"') == 1
    assert 'data-testid="preview-count">2<' in page


def test_builder_says_when_the_count_stopped_at_its_cap(
    client_for: Callable[[Role], Client], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("campaigns.selectors.PREVIEW_COUNT_CAP", 1)
    client = client_for(Role.MARKETER)
    for _ in range(2):
        CustomerAnalyticsFactory(lifetime_value=Decimal(5000), customer__region="Seoul")
    page = client.post(reverse("campaigns:segment_builder"), builder_post()).content.decode()
    assert 'data-testid="preview-count">1+<' in page
    assert "the preview counts up to 1," in page


def test_builder_shows_errors_on_the_condition(client_for: Callable[[Role], Client]) -> None:
    client = client_for(Role.MARKETER)
    response = client.post(reverse("campaigns:segment_builder"), builder_post(**{"r.0-value": "lots"}))
    page = response.content.decode()
    assert 'data-testid="condition-error">Enter a number.<' in page
    assert 'data-testid="preview-invalid"' in page


def test_saving_creates_the_segment_and_fills_it(
    client_for: Callable[[Role], Client], django_capture_on_commit_callbacks
) -> None:
    client = client_for(Role.MARKETER)
    seoul = CustomerAnalyticsFactory(lifetime_value=Decimal(5000), customer__region="Seoul").customer
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("campaigns:segment_new"), builder_post())
    segment = Segment.objects.get(name="Seoul VIPs")
    assert response.status_code == 302
    assert response["Location"] == reverse("campaigns:segment_detail", args=[segment.pk])
    assert segment.rule["conditions"][1] == {"field": "region", "operator": "eq", "value": "Seoul"}
    assert list(segment.memberships.values_list("customer_id", flat=True)) == [seoul.pk]


def test_saving_an_invalid_rule_writes_nothing(client_for: Callable[[Role], Client]) -> None:
    client = client_for(Role.MARKETER)
    before = Segment.objects.count()
    response = client.post(reverse("campaigns:segment_new"), builder_post(**{"r.1-field": "password"}))
    assert response.status_code == 400
    assert "Unknown field" in response.content.decode()
    assert Segment.objects.count() == before


def test_detail_lists_members_in_fixed_queries(
    client_for: Callable[[Role], Client], segment: Segment, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    client = client_for(Role.MARKETER)
    url = reverse("campaigns:segment_detail", args=[segment.pk])
    CustomerAnalyticsFactory(lifetime_value=Decimal(5000))
    segment_refresh(segment_id=segment.pk)
    # session (unless in Redis), the user with its permissions, segment, members page, access record
    with django_assert_num_queries(4 + session_queries()):
        client.get(url)
    for _ in range(20):
        CustomerAnalyticsFactory(lifetime_value=Decimal(5000))
    segment_refresh(segment_id=segment.pk)
    with django_assert_num_queries(4 + session_queries()):
        response = client.get(url)
    assert response.content.decode().count("<tr>") == 22  # the header and 21 members


def test_members_export_escapes_formulas(client_for: Callable[[Role], Client], segment: Segment) -> None:
    client = client_for(Role.MARKETER)
    CustomerAnalyticsFactory(lifetime_value=Decimal(5000), customer__name='=HYPERLINK("http://x")')
    segment_refresh(segment_id=segment.pk)
    url = reverse("campaigns:segment_export", args=[segment.pk])
    asked = client.get(url)  # the reason comes first (customers.privacy), then the file
    assert asked.status_code == 200 and b'name="reason"' in asked.content
    response = client.get(url, {"reason": "Call list for the spring campaign"})
    body = b"".join(response.streaming_content).decode()
    assert body.startswith("\ufeffcustomer_id,name,email,phone,region,entered_at")
    assert "'=HYPERLINK" in body


def test_static_members_are_chosen_by_id_or_file(
    client_for: Callable[[Role], Client], static: Segment
) -> None:
    client = client_for(Role.MARKETER)
    first, second = CustomerFactory(), CustomerFactory()
    url = reverse("campaigns:segment_members", args=[static.pk])
    client.post(url, {"ids": f"{first.pk}, {second.pk}"})
    assert set(static.memberships.filter(exited_at=None).values_list("customer_id", flat=True)) == {
        first.pk,
        second.pk,
    }
    client.post(url, {"ids": str(second.pk), "remove": "1"})
    assert list(static.memberships.filter(exited_at=None).values_list("customer_id", flat=True)) == [first.pk]

    response = client.post(url, {"ids": "12, =cmd"}, follow=True)
    assert "is not a customer id" in response.content.decode()


def test_reps_see_valuable_customers_at_risk(
    client_for: Callable[[Role], Client], django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    client = client_for(Role.SERVICE_REP)
    at_risk = Segment.objects.get(builtin_key="at_risk_valuable")
    leaving = CustomerAnalyticsFactory(
        lifetime_value=Decimal(3_000_000),
        churn_risk=Decimal("0.8"),
        last_purchase_at=timezone.now() - dt.timedelta(days=200),
        customer__name="Kim Minji",
    ).customer
    CustomerAnalyticsFactory(lifetime_value=Decimal(3_000_000), churn_risk=Decimal("0.1"))
    segment_refresh(segment_id=at_risk.pk)
    # session (unless in Redis), the user with its permissions, the page with analytics, access record
    with django_assert_num_queries(3 + session_queries()):
        response = client.get(reverse("campaigns:at_risk"))
    page = response.content.decode()
    assert "Kim Minji" in page
    assert f"#{leaving.pk}" in page
    assert SegmentMembership.objects.filter(segment=at_risk, exited_at=None).count() == 1
