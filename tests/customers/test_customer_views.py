"""Staff pages of the single customer view (customers/views/customers.py), issue 4 items 1, 2 and 4:
search, the customer page, the timeline's scroll, poll and logging, and who may reach them."""

import datetime as dt
from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pytest_django import DjangoAssertNumQueries

from crm import navigation
from crm.models import OutboxMessage
from crm.roles import Role
from customers.models import Customer, CustomerAnalytics, Interaction
from customers.timeline import Position
from tests.factories import (
    PASSWORD,
    ConsentFactory,
    ContractFactory,
    CustomerAnalyticsFactory,
    CustomerFactory,
    CustomerIdentityFactory,
    InteractionFactory,
    PurchaseLineFactory,
    UserFactory,
    session_queries,
)

pytestmark = pytest.mark.django_db

NOON = dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC)


def test_the_routes_are_the_documented_ones() -> None:
    assert reverse("customers:customer_list") == "/customers/"
    assert reverse("customers:customer_detail", args=[7]) == "/customers/7/"
    assert reverse("customers:customer_timeline", args=[7]) == "/customers/7/timeline/"
    assert reverse("customers:customer_timeline_new", args=[7]) == "/customers/7/timeline/new/"
    assert reverse("customers:customer_log", args=[7]) == "/customers/7/timeline/log/"


# --- permissions ------------------------------------------------------------------------------------


def ask(client: Client, page: str) -> int:
    customer = CustomerFactory(name="김민지")
    InteractionFactory(customer=customer)
    urls = {
        "search": ("get", "/customers/?q=김민지"),
        "detail": ("get", f"/customers/{customer.pk}/"),
        "scroll": ("get", f"/customers/{customer.pk}/timeline/?cursor={Position(NOON, 10**9).encode()}"),
        "poll": ("get", f"/customers/{customer.pk}/timeline/new/"),
        "log": ("post", f"/customers/{customer.pk}/timeline/log/"),
    }
    method, url = urls[page]
    if method == "post":
        return client.post(url, {"kind": "note", "summary": "Called back"}).status_code
    return client.get(url).status_code


PAGES = ["search", "detail", "scroll", "poll", "log"]


@pytest.mark.parametrize("page", PAGES)
def test_anonymous_users_are_sent_to_the_login_page(client: Client, page: str) -> None:
    assert ask(client, page) == 302
    assert not Interaction.objects.filter(kind="note").exists()


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize(
    "role", [Role.SUPPLIER_ADMIN, Role.SUPPLIER_MEMBER, Role.SUPPLIER_READ_ONLY, Role.BUYER]
)
def test_supplier_users_and_staff_without_the_permission_are_refused(
    client_for: Callable[[Role], Client], page: str, role: Role
) -> None:
    assert ask(client_for(role), page) == 403
    assert not Interaction.objects.filter(kind="note").exists()


@pytest.mark.parametrize("page", PAGES)
def test_a_supplier_user_given_the_customer_permissions_is_still_refused(client: Client, page: str) -> None:
    from django.contrib.auth.models import Permission

    user = UserFactory(role=Role.SUPPLIER_ADMIN)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_customer", "view_interaction", "add_interaction"])
    )
    client.login(username=user.username, password=PASSWORD)
    assert ask(client, page) == 403


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("role", [Role.SERVICE_REP, Role.ADMINISTRATOR])
def test_staff_with_the_permissions_reach_every_page(
    client_for: Callable[[Role], Client], page: str, role: Role
) -> None:
    status = ask(client_for(role), page)
    if page == "log":  # logged, and back to the customer page
        assert status == 302 and Interaction.objects.filter(kind="note").count() == 1
    else:
        assert status in {200, 204}


def test_a_marketer_reads_customers_but_cannot_log_calls(client_for: Callable[[Role], Client]) -> None:
    client = client_for(Role.MARKETER)
    assert ask(client, "detail") == 200
    assert ask(client, "log") == 403
    customer = CustomerFactory()
    assert b'data-testid="log-form"' not in client.get(f"/customers/{customer.pk}/").content


def test_the_navigation_offers_customers_to_those_who_may_read_them() -> None:
    rep, buyer = UserFactory(role=Role.SERVICE_REP), UserFactory(role=Role.BUYER)
    assert "customers:customer_list" in [item.url_name for item in navigation.items_for(rep)]
    assert "customers:customer_list" not in [item.url_name for item in navigation.items_for(buyer)]


# --- search -----------------------------------------------------------------------------------------


def test_search_answers_a_partial_to_htmx_and_a_page_otherwise(client_for: Callable[[Role], Client]) -> None:
    client = client_for(Role.SERVICE_REP)
    customer = CustomerFactory(name="김민지", phone="010-1234-5678", phone_normalized="+821012345678")
    page = client.get("/customers/", {"q": "+82 10 1234 5678"})
    partial = client.get("/customers/", {"q": "김민"}, HTTP_HX_REQUEST="true")
    link = f"/customers/{customer.pk}/"
    assert "<html" in page.content.decode() and link in page.content.decode()
    assert "<html" not in partial.content.decode() and link in partial.content.decode()
    assert b'data-testid="search-empty"' in client.get("/customers/", {"q": "없는사람"}).content


@pytest.mark.parametrize("matches", [3, 50])
def test_search_costs_the_same_queries_for_few_and_many_results(
    client_for: Callable[[Role], Client], matches: int, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    client = client_for(Role.SERVICE_REP)
    for customer in CustomerFactory.create_batch(matches, name="김민지"):
        CustomerAnalyticsFactory(customer=customer)
    # session, the user with its permissions (one query), the customers with their analytics matched as
    # ids in source systems and by name (one statement), the access record naming the customers shown
    with django_assert_num_queries(3 + session_queries()):
        response = client.get("/customers/", {"q": "김민지"}, HTTP_HX_REQUEST="true")
    assert response.content.count(b'data-testid="search-result"') == min(matches, 20)


# --- the customer page ------------------------------------------------------------------------------


def full_customer(items: int) -> Customer:
    customer = CustomerFactory(name="김민지", birth_date=dt.date(1990, 5, 1), gender="female", region="서울")
    CustomerAnalyticsFactory(customer=customer, lifetime_value=1250000, rfm_group="loyal", last_nps=9)
    CustomerIdentityFactory(customer=customer, external_id="C-991")
    ConsentFactory(customer=customer, channel="sms", granted=False)
    ContractFactory(customer=customer, name="다이렉트 자동차보험")
    for n in range(items):
        if n % 3 == 0:
            PurchaseLineFactory(
                interaction__customer=customer, interaction__occurred_at=NOON - dt.timedelta(hours=n)
            )
        else:
            InteractionFactory(customer=customer, occurred_at=NOON - dt.timedelta(hours=n))
    return customer


@pytest.mark.parametrize("items", [3, 50])
def test_the_customer_page_costs_the_same_queries_for_few_and_many_items(
    client_for: Callable[[Role], Client], items: int, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    client = client_for(Role.SERVICE_REP)
    customer = full_customer(items)
    # session, the user with its permissions (one query), the customer with analytics, identities,
    # consents, contracts and the filter's source systems (one statement), the timeline page, its
    # purchase lines, the segments panel's memberships (customers.panels), the access record
    with django_assert_num_queries(6 + session_queries()):
        response = client.get(f"/customers/{customer.pk}/")
    assert response.status_code == 200
    assert response.content.count(b'data-testid="timeline-item"') == items


def test_the_customer_page_shows_the_profile_panels_and_the_timeline(
    client_for: Callable[[Role], Client],
) -> None:
    client = client_for(Role.SERVICE_REP)
    customer = full_customer(4)
    html = client.get(f"/customers/{customer.pk}/").content.decode()
    for expected in [
        "김민지",
        "서울",
        "1,250,000",
        "Loyal",
        "C-991",
        "다이렉트 자동차보험",
        "Active",
        "SMS",
        "Refused",
    ]:
        assert expected in html
    assert 'id="timeline-poller"' in html and "every 1s" in html
    assert html.count('class="crm-day"') == 1  # four items of one day, grouped under one heading


def test_an_unknown_customer_answers_404(client_for: Callable[[Role], Client]) -> None:
    client = client_for(Role.SERVICE_REP)
    assert client.get("/customers/999999/").status_code == 404
    assert client.get("/customers/999999/timeline/?cursor=" + Position(NOON, 5).encode()).status_code == 404


def test_a_merged_customer_points_to_the_survivor(client_for: Callable[[Role], Client]) -> None:
    client = client_for(Role.SERVICE_REP)
    survivor = CustomerFactory()
    merged = CustomerFactory(status="merged", merged_into=survivor)
    html = client.get(f"/customers/{merged.pk}/").content.decode()
    assert f'href="/customers/{survivor.pk}/"' in html
    assert 'data-testid="log-form"' not in html


def test_bad_filters_are_named_and_answer_400(client_for: Callable[[Role], Client]) -> None:
    client = client_for(Role.SERVICE_REP)
    customer = CustomerFactory()
    response = client.get(f"/customers/{customer.pk}/", {"since": "2026-11-20", "until": "2026-11-01"})
    assert response.status_code == 400
    assert "The end of the range must come after its start." in response.content.decode()
    assert client.get(f"/customers/{customer.pk}/timeline/", {"cursor": "junk"}).status_code == 400


# --- scrolling and polling --------------------------------------------------------------------------


def test_scrolling_continues_the_last_day_and_adds_older_days(client_for: Callable[[Role], Client]) -> None:
    client = client_for(Role.SERVICE_REP)
    customer = CustomerFactory()
    today = [
        InteractionFactory(customer=customer, occurred_at=NOON - dt.timedelta(minutes=n)) for n in range(3)
    ]
    older = InteractionFactory(customer=customer, occurred_at=NOON - dt.timedelta(days=2))
    cursor = Position.of({"occurred_at": today[0].occurred_at, "id": today[0].pk}).encode()
    html = client.get(f"/customers/{customer.pk}/timeline/", {"cursor": cursor}).content.decode()
    local = timezone.localtime(NOON).date().isoformat()
    assert f'hx-swap-oob="beforeend:#day-{local}"' in html  # the rest of the day joins its list
    assert f'data-id="{today[1].pk}"' in html and f'data-id="{older.pk}"' in html
    assert f'data-id="{today[0].pk}"' not in html
    assert 'id="timeline-more"' not in html  # nothing older: no more loading


def test_polling_answers_204_until_something_new_arrives(client_for: Callable[[Role], Client]) -> None:
    client = client_for(Role.SERVICE_REP)
    customer = CustomerFactory()
    shown = InteractionFactory(customer=customer, occurred_at=NOON)
    after = Position(occurred_at=NOON, id=shown.pk).encode()
    url = f"/customers/{customer.pk}/timeline/new/"
    assert client.get(url, {"after": after}).status_code == 204
    fresh = InteractionFactory(
        customer=customer, occurred_at=NOON + dt.timedelta(minutes=1), summary="방금 전화"
    )
    response = client.get(url, {"after": after, "kind": "web_visit"})
    html = response.content.decode()
    assert response.status_code == 200 and "방금 전화" in html
    new_after = Position.of({"occurred_at": fresh.occurred_at, "id": fresh.pk}).encode()
    assert f"after={new_after}&amp;kind=web_visit" in html  # the poller carries on from it, filters kept
    assert client.get(url, {"after": after, "kind": "note"}).status_code == 204  # filtered out


@pytest.mark.parametrize("items", [3, 50])
def test_polling_and_scrolling_cost_the_same_queries_for_few_and_many_items(
    client_for: Callable[[Role], Client], items: int, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    client = client_for(Role.SERVICE_REP)
    customer = full_customer(items + 1)
    # session (unless in Redis), the user with its permissions (one query), items, their lines, record
    with django_assert_num_queries(4 + session_queries()):
        poll = client.get(f"/customers/{customer.pk}/timeline/new/")
    with django_assert_num_queries(4 + session_queries()):
        scroll = client.get(
            f"/customers/{customer.pk}/timeline/", {"cursor": Position(NOON + dt.timedelta(1), 0).encode()}
        )
    assert poll.content.count(b'data-testid="timeline-item"') == min(items + 1, 50)
    assert scroll.content.count(b'data-testid="timeline-item"') == min(items + 1, 50)


# --- logging a call or a note -----------------------------------------------------------------------


def test_a_rep_logs_a_call_through_ingestion(
    client: Client, django_capture_on_commit_callbacks: Callable
) -> None:
    rep = UserFactory(role=Role.SERVICE_REP)
    client.login(username=rep.username, password=PASSWORD)
    customer = CustomerFactory()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/customers/{customer.pk}/timeline/log/",
            {"kind": "service_call", "summary": "배송 문의, 내일 재통화"},
            HTTP_HX_REQUEST="true",
        )
    assert response.status_code == 200
    assert response["HX-Trigger"] == "timeline-refresh"
    call = Interaction.objects.get(customer=customer)
    assert (call.kind, call.channel, call.summary) == ("service_call", "phone", "배송 문의, 내일 재통화")
    assert call.source_system.code == "crm" and call.properties == {"logged_by": rep.username}
    assert customer.identities.get(source_system__code="crm").external_id == str(customer.pk)
    # The outbox relayed it (inline without a broker): analytics know of the call.
    assert OutboxMessage.objects.filter(topic="interactions.ingested", processed_at__isnull=False).exists()
    assert CustomerAnalytics.objects.get(customer=customer).last_interaction_at == call.occurred_at
    # A second call reuses the customer's CRM identity; without htmx the rep is sent back to the page.
    again = client.post(f"/customers/{customer.pk}/timeline/log/", {"kind": "note", "summary": "메모"})
    assert again.status_code == 302 and again["Location"] == f"/customers/{customer.pk}/"
    assert Interaction.objects.filter(customer=customer).count() == 2


def test_logging_refuses_an_empty_summary_or_another_kind(client_for: Callable[[Role], Client]) -> None:
    client = client_for(Role.SERVICE_REP)
    customer = CustomerFactory()
    url = f"/customers/{customer.pk}/timeline/log/"
    assert client.post(url, {"kind": "note", "summary": ""}).status_code == 400
    assert client.post(url, {"kind": "purchase", "summary": "x"}).status_code == 400
    merged = CustomerFactory(status="merged", merged_into=customer)
    assert (
        client.post(f"/customers/{merged.pk}/timeline/log/", {"kind": "note", "summary": "x"}).status_code
        == 409
    )
    assert not Interaction.objects.exists()
