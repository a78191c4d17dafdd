"""The admin of the supplier portal's data: who belongs to which supplier, and stock per location.

Users, suppliers and products are picked with autocomplete, never from a ``<select>`` of the table;
inventory levels (a million products times their locations) are a ``LargeTableAdmin``.
"""

from typing import Any

from django.contrib import admin
from django.contrib.auth.models import Permission
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from crm.admin import ProductAdmin
from crm.admin_utils import LargeTableAdmin
from crm.models import Product, Supplier
from extranet.models import (
    AuditEvent,
    InventoryLevel,
    Invitation,
    Message,
    MessageThread,
    ProductSalesDay,
    ProductSalesMonth,
    ProposedOrder,
    ProposedOrderEvent,
    ProposedOrderLine,
    SalesRollupState,
    SupplierBuyerPermission,
    SupplierMembership,
    SupplierSalesDay,
    SupplierSalesMonth,
    SupplierSalesWeek,
    SupplierStock,
    ThreadReadState,
)
from extranet.models.orders import BUYER_PERMISSION_CODENAME
from extranet.stock import inventory_level_delete, inventory_level_save, product_delete, product_save


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

    # Through the stock service, so that the supplier's stock totals follow every change.
    def save_model(self, request: HttpRequest, obj: InventoryLevel, form: Any, change: bool) -> None:
        inventory_level_save(level=obj)

    def delete_model(self, request: HttpRequest, obj: InventoryLevel) -> None:
        inventory_level_delete(level=obj)


# The catalog's admin belongs to crm, which cannot call the extranet's services (apps depend one way): the
# extranet registers it again with its writes through the stock service, so that a product moved to another
# supplier, or deleted with its levels, moves the suppliers' stock totals too.
admin.site.unregister(Product)


@admin.register(Product)
class ProductStockAdmin(ProductAdmin):
    def save_model(self, request: HttpRequest, obj: Product, form: Any, change: bool) -> None:
        product_save(product=obj)

    def delete_model(self, request: HttpRequest, obj: Product) -> None:
        product_delete(product=obj)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for product in queryset:  # not offered (LargeTableAdmin has no bulk delete), kept right anyway
            product_delete(product=product)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records written by the extranet's services only: readable, never added, changed or deleted here."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(LargeTableAdmin, ReadOnlyAdmin):
    """Approvals, role changes, invitations, lockouts and refused cross-tenant requests, newest first."""

    list_display = ("created_at", "action", "actor", "supplier_id_or_none", "ip_address", "summary")
    list_select_related = ("actor",)
    raw_id_fields = ("actor",)
    list_filter = ("action",)
    search_fields = ("actor__username__exact",)
    ordering = ("-id",)
    sortable_by = ()


@admin.register(SupplierBuyerPermission)
class SupplierBuyerPermissionAdmin(admin.ModelAdmin):
    """Which staff users are buyers of which suppliers (django-guardian object permissions)."""

    list_display = ("user", "content_object", "permission")
    list_select_related = ("user", "content_object", "permission__content_type")
    search_fields = ("user__username", "content_object__code", "content_object__name")
    autocomplete_fields = ("user", "content_object")
    ordering = ("-id",)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "permission":
            kwargs["queryset"] = Permission.objects.filter(
                content_type__app_label="crm", codename=BUYER_PERMISSION_CODENAME
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ProposedOrderLineInline(admin.TabularInline):
    model = ProposedOrderLine
    raw_id_fields = ("product",)
    extra = 0


class ProposedOrderEventInline(admin.TabularInline):
    model = ProposedOrderEvent
    extra = 0
    readonly_fields = ("actor", "from_status", "to_status", "comment", "created_at")
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ProposedOrder)
class ProposedOrderAdmin(LargeTableAdmin):
    """Proposed orders; the status moves only through the workflow (the buyers' queue or the API)."""

    list_display = ("__str__", "supplier", "status", "requested_delivery_date", "created_by", "submitted_at")
    list_select_related = ("supplier", "created_by")
    list_filter = ("status",)
    search_fields = ("id__exact",)
    raw_id_fields = ("supplier", "created_by", "decided_by")
    readonly_fields = ("status", "submitted_at", "decided_by", "decided_at", "created_at", "updated_at")
    inlines = [ProposedOrderLineInline, ProposedOrderEventInline]
    ordering = ("-id",)
    sortable_by = ()


@admin.register(ProposedOrderLine)
class ProposedOrderLineAdmin(LargeTableAdmin):
    list_display = ("order", "product", "quantity", "unit_cost")
    list_select_related = ("order", "product")
    raw_id_fields = ("order", "product")
    search_fields = ("order__id__exact",)
    ordering = ("-id",)
    sortable_by = ()


@admin.register(ProposedOrderEvent)
class ProposedOrderEventAdmin(LargeTableAdmin, ReadOnlyAdmin):
    """Every step of every proposed order: who moved it, from which status to which, and why."""

    list_display = ("order", "from_status", "to_status", "actor", "created_at")
    list_select_related = ("order", "actor")
    list_filter = ("to_status",)
    raw_id_fields = ("order", "actor")
    search_fields = ("order__id__exact",)
    ordering = ("-id",)
    sortable_by = ()


@admin.register(SupplierSalesDay)
class SupplierSalesDayAdmin(LargeTableAdmin, ReadOnlyAdmin):
    list_display = ("supplier", "day", "channel", "location_id_or_zero", "units", "revenue", "return_units")
    list_select_related = ("supplier",)
    raw_id_fields = ("supplier",)
    ordering = ("-id",)
    sortable_by = ()


@admin.register(SupplierSalesMonth)
class SupplierSalesMonthAdmin(LargeTableAdmin, ReadOnlyAdmin):
    list_display = ("supplier", "month", "channel", "location_id_or_zero", "units", "revenue", "return_units")
    list_select_related = ("supplier",)
    raw_id_fields = ("supplier",)
    ordering = ("-id",)
    sortable_by = ()


@admin.register(SupplierSalesWeek)
class SupplierSalesWeekAdmin(LargeTableAdmin, ReadOnlyAdmin):
    list_display = ("supplier", "week", "channel", "location_id_or_zero", "units", "revenue", "return_units")
    list_select_related = ("supplier",)
    raw_id_fields = ("supplier",)
    ordering = ("-id",)
    sortable_by = ()


@admin.register(ProductSalesDay)
class ProductSalesDayAdmin(LargeTableAdmin, ReadOnlyAdmin):
    list_display = ("product", "supplier", "day", "units", "revenue", "return_units")
    list_select_related = ("product", "supplier")
    raw_id_fields = ("supplier", "product")
    ordering = ("-id",)
    sortable_by = ()


@admin.register(ProductSalesMonth)
class ProductSalesMonthAdmin(LargeTableAdmin, ReadOnlyAdmin):
    list_display = ("product", "supplier", "month", "units", "revenue", "return_units")
    list_select_related = ("product", "supplier")
    raw_id_fields = ("supplier", "product")
    ordering = ("-id",)
    sortable_by = ()


@admin.register(SupplierStock)
class SupplierStockAdmin(ReadOnlyAdmin):
    """Each supplier's stock totals, kept by the stock writes (``extranet/stock.py``)."""

    list_display = ("supplier", "on_hand", "on_order")
    list_select_related = ("supplier",)
    raw_id_fields = ("supplier",)
    ordering = ("supplier_id",)


@admin.register(SalesRollupState)
class SalesRollupStateAdmin(ReadOnlyAdmin):
    list_display = ("watermark", "horizon", "horizon_seen_at", "folded_at")


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    """Invitations supplier admins sent; revoke one from the supplier's team page or let it expire."""

    list_display = ("email", "supplier", "role", "invited_by", "created_at", "expires_at", "accepted_at")
    raw_id_fields = ("supplier", "invited_by", "accepted_by")
    list_select_related = ("supplier", "invited_by")
    search_fields = ("email",)
    ordering = ("-id",)


class MessageInline(admin.TabularInline):
    model = Message
    extra = 0
    raw_id_fields = ("author",)
    readonly_fields = ("author", "from_supplier", "body", "created_at")
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(MessageThread)
class MessageThreadAdmin(LargeTableAdmin):
    list_display = ("subject", "supplier", "created_by", "last_message_at")
    list_select_related = ("supplier", "created_by")
    raw_id_fields = ("supplier", "created_by")
    readonly_fields = ("last_message_id", "last_message_at", "created_at")
    search_fields = ("id__exact",)
    inlines = [MessageInline]
    ordering = ("-id",)
    sortable_by = ()


@admin.register(Message)
class MessageAdmin(LargeTableAdmin, ReadOnlyAdmin):
    list_display = ("thread", "author", "from_supplier", "created_at")
    list_select_related = ("thread", "author")
    list_filter = ("from_supplier",)
    raw_id_fields = ("thread", "author")
    search_fields = ("thread__id__exact",)
    ordering = ("-id",)
    sortable_by = ()


@admin.register(ThreadReadState)
class ThreadReadStateAdmin(LargeTableAdmin, ReadOnlyAdmin):
    list_display = ("thread", "user", "last_read_id")
    list_select_related = ("thread", "user")
    raw_id_fields = ("thread", "user")
    ordering = ("-id",)
    sortable_by = ()
