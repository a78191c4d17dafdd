"""The admin of the single customer view, sized for 10 million customers and 200 million interactions.

Every table but source systems is a ``LargeTableAdmin`` (``crm.admin_utils``): counts are estimated or
capped, lists are ordered by an index, filters are on choices, booleans and source systems only, and
searches are exact or prefix lookups that an index answers. Customers and interactions are picked by id
(``raw_id_fields``), products, suppliers and users by autocomplete, never from a ``<select>`` of the table.
"""

import re
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from crm.admin_utils import (
    ExactIdSearchMixin,
    LargeTableAdmin,
    NewestInlineFormSet,
    ViewOnlyInline,
    add_link,
    changelist_link,
    search_id,
)
from crm.models import Product
from customers.contact import normalize_phone
from customers.merge import MergeError, customer_merge_undo, merge_undo_blocker
from customers.models import (
    Consent,
    ConsentChange,
    Contract,
    Customer,
    CustomerAnalytics,
    CustomerIdentity,
    ImportJob,
    ImportRowError,
    Interaction,
    MergeRecord,
    PurchaseLine,
    SourceSystem,
)
from customers.privacy import admin as privacy_admin  # noqa: F401  # registers the privacy tables
from customers.privacy.hooks import PersonalDataAdminMixin
from customers.services import PROFILE_FIELDS, consent_record, profile_changed_publish

# Digits with the punctuation people put in phone numbers: "010-1234-5678", "+82 10 1234 5678".
_PHONE_LIKE = re.compile(r"^\+?[\d\s().-]+$")

# How many of a customer's identities an external-id search may return; one id belongs to one customer
# per source system, so this is the number of source systems at most.
_MAX_IDENTITY_MATCHES = 100

CUSTOMER_FILTER = "customer__id__exact"


def external_id_condition(term: str) -> Q:
    """An exact external id in any source system.

    ``(source_system, external_id)`` is unique and indexed in that order; naming the source systems
    (a table of a few rows) lets the index answer with one probe per system instead of a scan.
    """
    return Q(source_system__in=SourceSystem.objects.all(), external_id=term.strip())


def customer_search_condition(term: str) -> Q:
    """The condition that finds customers by what a person types, one indexed lookup per shape of term.

    - an email, exactly and case-insensitively: ``UPPER(email) = UPPER(%s)``, the email index;
    - a phone in any format (``010-1234-5678``, ``+82 10 1234 5678``, ``01012345678``), normalised as
      ingestion does: the phone index;
    - a number: the customer's id;
    - an id in a source system: the identities' unique index;
    - anything else without digits: the beginning of the name.
    """
    term = term.strip()
    if "@" in term:
        return Q(email__iexact=term)
    # Resolved to ids first: "id IN (subquery)" inside an OR keeps PostgreSQL from combining the
    # other branches' indexes, and the whole search becomes a scan.
    identities = CustomerIdentity.objects.filter(external_id_condition(term)).order_by()
    identity_customer_ids = list(identities.values_list("customer_id", flat=True)[:_MAX_IDENTITY_MATCHES])
    condition = Q(pk__in=identity_customer_ids)
    customer_id = search_id(term)
    if customer_id is not None:
        condition |= Q(pk=customer_id)
    if _PHONE_LIKE.match(term):
        phone = normalize_phone(term)
        if phone:
            condition |= Q(phone_normalized=phone)
    elif not any(character.isdigit() for character in term):
        # Names have no digits: an id like "C-991" must not make the search read names, which no
        # index serves yet.
        condition |= Q(name__istartswith=term)
    return condition


class ExternalIdSearchMixin(admin.ModelAdmin):
    """Search a table unique on ``(source_system, external_id)`` by an exact external id."""

    search_fields = ("external_id",)
    search_help_text = _("An id in a source system, exactly as written.")

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        if not search_term.strip():
            return queryset, False
        return queryset.filter(external_id_condition(search_term)), False


def ordering_for_one_customer(
    request: HttpRequest, ordering: tuple[str, ...], customer_ordering: tuple[str, ...]
) -> tuple[str, ...]:
    """The ordering of the index that starts with the customer when the list shows one customer's rows."""
    return customer_ordering if CUSTOMER_FILTER in request.GET else ordering


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records that services write (merges, imports): readable here, changed only through their services."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(SourceSystem)
class SourceSystemAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "trust_email", "trust_phone", "is_active")
    list_filter = ("kind", "trust_email", "trust_phone", "is_active")
    search_fields = ("code", "name")
    ordering = ("code",)
    readonly_fields = ("created_at", "updated_at")


# --- The customer and its change page ------------------------------------------------------------


class CustomerAnalyticsInline(ViewOnlyInline, admin.StackedInline):
    model = CustomerAnalytics
    show_change_link = False
    fieldsets = (
        (
            None,
            {
                "fields": (
                    ("rfm_group", "rfm_recency", "rfm_frequency", "rfm_monetary", "churn_risk"),
                    ("lifetime_value", "purchases_total", "first_purchase_at", "last_purchase_at"),
                    ("purchases_90d", "spend_90d", "visits_30d", "last_web_visit_at", "last_app_visit_at"),
                    ("last_interaction_at", "last_nps", "updated_at"),
                )
            },
        ),
    )


class CustomerIdentityInline(ViewOnlyInline, admin.TabularInline):
    model = CustomerIdentity
    fields = ("source_system", "external_id", "matched_by", "match_note", "created_at")
    ordering = ("source_system_id", "external_id")

    def get_queryset(self, request: HttpRequest) -> QuerySet[CustomerIdentity]:
        return super().get_queryset(request).select_related("source_system")


class ContractInline(ViewOnlyInline, admin.TabularInline):
    model = Contract
    fields = ("external_id", "name", "kind", "status", "start_date", "end_date", "premium", "currency")
    ordering = ("-start_date", "-id")


class ConsentInline(ViewOnlyInline, admin.TabularInline):
    model = Consent
    verbose_name_plural = _("current consents")
    fields = ("channel", "purpose", "granted", "source", "changed_at")
    ordering = ("channel", "purpose")
    show_change_link = False


class RecentInteractionFormSet(NewestInlineFormSet):
    limit = 20


class RecentInteractionInline(ViewOnlyInline, admin.TabularInline):
    """The customer's 20 newest interactions: one read of the timeline index."""

    model = Interaction
    formset = RecentInteractionFormSet
    verbose_name_plural = _("recent interactions")
    fields = (
        "occurred_at",
        "kind",
        "channel",
        "summary",
        "amount",
        "currency",
        "source_system",
        "external_id",
    )
    ordering = ("-occurred_at", "-id")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Interaction]:
        return super().get_queryset(request).select_related("source_system")


@admin.register(Customer)
class CustomerAdmin(PersonalDataAdminMixin, LargeTableAdmin):
    personal_data_customer_fields = ("pk",)
    list_display = ("id", "name", "email", "phone", "status", "region", "created_at")
    list_display_links = ("id", "name")
    list_filter = ("status", "gender")
    # Named for the search box; customer_search_condition picks one indexed lookup per shape of term.
    search_fields = ("id", "email", "phone_normalized", "name", "identities__external_id")
    search_help_text = _(
        "A customer number, an email, a phone in any format, an id in a source system, or the beginning "
        "of the name."
    )
    ordering = ("-id",)
    sortable_by = ("id",)
    raw_id_fields = ("merged_into",)
    readonly_fields = ("phone_normalized", "history", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("name", "status", "merged_into")}),
        (_("Contact"), {"fields": ("email", "phone", "phone_normalized", "preferred_language")}),
        (
            _("Profile"),
            {"fields": ("birth_date", "gender", "address", "postal_code", "region", "signup_at")},
        ),
        (_("History"), {"fields": ("history", "created_at", "updated_at")}),
    )
    inlines = (
        CustomerAnalyticsInline,
        CustomerIdentityInline,
        ContractInline,
        ConsentInline,
        RecentInteractionInline,
    )

    def get_fieldsets(self, request: HttpRequest, obj: Customer | None = None) -> Any:
        # A new customer has no history yet.
        return self.fieldsets if obj is not None else self.fieldsets[:-1]

    def get_inlines(self, request: HttpRequest, obj: Customer | None) -> Any:
        # The inlines show what the customer already has; a new customer has nothing yet.
        return self.inlines if obj is not None else ()

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Customer], search_term: str
    ) -> tuple[QuerySet[Customer], bool]:
        if not search_term.strip():
            return queryset, False
        return queryset.filter(customer_search_condition(search_term)), False

    def has_delete_permission(self, request: HttpRequest, obj: Customer | None = None) -> bool:
        # Customers are erased (anonymised) or merged, never deleted: their history must stay whole.
        return False

    def save_model(self, request: HttpRequest, obj: Customer, form: Any, change: bool) -> None:
        # The same normalisation as ingestion and the services, so that search and matching find the phone.
        obj.phone_normalized = normalize_phone(obj.phone)
        super().save_model(request, obj, form, change)
        if change and set(form.changed_data) & set(PROFILE_FIELDS):
            profile_changed_publish(customer_ids=[obj.pk])  # segments over profile fields see it at once

    @admin.display(description=_("history"))
    def history(self, obj: Customer) -> str:
        return format_html_join(
            " · ",
            "{}",
            [
                (changelist_link(Interaction, _("All interactions"), **{CUSTOMER_FILTER: obj.pk}),),
                (changelist_link(ConsentChange, _("Consent history"), **{CUSTOMER_FILTER: obj.pk}),),
                (add_link(ConsentChange, _("Record a consent change"), customer=obj.pk),),
            ],
        )


# --- The large tables around the customer -----------------------------------------------------------


@admin.register(CustomerIdentity)
class CustomerIdentityAdmin(PersonalDataAdminMixin, ExternalIdSearchMixin, LargeTableAdmin):
    list_display = ("id", "source_system", "external_id", "customer", "matched_by", "created_at")
    list_select_related = ("source_system", "customer")
    list_filter = ("source_system", "matched_by")
    raw_id_fields = ("customer",)
    readonly_fields = ("created_at",)
    ordering = ("-id",)
    sortable_by = ("id",)


class PurchaseLineInline(ViewOnlyInline, admin.TabularInline):
    model = PurchaseLine
    fields = (
        "product",
        "supplier",
        "location",
        "quantity",
        "unit_price",
        "unit_cost",
        "currency",
        "is_return",
    )
    ordering = ("id",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[PurchaseLine]:
        return super().get_queryset(request).select_related("product", "supplier", "location")


@admin.register(Interaction)
class InteractionAdmin(PersonalDataAdminMixin, ExternalIdSearchMixin, LargeTableAdmin):
    list_display = (
        "id",
        "occurred_at",
        "kind",
        "channel",
        "customer",
        "source_system",
        "external_id",
        "amount",
        "currency",
        "summary",
    )
    list_select_related = ("customer", "source_system")
    list_filter = ("kind", "channel", "source_system")
    raw_id_fields = ("customer",)
    readonly_fields = ("recorded_at",)
    ordering = ("-id",)
    sortable_by = ("id",)
    inlines = (PurchaseLineInline,)

    def get_ordering(self, request: HttpRequest) -> tuple[str, ...]:
        # Newest first by id over the whole table (the primary key); one customer's by the timeline index.
        return ordering_for_one_customer(request, ("-id",), ("-occurred_at", "-id"))


@admin.register(PurchaseLine)
class PurchaseLineAdmin(ReadOnlyAdmin, LargeTableAdmin):
    """Lines are immutable history, written with their purchase: shown here, never written."""

    list_display = (
        "id",
        "occurred_at",
        "interaction_id",
        "product",
        "supplier",
        "location",
        "quantity",
        "unit_price",
        "currency",
        "is_return",
    )
    list_select_related = ("product", "supplier", "location")
    list_filter = ("is_return", "channel", "location")
    raw_id_fields = ("interaction", "product", "supplier")
    search_fields = ("interaction_id", "product__sku")
    search_help_text = _("The interaction's number or a product's SKU, exactly.")
    ordering = ("-id",)
    sortable_by = ("id",)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[PurchaseLine], search_term: str
    ) -> tuple[QuerySet[PurchaseLine], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        # Both resolved to values first, so that each branch of the OR keeps its own index.
        condition = Q(product_id__in=list(Product.objects.filter(sku=term).values_list("pk", flat=True)))
        interaction_id = search_id(term)
        if interaction_id is not None:
            condition |= Q(interaction_id=interaction_id)
        return queryset.filter(condition), False


@admin.register(Contract)
class ContractAdmin(PersonalDataAdminMixin, ExternalIdSearchMixin, LargeTableAdmin):
    list_display = (
        "external_id",
        "name",
        "kind",
        "status",
        "customer",
        "source_system",
        "start_date",
        "end_date",
        "premium",
        "currency",
    )
    list_select_related = ("customer", "source_system")
    list_filter = ("kind", "status", "source_system")
    raw_id_fields = ("customer",)
    readonly_fields = ("created_at", "updated_at")
    ordering = ("-id",)
    sortable_by = ()


@admin.register(Consent)
class ConsentAdmin(PersonalDataAdminMixin, ExactIdSearchMixin, ReadOnlyAdmin, LargeTableAdmin):
    """Current consent follows its history: it changes by recording a consent change, never here."""

    list_display = ("customer", "channel", "purpose", "granted", "source", "changed_at")
    list_select_related = ("customer",)
    list_filter = ("channel", "purpose", "granted")
    raw_id_fields = ("customer",)
    search_fields = ("customer_id",)
    search_id_field = "customer_id"
    search_help_text = _("A customer number.")
    ordering = ("-id",)
    sortable_by = ()


@admin.register(ConsentChange)
class ConsentChangeAdmin(PersonalDataAdminMixin, ExactIdSearchMixin, LargeTableAdmin):
    """The record of what customers agreed to and when: changes are added, never edited or deleted.
    Adding one moves the customer's current consent (``customers.services.consent_record``)."""

    list_display = (
        "id",
        "customer",
        "channel",
        "purpose",
        "granted",
        "source",
        "changed_at",
        "recorded_by",
        "recorded_at",
    )
    list_select_related = ("customer", "recorded_by")
    list_filter = ("channel", "purpose", "granted")
    raw_id_fields = ("customer", "recorded_by")
    fields = (
        "customer",
        "channel",
        "purpose",
        "granted",
        "source",
        "changed_at",
        "recorded_by",
        "recorded_at",
    )
    readonly_fields = ("recorded_by", "recorded_at")
    search_fields = ("customer_id",)
    search_id_field = "customer_id"
    search_help_text = _("A customer number.")
    ordering = ("-id",)
    sortable_by = ("id",)

    def get_ordering(self, request: HttpRequest) -> tuple[str, ...]:
        # One customer's history by the (customer, changed_at) index.
        return ordering_for_one_customer(request, ("-id",), ("-changed_at", "-id"))

    def has_change_permission(self, request: HttpRequest, obj: ConsentChange | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ConsentChange | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: ConsentChange, form: Any, change: bool) -> None:
        recorded = consent_record(
            customer=obj.customer,
            channel=obj.channel,
            purpose=obj.purpose,
            granted=obj.granted,
            source=obj.source,
            changed_at=obj.changed_at,
            recorded_by=request.user,  # type: ignore[arg-type]  # the admin's user is signed in
        )
        # The admin logs the addition and redirects with the object it passed in: give it the row made.
        obj.pk = recorded.pk
        obj.recorded_by = recorded.recorded_by
        obj.recorded_at = recorded.recorded_at


@admin.register(CustomerAnalytics)
class CustomerAnalyticsAdmin(ExactIdSearchMixin, ReadOnlyAdmin, LargeTableAdmin):
    """Analytics rows are computed from interactions (``customers.analytics``): shown, never written here."""

    list_display = (
        "customer",
        "rfm_group",
        "lifetime_value",
        "purchases_total",
        "last_purchase_at",
        "churn_risk",
        "last_nps",
        "updated_at",
    )
    list_select_related = ("customer",)
    list_filter = ("rfm_group",)
    raw_id_fields = ("customer",)
    search_fields = ("customer_id",)
    search_id_field = "customer_id"
    search_help_text = _("A customer number.")
    ordering = ("-customer_id",)  # the primary key
    sortable_by = ()


@admin.register(MergeRecord)
class MergeRecordAdmin(PersonalDataAdminMixin, ExactIdSearchMixin, ReadOnlyAdmin):
    """Merges are made in the staff UI or the API; here they are read, and undone through the same service
    (an action on the list, a button on the page), by users with ``customers.merge_customer``."""

    personal_data_customer_fields = ("survivor_id", "merged_id")

    list_display = ("id", "merged", "survivor", "actor", "created_at", "undone_at")
    list_select_related = ("merged", "survivor", "actor")
    raw_id_fields = ("merged", "survivor", "actor", "undone_by")
    search_fields = ("id",)
    search_id_field = "id"
    search_help_text = _("A merge number.")
    ordering = ("-id",)
    actions = ("undo_merges",)
    change_form_template = "admin/customers/mergerecord/change_form.html"

    def has_merge_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("customers.merge_customer")

    @admin.action(description=_("Undo the selected merges"), permissions=["merge"])
    def undo_merges(self, request: HttpRequest, queryset: QuerySet[MergeRecord]) -> None:
        undone = 0
        # Newest first: a later merge of the same customers has to be undone before an earlier one.
        for record in queryset.order_by("-pk"):
            try:
                customer_merge_undo(record=record, actor=request.user)  # type: ignore[arg-type]
            except MergeError as error:
                self.message_user(
                    request,
                    _("Merge #%(id)d: %(reason)s") % {"id": record.pk, "reason": error.message},
                    messages.ERROR,
                )
            else:
                undone += 1
        if undone:
            self.message_user(
                request,
                ngettext("%(count)d merge undone.", "%(count)d merges undone.", undone) % {"count": undone},
            )

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view(self.undo_view)
        view.model_admin = self  # type: ignore[attr-defined]  # as Django marks its own admin views
        undo = path("<path:object_id>/undo/", view, name="customers_mergerecord_undo")
        return [undo, *super().get_urls()]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        extra_context = {**(extra_context or {}), "can_undo_merge": self.has_merge_permission(request)}
        return super().change_view(request, object_id, form_url, extra_context)

    def undo_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Ask for confirmation (GET), then undo the merge (POST), like the admin's delete page."""
        return self.logged_view(request, "undo", object_id, lambda: self._undo(request, object_id))

    def _undo(self, request: HttpRequest, object_id: str) -> HttpResponse:
        record = self.get_object(request, object_id)
        if record is None:
            raise Http404
        if not (self.has_view_permission(request, record) and self.has_merge_permission(request)):
            raise PermissionDenied
        change_url = reverse("admin:customers_mergerecord_change", args=[record.pk])
        if request.method == "POST":
            try:
                customer_merge_undo(record=record, actor=request.user)  # type: ignore[arg-type]
            except MergeError as error:
                self.message_user(request, error.message, messages.ERROR)
            else:
                self.message_user(request, _("The merge was undone."), messages.SUCCESS)
            return HttpResponseRedirect(change_url)
        blocker = merge_undo_blocker(record)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Undo merge #%(id)d") % {"id": record.pk},
            "opts": self.opts,
            "object": record,
            "change_url": change_url,
            "blocker": str(MergeError.messages[blocker]) if blocker else "",
        }
        return TemplateResponse(request, "admin/customers/mergerecord/undo_confirmation.html", context)


class FirstRowErrorsFormSet(NewestInlineFormSet):
    limit = 50


class ImportRowErrorInline(ViewOnlyInline, admin.TabularInline):
    """The first 50 rejected rows; the whole report is a download in the staff UI."""

    model = ImportRowError
    fields = ("row_number", "field", "code", "message")
    formset = FirstRowErrorsFormSet
    ordering = ("row_number", "id")


@admin.register(ImportJob)
class ImportJobAdmin(ExactIdSearchMixin, ReadOnlyAdmin):
    list_display = (
        "id",
        "original_name",
        "kind",
        "status",
        "processed_rows",
        "rejected_rows",
        "created_by",
        "created_at",
    )
    list_select_related = ("created_by",)
    list_filter = ("kind", "status")
    raw_id_fields = ("created_by",)
    search_fields = ("id",)
    search_id_field = "id"
    search_help_text = _("An import number.")
    ordering = ("-id",)
    inlines = [ImportRowErrorInline]


@admin.register(ImportRowError)
class ImportRowErrorAdmin(ExactIdSearchMixin, LargeTableAdmin, ReadOnlyAdmin):
    list_display = ("job", "row_number", "field", "code", "message")
    list_select_related = ("job",)
    raw_id_fields = ("job",)
    search_fields = ("job_id",)
    search_id_field = "job_id"
    search_help_text = _("An import number.")
    ordering = ("job_id", "row_number", "id")
    sortable_by = ()
