"""Every ModelAdmin of the site (crm/admin.py, customers/admin.py, extranet/admin.py and the admins of
Django and its add-ons): lists cost a fixed number of queries, pages open, large tables are never offered
as a <select>, and only staff with a role reach the admin.

The tests walk ``admin.site._registry``: a newly registered model fails them until it has a row maker
and an expected query count below.
"""

from collections.abc import Callable

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.options import BaseModelAdmin
from django.contrib.admin.widgets import AutocompleteMixin, ForeignKeyRawIdWidget, RelatedFieldWidgetWrapper
from django.contrib.auth.models import Group
from django.db import connection
from django.db.models import Model
from django.forms import ModelChoiceField
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from pytest_django import DjangoAssertNumQueries
from rest_framework.authtoken.models import Token, TokenProxy

from campaigns.models import Segment, SegmentMembership
from crm.admin_utils import EstimatedCountPaginator, LargeTableAdmin
from crm.models import IdempotencyKey, Location, LoginAttempt, OutboxMessage, Product, Supplier, User
from crm.roles import Role
from customers.models import (
    Consent,
    ConsentChange,
    Contract,
    Customer,
    CustomerAnalytics,
    CustomerIdentity,
    ImportJob,
    ImportRowError,
    Interaction,
    MergeRecord,
    PurchaseLine,
    SourceSystem,
)
from customers.privacy.hooks import PersonalDataAdminMixin
from customers.privacy.models import AccessChainHead, AccessCheckpoint, AccessRecord, DataSubjectRequest
from extranet.models import (
    AuditEvent,
    InventoryLevel,
    Invitation,
    Message,
    MessageThread,
    ProductSalesDay,
    ProductSalesMonth,
    ProposedOrder,
    ProposedOrderEvent,
    ProposedOrderLine,
    SalesRollupState,
    SupplierBuyerPermission,
    SupplierMembership,
    SupplierSalesDay,
    SupplierSalesMonth,
    SupplierSalesWeek,
    SupplierStock,
    ThreadReadState,
)
from extranet.services import buyer_assign
from tests.factories import (
    AuditEventFactory,
    ConsentChangeFactory,
    ConsentFactory,
    ContractFactory,
    CustomerAnalyticsFactory,
    CustomerFactory,
    CustomerIdentityFactory,
    DataSubjectRequestFactory,
    ImportJobFactory,
    ImportRowErrorFactory,
    InteractionFactory,
    InventoryLevelFactory,
    InvitationFactory,
    LocationFactory,
    LoginAttemptFactory,
    MergeRecordFactory,
    MessageFactory,
    MessageThreadFactory,
    ProductFactory,
    ProductSalesDayFactory,
    ProductSalesMonthFactory,
    ProposedOrderEventFactory,
    ProposedOrderFactory,
    ProposedOrderLineFactory,
    PurchaseLineFactory,
    SegmentFactory,
    SegmentMembershipFactory,
    SourceSystemFactory,
    SupplierFactory,
    SupplierMembershipFactory,
    SupplierSalesDayFactory,
    SupplierSalesMonthFactory,
    SupplierSalesWeekFactory,
    ThreadReadStateFactory,
    UserFactory,
    access_record_queries,
    access_records,
    session_queries,
)

pytestmark = pytest.mark.django_db

OUR_APPS = ("crm", "customers", "extranet", "campaigns")

# Tables of millions of rows: their lists must not count or scan the whole table.
LARGE_TABLES = {
    Customer,
    CustomerIdentity,
    Interaction,
    PurchaseLine,
    Consent,
    ConsentChange,
    CustomerAnalytics,
    Contract,
    AccessRecord,
    InventoryLevel,
    Product,
    OutboxMessage,
    IdempotencyKey,
    SegmentMembership,
    AuditEvent,
    ProposedOrder,
    ProposedOrderLine,
    ProposedOrderEvent,
    SupplierSalesDay,
    SupplierSalesMonth,
    SupplierSalesWeek,
    ProductSalesDay,
    ProductSalesMonth,
    MessageThread,
    Message,
    ThreadReadState,
}

# Foreign keys to these must be picked by id or by search, never from a <select> of the whole table.
LARGE_TARGETS = {Customer, Interaction, Product, Supplier, User}

_counter = iter(range(1_000_000))


def _idempotency_keys(n: int) -> None:
    for _ in range(n):
        IdempotencyKey.objects.create(
            user=UserFactory(), key=f"key-{next(_counter)}", method="POST", path="/api/v1/events/"
        )


# How to make n rows of each registered model, each with its own related rows, so that a list that
# reads a related row per line shows it as more queries.
ROW_MAKERS: dict[type[Model], Callable[[int], object]] = {
    Group: lambda n: [Group.objects.create(name=f"group {next(_counter)}") for _ in range(n)],
    TokenProxy: lambda n: [Token.objects.create(user=UserFactory()) for _ in range(n)],
    User: lambda n: UserFactory.create_batch(n, role=Role.SERVICE_REP),
    Supplier: lambda n: SupplierFactory.create_batch(n),
    Product: lambda n: ProductFactory.create_batch(n),
    Location: lambda n: LocationFactory.create_batch(n),
    OutboxMessage: lambda n: [OutboxMessage.objects.create(topic="test") for _ in range(n)],
    IdempotencyKey: _idempotency_keys,
    SourceSystem: lambda n: [SourceSystemFactory(code=f"source-{next(_counter)}") for _ in range(n)],
    Customer: lambda n: CustomerFactory.create_batch(n),
    CustomerIdentity: lambda n: CustomerIdentityFactory.create_batch(n),
    Interaction: lambda n: InteractionFactory.create_batch(n),
    PurchaseLine: lambda n: PurchaseLineFactory.create_batch(n),
    Contract: lambda n: ContractFactory.create_batch(n),
    Consent: lambda n: ConsentFactory.create_batch(n),
    ConsentChange: lambda n: [ConsentChangeFactory(recorded_by=UserFactory()) for _ in range(n)],
    CustomerAnalytics: lambda n: CustomerAnalyticsFactory.create_batch(n),
    SupplierMembership: lambda n: SupplierMembershipFactory.create_batch(n),
    InventoryLevel: lambda n: InventoryLevelFactory.create_batch(n),
    MergeRecord: lambda n: MergeRecordFactory.create_batch(n),
    ImportJob: lambda n: ImportJobFactory.create_batch(n),
    ImportRowError: lambda n: ImportRowErrorFactory.create_batch(n),
    AccessRecord: lambda n: access_records(n, user=UserFactory()),
    AccessChainHead: lambda n: access_records(n),
    AccessCheckpoint: lambda n: [
        AccessCheckpoint.objects.create(seq=next(_counter), hash="0" * 64, purged=1, before=timezone.now())
        for _ in range(n)
    ],
    DataSubjectRequest: lambda n: DataSubjectRequestFactory.create_batch(n),
    Segment: lambda n: SegmentFactory.create_batch(n),
    SegmentMembership: lambda n: SegmentMembershipFactory.create_batch(n),
    AuditEvent: lambda n: AuditEventFactory.create_batch(n),
    LoginAttempt: lambda n: LoginAttemptFactory.create_batch(n),
    SupplierBuyerPermission: lambda n: [
        buyer_assign(user=UserFactory(role=Role.BUYER), supplier_id=SupplierFactory().pk) for _ in range(n)
    ],
    ProposedOrder: lambda n: ProposedOrderFactory.create_batch(n),
    SupplierSalesDay: lambda n: SupplierSalesDayFactory.create_batch(n),
    SupplierSalesMonth: lambda n: SupplierSalesMonthFactory.create_batch(n),
    SupplierSalesWeek: lambda n: SupplierSalesWeekFactory.create_batch(n),
    ProductSalesDay: lambda n: ProductSalesDayFactory.create_batch(n),
    ProductSalesMonth: lambda n: ProductSalesMonthFactory.create_batch(n),
    ProposedOrderLine: lambda n: ProposedOrderLineFactory.create_batch(n),
    ProposedOrderEvent: lambda n: ProposedOrderEventFactory.create_batch(n),
    Invitation: lambda n: InvitationFactory.create_batch(n),
    MessageThread: lambda n: MessageThreadFactory.create_batch(n),
    Message: lambda n: MessageFactory.create_batch(n),
    ThreadReadState: lambda n: ThreadReadStateFactory.create_batch(n),
    TOTPDevice: lambda n: [TOTPDevice.objects.create(user=UserFactory(), name="phone") for _ in range(n)],
    SalesRollupState: lambda n: [SalesRollupState.objects.create() for _ in range(n)],
    SupplierStock: lambda n: [SupplierStock.objects.create(supplier=SupplierFactory()) for _ in range(n)],
}

# The queries of each changelist, whatever the number of rows, on SQLite: the session, the user, the
# count, the page; a small table's list also counts the unfiltered total ("N total"); one more per
# related-table filter (source systems, locations, groups) and per prefetch (users' groups).
# On PostgreSQL a large table's count is two queries (the planner's estimate, then a capped count,
# since a test table is far below the cap).
CHANGELIST_QUERIES: dict[type[Model], int] = {
    Group: 5,
    TokenProxy: 5,
    User: 7,
    Supplier: 5,
    Product: 4,
    Location: 5,
    OutboxMessage: 4,
    IdempotencyKey: 4,
    SourceSystem: 5,
    Customer: 4,
    CustomerIdentity: 5,
    Interaction: 5,
    PurchaseLine: 5,
    Contract: 5,
    Consent: 4,
    ConsentChange: 4,
    CustomerAnalytics: 4,
    SupplierMembership: 5,
    InventoryLevel: 5,
    MergeRecord: 5,
    ImportJob: 5,
    ImportRowError: 4,
    AccessRecord: 4,
    AccessChainHead: 4,
    AccessCheckpoint: 5,
    DataSubjectRequest: 5,
    Segment: 5,
    SegmentMembership: 4,
    AuditEvent: 4,
    LoginAttempt: 5,
    SupplierBuyerPermission: 5,
    ProposedOrder: 4,
    SupplierSalesDay: 4,
    SupplierSalesMonth: 4,
    SupplierSalesWeek: 4,
    ProductSalesDay: 4,
    ProductSalesMonth: 4,
    SalesRollupState: 5,
    SupplierStock: 5,
    ProposedOrderLine: 4,
    Invitation: 5,
    TOTPDevice: 5,
    MessageThread: 4,
    Message: 4,
    ThreadReadState: 4,
    ProposedOrderEvent: 4,
}


REGISTERED = sorted(admin.site._registry, key=lambda model: model._meta.label)


def label(model: type[Model]) -> str:
    return model._meta.label


def admin_url(model: type[Model], view: str, *args: object) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def expected_changelist_queries(model: type[Model]) -> int:
    large = isinstance(admin.site._registry[model], LargeTableAdmin)
    logged = isinstance(admin.site._registry[model], PersonalDataAdminMixin)
    return (
        CHANGELIST_QUERIES[model]
        - 1
        + session_queries()  # the table counts the session's query, which Redis saves
        + (1 if large and connection.vendor == "postgresql" else 0)
        + (access_record_queries() if logged else 0)  # a list with personal data logs it
    )


def test_every_model_of_our_apps_is_registered() -> None:
    missing = [
        label(model)
        for app in OUR_APPS
        for model in apps.get_app_config(app).get_models()
        if model not in admin.site._registry
    ]
    assert missing == []


def test_every_registered_model_has_a_row_maker_and_a_query_count() -> None:
    assert [label(m) for m in REGISTERED if m not in ROW_MAKERS] == []
    assert [label(m) for m in REGISTERED if m not in CHANGELIST_QUERIES] == []


# Tables of one row by design (the access log's chain head): their list cannot grow to 30 rows.
SINGLE_ROW = {AccessChainHead}


@pytest.mark.parametrize("model", [m for m in REGISTERED if m not in SINGLE_ROW], ids=label)
def test_changelist_costs_the_same_queries_for_3_and_30_rows(
    model: type[Model], admin_client: Client, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    url = admin_url(model, "changelist")
    ROW_MAKERS[model](3)
    with CaptureQueriesContext(connection) as three_rows:
        response = admin_client.get(url)
    assert response.status_code == 200
    shown = len(response.context["cl"].result_list)
    assert shown >= 3

    ROW_MAKERS[model](27)
    with django_assert_num_queries(len(three_rows)):
        response = admin_client.get(url)
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == shown + 27
    assert len(three_rows) == expected_changelist_queries(model)


@pytest.mark.parametrize("model", REGISTERED, ids=label)
def test_change_and_add_pages_open(model: type[Model], admin_client: Client, admin_user: User) -> None:
    ROW_MAKERS[model](1)
    model_admin = admin.site._registry[model]
    obj = model_admin.get_queryset(RequestFactory().get("/")).first()
    assert obj is not None

    # Token's admin addresses a token by its user's id.
    object_id = obj.user_id if model is TokenProxy else obj.pk
    response = admin_client.get(admin_url(model, "change", object_id))
    assert response.status_code == 200

    request = RequestFactory().get("/")
    request.user = admin_user
    response = admin_client.get(admin_url(model, "add"))
    assert response.status_code == (200 if model_admin.has_add_permission(request) else 403)


def _forms_of(model_admin: BaseModelAdmin, request: object, obj: Model) -> list[tuple[str, type]]:
    """The form classes a ModelAdmin renders: its add form, its change form, and its inlines' forms."""
    forms = [
        (f"{model_admin} add", model_admin.get_form(request)),
        (f"{model_admin} change", model_admin.get_form(request, obj, change=True)),
    ]
    for inline in model_admin.get_inline_instances(request, obj):
        forms.append((str(inline), inline.get_formset(request, obj).form))
    return forms


@pytest.mark.parametrize("model", REGISTERED, ids=label)
def test_no_large_table_is_offered_as_a_select(model: type[Model], admin_user: User) -> None:
    ROW_MAKERS[model](1)
    request = RequestFactory().get("/")
    request.user = admin_user
    model_admin = admin.site._registry[model]
    obj = model_admin.get_queryset(request).first()

    selects = []
    for where, form_class in _forms_of(model_admin, request, obj):
        form = form_class()
        for name, field in form.fields.items():
            if not isinstance(field, ModelChoiceField) or field.queryset.model not in LARGE_TARGETS:
                continue
            widget = (
                field.widget.widget if isinstance(field.widget, RelatedFieldWidgetWrapper) else field.widget
            )
            html = str(form[name])
            if isinstance(widget, AutocompleteMixin):
                assert "admin-autocomplete" in html
            elif isinstance(widget, ForeignKeyRawIdWidget):
                assert "<select" not in html
            elif not widget.is_hidden:
                selects.append(f"{where}: {name}")
    assert selects == []


@pytest.mark.parametrize("model", sorted(LARGE_TABLES, key=label), ids=label)
def test_large_tables_neither_count_nor_scan(model: type[Model], admin_user: User) -> None:
    model_admin = admin.site._registry[model]
    assert model_admin.show_full_result_count is False
    assert issubclass(model_admin.paginator, EstimatedCountPaginator)
    assert model_admin.date_hierarchy is None
    assert model_admin.show_facets is admin.ShowFacets.NEVER
    # Filters on choices, booleans and small related tables only: anything else is a DISTINCT over the table.
    for list_filter in model_admin.list_filter:
        if isinstance(list_filter, str):
            field = model._meta.get_field(list_filter)
            assert (
                field.choices
                or field.get_internal_type() == "BooleanField"
                or (field.related_model in {SourceSystem, Location})
            ), f"{label(model)}.{list_filter}"
    # Only columns an index orders by can be clicked to sort.
    assert set(model_admin.sortable_by or ()) <= {"id", "sku", "created_at"}
    request = RequestFactory().get("/")
    request.user = admin_user
    assert "delete_selected" not in model_admin.get_actions(request)


def test_administrator_role_opens_the_customer_list(client: Client, user_with_role: Callable) -> None:
    administrator = user_with_role(Role.ADMINISTRATOR, is_staff=True)
    client.force_login(administrator)

    assert client.get(admin_url(Customer, "changelist")).status_code == 200


def test_service_rep_does_not_reach_the_admin(client: Client, user_with_role: Callable) -> None:
    client.force_login(user_with_role(Role.SERVICE_REP))

    response = client.get("/admin/")

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('admin:login')}?next=/admin/"


def test_user_list_and_form_show_language_and_groups(admin_client: Client) -> None:
    rep = UserFactory(role=Role.SERVICE_REP, preferred_language="ko")

    page = admin_client.get(admin_url(User, "changelist")).content.decode()
    assert Role.SERVICE_REP.value in page

    form = admin_client.get(admin_url(User, "change", rep.pk)).context["adminform"].form
    assert form.initial["preferred_language"] == "ko"
    assert "groups" in form.fields
    assert "preferred_language" in admin_client.get(admin_url(User, "add")).context["adminform"].form.fields


def test_product_autocomplete_finds_by_sku_prefix(admin_client: Client) -> None:
    shoe = ProductFactory(sku="NB-1080-270")
    ProductFactory(sku="AD-1080-270")

    response = admin_client.get(
        reverse("admin:autocomplete"),
        {"app_label": "extranet", "model_name": "inventorylevel", "field_name": "product", "term": "NB-10"},
    )

    assert [result["id"] for result in response.json()["results"]] == [str(shoe.pk)]


@pytest.mark.parametrize("role", [None, Role.ADMINISTRATOR])
def test_admin_index_opens(
    client: Client, admin_user: User, user_with_role: Callable, role: Role | None
) -> None:
    client.force_login(admin_user if role is None else user_with_role(role, is_staff=True))

    response = client.get(reverse("admin:index"))

    assert response.status_code == 200
    assert admin_url(Customer, "changelist") in response.content.decode()


def test_single_row_tables_list_their_row(
    admin_client: Client, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    for model in SINGLE_ROW:
        ROW_MAKERS[model](3)
        with django_assert_num_queries(expected_changelist_queries(model) + 1):  # + the "N total" count
            response = admin_client.get(admin_url(model, "changelist"))
        assert len(response.context["cl"].result_list) == 1
