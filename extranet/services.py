"""Writes of the extranet: proposed orders and their workflow, and the audit log.

Every function is a transaction; side effects (emails) are sent once the transaction commits.
"""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import send_mass_mail
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.models import Product, User
from extranet.models import (
    AuditEvent,
    ProposedOrder,
    ProposedOrderEvent,
    ProposedOrderLine,
    SupplierBuyerPermission,
    SupplierMembership,
)
from extranet.models.orders import BUYER_PERMISSION_CODENAME

Status = ProposedOrder.Status
MAX_LINES = 500


class OrderError(Exception):
    """A refused change of a proposed order, with a stable code."""

    code = "invalid"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class OrderConflict(OrderError):
    """The order's status does not allow this (HTTP 409)."""

    code = "illegal_transition"


class OrderForbidden(OrderError):
    """The actor may not do this to this order (HTTP 403)."""

    code = "permission_denied"


@dataclass(frozen=True)
class LineInput:
    sku: str
    quantity: int


@dataclass(frozen=True)
class Transition:
    """A move of the workflow: the statuses it leaves from, where it goes, and which side makes it."""

    name: str
    sources: tuple[str, ...]
    target: str
    side: str  # "supplier" or "buyer"
    label: object


TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in [
        Transition(
            "submit",
            (Status.DRAFT, Status.CHANGES_REQUESTED),
            Status.SUBMITTED,
            "supplier",
            gettext_lazy("Submit"),
        ),
        Transition("approve", (Status.SUBMITTED,), Status.APPROVED, "buyer", gettext_lazy("Approve")),
        Transition("reject", (Status.SUBMITTED,), Status.REJECTED, "buyer", gettext_lazy("Reject")),
        Transition(
            "request_changes",
            (Status.SUBMITTED,),
            Status.CHANGES_REQUESTED,
            "buyer",
            gettext_lazy("Request changes"),
        ),
        Transition("mark_ordered", (Status.APPROVED,), Status.ORDERED, "buyer", gettext_lazy("Mark ordered")),
        Transition("close", (Status.ORDERED,), Status.CLOSED, "buyer", gettext_lazy("Close")),
        Transition(
            "withdraw",
            (Status.DRAFT, Status.SUBMITTED, Status.CHANGES_REQUESTED),
            Status.CANCELLED,
            "supplier",
            gettext_lazy("Cancel"),
        ),
        Transition(
            "cancel",
            (Status.APPROVED, Status.ORDERED),
            Status.CANCELLED,
            "buyer",
            gettext_lazy("Cancel order"),
        ),
    ]
}
EDITABLE = (Status.DRAFT, Status.CHANGES_REQUESTED)


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def audit_record(
    *,
    action: str,
    actor: User | None,
    summary: str,
    supplier_id: int | None = None,
    request: HttpRequest | None = None,
    details: dict | None = None,
) -> AuditEvent:
    """Append an audit event (actor, time, address, what)."""
    return AuditEvent.objects.create(
        action=action,
        actor=actor if actor is not None and actor.is_authenticated else None,
        supplier_id_or_none=supplier_id,
        ip_address=client_ip(request),
        path=request.get_full_path()[:500] if request is not None else "",
        summary=summary[:500],
        details=details or {},
    )


def _resolve_lines(supplier_id: int, lines: Iterable[LineInput]) -> list[tuple[Product, int]]:
    """Check the lines against the supplier's own catalog; errors name the line (1-based) and SKU."""
    lines = list(lines)
    if not lines:
        raise OrderError(_("An order needs at least one line."), "no_lines")
    if len(lines) > MAX_LINES:
        raise OrderError(_("An order has at most %(max)d lines.") % {"max": MAX_LINES}, "too_many_lines")
    skus = [line.sku.strip() for line in lines]
    catalog = {p.sku: p for p in Product.objects.filter(supplier_id=supplier_id, sku__in=skus)}
    seen: set[str] = set()
    resolved = []
    for number, (sku, line) in enumerate(zip(skus, lines, strict=True), start=1):
        if sku not in catalog:
            raise OrderError(
                _("Line %(line)d: %(sku)s is not a product of your catalog.") % {"line": number, "sku": sku},
                "unknown_product",
            )
        if sku in seen:
            raise OrderError(
                _("Line %(line)d: %(sku)s appears twice.") % {"line": number, "sku": sku}, "duplicate_product"
            )
        if not 0 < line.quantity <= 1_000_000:
            raise OrderError(
                _("Line %(line)d: the quantity must be between 1 and 1,000,000.") % {"line": number},
                "invalid_quantity",
            )
        seen.add(sku)
        resolved.append((catalog[sku], line.quantity))
    return resolved


def _check_date(requested: dt.date) -> None:
    if requested < timezone.localdate():
        raise OrderError(_("The requested delivery date is in the past."), "date_in_past")


@transaction.atomic
def order_create(
    *,
    membership: SupplierMembership,
    requested_delivery_date: dt.date,
    note: str,
    lines: Iterable[LineInput],
) -> ProposedOrder:
    """Draft an order of the member's supplier from its own catalog."""
    _check_date(requested_delivery_date)
    resolved = _resolve_lines(membership.supplier_id, lines)
    order = ProposedOrder.objects.create(
        supplier_id=membership.supplier_id,
        requested_delivery_date=requested_delivery_date,
        note=note,
        created_by_id=membership.user_id,
    )
    ProposedOrderLine.objects.bulk_create(
        ProposedOrderLine(order=order, product=product, quantity=quantity, unit_cost=product.cost)
        for product, quantity in resolved
    )
    ProposedOrderEvent.objects.create(order=order, actor_id=membership.user_id, to_status=Status.DRAFT)
    return order


@transaction.atomic
def order_update(
    *,
    membership: SupplierMembership,
    order: ProposedOrder,
    requested_delivery_date: dt.date,
    note: str,
    lines: Iterable[LineInput] | None,
) -> ProposedOrder:
    """Change a draft (or an order sent back for changes): date, note and, when given, all its lines."""
    order = ProposedOrder.objects.select_for_update().get(pk=order.pk, supplier_id=membership.supplier_id)
    if order.status not in EDITABLE:
        raise OrderConflict(_("Only a draft or an order sent back for changes can be edited."))
    _check_date(requested_delivery_date)
    if lines is not None:
        resolved = _resolve_lines(membership.supplier_id, lines)
        order.lines.all().delete()
        ProposedOrderLine.objects.bulk_create(
            ProposedOrderLine(order=order, product=product, quantity=quantity, unit_cost=product.cost)
            for product, quantity in resolved
        )
    order.requested_delivery_date = requested_delivery_date
    order.note = note
    order.save(update_fields=["requested_delivery_date", "note", "updated_at"])
    return order


def user_is_buyer_of(user: User, supplier_id: int) -> bool:
    return SupplierBuyerPermission.objects.filter(
        user_id=user.pk,
        content_object_id=supplier_id,
        permission__codename=BUYER_PERMISSION_CODENAME,
        permission__content_type__app_label="crm",
    ).exists()


@transaction.atomic
def order_transition(
    *,
    order: ProposedOrder,
    actor: User,
    name: str,
    comment: str = "",
    request: HttpRequest | None = None,
) -> ProposedOrder:
    """Move an order through its workflow, record the step, audit it and email the other side.

    The supplier side needs a membership of the order's supplier with a role that proposes orders; the
    buyer side needs the buyer assignment on that supplier, and a buyer never decides on an order they
    proposed. A move the status does not allow raises ``OrderConflict``.
    """
    transition = TRANSITIONS.get(name)
    if transition is None:
        raise OrderError(_("Unknown action."), "unknown_action")
    order = ProposedOrder.objects.select_for_update().get(pk=order.pk)
    if transition.side == "supplier":
        membership = SupplierMembership.objects.filter(
            user_id=actor.pk, supplier_id=order.supplier_id
        ).first()
        if membership is None or membership.role == SupplierMembership.Role.READ_ONLY:
            raise OrderForbidden(_("Your role cannot change proposed orders."))
    else:
        if not user_is_buyer_of(actor, order.supplier_id):
            raise OrderForbidden(_("You are not a buyer of this supplier."))
        if order.created_by_id == actor.pk:
            raise OrderForbidden(_("You cannot decide on an order you proposed."), "own_proposal")
    if order.status not in transition.sources:
        raise OrderConflict(
            _("A %(status)s order cannot be moved this way (%(action)s).")
            % {"status": order.get_status_display(), "action": transition.label}
        )
    if transition.name in {"reject", "request_changes"} and not comment.strip():
        raise OrderError(_("Say why in a comment."), "comment_required")
    if transition.name == "submit" and not order.lines.exists():
        raise OrderError(_("An order needs at least one line."), "no_lines")

    previous = order.status
    now = timezone.now()
    order.status = transition.target
    fields = ["status", "updated_at"]
    if transition.name == "submit":
        order.submitted_at = now
        fields.append("submitted_at")
    if transition.name in {"approve", "reject", "request_changes"}:
        order.decided_by, order.decided_at = actor, now
        fields += ["decided_by", "decided_at"]
    order.save(update_fields=fields)
    ProposedOrderEvent.objects.create(
        order=order, actor=actor, from_status=previous, to_status=order.status, comment=comment
    )
    audit_record(
        action=AuditEvent.Action.ORDER_TRANSITION,
        actor=actor,
        supplier_id=order.supplier_id,
        request=request,
        summary=f"PO-{order.pk}: {previous} → {order.status}",
        details={"order": order.pk, "from": previous, "to": order.status, "comment": comment},
    )
    recipients = _other_side(order, transition.side)
    if recipients:
        transaction.on_commit(lambda: _mail_transition(order.pk, previous, order.status, comment, recipients))
    return order


def _other_side(order: ProposedOrder, side: str) -> list[str]:
    """Who hears of a move: the supplier's proposer and admins when a buyer moved it, and the assigned
    buyers when the supplier did."""
    if side == "buyer":
        users = User.objects.filter(
            Q(pk=order.created_by_id)
            | Q(
                supplier_membership__supplier_id=order.supplier_id,
                supplier_membership__role=SupplierMembership.Role.ADMIN,
            )
        )
    else:
        users = User.objects.filter(
            pk__in=SupplierBuyerPermission.objects.filter(
                content_object_id=order.supplier_id, permission__codename=BUYER_PERMISSION_CODENAME
            ).values("user_id")
        )
    return sorted({email for email in users.filter(is_active=True).values_list("email", flat=True) if email})


def _mail_transition(order_id: int, previous: str, status: str, comment: str, recipients: list[str]) -> None:
    labels = dict(Status.choices)
    subject = _("Proposed order PO-%(id)d: %(status)s") % {"id": order_id, "status": labels[status]}
    body = _("Proposed order PO-%(id)d moved from %(from)s to %(to)s.") % {
        "id": order_id,
        "from": labels.get(previous, previous),
        "to": labels[status],
    }
    if comment:
        body += "\n\n" + _("Comment:") + "\n" + comment
    send_mass_mail(
        [(subject, body, settings.DEFAULT_FROM_EMAIL, [to]) for to in recipients], fail_silently=False
    )


def buyer_assign(*, user: User, supplier_id: int) -> SupplierBuyerPermission:
    """Make a staff user a buyer of a supplier (the guardian object permission)."""
    from extranet.selectors import buyer_permission

    assignment, _created = SupplierBuyerPermission.objects.get_or_create(
        user=user, permission=buyer_permission(), content_object_id=supplier_id
    )
    return assignment
