"""The customers admin (customers/admin.py): the customer change page, searches that an index answers,
and the rules for computed and append-only rows."""

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from pytest_django import DjangoAssertNumQueries

from crm.models import OutboxMessage, User
from customers.models import ConsentChange, Customer, Interaction
from customers.services import TOPIC_PROFILE_CHANGED
from tests.factories import (
    ConsentFactory,
    ContractFactory,
    CustomerAnalyticsFactory,
    CustomerFactory,
    CustomerIdentityFactory,
    InteractionFactory,
    ProductFactory,
    PurchaseLineFactory,
    SourceSystemFactory,
    access_record_queries,
    session_queries,
)

pytestmark = pytest.mark.django_db

CUSTOMERS = reverse("admin:customers_customer_changelist")
INTERACTIONS = reverse("admin:customers_interaction_changelist")


def change_url(customer: Customer) -> str:
    return reverse("admin:customers_customer_change", args=[customer.pk])


def interactions_of(customer: Customer, n: int, start: int = 0) -> list[Interaction]:
    now = timezone.now()
    return [
        InteractionFactory(customer=customer, occurred_at=now - dt.timedelta(hours=start + i))
        for i in range(n)
    ]


def inline_formset(response, model: type) -> object:
    return next(f for f in response.context["inline_admin_formsets"] if f.opts.model is model)


# --- the customer change page -----------------------------------------------------------------------


def test_customer_page_costs_the_same_queries_with_3_and_30_interactions(
    admin_client: Client, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    customer = CustomerFactory()
    CustomerAnalyticsFactory(customer=customer)
    CustomerIdentityFactory(customer=customer)
    ContractFactory(customer=customer)
    ConsentFactory(customer=customer)
    interactions_of(customer, 3)
    admin_client.get(change_url(customer))  # fills the per-process content type cache

    with CaptureQueriesContext(connection) as three:
        response = admin_client.get(change_url(customer))
    assert response.status_code == 200
    assert len(inline_formset(response, Interaction).formset.forms) == 3

    interactions_of(customer, 27, start=3)
    # The session, the user, the customer, and one query per inline: analytics, identities, contracts,
    # consents, recent interactions; and the access record of the page (issue 7).
    with django_assert_num_queries(7 + session_queries() + access_record_queries()):
        response = admin_client.get(change_url(customer))
    assert len(three) == 7 + session_queries() + access_record_queries()
    assert len(inline_formset(response, Interaction).formset.forms) == 20


def test_customer_page_shows_the_20_newest_interactions(admin_client: Client) -> None:
    customer = CustomerFactory()
    newest_first = interactions_of(customer, 30)
    interactions_of(CustomerFactory(), 5)  # another customer's: never shown

    response = admin_client.get(change_url(customer))

    shown = [form.instance.pk for form in inline_formset(response, Interaction).formset.forms]
    assert shown == [interaction.pk for interaction in newest_first[:20]]


def test_customer_page_links_to_all_the_customers_interactions(admin_client: Client) -> None:
    customer = CustomerFactory()
    interactions = interactions_of(customer, 30)
    interactions_of(CustomerFactory(), 5)
    link = f"{INTERACTIONS}?customer__id__exact={customer.pk}"

    page = admin_client.get(change_url(customer)).content.decode()
    assert f'<a href="{link}">All interactions</a>' in page

    response = admin_client.get(link)
    listed = [interaction.pk for interaction in response.context["cl"].result_list]
    # One customer's interactions come in timeline order, newest first: the timeline index.
    assert listed == [interaction.pk for interaction in interactions]


def test_customer_page_saves_with_its_inlines_and_normalises_the_phone(admin_client: Client) -> None:
    customer = CustomerFactory(name="Kim Minji", phone="", phone_normalized="")
    interactions_of(customer, 25)
    CustomerIdentityFactory(customer=customer)
    response = admin_client.get(change_url(customer))
    data = {
        key: value
        for key, value in response.context["adminform"].form.initial.items()
        if value is not None and key != "merged_into"
    }
    for formset in response.context["inline_admin_formsets"]:
        management = formset.formset.management_form
        data.update({management.add_prefix(name): value for name, value in management.initial.items()})
    data.update(name="Kim Minji", phone="010 1234 5678", status="active", birth_date="", signup_at_0="")

    response = admin_client.post(change_url(customer), data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    customer.refresh_from_db()
    assert (customer.phone, customer.phone_normalized) == ("010 1234 5678", "+821012345678")
    # Segments over profile fields hear of it through the outbox (issue 6).
    published = OutboxMessage.objects.filter(topic=TOPIC_PROFILE_CHANGED).values_list("payload", flat=True)
    assert list(published) == [{"customer_ids": [customer.pk]}]


def test_customers_are_never_deleted_in_the_admin(admin_client: Client) -> None:
    customer = CustomerFactory()
    response = admin_client.get(reverse("admin:customers_customer_delete", args=[customer.pk]))
    assert response.status_code == 403


# --- searches -------------------------------------------------------------------------------------


def search(client: Client, url: str, term: str) -> list[int]:
    response = client.get(url, {"q": term})
    assert response.status_code == 200
    return [row.pk for row in response.context["cl"].result_list]


@pytest.mark.parametrize(
    "term", ["010-1234-5678", "+82 10 1234 5678", "01012345678", "+82-10-1234-5678", " 010.1234.5678 "]
)
def test_customer_search_by_phone_in_any_format(admin_client: Client, term: str) -> None:
    customer = CustomerFactory(phone="010-1234-5678", phone_normalized="+821012345678")
    CustomerFactory(phone="010-1234-5679", phone_normalized="+821012345679")

    assert search(admin_client, CUSTOMERS, term) == [customer.pk]


@pytest.mark.parametrize("term", ["Minji.Kim@Example.KR", "minji.kim@example.kr"])
def test_customer_search_by_exact_email_ignores_case(admin_client: Client, term: str) -> None:
    customer = CustomerFactory(email="minji.kim@example.kr")
    CustomerFactory(email="kim@example.kr")

    assert search(admin_client, CUSTOMERS, term) == [customer.pk]


def test_customer_search_by_id_name_prefix_and_source_id(admin_client: Client) -> None:
    minji = CustomerFactory(name="Kim Minji")
    CustomerFactory(name="Park Kim")
    identity = CustomerIdentityFactory(external_id="C-991", source_system=SourceSystemFactory(code="web"))

    assert search(admin_client, CUSTOMERS, str(minji.pk)) == [minji.pk]
    assert search(admin_client, CUSTOMERS, "kim m") == [minji.pk]
    assert search(admin_client, CUSTOMERS, "C-991") == [identity.customer_id]
    assert search(admin_client, CUSTOMERS, "Minji") == []  # a prefix, never a substring: no index has those


def test_interaction_search_by_exact_external_id(admin_client: Client) -> None:
    interaction = InteractionFactory(external_id="T-2026-000123")
    InteractionFactory(external_id="T-2026-0001234")

    assert search(admin_client, INTERACTIONS, "T-2026-000123") == [interaction.pk]
    assert search(admin_client, INTERACTIONS, "T-2026") == []


def test_purchase_line_search_by_interaction_or_sku(admin_client: Client) -> None:
    line = PurchaseLineFactory(product=ProductFactory(sku="NB-1080-270"))
    other = PurchaseLineFactory()
    url = reverse("admin:customers_purchaseline_changelist")

    assert search(admin_client, url, "NB-1080-270") == [line.pk]
    assert search(admin_client, url, str(other.interaction_id)) == [other.pk]


def test_consent_search_by_customer_number(admin_client: Client) -> None:
    consent = ConsentFactory()
    ConsentFactory()

    assert search(admin_client, reverse("admin:customers_consent_changelist"), str(consent.customer_id)) == [
        consent.pk
    ]
    assert search(admin_client, reverse("admin:customers_consent_changelist"), "not a number") == []


# --- computed and append-only rows --------------------------------------------------------------


def test_recording_a_consent_change_moves_the_current_consent(admin_client: Client, admin_user: User) -> None:
    current = ConsentFactory(channel="sms", granted=True, changed_at=timezone.now() - dt.timedelta(days=3))
    add = reverse("admin:customers_consentchange_add")

    form = admin_client.get(add, {"customer": current.customer_id})
    assert form.context["adminform"].form.initial["customer"] == str(current.customer_id)
    response = admin_client.post(
        add,
        {
            "customer": current.customer_id,
            "channel": "sms",
            "purpose": "marketing",
            "granted": "",
            "source": "phone call",
            "changed_at_0": timezone.localdate().isoformat(),
            "changed_at_1": "09:00:00",
        },
    )

    assert response.status_code == 302
    change = ConsentChange.objects.get()
    assert (change.customer_id, change.granted, change.recorded_by) == (
        current.customer_id,
        False,
        admin_user,
    )
    current.refresh_from_db()
    assert (current.granted, current.source) == (False, "phone call")


@pytest.mark.parametrize("view", ["change", "delete"])
@pytest.mark.parametrize("model", ["consentchange", "purchaseline", "customeranalytics", "consent"])
def test_history_and_computed_rows_are_not_changed_or_deleted(
    admin_client: Client, model: str, view: str
) -> None:
    rows: dict[str, Callable[[], Any]] = {
        "consentchange": lambda: ConsentChange.objects.create(
            customer=CustomerFactory(), channel="email", granted=True, source="web", changed_at=timezone.now()
        ),
        "purchaseline": PurchaseLineFactory,
        "customeranalytics": CustomerAnalyticsFactory,
        "consent": ConsentFactory,
    }
    row = rows[model]()
    url = reverse(f"admin:customers_{model}_{view}", args=[row.pk])

    if view == "change":
        # Shown read-only: the page opens and a post changes nothing.
        assert admin_client.get(url).status_code == 200
        assert admin_client.post(url, {}).status_code == 403
    else:
        assert admin_client.post(url, {"post": "yes"}).status_code == 403
    assert type(row).objects.filter(pk=row.pk).exists()


@pytest.mark.parametrize("model", ["purchaseline", "customeranalytics", "consent"])
def test_computed_rows_are_not_added_in_the_admin(admin_client: Client, model: str) -> None:
    assert admin_client.get(reverse(f"admin:customers_{model}_add")).status_code == 403


def test_analytics_show_on_the_customer_page(admin_client: Client) -> None:
    analytics = CustomerAnalyticsFactory(lifetime_value=Decimal("1450000"), rfm_group="champions")

    response = admin_client.get(change_url(analytics.customer))

    page = response.content.decode()
    assert "1450000" in page.replace(",", "")
    assert "Champions" in page


def test_customer_search_with_digits_does_not_read_names(admin_client: Client) -> None:
    CustomerFactory(name="C-991 Kim")
    identity = CustomerIdentityFactory(external_id="C-991")

    with CaptureQueriesContext(connection) as queries:
        found = search(admin_client, CUSTOMERS, "C-991")

    # Names have no digits, and no index serves a name's beginning yet: the term is an id, not a name.
    assert found == [identity.customer_id]
    assert not any("LIKE" in query["sql"].upper() for query in queries.captured_queries)
