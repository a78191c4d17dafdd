"""Invitations of colleagues into a supplier's extranet, by a supplier admin."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.models import Supplier
from extranet.models.base import SupplierMembership


class Invitation(models.Model):
    """An invitation sent by email: a signed link that works once, until ``expires_at``."""

    supplier = models.ForeignKey(
        Supplier, verbose_name=_("supplier"), on_delete=models.CASCADE, related_name="+", db_index=False
    )
    email = models.EmailField(_("email"))
    role = models.CharField(_("role"), max_length=10, choices=SupplierMembership.Role.choices)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("invited by"), on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("accepted by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["-id"]
        indexes = [models.Index(fields=["supplier", "-id"], name="extranet_invitation_supplier")]

    def __str__(self) -> str:
        return f"{self.email} → {self.supplier_id}"
