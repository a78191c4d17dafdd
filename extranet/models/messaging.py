"""Message threads between a supplier and the retailer's buyers and creative team."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.models import Supplier


class MessageThread(models.Model):
    """A conversation with one supplier about one subject."""

    supplier = models.ForeignKey(
        Supplier, verbose_name=_("supplier"), on_delete=models.CASCADE, related_name="+", db_index=False
    )
    subject = models.CharField(_("subject"), max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("started by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_message_id = models.BigIntegerField(_("last message"), default=0)
    last_message_at = models.DateTimeField(_("last message at"), null=True, blank=True)

    class Meta:
        verbose_name = _("message thread")
        verbose_name_plural = _("message threads")
        ordering = ["-last_message_id"]
        indexes = [models.Index(fields=["supplier", "-last_message_id"], name="extranet_thread_supplier")]

    def __str__(self) -> str:
        return self.subject


class Message(models.Model):
    """One message of a thread, written from the supplier's side or the retailer's."""

    thread = models.ForeignKey(
        MessageThread, verbose_name=_("thread"), on_delete=models.CASCADE, related_name="messages"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("author"), on_delete=models.PROTECT, related_name="+"
    )
    from_supplier = models.BooleanField(_("from the supplier"))
    body = models.TextField(_("message"), max_length=5000)
    created_at = models.DateTimeField(_("sent at"), auto_now_add=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["thread_id", "id"]

    def __str__(self) -> str:
        return f"{self.thread_id}#{self.pk}"


class ThreadReadState(models.Model):
    """How far one user has read one thread: messages after ``last_read_id`` are unread for them."""

    thread = models.ForeignKey(
        MessageThread, verbose_name=_("thread"), on_delete=models.CASCADE, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
    )
    last_read_id = models.BigIntegerField(_("last message read"), default=0)

    class Meta:
        verbose_name = _("thread read state")
        verbose_name_plural = _("thread read states")
        ordering = ["thread_id", "user_id"]
        constraints = [models.UniqueConstraint(fields=["user", "thread"], name="extranet_read_state_unique")]

    def __str__(self) -> str:
        return f"{self.user_id} read {self.thread_id} to {self.last_read_id}"
