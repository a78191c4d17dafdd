"""Segments' doors to personal data write their access records (issue 7 over issue 6): the members page,
the at-risk list, the builder's sample, static member changes, the members' CSV (only after a reason),
and the API's members and preview; email is masked for marketers, who may not see personal data."""

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Segment
from campaigns.selectors import AT_RISK_KEY
from campaigns.services import segment_refresh
from crm.roles import Role
from tests.campaigns.test_views import builder_post
from tests.customers.privacy.conftest import api_client, head_seq, records_since
from tests.factories import CustomerAnalyticsFactory, CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db

RULE = {"op": "and", "conditions": [{"field": "lifetime_value", "operator": "gte", "value": "1000"}]}


@pytest.fixture
def rich() -> tuple[Segment, list[int]]:
    members = [
        CustomerAnalyticsFactory(
            lifetime_value=Decimal(5000), customer__email=f"rich{n}@example.kr", customer__region="Seoul"
        ).customer_id
        for n in range(2)
    ]
    CustomerAnalyticsFactory(lifetime_value=Decimal(10))
    segment = Segment.objects.create(name="Rich", rule=RULE)
    segment_refresh(segment_id=segment.pk)
    return segment, sorted(members)


def as_role(client: Client, role: Role) -> Client:
    client.force_login(UserFactory(role=role))
    return client


def only_record(seq: int):
    records = records_since(seq)
    assert len(records) == 1, [(r.action, r.route) for r in records]
    return records[0]


def test_the_members_page_logs_the_members_shown(client: Client, rich) -> None:
    segment, members = rich
    client = as_role(client, Role.MARKETER)
    seq = head_seq()
    assert client.get(reverse("campaigns:segment_detail", args=[segment.pk])).status_code == 200
    record = only_record(seq)
    assert (record.action, record.customer_ids) == ("view", members)


def test_the_builder_logs_its_sample_as_a_search(client: Client, rich) -> None:
    client = as_role(client, Role.MARKETER)
    seq = head_seq()
    response = client.post(reverse("campaigns:segment_builder"), builder_post(), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert only_record(seq).action == "search"


def test_static_member_changes_are_logged(client: Client) -> None:
    static = Segment.objects.create(name="VIP", kind=Segment.Kind.STATIC)
    customer = CustomerFactory()
    client = as_role(client, Role.MARKETER)
    seq = head_seq()
    client.post(reverse("campaigns:segment_members", args=[static.pk]), {"ids": str(customer.pk)})
    record = only_record(seq)
    assert (record.action, record.customer_ids) == ("change", [customer.pk])


def test_the_members_csv_needs_a_reason_and_logs_every_member(client: Client, rich) -> None:
    segment, members = rich
    client = as_role(client, Role.MARKETER)
    url = reverse("campaigns:segment_export", args=[segment.pk])
    seq = head_seq()
    asked = client.get(url)
    assert asked.status_code == 200 and b'name="reason"' in asked.content
    assert records_since(seq) == []  # no file, no record

    response = client.get(url, {"reason": "Spring campaign call list"})
    body = b"".join(response.streaming_content).decode()
    record = only_record(seq)
    assert (record.action, record.customer_ids, record.reason) == (
        "download",
        members,
        "Spring campaign call list",
    )
    # Marketers may not see personal data: the file masks it as the pages do.
    assert "rich0@example.kr" not in body and "r***@example.kr" in body


def test_the_at_risk_list_logs_the_customers_shown(client: Client) -> None:
    at_risk = Segment.objects.get(builtin_key=AT_RISK_KEY)
    customer = CustomerAnalyticsFactory(lifetime_value=Decimal(900000), churn_risk=Decimal("0.9")).customer
    at_risk.memberships.create(customer=customer, entered_at=timezone.now())
    client = as_role(client, Role.SERVICE_REP)
    seq = head_seq()
    assert client.get(reverse("campaigns:at_risk")).status_code == 200
    assert only_record(seq).customer_ids == [customer.pk]


def test_the_members_api_logs_and_masks_for_marketers(rich) -> None:
    segment, members = rich
    seq = head_seq()
    answer = api_client(UserFactory(role=Role.MARKETER)).get(f"/api/v1/segments/{segment.pk}/members/").json()
    assert sorted(row["customer_id"] for row in answer["results"]) == members
    assert all(row["email"].startswith("r***@") for row in answer["results"])
    assert only_record(seq).customer_ids == members


def test_the_preview_api_logs_its_sample(rich) -> None:
    _segment, members = rich
    seq = head_seq()
    response = api_client(UserFactory(role=Role.MARKETER)).post(
        "/api/v1/segments/preview/", {"rule": RULE}, format="json"
    )
    assert response.status_code == 200
    record = only_record(seq)
    assert (record.action, record.customer_ids) == ("search", members)


def test_reading_segments_without_members_writes_no_record(rich) -> None:
    seq = head_seq()
    assert api_client(UserFactory(role=Role.MARKETER)).get("/api/v1/segments/").status_code == 200
    assert records_since(seq) == []
