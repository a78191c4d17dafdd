"""Proposed orders: a supplier drafts and submits, an assigned buyer decides, every step is recorded.

Buyers are assigned to suppliers with a django-guardian object permission held in its own table with a
real foreign key to the supplier (``SupplierBuyerPermission``), not the generic one.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from guardian.models import UserObjectPermissionBase

from crm.models import Product, Supplier, TimeStampedModel

# The permission on a supplier that makes a staff user one of its buyers (created by migration 0004).
BUYER_PERMISSION_CODENAME = "buy_from_supplier"


class SupplierBuyerPermission(UserObjectPermissionBase):
    """A staff user's object permission on one supplier: ``crm.buy_from_supplier`` makes them its buyer."""

    content_object = models.ForeignKey(Supplier, verbose_name=_("supplier"), on_delete=models.CASCADE)

    class Meta(UserObjectPermissionBase.Meta):
        verbose_name = _("buyer assignment")
        verbose_name_plural = _("buyer assignments")
        ordering = ["content_object_id", "user_id"]

    def __str__(self) -> str:
        return f"{self.user_id} → {self.content_object_id}"


class ProposedOrder(TimeStampedModel):
    """An order a supplier proposes to the retailer, and where it stands in the approval workflow."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        CHANGES_REQUESTED = "changes_requested", _("Changes requested")
        ORDERED = "ordered", _("Ordered")
        CLOSED = "closed", _("Closed")
        CANCELLED = "cancelled", _("Cancelled")

    supplier = models.ForeignKey(
        Supplier, verbose_name=_("supplier"), on_delete=models.PROTECT, related_name="+", db_index=False
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.DRAFT)
    requested_delivery_date = models.DateField(_("requested delivery date"))
    note = models.TextField(_("note"), blank=True, max_length=2000)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("proposed by"), on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        verbose_name = _("proposed order")
        verbose_name_plural = _("proposed orders")
        ordering = ["-id"]
        indexes = [
            # A supplier's orders, newest first (keyset on id).
            models.Index(fields=["supplier", "-id"], name="extranet_order_supplier_id"),
            # Buyers' queues: the orders waiting for a decision.
            models.Index(
                fields=["supplier", "-id"], condition=Q(status="submitted"), name="extranet_order_queue"
            ),
        ]

    def __str__(self) -> str:
        return f"PO-{self.pk}"


class ProposedOrderLine(models.Model):
    """A product and quantity of a proposed order, with the unit cost at the time it was proposed."""

    order = models.ForeignKey(
        ProposedOrder, verbose_name=_("proposed order"), on_delete=models.CASCADE, related_name="lines"
    )
    product = models.ForeignKey(
        Product, verbose_name=_("product"), on_delete=models.PROTECT, related_name="+"
    )
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_cost = models.DecimalField(_("unit cost"), max_digits=14, decimal_places=2)

    class Meta:
        verbose_name = _("proposed order line")
        verbose_name_plural = _("proposed order lines")
        ordering = ["order_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "product"], name="extranet_order_line_one_per_product"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="extranet_order_line_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product_id}"


class ProposedOrderEvent(models.Model):
    """One step of a proposed order's workflow: who moved it from which status to which, and why."""

    order = models.ForeignKey(
        ProposedOrder, verbose_name=_("proposed order"), on_delete=models.CASCADE, related_name="events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("actor"), on_delete=models.PROTECT, related_name="+"
    )
    from_status = models.CharField(_("from"), max_length=20, choices=ProposedOrder.Status.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=20, choices=ProposedOrder.Status.choices)
    comment = models.TextField(_("comment"), blank=True, max_length=2000)
    created_at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("proposed order event")
        verbose_name_plural = _("proposed order events")
        ordering = ["order_id", "id"]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.from_status} → {self.to_status}"
