"""The admin of segments and their memberships (a table of millions: a ``LargeTableAdmin``)."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from campaigns.models import Segment, SegmentMembership
from crm.admin_utils import LargeTableAdmin
from customers.privacy.hooks import PersonalDataAdminMixin


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "builtin_key", "member_count", "refreshed_at", "created_by")
    list_select_related = ("created_by",)
    list_filter = ("kind",)
    search_fields = ("name",)
    raw_id_fields = ("created_by",)
    readonly_fields = ("member_count", "refreshed_at", "created_at", "updated_at")
    ordering = ("name", "id")


@admin.register(SegmentMembership)
class SegmentMembershipAdmin(PersonalDataAdminMixin, LargeTableAdmin):
    list_display = ("id", "segment", "customer", "entered_at", "exited_at")
    list_select_related = ("segment", "customer")
    # A customer's memberships by the customer's id. No index serves it (none starts with the customer
    # and covers closed stays): a scan of the table, for an administrator's occasional look-up.
    search_fields = ("customer__id__exact",)
    search_help_text = _("A customer's id, exactly.")
    raw_id_fields = ("customer", "segment")
    ordering = ("-id",)
    sortable_by = ("id",)
