"""Segments and their memberships. Campaigns and journeys come with their own issues.

A dynamic segment is a rule (``campaigns.rules``) compiled to one SQL statement; a static segment is a
list of customers chosen by hand or uploaded. Memberships are history: a customer who leaves a segment
keeps the row with ``exited_at`` set, and a new row is written when they come back.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crm.models import TimeStampedModel
from customers.models import Customer


class Segment(TimeStampedModel):
    """A group of customers: those a rule matches (dynamic) or those put in it (static).

    ``member_count`` is kept by the refreshes from the rows they insert and close, so reading a segment's
    size never counts its memberships. Built-in segments (``builtin_key``) come with the CRM.
    """

    class Kind(models.TextChoices):
        DYNAMIC = "dynamic", _("Dynamic (by rule)")
        STATIC = "static", _("Static (chosen customers)")

    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.DYNAMIC)
    rule = models.JSONField(
        _("rule"), default=dict, blank=True, help_text=_("AND/OR groups of conditions; see the README.")
    )
    builtin_key = models.SlugField(
        _("built-in key"),
        max_length=40,
        null=True,
        blank=True,
        unique=True,
        help_text=_("Set on the segments that come with the CRM."),
    )
    member_count = models.PositiveIntegerField(_("members"), default=0)
    refreshed_at = models.DateTimeField(_("refreshed at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["dynamic", "static"]), name="campaigns_segment_kind_known"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def label(self) -> str:
        """The name to show: a built-in segment's translated name while it keeps its original one."""
        from campaigns.builtins import BUILTIN_LABELS, BUILTINS

        if self.builtin_key in BUILTINS and self.name == BUILTINS[self.builtin_key]["name"]:
            return str(BUILTIN_LABELS[self.builtin_key])
        return self.name


class SegmentMembership(models.Model):
    """One stay of a customer in a segment: from ``entered_at`` until ``exited_at`` (empty while inside).

    At most one open stay per customer and segment, enforced by a partial unique index by segment then
    customer that also serves "the segments this customer is in" (one probe per segment); a second
    partial index lists a segment's members. Both start with the segment, so the rows a refresh inserts
    for one segment go to one contiguous range of each index (for a new segment, its right-hand edge).
    Two indexes and no foreign-key checks, because a refresh may insert hundreds of thousands of rows at
    once.
    """

    segment = models.ForeignKey(
        Segment,
        verbose_name=_("segment"),
        on_delete=models.CASCADE,
        related_name="memberships",
        db_index=False,  # served by the indexes below, which start with segment
        # As for the customer below: the database's per-row check of a new row's segment cost a full
        # refresh of 300,000 new members 3.7 of its 9 seconds. Every row is written by a service that
        # holds its segment row locked (select_for_update), and deleting a segment deletes its
        # memberships first (on_delete, in Django).
        db_constraint=False,
    )
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="segment_memberships",
        db_index=False,  # served by the (segment, customer) partial index
        # Refreshes insert hundreds of thousands of rows at once, and a foreign-key check per row
        # doubled their time; customers are never deleted (they are merged or erased in place), and
        # every row is written by a statement that selects it from the customer table.
        db_constraint=False,
    )
    entered_at = models.DateTimeField(_("entered at"))
    exited_at = models.DateTimeField(_("exited at"), null=True, blank=True)

    class Meta:
        verbose_name = _("segment membership")
        verbose_name_plural = _("segment memberships")
        ordering = ["-id"]
        indexes = [
            # Members of a segment, newest first, a cursor page at a time (read backwards: ascending,
            # the rows a refresh inserts go to the index's right-hand edge instead of splitting pages
            # in the middle of the segment's range).
            models.Index(
                fields=["segment", "id"],
                condition=Q(exited_at__isnull=True),
                name="campaigns_membership_members",
            ),
        ]
        constraints = [
            # One open stay per customer and segment; the index also serves "member of segment"
            # conditions, an event's refresh of its customers, and the segments a customer is in (one
            # probe per segment). Not (customer, segment): a refresh inserts its rows in customer order,
            # which then lands on every leaf page of the index (one between each customer's other
            # segments), where by segment first they are appended to one range.
            models.UniqueConstraint(
                fields=["segment", "customer"],
                condition=Q(exited_at__isnull=True),
                name="campaigns_membership_one_open",
            ),
            models.CheckConstraint(
                condition=Q(exited_at__isnull=True) | Q(exited_at__gte=models.F("entered_at")),
                name="campaigns_membership_exit_after_entry",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.customer_id} in {self.segment_id}"
