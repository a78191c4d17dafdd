"""The privacy tables: the hash-chained personal-data access log, its chain head and purge checkpoints,
and the audit of data-subject requests (export, erasure).

They live in the ``customers`` app because it owns personal data; ``extranet`` and ``campaigns`` write
access records through ``customers.privacy`` and never the other way round.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class AccessAction(models.TextChoices):
    """What a person did with personal data (the actions of Korea's PIPA safety-measures standard)."""

    VIEW = "view", _("View")
    SEARCH = "search", _("Search")
    CHANGE = "change", _("Change")
    INPUT = "input", _("Input")
    DELETE = "delete", _("Delete")
    PRINT = "print", _("Print")
    DOWNLOAD = "download", _("Download")
    EXPORT = "export", _("Export")
    PURGE = "purge", _("Log purge")


class AccessRecord(models.Model):
    """One access by a person (or a token) to customers' personal data. Append-only and hash-chained.

    A request writes its record with one INSERT (in its own transaction when it only reads, in the
    transaction of its change otherwise); the sealer (``customers.privacy.chain.chain_seal``, every few
    seconds from Celery beat, and before every verification) then numbers sealed records without gaps
    (``seq``) and sets ``hash``, an HMAC over the record's content and the previous record's hash. An
    edited, deleted or reordered record breaks the chain that ``access_log_verify`` checks. On PostgreSQL
    a trigger refuses UPDATE and DELETE, except the sealing of an unsealed record (its content unchanged)
    and the retention purge. ``user`` is kept without a database constraint, and ``username`` copied,
    because a record must outlive the account it names.

    Every request pays for every index this table has, so it has only those that queries use: time
    (review, purge), account and time (review), the unsealed records (the sealer), and ``seq`` for sealed
    records only, so that the INSERT touches four small B-trees at their right-hand end.
    """

    seq = models.BigIntegerField(_("sequence"), null=True, blank=True)
    at = models.DateTimeField(_("time"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account"),
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        # ("user", "at") below serves every look-up by account: a second index would only slow writes.
        db_index=False,
        related_name="+",
    )
    username = models.CharField(_("username"), max_length=150, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    action = models.CharField(_("action"), max_length=10, choices=AccessAction.choices)
    route = models.CharField(_("route"), max_length=200, help_text=_("The door: URL name or admin page."))
    customer_ids = models.JSONField(_("customers"), default=list, blank=True)
    customer_count = models.PositiveIntegerField(_("number of customers"), default=0)
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    prev_hash = models.CharField(_("previous hash"), max_length=64, blank=True)
    hash = models.CharField(_("hash"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("personal-data access record")
        verbose_name_plural = _("personal-data access records")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["at"], name="customers_access_at"),
            # The sealer's work list: few rows, those written since it last ran.
            models.Index(fields=["id"], condition=Q(seq__isnull=True), name="customers_access_unsealed"),
            models.Index(fields=["user", "at"], name="customers_access_user_at"),
        ]
        constraints = [
            # Partial, so that a request's INSERT (seq still empty) does not touch this index at all.
            models.UniqueConstraint(
                fields=["seq"], condition=Q(seq__isnull=False), name="customers_access_seq_unique"
            ),
        ]
        permissions = [
            ("view_personal_data", _("Can see customers' personal data unmasked")),
            ("review_access_log", _("Can review the personal-data access log")),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.username} {self.action} {self.route}"


class AccessChainHead(models.Model):
    """The single row holding the chain's last sequence number and hash.

    Sealing locks this row (``SELECT … FOR UPDATE``), so two sealers never fork the chain; it also tells
    the verifier where the chain ends, so that records cut off the end are found.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(_("last sequence"), default=0)
    hash = models.CharField(_("last hash"), max_length=64, default="0" * 64)

    class Meta:
        verbose_name = _("access chain head")
        verbose_name_plural = _("access chain head")
        constraints = [models.CheckConstraint(condition=Q(id=1), name="customers_access_head_single_row")]

    def __str__(self) -> str:
        return f"#{self.seq} {self.hash[:12]}"


class AccessCheckpoint(models.Model):
    """Where the chain starts after a retention purge: the sequence number and hash of the last purged
    record, so that the first kept record still verifies."""

    seq = models.BigIntegerField(_("last purged sequence"))
    hash = models.CharField(_("last purged hash"), max_length=64)
    purged = models.PositiveBigIntegerField(_("records purged"))
    before = models.DateTimeField(_("purged records older than"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("access log checkpoint")
        verbose_name_plural = _("access log checkpoints")
        ordering = ["-seq"]

    def __str__(self) -> str:
        return f"≤ #{self.seq}"


class DataSubjectRequest(models.Model):
    """The audit of one data-subject request: a customer's data exported or erased, by whom, why, when,
    and what it touched."""

    class Kind(models.TextChoices):
        EXPORT = "export", _("Export")
        ERASURE = "erasure", _("Erasure")

    class Status(models.TextChoices):
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("handled by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reference = models.CharField(
        _("reference"), max_length=200, help_text=_("The customer's request: ticket, letter or email.")
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DONE)
    summary = models.JSONField(_("summary"), default=dict, blank=True, help_text=_("Rows touched, by table."))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("data-subject request")
        verbose_name_plural = _("data-subject requests")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.customer_id}"
