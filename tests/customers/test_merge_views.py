"""Staff pages for merging customers (customers/views/merge.py), issue 3 item 4."""

from collections.abc import Callable

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from pytest_django import DjangoAssertNumQueries

from crm import navigation
from crm.models import User
from crm.roles import Role
from customers.merge import customer_merge
from customers.models import Customer, CustomerIdentity, MergeRecord
from tests.factories import (
    ConsentFactory,
    ContractFactory,
    CustomerFactory,
    CustomerIdentityFactory,
    InteractionFactory,
    SourceSystemFactory,
    UserFactory,
    access_record_queries,
    session_queries,
)

pytestmark = pytest.mark.django_db

LIST = "/customers/merges/"
NEW = "/customers/merges/new/"


def detail(record: MergeRecord) -> str:
    return f"/customers/merges/{record.pk}/"


def undo(record: MergeRecord) -> str:
    return f"/customers/merges/{record.pk}/undo/"


def test_the_routes_are_the_documented_ones() -> None:
    assert reverse("customers:merge_list") == LIST
    assert reverse("customers:merge_new") == NEW
    assert reverse("customers:merge_detail", args=[3]) == "/customers/merges/3/"
    assert reverse("customers:merge_undo", args=[3]) == "/customers/merges/3/undo/"


# --- permissions ------------------------------------------------------------------------------------


def request(client: Client, page: str) -> tuple[int, MergeRecord | None]:
    """Ask for one page against fresh data; return the status and the merge the test made."""
    survivor, merged = CustomerFactory(), CustomerFactory()
    if page == "new":
        return client.get(NEW, {"first": survivor.pk, "second": merged.pk}).status_code, None
    if page == "merge":
        data = {"first_id": survivor.pk, "second_id": merged.pk, "survivor": survivor.pk, "confirm": "on"}
        return client.post(NEW, data).status_code, None
    record = customer_merge(survivor=survivor, merged=merged, actor=None)
    if page == "list":
        return client.get(LIST).status_code, record
    if page == "detail":
        return client.get(detail(record)).status_code, record
    return client.post(undo(record)).status_code, record


PAGES = ["list", "new", "merge", "detail", "undo"]


@pytest.mark.parametrize("page", PAGES)
def test_anonymous_users_are_sent_to_the_login_page(client: Client, page: str) -> None:
    status, _ = request(client, page)
    assert status == 302
    assert MergeRecord.objects.filter(undone_at__isnull=False).count() == 0


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize(
    "role",
    [
        Role.MARKETER,
        Role.BUYER,
        Role.INTEGRATION,
        Role.SUPPLIER_ADMIN,
        Role.SUPPLIER_MEMBER,
        Role.SUPPLIER_READ_ONLY,
        None,
    ],
)
def test_roles_without_merge_rights_are_refused(
    client_for: Callable[[Role], Client], client: Client, page: str, role: Role | None
) -> None:
    if role is None:
        client.force_login(UserFactory())
    else:
        client = client_for(role)
    status, record = request(client, page)
    assert status == 403
    assert MergeRecord.objects.count() == (0 if record is None else 1)
    assert not MergeRecord.objects.filter(undone_at__isnull=False).exists()


@pytest.mark.parametrize(
    ("page", "expected"), [("list", 200), ("new", 200), ("merge", 302), ("detail", 200), ("undo", 302)]
)
@pytest.mark.parametrize("role", [Role.SERVICE_REP, Role.ADMINISTRATOR])
def test_service_reps_and_administrators_use_every_page(
    client_for: Callable[[Role], Client], page: str, expected: int, role: Role
) -> None:
    status, _ = request(client_for(role), page)
    assert status == expected


def test_navigation_offers_merging_to_those_who_may(user_with_role: Callable[[Role], User]) -> None:
    rep = [item.url_name for item in navigation.items_for(user_with_role(Role.SERVICE_REP))]
    assert {"customers:merge_new", "customers:merge_list"} <= set(rep)
    marketer = [item.url_name for item in navigation.items_for(user_with_role(Role.MARKETER))]
    assert not {"customers:merge_new", "customers:merge_list"} & set(marketer)


def test_undo_and_merge_need_post(client_for: Callable[[Role], Client]) -> None:
    client = client_for(Role.SERVICE_REP)
    record = customer_merge(survivor=CustomerFactory(), merged=CustomerFactory(), actor=None)
    assert client.get(undo(record)).status_code == 405
    record.refresh_from_db()
    assert record.undone_at is None


def test_posts_need_the_csrf_token(user_with_role: Callable[[Role], User]) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user_with_role(Role.SERVICE_REP))
    survivor, merged = CustomerFactory(), CustomerFactory()
    data = {"first_id": survivor.pk, "second_id": merged.pk, "survivor": survivor.pk, "confirm": "on"}
    assert client.post(NEW, data).status_code == 403
    assert not MergeRecord.objects.exists()


# --- finding and comparing ---------------------------------------------------------------------------


@pytest.fixture
def rep(client_for: Callable[[Role], Client]) -> Client:
    return client_for(Role.SERVICE_REP)


def test_the_empty_page_asks_for_two_customers(rep: Client) -> None:
    response = rep.get(NEW)
    assert response.status_code == 200
    assert "Enter two customers above" in response.content.decode()


def test_two_customers_are_found_by_any_of_their_names_and_compared(rep: Client) -> None:
    pos = SourceSystemFactory(code="pos")
    first = CustomerFactory(name="김민지", email="minji@shop.kr")
    second = CustomerFactory(name="Minji Kim", phone="010-2937-4410", phone_normalized="+821029374410")
    CustomerIdentityFactory(customer=second, source_system=pos, external_id="C-991")
    ContractFactory(customer=second, external_id="P-77")
    ConsentFactory(customer=first, channel="sms")
    InteractionFactory.create_batch(3, customer=first)

    for term in ["+82 10 2937 4410", "C-991", str(second.pk)]:
        response = rep.get(NEW, {"first": "MINJI@shop.kr", "second": term})
        assert [c.customer for c in response.context["candidates"]] == [first, second], term
    content = response.content.decode()
    assert response.context["mergeable"]
    assert [c.interaction_count for c in response.context["candidates"]] == [3, 0]
    for text in ["김민지", "Minji Kim", "C-991", "P-77", "Keep this customer", 'name="csrfmiddlewaretoken"']:
        assert text in content


def test_the_comparison_is_an_htmx_partial(rep: Client) -> None:
    first, second = CustomerFactory(), CustomerFactory()
    response = rep.get(NEW, {"first": first.pk, "second": second.pk}, headers={"HX-Request": "true"})
    content = response.content.decode()
    assert "<html" not in content
    assert 'data-testid="merge-form"' in content


@pytest.mark.parametrize(
    ("second", "message"),
    [
        ("nobody@shop.kr", "No customer matches “nobody@shop.kr”."),
        ("shared@shop.kr", "“shared@shop.kr” matches 2 customers."),
        ("self", "Both terms name the same customer"),
    ],
)
def test_lookup_problems_are_explained(rep: Client, second: str, message: str) -> None:
    first = CustomerFactory()
    CustomerFactory.create_batch(2, email="shared@shop.kr")
    response = rep.get(NEW, {"first": first.pk, "second": first.pk if second == "self" else second})
    content = response.content.decode()
    assert message in content
    assert 'class="alert alert-danger"' in content
    assert "candidates" not in response.context


def test_a_merged_customer_is_shown_but_cannot_be_merged(rep: Client) -> None:
    survivor, merged = CustomerFactory(), CustomerFactory()
    customer_merge(survivor=survivor, merged=merged, actor=None)
    response = rep.get(NEW, {"first": CustomerFactory().pk, "second": merged.pk})
    assert not response.context["mergeable"]
    content = response.content.decode()
    assert f"Merged into #{survivor.pk}" in content
    assert "Only two active customers can be merged." in content
    assert f"?first={response.context['candidates'][0].customer.pk}&amp;second={survivor.pk}" in content


# --- merging ----------------------------------------------------------------------------------------


def test_merging_keeps_the_chosen_customer_and_opens_the_merge(rep: Client) -> None:
    first, second = CustomerFactory(), CustomerFactory()
    CustomerIdentityFactory(customer=first)
    data = {
        "first_id": first.pk,
        "second_id": second.pk,
        "survivor": second.pk,
        "reason": "Two loyalty cards",
        "confirm": "on",
    }
    response = rep.post(NEW, data, follow=True)

    record = MergeRecord.objects.get()
    assert response.redirect_chain == [(detail(record), 302)]
    assert (record.survivor, record.merged, record.reason) == (second, first, "Two loyalty cards")
    assert record.actor == response.context["user"]
    content = response.content.decode()
    assert f"Customer #{first.pk} was merged into customer #{second.pk}." in content
    assert CustomerIdentity.objects.get().customer == second


def test_merging_needs_the_confirmation(rep: Client) -> None:
    first, second = CustomerFactory(), CustomerFactory()
    data = {"first_id": first.pk, "second_id": second.pk, "survivor": first.pk}
    response = rep.post(NEW, data)
    assert response.status_code == 400
    assert "Confirm that the two records are the same person." in response.content.decode()
    assert len(response.context["candidates"]) == 2
    assert not MergeRecord.objects.exists()


def test_the_survivor_must_be_one_of_the_two(rep: Client) -> None:
    first, second = CustomerFactory(), CustomerFactory()
    data = {"first_id": first.pk, "second_id": second.pk, "survivor": CustomerFactory().pk, "confirm": "on"}
    assert rep.post(NEW, data).status_code == 400
    assert not MergeRecord.objects.exists()


def test_a_refused_merge_is_explained_in_plain_language(rep: Client) -> None:
    first, second = CustomerFactory(), CustomerFactory()
    customer_merge(survivor=CustomerFactory(), merged=second, actor=None)
    data = {"first_id": first.pk, "second_id": second.pk, "survivor": first.pk, "confirm": "on"}
    response = rep.post(NEW, data)
    assert response.status_code == 200
    assert "The customer to merge away is not active" in response.content.decode()
    assert MergeRecord.objects.count() == 1


# --- a merge and its undo ---------------------------------------------------------------------------


def test_the_merge_page_shows_what_moved_and_undoes_it(rep: Client) -> None:
    survivor = CustomerFactory(birth_date=None)
    merged = CustomerFactory(name="Old card", birth_date="1990-03-01")
    CustomerIdentityFactory(customer=merged, external_id="C-1")
    ContractFactory(customer=merged, external_id="P-9")
    ConsentFactory(customer=merged, channel="push")
    InteractionFactory.create_batch(4, customer=merged)
    record = customer_merge(survivor=survivor, merged=merged, actor=None, reason="duplicate")

    content = rep.get(detail(record)).content.decode()
    for text in ["C-1", "P-9", "Push", "duplicate", "Old card", "Undo merge", "undo-dialog"]:
        assert text in content, text

    response = rep.post(undo(record), follow=True)
    assert response.redirect_chain == [(detail(record), 302)]
    content = response.content.decode()
    assert f"customer #{merged.pk} is active again" in content
    assert "Undone" in content and "undo-dialog" not in content
    merged.refresh_from_db()
    assert merged.status == Customer.Status.ACTIVE


def test_an_undo_that_a_later_merge_blocks_is_explained(rep: Client) -> None:
    a, b, c = CustomerFactory(), CustomerFactory(), CustomerFactory()
    first = customer_merge(survivor=b, merged=a, actor=None)
    second = customer_merge(survivor=c, merged=b, actor=None)

    page = rep.get(detail(first)).content.decode()
    assert "Undo that merge first." in page
    assert f'href="{detail(second)}"' in page
    assert "undo-dialog" not in page

    response = rep.post(undo(first), follow=True)
    assert "Undo that merge first." in response.content.decode()
    first.refresh_from_db()
    assert first.undone_at is None


def test_the_merge_page_of_an_unknown_merge_is_404(rep: Client) -> None:
    assert rep.get("/customers/merges/999999/").status_code == 404
    assert rep.post("/customers/merges/999999/undo/").status_code == 404


# --- the list -----------------------------------------------------------------------------------------


def test_the_list_pages_by_id_newest_first(rep: Client) -> None:
    kept = CustomerFactory()
    records = [customer_merge(survivor=kept, merged=CustomerFactory(), actor=None) for _ in range(52)]

    first = rep.get(LIST)
    assert [r.pk for r in first.context["records"]] == [r.pk for r in reversed(records)][:50]
    assert first.context["page"].older == records[2].pk
    second = rep.get(LIST, {"before": first.context["page"].older})
    assert [r.pk for r in second.context["records"]] == [records[1].pk, records[0].pk]
    assert second.context["page"].older is None
    assert "Newest" in second.content.decode()


def test_the_list_filters_by_customer(rep: Client) -> None:
    mine = customer_merge(survivor=CustomerFactory(), merged=CustomerFactory(), actor=None)
    customer_merge(survivor=CustomerFactory(), merged=CustomerFactory(), actor=None)
    for customer_id in [mine.survivor_id, mine.merged_id]:
        assert [r.pk for r in rep.get(LIST, {"customer": customer_id}).context["records"]] == [mine.pk]
    assert "No merge involves this customer." in rep.get(LIST, {"customer": 999999}).content.decode()


# --- what the pages cost ------------------------------------------------------------------------------


@pytest.mark.parametrize("merges", [1, 30])
def test_the_list_costs_a_fixed_number_of_queries(
    rep: Client, django_assert_num_queries: DjangoAssertNumQueries, merges: int
) -> None:
    for _ in range(merges):
        customer_merge(survivor=CustomerFactory(), merged=CustomerFactory(), actor=UserFactory())
    # session, the user with its permissions (one query), merges with their customers and people; the
    # access record
    with django_assert_num_queries(2 + session_queries() + access_record_queries()):
        response = rep.get(LIST)
    assert len(response.context["records"]) == merges


@pytest.mark.parametrize("rows", [1, 20])
def test_the_merge_page_costs_a_fixed_number_of_queries(
    rep: Client, django_assert_num_queries: DjangoAssertNumQueries, rows: int
) -> None:
    merged = CustomerFactory()
    CustomerIdentityFactory.create_batch(rows, customer=merged)
    ContractFactory.create_batch(rows, customer=merged)
    InteractionFactory.create_batch(rows, customer=merged)
    for channel in ["email", "sms", "push", "phone", "post"][: min(rows, 5)]:
        ConsentFactory(customer=merged, channel=channel)
    customer_merge(survivor=merged, merged=CustomerFactory(), actor=None)  # re-pointed by the next
    record = customer_merge(survivor=CustomerFactory(), merged=merged, actor=UserFactory())
    # session, the user with its permissions (one query), the merge, later merges, identities,
    # contracts, consents, re-pointed customers; the access record
    with django_assert_num_queries(7 + session_queries() + access_record_queries()):
        response = rep.get(detail(record))
    assert len(response.context["rows"]["identities"]) == rows


@pytest.mark.parametrize("rows", [1, 20])
def test_the_comparison_costs_a_fixed_number_of_queries(
    rep: Client, django_assert_num_queries: DjangoAssertNumQueries, rows: int
) -> None:
    first, second = CustomerFactory(), CustomerFactory()
    for customer in (first, second):
        CustomerIdentityFactory.create_batch(rows, customer=customer)
        ContractFactory.create_batch(rows, customer=customer)
        InteractionFactory.create_batch(rows, customer=customer)
    # session, the user with its permissions (one query), two look-ups (identities, customers each),
    # customers with analytics, identities, contracts, consents, two interaction counts; the access record
    with django_assert_num_queries(11 + session_queries() + access_record_queries()):
        response = rep.get(NEW, {"first": first.pk, "second": second.pk})
    assert [c.interaction_count for c in response.context["candidates"]] == [rows, rows]


# --- the admin ----------------------------------------------------------------------------------------


@pytest.fixture
def administrator(client: Client) -> Client:
    client.force_login(UserFactory(role=Role.ADMINISTRATOR, is_staff=True))
    return client


def admin_undo(record: MergeRecord) -> str:
    return f"/admin/customers/mergerecord/{record.pk}/undo/"


def test_the_admin_undoes_a_merge_from_its_page(administrator: Client) -> None:
    record = customer_merge(survivor=CustomerFactory(), merged=CustomerFactory(), actor=None)
    change = f"/admin/customers/mergerecord/{record.pk}/change/"
    assert admin_undo(record) in administrator.get(change).content.decode()
    assert "Yes, undo this merge" in administrator.get(admin_undo(record)).content.decode()

    response = administrator.post(admin_undo(record), follow=True)

    assert response.redirect_chain == [(change, 302)]
    assert "The merge was undone." in response.content.decode()
    record.refresh_from_db()
    assert record.undone_at is not None
    assert admin_undo(record) not in response.content.decode()


def test_the_admin_explains_a_blocked_undo(administrator: Client) -> None:
    a, b, c = CustomerFactory(), CustomerFactory(), CustomerFactory()
    first = customer_merge(survivor=b, merged=a, actor=None)
    customer_merge(survivor=c, merged=b, actor=None)
    page = administrator.get(admin_undo(first)).content.decode()
    assert "Undo that merge first." in page and "Yes, undo this merge" not in page
    response = administrator.post(admin_undo(first), follow=True)
    assert "Undo that merge first." in response.content.decode()


def test_the_admin_action_undoes_the_selected_merges_newest_first(administrator: Client) -> None:
    a, b, c = CustomerFactory(), CustomerFactory(), CustomerFactory()
    first = customer_merge(survivor=b, merged=a, actor=None)
    second = customer_merge(survivor=c, merged=b, actor=None)
    response = administrator.post(
        "/admin/customers/mergerecord/",
        {"action": "undo_merges", "_selected_action": [first.pk, second.pk]},
        follow=True,
    )
    assert "2 merges undone." in response.content.decode()
    assert MergeRecord.objects.filter(undone_at__isnull=True).count() == 0
    assert set(Customer.objects.values_list("status", flat=True)) == {"active"}


def test_the_admin_offers_undo_only_with_the_merge_permission(client: Client) -> None:
    reader = UserFactory(is_staff=True)
    reader.user_permissions.add(Permission.objects.get(codename="view_mergerecord"))
    client.force_login(reader)
    record = customer_merge(survivor=CustomerFactory(), merged=CustomerFactory(), actor=None)

    assert (
        admin_undo(record)
        not in client.get(f"/admin/customers/mergerecord/{record.pk}/change/").content.decode()
    )
    assert "undo_merges" not in client.get("/admin/customers/mergerecord/").content.decode()
    assert client.get(admin_undo(record)).status_code == 403
    assert client.post(admin_undo(record)).status_code == 403
    record.refresh_from_db()
    assert record.undone_at is None
