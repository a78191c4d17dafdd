"""Filters for customer lists, shared by the API and the staff UI. Each one is served by an index."""

from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters

from customers.contact import normalize_phone
from customers.models import Customer, MergeRecord
from customers.search import customer_search_ids


class CustomerFilter(filters.FilterSet):
    search = filters.CharFilter(
        label=_("name (any part), email, phone in any format, customer number or an id in any source system"),
        method="filter_search",
    )
    email = filters.CharFilter(label=_("email"), field_name="email", lookup_expr="iexact")
    phone = filters.CharFilter(label=_("phone, any format"), method="filter_phone")
    external_id = filters.CharFilter(label=_("id in a source system"), method="filter_external_id")
    source = filters.CharFilter(label=_("source system code, qualifying external_id"), method="qualify")
    status = filters.ChoiceFilter(label=_("status"), choices=Customer.Status.choices)

    class Meta:
        model = Customer
        fields = ["search", "email", "phone", "external_id", "source", "status"]

    def filter_search(self, queryset: QuerySet[Customer], name: str, value: str) -> QuerySet[Customer]:
        return queryset.filter(pk__in=customer_search_ids(value))

    def filter_phone(self, queryset: QuerySet[Customer], name: str, value: str) -> QuerySet[Customer]:
        return queryset.filter(phone_normalized=normalize_phone(value) or "-")

    def filter_external_id(self, queryset: QuerySet[Customer], name: str, value: str) -> QuerySet[Customer]:
        identity = {"identities__external_id": value}
        if self.data.get("source"):
            identity["identities__source_system__code"] = self.data["source"]
        return queryset.filter(**identity).distinct()

    def qualify(self, queryset: QuerySet[Customer], name: str, value: str) -> QuerySet[Customer]:
        return queryset  # read by filter_external_id


class MergeRecordFilter(filters.FilterSet):
    """Merges involving one customer, as survivor or as merged: each side has its own index."""

    customer = filters.NumberFilter(label=_("customer number, kept or merged"), method="filter_customer")

    class Meta:
        model = MergeRecord
        fields = ["customer"]

    def filter_customer(
        self, queryset: QuerySet[MergeRecord], name: str, value: int
    ) -> QuerySet[MergeRecord]:
        return queryset.filter(Q(survivor_id=value) | Q(merged_id=value))
