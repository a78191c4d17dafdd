"""Serializers of the customers API: separate input and output shapes."""

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from customers.models import Customer, CustomerAnalytics, CustomerIdentity, SourceSystem
from customers.privacy.masking import MaskedSerializerMixin
from customers.services import PROFILE_FIELDS


class IdentitySerializer(serializers.ModelSerializer):
    # A field named "source" shadows Field.source in django-stubs; the API's word for it is "source".
    source = serializers.SlugRelatedField(  # type: ignore[assignment,var-annotated]
        source="source_system", slug_field="code", read_only=True
    )

    class Meta:
        model = CustomerIdentity
        fields = ["source", "external_id", "matched_by", "created_at"]


class AnalyticsSerializer(serializers.ModelSerializer):
    class Meta:
        model = CustomerAnalytics
        exclude = ["customer"]


class CustomerSerializer(MaskedSerializerMixin, serializers.ModelSerializer):
    """A customer as the API shows it, with identities and analytics (loaded per page, not per row).

    Email, phone, address and birth date are masked for users without ``customers.view_personal_data``."""

    identities = IdentitySerializer(many=True, read_only=True)
    analytics = serializers.SerializerMethodField()

    class Meta:
        model = Customer
        fields = [
            "id",
            "name",
            "email",
            "phone",
            "phone_normalized",
            "birth_date",
            "gender",
            "address",
            "postal_code",
            "region",
            "preferred_language",
            "signup_at",
            "status",
            "merged_into",
            "identities",
            "analytics",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_analytics(self, customer: Customer) -> dict[str, Any] | None:
        try:
            return AnalyticsSerializer(customer.analytics).data
        except CustomerAnalytics.DoesNotExist:
            return None


class IdentityInputSerializer(serializers.Serializer):
    source = serializers.SlugRelatedField(  # type: ignore[assignment]  # see IdentitySerializer
        slug_field="code", queryset=SourceSystem.objects.filter(is_active=True)
    )
    external_id = serializers.CharField(max_length=128)


class CustomerInputSerializer(serializers.ModelSerializer):
    """What a client may set on a customer. Identities only on create."""

    identities = IdentityInputSerializer(many=True, required=False)

    class Meta:
        model = Customer
        fields = [*PROFILE_FIELDS, "identities"]

    def validate_identities(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        pairs = [(item["source"].pk, item["external_id"]) for item in value]
        if len(set(pairs)) != len(pairs):
            raise serializers.ValidationError(_("The same identity is listed twice."), code="duplicate")
        taken = CustomerIdentity.objects.none()
        for source_id, external_id in pairs:
            taken = taken | CustomerIdentity.objects.filter(
                source_system_id=source_id, external_id=external_id
            )
        if pairs and taken.exists():
            raise serializers.ValidationError(
                _("An identity in the list already belongs to a customer."), code="identity_taken"
            )
        return value
