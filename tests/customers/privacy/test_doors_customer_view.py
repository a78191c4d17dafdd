"""The single customer view's doors write their access records (issue 7 over issue 4): search, the
customer page, scrolling and polling the timeline, logging a call, and the timeline API; a page that
shows nothing of a customer writes none. Personal fields are masked on the page and in search results."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from crm.roles import Role
from customers.models import Interaction
from tests.customers.privacy.conftest import head_seq, records_since
from tests.factories import CustomerFactory, InteractionFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def rep(client: Client) -> Client:
    client.force_login(UserFactory(role=Role.SERVICE_REP))
    return client


def only_record(seq: int):
    records = records_since(seq)
    assert len(records) == 1, [(r.action, r.route) for r in records]
    return records[0]


def test_search_logs_every_customer_it_showed(rep: Client) -> None:
    shown = CustomerFactory.create_batch(2, name="김민지")
    CustomerFactory(name="박서준")
    seq = head_seq()
    response = rep.get(reverse("customers:customer_list"), {"q": "김민지"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    record = only_record(seq)
    assert record.action == "search"
    assert record.customer_ids == sorted(c.pk for c in shown)
    assert "customers:customer_list" in record.route


def test_search_results_mask_email_and_phone(rep: Client) -> None:
    CustomerFactory(name="김민지", email="minji.kim@example.kr", phone="010-1234-5678")
    page = rep.get(
        reverse("customers:customer_list"), {"q": "김민지"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "minji.kim@example.kr" not in page and "1234-5678" not in page
    assert "m***@example.kr" in page and "010-****-5678" in page


def test_an_empty_search_writes_no_record(rep: Client) -> None:
    seq = head_seq()
    assert rep.get(reverse("customers:customer_list"), {"q": "nobody-like-this"}).status_code == 200
    assert records_since(seq) == []


def test_the_customer_page_logs_the_customer_and_masks_the_header(rep: Client) -> None:
    customer = CustomerFactory(email="minji.kim@example.kr", phone="010-1234-5678")
    seq = head_seq()
    page = rep.get(reverse("customers:customer_detail", args=[customer.pk])).content.decode()
    record = only_record(seq)
    assert (record.action, record.customer_ids) == ("view", [customer.pk])
    assert "minji.kim@example.kr" not in page and "010-****-5678" in page
    assert 'data-testid="reveal-phone"' in page  # a rep may reveal, with a logged click


def test_a_missing_customer_writes_no_record(rep: Client) -> None:
    seq = head_seq()
    assert rep.get(reverse("customers:customer_detail", args=[999999])).status_code == 404
    assert records_since(seq) == []


def test_scrolling_and_polling_log_only_when_they_show_items(rep: Client) -> None:
    customer = CustomerFactory()
    now = timezone.now()
    for hours in range(3):
        InteractionFactory(customer=customer, occurred_at=now - dt.timedelta(hours=hours))
    poll = reverse("customers:customer_timeline_new", args=[customer.pk])
    seq = head_seq()
    response = rep.get(poll)
    assert response.status_code == 200
    assert only_record(seq).customer_ids == [customer.pk]

    seq = head_seq()
    scroll = reverse("customers:customer_timeline", args=[customer.pk])
    assert rep.get(scroll).status_code == 200
    assert only_record(seq).customer_ids == [customer.pk]

    empty = CustomerFactory()
    seq = head_seq()
    assert rep.get(reverse("customers:customer_timeline_new", args=[empty.pk])).status_code == 204
    assert records_since(seq) == []


def test_logging_a_call_writes_an_input_record_with_it(rep: Client) -> None:
    customer = CustomerFactory()
    seq = head_seq()
    response = rep.post(
        reverse("customers:customer_log", args=[customer.pk]),
        {"kind": "service_call", "summary": "Asked about the delivery"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert Interaction.objects.filter(customer=customer, kind="service_call").exists()
    record = only_record(seq)
    assert (record.action, record.customer_ids) == ("input", [customer.pk])


def test_a_rejected_call_log_writes_no_record(rep: Client) -> None:
    customer = CustomerFactory()
    seq = head_seq()
    rep.post(reverse("customers:customer_log", args=[customer.pk]), {"kind": "service_call", "summary": ""})
    assert records_since(seq) == []


def test_the_timeline_api_logs_the_customer(api_as) -> None:
    customer = CustomerFactory()
    InteractionFactory(customer=customer)
    seq = head_seq()
    response = api_as(Role.SERVICE_REP).get(f"/api/v1/customers/{customer.pk}/timeline/")
    assert response.status_code == 200
    record = only_record(seq)
    assert (record.action, record.customer_ids) == ("view", [customer.pk])
    assert "api:customer-timeline" in record.route
