"""Consent (customers/privacy/consent.py and its page and API): the one question features ask, set-based;
the panel and the API record decisions with source, time and history, and log the access."""

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from crm.roles import Role
from customers.models import Consent, ConsentChange, Customer
from customers.privacy.consent import consent_allowed_ids, consent_allows
from customers.services import consent_record
from tests.customers.privacy.conftest import api_client, head_seq, records_since
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db


def grant(
    customer: Customer,
    channel: str = "email",
    purpose: str = "marketing",
    granted: bool = True,
    at: dt.datetime | None = None,
) -> None:
    consent_record(
        customer=customer,
        channel=channel,
        purpose=purpose,
        granted=granted,
        source="test",
        changed_at=at or timezone.now(),
    )


def test_consent_allows_one_and_many_customers(django_assert_num_queries) -> None:
    yes, no, withdrawn, other_purpose, erased = CustomerFactory.create_batch(5)
    grant(yes)
    grant(withdrawn)
    grant(withdrawn, granted=False, at=timezone.now() + dt.timedelta(seconds=1))
    grant(other_purpose, purpose="profiling")
    grant(erased)
    Customer.objects.filter(pk=erased.pk).update(status="erased")
    everyone = [c.pk for c in (yes, no, withdrawn, other_purpose, erased)]

    assert consent_allows(yes.pk, "email", "marketing") is True
    assert consent_allows(no.pk, "email", "marketing") is False
    with django_assert_num_queries(1):
        assert consent_allows(everyone, "email", "marketing") == {yes.pk}
    assert consent_allows(everyone, "email", "profiling") == {other_purpose.pk}
    assert consent_allows(everyone, "sms", "marketing") == set()


def test_consent_allows_a_queryset_in_one_statement(django_assert_num_queries) -> None:
    customers = CustomerFactory.create_batch(4)
    for customer in customers[:2]:
        grant(customer, channel="sms")
    with django_assert_num_queries(1):
        allowed = set(
            Customer.objects.filter(pk__in=[c.pk for c in customers])
            .filter(pk__in=consent_allowed_ids(Customer.objects.all(), "sms", "marketing"))
            .values_list("pk", flat=True)
        )
    assert allowed == {customers[0].pk, customers[1].pk}


def test_an_unknown_channel_or_purpose_is_an_error() -> None:
    with pytest.raises(ValueError, match="channel"):
        consent_allows([1], "fax", "marketing")
    with pytest.raises(ValueError, match="purpose"):
        consent_allows([1], "email", "spam")


def test_the_panel_shows_and_records_consent_with_its_history(client: Client) -> None:
    customer = CustomerFactory()
    rep = UserFactory(role=Role.SERVICE_REP)
    client.force_login(rep)
    seq = head_seq()
    panel = client.get(f"/customers/{customer.pk}/consents/")
    assert panel.status_code == 200
    assert "may not be contacted" in panel.content.decode()
    assert [r.action for r in records_since(seq)] == ["view"]

    seq = head_seq()
    response = client.post(
        f"/customers/{customer.pk}/consents/",
        {"channel": "sms", "purpose": "marketing", "granted": "true", "source": "phone call"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    current = Consent.objects.get(customer=customer)
    assert (current.channel, current.granted, current.source) == ("sms", True, "phone call")
    change = ConsentChange.objects.get(customer=customer)
    assert change.recorded_by == rep and change.changed_at is not None
    assert "phone call" in response.content.decode()
    [record] = records_since(seq)
    assert (record.action, record.customer_ids) == ("change", [customer.pk])


def test_the_panel_refuses_a_bad_decision_and_roles_without_the_permission(client: Client) -> None:
    customer = CustomerFactory()
    client.force_login(UserFactory(role=Role.SERVICE_REP))
    assert client.post(f"/customers/{customer.pk}/consents/", {"channel": "fax"}).status_code == 400
    assert not ConsentChange.objects.exists()
    client.force_login(UserFactory(role=Role.MARKETER))
    assert client.get(f"/customers/{customer.pk}/consents/").status_code == 200
    assert (
        client.post(
            f"/customers/{customer.pk}/consents/",
            {"channel": "sms", "purpose": "marketing", "granted": "true", "source": "x"},
        ).status_code
        == 403
    )
    client.force_login(UserFactory(role=Role.SUPPLIER_ADMIN))
    assert client.get(f"/customers/{customer.pk}/consents/").status_code == 403


def test_the_api_reads_and_records_consent() -> None:
    customer = CustomerFactory()
    client = api_client(UserFactory(role=Role.SERVICE_REP))
    seq = head_seq()
    response = client.post(
        f"/api/v1/customers/{customer.pk}/consents/",
        {
            "channel": "email",
            "purpose": "third_party",
            "granted": False,
            "source": "web form",
            "changed_at": "2026-11-20T10:00:00+09:00",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["current"] == [
        {
            "channel": "email",
            "purpose": "third_party",
            "granted": False,
            "source": "web form",
            "changed_at": "2026-11-20T10:00:00+09:00",
        }
    ]
    assert body["history"][0]["recorded_by"] is not None
    assert [r.action for r in records_since(seq)] == ["change"]
    assert client.get(f"/api/v1/customers/{customer.pk}/consents/").json()["current"][0]["granted"] is False


def test_the_api_refuses_roles_without_the_permission_and_erased_customers() -> None:
    customer = CustomerFactory()
    assert (
        api_client(UserFactory(role=Role.BUYER)).get(f"/api/v1/customers/{customer.pk}/consents/").status_code
        == 403
    )
    assert (
        api_client(UserFactory(role=Role.MARKETER))
        .post(f"/api/v1/customers/{customer.pk}/consents/", {}, format="json")
        .status_code
        == 403
    )
    Customer.objects.filter(pk=customer.pk).update(status="erased")
    response = api_client(UserFactory(role=Role.SERVICE_REP)).post(
        f"/api/v1/customers/{customer.pk}/consents/",
        {"channel": "email", "purpose": "marketing", "granted": True, "source": "x"},
        format="json",
    )
    assert response.status_code == 409


def test_ingested_events_carry_consent_decisions_once() -> None:
    from tests.factories import SourceSystemFactory

    SourceSystemFactory(code="web", name="Web")
    client = api_client(UserFactory(role=Role.INTEGRATION))
    event = {
        "source": "web",
        "external_id": "E-1",
        "customer": {"source": "web", "id": "W-1"},
        "kind": "web_visit",
        "channel": "web",
        "occurred_at": "2026-11-20T14:03:00+09:00",
        "consents": [
            {"channel": "email", "purpose": "marketing", "granted": True},
            {"channel": "sms", "granted": False},
        ],
    }
    first = client.post("/api/v1/events/", event, format="json")
    assert first.status_code == 201, first.content
    customer_id = first.json()["results"][0]["customer_id"]
    assert consent_allows(customer_id, "email", "marketing") is True
    assert consent_allows(customer_id, "sms", "marketing") is False
    change = ConsentChange.objects.get(customer_id=customer_id, channel="email")
    assert (change.source, change.changed_at) == ("web", dt.datetime(2026, 11, 20, 5, 3, tzinfo=dt.UTC))

    assert client.post("/api/v1/events/", event, format="json").json()["results"][0]["status"] == "duplicate"
    assert ConsentChange.objects.filter(customer_id=customer_id).count() == 2


def test_ingested_consents_are_checked_by_path() -> None:
    from tests.factories import SourceSystemFactory

    SourceSystemFactory(code="web", name="Web")
    event = {
        "source": "web",
        "external_id": "E-2",
        "customer": {"source": "web", "id": "W-2"},
        "kind": "web_visit",
        "channel": "web",
        "occurred_at": "2026-11-20T14:03:00+09:00",
        "consents": [{"channel": "fax", "granted": "yes"}],
    }
    body = api_client(UserFactory(role=Role.INTEGRATION)).post("/api/v1/events/", event, format="json").json()
    errors = body["results"][0]["errors"]
    assert {"consents.0.channel", "consents.0.granted"} <= set(errors)
    assert not ConsentChange.objects.exists()
