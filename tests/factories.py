"""factory_boy factories for every model, shared by all tests."""

import datetime as dt
from decimal import Decimal
from typing import Any

import factory
from django.conf import settings
from django.contrib.auth.models import Group
from django.utils import timezone

from campaigns.models import Segment, SegmentMembership
from crm.models import Location, LoginAttempt, Product, Supplier, User
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
    SupplierMembership,
    SupplierSalesDay,
    SupplierSalesMonth,
    SupplierSalesWeek,
    ThreadReadState,
)
from extranet.stock import inventory_level_save

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def role(self, create: bool, extracted: Role | None, **kwargs: object) -> None:
        if create and extracted:
            self.groups.add(Group.objects.get(name=extracted))


class SupplierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Supplier

    code = factory.Sequence(lambda n: f"supplier-{n}")
    name = factory.Sequence(lambda n: f"Supplier {n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    supplier = factory.SubFactory(SupplierFactory)
    sku = factory.Sequence(lambda n: f"SKU-{n:06d}")
    name = factory.Sequence(lambda n: f"Product {n}")
    cost = Decimal("60000")
    price = Decimal("100000")


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location

    code = factory.Sequence(lambda n: f"store-{n}")
    name = factory.Sequence(lambda n: f"Store {n}")
    kind = Location.Kind.STORE


class SourceSystemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SourceSystem
        django_get_or_create = ("code",)

    code = "pos"
    name = "Point of sale"
    kind = SourceSystem.Kind.POS


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Sequence(lambda n: f"Customer {n}")
    email = factory.Sequence(lambda n: f"customer{n}@example.kr")
    phone = factory.Sequence(lambda n: f"010-{1000 + n % 9000:04d}-{n % 10000:04d}")
    phone_normalized = factory.LazyAttribute(lambda c: "+82" + c.phone.replace("-", "")[1:])


class CustomerIdentityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerIdentity

    customer = factory.SubFactory(CustomerFactory)
    source_system = factory.SubFactory(SourceSystemFactory)
    external_id = factory.Sequence(lambda n: f"C-{n}")


class InteractionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Interaction

    customer = factory.SubFactory(CustomerFactory)
    source_system = factory.SubFactory(SourceSystemFactory)
    external_id = factory.Sequence(lambda n: f"T-{n}")
    kind = Interaction.Kind.WEB_VISIT
    channel = Interaction.Channel.WEB
    occurred_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=1))
    summary = "Visited the shop"


class PurchaseLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PurchaseLine

    interaction = factory.SubFactory(
        InteractionFactory,
        kind=Interaction.Kind.PURCHASE,
        channel=Interaction.Channel.STORE,
        amount=Decimal("100000"),
        currency="KRW",
    )
    product = factory.SubFactory(ProductFactory)
    supplier = factory.SelfAttribute("product.supplier")
    occurred_at = factory.SelfAttribute("interaction.occurred_at")
    channel = factory.SelfAttribute("interaction.channel")
    quantity = 1
    unit_price = Decimal("100000")
    unit_cost = Decimal("60000")
    currency = "KRW"


class ContractFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contract

    customer = factory.SubFactory(CustomerFactory)
    source_system = factory.SubFactory(
        SourceSystemFactory, code="policy", name="Policy system", kind="insurance"
    )
    external_id = factory.Sequence(lambda n: f"P-{n}")
    kind = Contract.Kind.AUTO
    name = "Auto insurance"
    start_date = dt.date(2025, 1, 1)
    premium = Decimal("85000")
    currency = "KRW"


class ConsentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Consent

    customer = factory.SubFactory(CustomerFactory)
    channel = "email"
    purpose = "marketing"
    granted = True
    source = "web signup"
    changed_at = factory.LazyFunction(timezone.now)


class ConsentChangeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ConsentChange

    customer = factory.SubFactory(CustomerFactory)
    channel = "email"
    purpose = "marketing"
    granted = True
    source = "web signup"
    changed_at = factory.LazyFunction(timezone.now)


class CustomerAnalyticsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerAnalytics

    customer = factory.SubFactory(CustomerFactory)


class SupplierMembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SupplierMembership

    user = factory.SubFactory(UserFactory)
    supplier = factory.SubFactory(SupplierFactory)
    role = SupplierMembership.Role.MEMBER


class InventoryLevelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InventoryLevel

    product = factory.SubFactory(ProductFactory)
    location = factory.SubFactory(LocationFactory)
    on_hand = 10
    on_order = 0
    updated_at = factory.LazyFunction(timezone.now)

    @classmethod
    def _create(cls, model_class: type[InventoryLevel], *args: Any, **kwargs: Any) -> InventoryLevel:
        # Through the stock service, as every stock write: the supplier's totals follow.
        return inventory_level_save(level=model_class(*args, **kwargs))


class MergeRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MergeRecord

    survivor = factory.SubFactory(CustomerFactory)
    merged = factory.SubFactory(
        CustomerFactory, status="merged", merged_into=factory.SelfAttribute("..survivor")
    )
    actor = factory.SubFactory(UserFactory)


class ImportJobFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ImportJob

    kind = ImportJob.Kind.CUSTOMERS
    file = factory.django.FileField(filename="customers.csv", data=b"name,email\nKim,kim@example.kr\n")
    original_name = "customers.csv"
    size = 32
    sha256 = "0" * 64
    created_by = factory.SubFactory(UserFactory)


class ImportRowErrorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ImportRowError

    job = factory.SubFactory(ImportJobFactory)
    row_number = factory.Sequence(lambda n: n + 2)
    field = "email"
    code = "invalid"
    message = "Not an email address."


# --- Privacy (issue 7) ----------------------------------------------------------------------------


def access_records(n: int, *, user: User | None = None, customer_ids: list[int] | None = None) -> list:
    """Append ``n`` records to the access log's chain, as the hooks do."""
    from customers.privacy.chain import chain_append

    return [
        chain_append(
            user_id=user.pk if user else None,
            username=user.username if user else "",
            ip="10.0.0.1",
            action="view",
            route="GET test",
            customer_ids=customer_ids or [],
        )
        for _ in range(n)
    ]


class DataSubjectRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "customers.DataSubjectRequest"

    kind = "export"
    customer = factory.SubFactory(CustomerFactory)
    requested_by = factory.SubFactory(UserFactory)
    reference = "ticket 1234"


def session_queries() -> int:
    """The queries reading a request's session cost: none when sessions are cached in Redis (the
    PostgreSQL suite, as in production), one without Redis (the SQLite suite, the embedded demo)."""
    return 0 if settings.SESSION_ENGINE.endswith("cached_db") else 1


def access_record_queries() -> int:
    """The queries one access record costs a request: one INSERT (sealing into the chain comes later)."""
    return 1


class SegmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Segment

    name = factory.Sequence(lambda n: f"Segment {n}")
    rule = factory.LazyFunction(
        lambda: {"op": "and", "conditions": [{"field": "lifetime_value", "operator": "gte", "value": "1000"}]}
    )
    created_by = factory.SubFactory(UserFactory)


class SegmentMembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SegmentMembership

    segment = factory.SubFactory(SegmentFactory)
    customer = factory.SubFactory(CustomerFactory)
    entered_at = factory.LazyFunction(timezone.now)


class ProposedOrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProposedOrder

    supplier = factory.SubFactory(SupplierFactory)
    requested_delivery_date = factory.LazyFunction(lambda: timezone.localdate() + dt.timedelta(days=30))
    created_by = factory.SubFactory(UserFactory)


class ProposedOrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProposedOrderLine

    order = factory.SubFactory(ProposedOrderFactory)
    product = factory.SubFactory(ProductFactory, supplier=factory.SelfAttribute("..order.supplier"))
    quantity = 10
    unit_cost = Decimal("60000")


class ProposedOrderEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProposedOrderEvent

    order = factory.SubFactory(ProposedOrderFactory)
    actor = factory.SubFactory(UserFactory)
    to_status = ProposedOrder.Status.DRAFT


class AuditEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AuditEvent

    actor = factory.SubFactory(UserFactory)
    action = AuditEvent.Action.CROSS_TENANT
    summary = "Refused GET of extranet.ProposedOrder 1 outside the caller's scope"


class LoginAttemptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LoginAttempt

    username = factory.Sequence(lambda n: f"user{n}")
    ip_address = "127.0.0.1"
    failures = 1
    last_failure_at = factory.LazyFunction(timezone.now)


class SupplierSalesDayFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SupplierSalesDay

    supplier = factory.SubFactory(SupplierFactory)
    day = factory.Sequence(lambda n: dt.date(2026, 1, 1) + dt.timedelta(days=n))
    channel = "store"


class SupplierSalesMonthFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SupplierSalesMonth

    supplier = factory.SubFactory(SupplierFactory)
    month = factory.Sequence(lambda n: dt.date(2026 + n // 12, n % 12 + 1, 1))
    channel = "store"


class SupplierSalesWeekFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SupplierSalesWeek

    supplier = factory.SubFactory(SupplierFactory)
    week = factory.Sequence(lambda n: dt.date(2026, 1, 5) + dt.timedelta(weeks=n))
    channel = "store"


class ProductSalesDayFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductSalesDay

    product = factory.SubFactory(ProductFactory)
    supplier = factory.SelfAttribute("product.supplier")
    day = factory.Sequence(lambda n: dt.date(2026, 1, 1) + dt.timedelta(days=n))


class ProductSalesMonthFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductSalesMonth

    product = factory.SubFactory(ProductFactory)
    supplier = factory.SelfAttribute("product.supplier")
    month = factory.Sequence(lambda n: dt.date(2026 + n // 12, n % 12 + 1, 1))


class InvitationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Invitation

    supplier = factory.SubFactory(SupplierFactory)
    email = factory.Sequence(lambda n: f"invitee{n}@brand.example")
    role = SupplierMembership.Role.MEMBER
    invited_by = factory.SubFactory(UserFactory)
    expires_at = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(days=7))


class MessageThreadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MessageThread

    supplier = factory.SubFactory(SupplierFactory)
    subject = factory.Sequence(lambda n: f"Spring campaign {n}")
    created_by = factory.SubFactory(UserFactory)


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    thread = factory.SubFactory(MessageThreadFactory)
    author = factory.SubFactory(UserFactory)
    from_supplier = True
    body = "Can we have the photos by Friday?"


class ThreadReadStateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ThreadReadState

    thread = factory.SubFactory(MessageThreadFactory)
    user = factory.SubFactory(UserFactory)
