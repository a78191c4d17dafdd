"""Two suppliers with their users, products, stock, sales and orders, and the staff who meet them."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from crm.models import Product, Supplier, User
from crm.roles import Role
from extranet.messaging import thread_start
from extranet.models import MessageThread, ProposedOrder, SupplierMembership
from extranet.services import LineInput, buyer_assign, order_create, order_transition
from extranet.team import ROLE_GROUPS
from tests.factories import (
    InventoryLevelFactory,
    LocationFactory,
    ProductFactory,
    SupplierFactory,
    SupplierMembershipFactory,
    UserFactory,
)

PERSONAS = ["anon", "a_admin", "a_member", "a_ro", "b_admin", "rep", "buyer_a", "buyer_x", "admin"]


@dataclass
class World:
    supplier_a: Supplier
    supplier_b: Supplier
    product_a: Product
    product_b: Product
    users: dict[str, User]
    draft_a: ProposedOrder
    submitted_a: ProposedOrder
    draft_b: ProposedOrder
    thread_a: MessageThread

    def client(self, persona: str) -> Client:
        client = Client()
        if persona != "anon":
            client.force_login(self.users[persona])
        return client


def supplier_user(supplier: Supplier, role: str, **kwargs: object) -> User:
    user = UserFactory(role=ROLE_GROUPS[role], **kwargs)
    SupplierMembershipFactory(user=user, supplier=supplier, role=role)
    return user


@pytest.fixture
def world(db: None) -> World:
    supplier_a = SupplierFactory(name="New Balance", code="new-balance")
    supplier_b = SupplierFactory(name="Nike", code="nike")
    store = LocationFactory(name="Gangnam")
    product_a = ProductFactory(supplier=supplier_a, sku="NB-1080-270", cost=Decimal("60000"))
    product_b = ProductFactory(supplier=supplier_b, sku="NK-PEG-270")
    InventoryLevelFactory(product=product_a, location=store, on_hand=30, on_order=20)
    InventoryLevelFactory(product=product_b, location=store, on_hand=5)
    users = {
        "a_admin": supplier_user(supplier_a, SupplierMembership.Role.ADMIN),
        "a_member": supplier_user(supplier_a, SupplierMembership.Role.MEMBER),
        "a_ro": supplier_user(supplier_a, SupplierMembership.Role.READ_ONLY),
        "b_admin": supplier_user(supplier_b, SupplierMembership.Role.ADMIN),
        "rep": UserFactory(role=Role.SERVICE_REP),
        "buyer_a": UserFactory(role=Role.BUYER, email="buyer-a@retail.example"),
        "buyer_x": UserFactory(role=Role.BUYER),
        "admin": UserFactory(role=Role.ADMINISTRATOR, is_staff=True, is_superuser=True),
    }
    buyer_assign(user=users["buyer_a"], supplier_id=supplier_a.pk)
    buyer_assign(user=users["buyer_x"], supplier_id=supplier_b.pk)
    member_a = SupplierMembership.objects.get(user=users["a_member"])
    member_b = SupplierMembership.objects.get(user=users["b_admin"])
    delivery = timezone.localdate() + dt.timedelta(days=30)
    draft_a = order_create(
        membership=member_a, requested_delivery_date=delivery, note="", lines=[LineInput("NB-1080-270", 5)]
    )
    submitted_a = order_create(
        membership=member_a, requested_delivery_date=delivery, note="", lines=[LineInput("NB-1080-270", 7)]
    )
    order_transition(order=submitted_a, actor=users["a_member"], name="submit")
    draft_b = order_create(
        membership=member_b, requested_delivery_date=delivery, note="", lines=[LineInput("NK-PEG-270", 3)]
    )
    submitted_a.refresh_from_db()
    thread_a = thread_start(
        supplier_id=supplier_a.pk,
        author=users["a_member"],
        subject="Spring photos",
        body="Ready?",
        from_supplier=True,
    )
    return World(supplier_a, supplier_b, product_a, product_b, users, draft_a, submitted_a, draft_b, thread_a)
