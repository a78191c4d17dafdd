"""Proposed orders (extranet/services.py), issue 5 item 4: the workflow, its refusals and notifications."""

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from extranet.models import AuditEvent, ProposedOrder, ProposedOrderEvent, SupplierMembership
from extranet.services import (
    LineInput,
    OrderConflict,
    OrderError,
    OrderForbidden,
    buyer_assign,
    order_create,
    order_transition,
)
from tests.extranet.conftest import World, supplier_user

pytestmark = pytest.mark.django_db
Status = ProposedOrder.Status
LATER = timezone.localdate() + dt.timedelta(days=30)


def membership(world: World, persona: str) -> SupplierMembership:
    return SupplierMembership.objects.get(user=world.users[persona])


def test_an_order_takes_products_of_the_own_catalog_only(world: World) -> None:
    with pytest.raises(OrderError) as refused:
        order_create(
            membership=membership(world, "a_member"),
            requested_delivery_date=LATER,
            note="",
            lines=[LineInput("NB-1080-270", 1), LineInput("NK-PEG-270", 2)],
        )

    assert refused.value.code == "unknown_product"
    assert "Line 2" in refused.value.message and "NK-PEG-270" in refused.value.message
    assert ProposedOrder.objects.count() == 3  # the world's, nothing half-written


@pytest.mark.parametrize(
    ("lines", "code"),
    [
        ([], "no_lines"),
        ([LineInput("NB-1080-270", 1)] * 2, "duplicate_product"),
        ([LineInput("NB-1080-270", 0)], "invalid_quantity"),
    ],
)
def test_bad_lines_are_refused_with_a_code(world: World, lines: list[LineInput], code: str) -> None:
    with pytest.raises(OrderError) as refused:
        order_create(
            membership=membership(world, "a_member"), requested_delivery_date=LATER, note="", lines=lines
        )
    assert refused.value.code == code


def test_a_delivery_date_in_the_past_is_refused(world: World) -> None:
    with pytest.raises(OrderError, match="past"):
        order_create(
            membership=membership(world, "a_member"),
            requested_delivery_date=timezone.localdate() - dt.timedelta(days=1),
            note="",
            lines=[LineInput("NB-1080-270", 1)],
        )


def test_the_whole_workflow_is_recorded_audited_and_mailed(
    world: World, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    order = world.submitted_a
    buyer = world.users["buyer_a"]
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        order_transition(
            order=order, actor=buyer, name="request_changes", comment="Please split the delivery."
        )
        order_transition(order=order, actor=world.users["a_member"], name="submit")
        order_transition(order=order, actor=buyer, name="approve")
        order_transition(order=order, actor=buyer, name="mark_ordered")
        order_transition(order=order, actor=buyer, name="close")

    order.refresh_from_db()
    assert order.status == Status.CLOSED
    assert order.decided_by == buyer
    steps = list(ProposedOrderEvent.objects.filter(order=order).values_list("from_status", "to_status"))
    assert steps == [
        ("", "draft"),
        ("draft", "submitted"),
        ("submitted", "changes_requested"),
        ("changes_requested", "submitted"),
        ("submitted", "approved"),
        ("approved", "ordered"),
        ("ordered", "closed"),
    ]
    assert AuditEvent.objects.filter(action=AuditEvent.Action.ORDER_TRANSITION).count() == 6
    # Buyer moves go to the proposer and the supplier's admins; the supplier's resubmission to the buyers.
    recipients = [message.to for message in mail.outbox]
    assert [world.users["a_admin"].email] in recipients and [world.users["a_member"].email] in recipients
    assert ["buyer-a@retail.example"] in recipients
    assert all(world.users["b_admin"].email not in to for to in recipients)
    assert "Please split the delivery." in mail.outbox[0].body


def test_approving_a_draft_is_a_conflict(world: World) -> None:
    with pytest.raises(OrderConflict):
        order_transition(order=world.draft_a, actor=world.users["buyer_a"], name="approve")

    world.draft_a.refresh_from_db()
    assert world.draft_a.status == Status.DRAFT


def test_approving_a_draft_answers_409_in_the_buyers_queue(world: World) -> None:
    client = Client()
    client.force_login(world.users["buyer_a"])

    response = client.post(f"/buying/orders/{world.draft_a.pk}/approve/", {"comment": ""})

    assert response.status_code == 409
    world.draft_a.refresh_from_db()
    assert world.draft_a.status == Status.DRAFT


def test_a_buyer_never_decides_on_an_order_they_proposed(world: World) -> None:
    # A buyer who is also a member of the supplier (an agency seconded to the brand) proposes an order.
    buyer = world.users["buyer_a"]
    SupplierMembership.objects.create(
        user=buyer, supplier=world.supplier_a, role=SupplierMembership.Role.MEMBER
    )
    own = order_create(
        membership=SupplierMembership.objects.get(user=buyer),
        requested_delivery_date=LATER,
        note="",
        lines=[LineInput("NB-1080-270", 3)],
    )
    order_transition(order=own, actor=buyer, name="submit")

    with pytest.raises(OrderForbidden) as refused:
        order_transition(order=own, actor=buyer, name="approve")
    assert refused.value.code == "own_proposal"

    client = Client()
    client.force_login(buyer)
    assert client.post(f"/buying/orders/{own.pk}/approve/").status_code == 403
    own.refresh_from_db()
    assert own.status == Status.SUBMITTED


def test_only_assigned_buyers_decide(world: World) -> None:
    with pytest.raises(OrderForbidden):
        order_transition(order=world.submitted_a, actor=world.users["buyer_x"], name="approve")
    with pytest.raises(OrderForbidden):  # a superuser is no buyer without the assignment
        order_transition(order=world.submitted_a, actor=world.users["admin"], name="approve")
    buyer_assign(user=world.users["buyer_x"], supplier_id=world.supplier_a.pk)
    order_transition(order=world.submitted_a, actor=world.users["buyer_x"], name="approve")


def test_read_only_supplier_users_cannot_submit(world: World) -> None:
    with pytest.raises(OrderForbidden):
        order_transition(order=world.draft_a, actor=world.users["a_ro"], name="submit")


def test_rejecting_needs_a_comment(world: World) -> None:
    with pytest.raises(OrderError, match="comment"):
        order_transition(order=world.submitted_a, actor=world.users["buyer_a"], name="reject")


@pytest.mark.parametrize(
    ("status", "name"),
    [
        (Status.APPROVED, "submit"),
        (Status.REJECTED, "approve"),
        (Status.CLOSED, "cancel"),
        (Status.CANCELLED, "submit"),
        (Status.ORDERED, "withdraw"),
        (Status.DRAFT, "close"),
    ],
)
def test_illegal_transitions_conflict(world: World, status: str, name: str) -> None:
    ProposedOrder.objects.filter(pk=world.submitted_a.pk).update(status=status)
    side = "a_member" if name in {"submit", "withdraw"} else "buyer_a"

    with pytest.raises(OrderConflict):
        order_transition(order=world.submitted_a, actor=world.users[side], name=name)


def test_another_suppliers_admin_cannot_move_the_order(world: World) -> None:
    with pytest.raises(OrderForbidden):
        order_transition(order=world.draft_a, actor=world.users["b_admin"], name="submit")
    other = supplier_user(world.supplier_b, SupplierMembership.Role.MEMBER)
    with pytest.raises(OrderForbidden):
        order_transition(order=world.draft_a, actor=other, name="withdraw")
