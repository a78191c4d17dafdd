"""The admin of the supplier portal's data: who belongs to which supplier, and stock per location.

Users, suppliers and products are picked with autocomplete, never from a ``<select>`` of the table;
inventory levels (a million products times their locations) are a ``LargeTableAdmin``.
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from crm.admin_utils import LargeTableAdmin
from crm.models import Supplier
from extranet.models import InventoryLevel, SupplierMembership


@admin.register(SupplierMembership)
class SupplierMembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "supplier", "role", "created_at")
    list_select_related = ("user", "supplier")
    list_filter = ("role",)
    # Memberships, users and suppliers are tables of thousands: a scan of the join is milliseconds.
    search_fields = ("user__username", "user__email", "supplier__code", "supplier__name")
    autocomplete_fields = ("user", "supplier")
    readonly_fields = ("created_at", "updated_at")
    ordering = ("-id",)


@admin.register(InventoryLevel)
class InventoryLevelAdmin(LargeTableAdmin):
    list_display = ("product", "supplier", "location", "on_hand", "on_order", "updated_at")
    list_select_related = ("product__supplier", "location")
    list_filter = ("location",)
    # The product by its unique SKU, then its rows through the unique (product, location) index.
    search_fields = ("product__sku__exact",)
    search_help_text = _("A product's SKU, exactly.")
    autocomplete_fields = ("product",)
    ordering = ("product_id", "location_id")  # the unique (product, location) index
    sortable_by = ()

    @admin.display(description=_("supplier"))
    def supplier(self, obj: InventoryLevel) -> Supplier:
        return obj.product.supplier
