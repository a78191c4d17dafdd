"""The extranet's audit log. (The failed-login counters behind lockout are ``crm.LoginAttempt``.)"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEvent(models.Model):
    """Something security-relevant that happened: an approval, a role change, an invitation, a refused
    cross-tenant request. Append-only; read in the admin."""

    class Action(models.TextChoices):
        ORDER_TRANSITION = "order_transition", _("Proposed order status changed")
        ROLE_CHANGE = "role_change", _("Role changed")
        USER_REMOVED = "user_removed", _("User removed")
        INVITATION = "invitation", _("Invitation sent")
        CROSS_TENANT = "cross_tenant", _("Cross-tenant request refused")
        LOGIN_LOCKED = "login_locked", _("Login locked out")

    created_at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    supplier_id_or_none = models.BigIntegerField(_("supplier"), null=True, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    path = models.CharField(_("path"), max_length=500, blank=True)
    summary = models.CharField(_("summary"), max_length=500)
    details = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.summary
