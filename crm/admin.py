"""The admin of the project's own models: users, the retail catalog, the outbox, idempotency keys and
login lockouts.

Sized for 10 thousand suppliers and 1 million products: products are a ``LargeTableAdmin``
(``crm.admin_utils``), and suppliers, products and users are picked with autocomplete, never from a
``<select>`` of the whole table.
"""

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from rest_framework.authtoken.admin import TokenAdmin as BaseTokenAdmin
from rest_framework.authtoken.models import TokenProxy

from crm.admin_utils import ExactIdSearchMixin, LargeTableAdmin
from crm.forms import AdminLoginForm
from crm.models import IdempotencyKey, Location, LoginAttempt, OutboxMessage, Product, Supplier, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Personal info"), {"fields": ("first_name", "last_name", "email", "preferred_language")}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        *BaseUserAdmin.add_fieldsets,
        (_("Personal info"), {"fields": ("email", "preferred_language", "groups")}),
    )
    list_display = (
        "username",
        "email",
        "first_name",
        "last_name",
        "preferred_language",
        "group_names",
        "is_staff",
        "is_active",
    )
    list_filter = ("is_staff", "is_superuser", "is_active", "groups", "preferred_language")
    search_fields = ("username", "first_name", "last_name", "email")
    ordering = ("username",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description=_("groups"))
    def group_names(self, obj: User) -> str:
        # Sorted here rather than in the prefetch, so that the prefetched rows serve .all().
        return ", ".join(sorted(group.name for group in obj.groups.all()))


@admin.register(Supplier)
class SupplierAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "contact_email", "is_active", "created_at")
    list_filter = ("is_active",)
    # Ten thousand rows: a scan is a few milliseconds, and people search suppliers by any part of the name.
    search_fields = ("code", "name")
    ordering = ("code",)
    readonly_fields = ("created_at", "updated_at")


@admin.register(Product)
class ProductAdmin(LargeTableAdmin):
    list_display = ("sku", "name", "supplier", "category", "price", "cost", "currency", "is_active")
    list_select_related = ("supplier",)
    list_filter = ("is_active",)
    # A prefix of the SKU: served by the varchar_pattern_ops twin PostgreSQL keeps of the unique sku index.
    search_fields = ("sku__startswith",)
    search_help_text = _("The SKU or its beginning, exactly as written.")
    autocomplete_fields = ("supplier",)
    ordering = ("sku",)
    sortable_by = ("sku",)
    readonly_fields = ("created_at", "updated_at")


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "region")
    list_filter = ("kind",)
    search_fields = ("code", "name")
    ordering = ("code",)
    readonly_fields = ("created_at", "updated_at")


class OutboxStateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("pending", _("Pending")), ("processed", _("Processed"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "pending":
            return queryset.filter(processed_at__isnull=True)  # the crm_outbox_pending partial index
        if self.value() == "processed":
            return queryset.filter(processed_at__isnull=False)
        return queryset


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ExactIdSearchMixin, LargeTableAdmin):
    """Work written by code and done by the relay: shown here, never written."""

    list_display = ("id", "topic", "created_at", "processed_at", "attempts")
    list_filter = (OutboxStateFilter,)
    search_fields = ("id",)
    search_help_text = _("The message's number.")
    ordering = ("-id",)
    sortable_by = ("id",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(LargeTableAdmin):
    """Stored first answers of API requests: shown here, never written (they expire on their own)."""

    list_display = ("key", "user", "method", "path", "response_status", "created_at")
    list_select_related = ("user",)
    raw_id_fields = ("user",)
    ordering = ("-created_at",)  # the created_at index
    sortable_by = ("created_at",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(LoginAttempt)
class LoginAttemptAdmin(admin.ModelAdmin):
    """Failed sign-in counters of every login page; deleting a row lifts its lockout."""

    list_display = ("username", "ip_address", "failures", "last_failure_at", "locked_until")
    search_fields = ("username",)
    readonly_fields = ("username", "ip_address", "failures", "last_failure_at")
    ordering = ("-last_failure_at",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


# The admin's login page counts failures and locks out like the staff login; a session that owes its
# second factor is sent to the code prompt by crm.two_factor's middleware before any admin page opens.
admin.site.login_form = AdminLoginForm


# Django REST framework's token admin offers a <select> of every user: pick the user by search instead.
admin.site.unregister(TokenProxy)


@admin.register(TokenProxy)
class TokenAdmin(BaseTokenAdmin):
    autocomplete_fields = ("user",)
    list_select_related = ("user",)
