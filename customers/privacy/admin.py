"""The admin of the privacy tables: the access log, its checkpoints and head, and data-subject requests,
all read-only (the access log is append-only, and the database refuses changes on PostgreSQL)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from crm.admin_utils import ExactIdSearchMixin, LargeTableAdmin
from customers.privacy.models import AccessChainHead, AccessCheckpoint, AccessRecord, DataSubjectRequest


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AccessRecord)
class AccessRecordAdmin(ExactIdSearchMixin, _ReadOnly, LargeTableAdmin):
    """The personal-data access log. Holds customer numbers, never personal values."""

    list_display = ("id", "seq", "at", "username", "ip", "action", "route", "customer_count", "reason")
    list_filter = ("action",)
    search_fields = ("id",)
    search_id_field = "id"
    search_help_text = _("A record's number.")
    ordering = ("-id",)
    sortable_by = ()
    raw_id_fields = ("user",)


@admin.register(AccessCheckpoint)
class AccessCheckpointAdmin(_ReadOnly):
    list_display = ("seq", "purged", "before", "created_at")


@admin.register(AccessChainHead)
class AccessChainHeadAdmin(_ReadOnly):
    list_display = ("seq", "hash")


@admin.register(DataSubjectRequest)
class DataSubjectRequestAdmin(ExactIdSearchMixin, _ReadOnly):
    """Exports and erasures, by whom and why; carried out on the staff page or through the API."""

    list_display = ("id", "kind", "customer_id", "requested_by", "reference", "status", "created_at")
    list_filter = ("kind", "status")
    list_select_related = ("requested_by",)
    raw_id_fields = ("customer", "requested_by")
    search_fields = ("customer_id",)
    search_id_field = "customer_id"
    search_help_text = _("A customer number.")
