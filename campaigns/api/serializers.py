"""Serializers of the segments API: separate input and output shapes."""

from rest_framework import serializers

from campaigns.models import Segment, SegmentMembership
from customers.privacy.masking import MaskedField


class SegmentSerializer(serializers.ModelSerializer):
    """A segment as the API shows it; ``member_count`` is kept by the refreshes."""

    label = serializers.CharField(  # type: ignore[assignment]
        read_only=True, help_text="The name to show, translated for built-in segments."
    )

    class Meta:
        model = Segment
        fields = [
            "id",
            "name",
            "label",
            "description",
            "kind",
            "rule",
            "builtin_key",
            "member_count",
            "refreshed_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class SegmentInputSerializer(serializers.Serializer):
    """What a client sends to create or change a segment; the rule is checked by ``rule_validate``."""

    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    kind = serializers.ChoiceField(choices=Segment.Kind.choices, default=Segment.Kind.DYNAMIC)
    rule = serializers.JSONField(
        required=False, default=dict, help_text="AND/OR groups of conditions (README)."
    )


class SegmentPreviewInputSerializer(serializers.Serializer):
    rule = serializers.JSONField(help_text="An unsaved rule: AND/OR groups of conditions (README).")


class SampleCustomerSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class SegmentPreviewSerializer(serializers.Serializer):
    count = serializers.IntegerField(
        help_text="Matching customers, counted exactly up to 10,000; beyond, 10,000 with count_exact false."
    )
    count_exact = serializers.BooleanField(help_text="False when more than `count` customers match.")
    sample = SampleCustomerSerializer(many=True)
    sentence = serializers.CharField()


class MemberSerializer(serializers.ModelSerializer):
    """A current member: the customer and since when (the customer row comes with the page's query)."""

    customer_id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(source="customer.name", read_only=True)
    # Masked for users without customers.view_personal_data, like every personal field of the API.
    email = MaskedField("email", source="customer.email")

    class Meta:
        model = SegmentMembership
        fields = ["id", "customer_id", "name", "email", "entered_at"]
