"""The supplier portal's data: who belongs to which supplier, and the stock each location holds."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crm.models import Location, Product, Supplier, TimeStampedModel


class SupplierMembership(TimeStampedModel):
    """A user's membership of a supplier, with the role that decides what they may do in the extranet.

    A user belongs to at most one supplier: every extranet read is scoped by this row.
    """

    class Role(models.TextChoices):
        ADMIN = "admin", _("Supplier admin")
        MEMBER = "member", _("Member")
        READ_ONLY = "read_only", _("Read-only")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="supplier_membership",
    )
    supplier = models.ForeignKey(
        Supplier, verbose_name=_("supplier"), on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.MEMBER)

    class Meta:
        verbose_name = _("supplier membership")
        verbose_name_plural = _("supplier memberships")
        ordering = ["supplier_id", "user_id"]
        permissions = [
            ("access_extranet", _("Can use the supplier extranet")),
            ("manage_supplier_users", _("Can invite and manage the supplier's users")),
            ("propose_orders", _("Can draft and submit proposed orders")),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} @ {self.supplier_id} ({self.role})"


class InventoryLevel(models.Model):
    """Stock of one product at one location: on hand now, and on order from the supplier."""

    product = models.ForeignKey(
        Product,
        verbose_name=_("product"),
        on_delete=models.CASCADE,
        related_name="inventory_levels",
        db_index=False,  # served by the unique (product, location) index
    )
    location = models.ForeignKey(
        Location, verbose_name=_("location"), on_delete=models.PROTECT, related_name="+"
    )
    on_hand = models.IntegerField(_("on hand"), default=0)
    on_order = models.IntegerField(_("on order"), default=0)
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("inventory level")
        verbose_name_plural = _("inventory levels")
        ordering = ["product_id", "location_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "location"], name="extranet_inventory_one_per_location"
            ),
            models.CheckConstraint(
                condition=Q(on_order__gte=0), name="extranet_inventory_on_order_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_id}@{self.location_id}: {self.on_hand}"


class SupplierStock(models.Model):
    """A supplier's stock over all its products and locations: the sums of its ``InventoryLevel`` rows.

    Kept by the stock writes (``extranet.services.inventory_level_save`` and ``inventory_level_delete``
    move it by each change, in the same transaction), so that dashboards read one row instead of summing
    every product at every location; ``stock_totals_rebuild`` recomputes it after a bulk load.
    """

    supplier = models.OneToOneField(
        Supplier,
        verbose_name=_("supplier"),
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="+",
    )
    on_hand = models.BigIntegerField(_("on hand"), default=0)
    on_order = models.BigIntegerField(_("on order"), default=0)

    class Meta:
        verbose_name = _("supplier stock")
        verbose_name_plural = _("supplier stock")

    def __str__(self) -> str:
        return f"{self.supplier_id}: {self.on_hand}"
