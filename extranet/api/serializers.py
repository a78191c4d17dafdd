"""Serializers of the extranet API. Fields a supplier may not set (status, supplier, proposer, decider,
unit cost) are output-only: the input serializer does not have them."""

from rest_framework import serializers

from crm.models import Product
from extranet.models import ProposedOrder, ProposedOrderEvent, ProposedOrderLine


class PeriodQuerySerializer(serializers.Serializer):
    start = serializers.DateField(required=False, help_text="First day (default: 27 days before today).")
    end = serializers.DateField(required=False, help_text="Last day, included (default: today).")
    grain = serializers.ChoiceField(choices=["week", "month"], required=False, default="week")


class FiguresSerializer(serializers.Serializer):
    units = serializers.IntegerField()
    return_units = serializers.IntegerField()
    net_units = serializers.IntegerField()
    net_revenue = serializers.DecimalField(max_digits=20, decimal_places=0)
    net_cost = serializers.DecimalField(max_digits=20, decimal_places=0)
    gross_margin = serializers.DecimalField(max_digits=20, decimal_places=0)
    margin_pct = serializers.DecimalField(max_digits=7, decimal_places=1, allow_null=True)
    returns_rate = serializers.DecimalField(max_digits=7, decimal_places=1, allow_null=True)


class PeriodRowSerializer(FiguresSerializer):
    bucket = serializers.DateField(help_text="First day of the week (Monday) or month.")


class ChannelRowSerializer(FiguresSerializer):
    channel = serializers.CharField()


class LocationRowSerializer(FiguresSerializer):
    location_id = serializers.IntegerField(source="location.pk")
    location = serializers.CharField(source="location.name")


class ProductRowSerializer(FiguresSerializer):
    product_id = serializers.IntegerField()
    sku = serializers.CharField(source="product.sku")
    name = serializers.CharField(source="product.name")


class SalesDashboardSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    grain = serializers.CharField()
    totals = FiguresSerializer()
    by_period = PeriodRowSerializer(many=True)
    by_channel = ChannelRowSerializer(many=True)
    by_location = LocationRowSerializer(many=True)
    top_products = ProductRowSerializer(many=True)


class ProfitabilityTotalsSerializer(FiguresSerializer):
    on_hand = serializers.IntegerField()
    sell_through = serializers.DecimalField(max_digits=7, decimal_places=1, allow_null=True)


class ProfitabilityDashboardSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    totals = ProfitabilityTotalsSerializer()
    top_products = ProductRowSerializer(many=True)


class StockRowSerializer(serializers.Serializer):
    product_id = serializers.IntegerField(source="product.pk")
    sku = serializers.CharField(source="product.sku")
    name = serializers.CharField(source="product.name")
    on_hand = serializers.IntegerField()
    on_order = serializers.IntegerField()
    recent_units = serializers.IntegerField(help_text="Net units sold in the last 28 days.")
    weeks_of_supply = serializers.DecimalField(max_digits=12, decimal_places=1, allow_null=True)
    low_stock = serializers.BooleanField()


class InventoryDashboardSerializer(serializers.Serializer):
    on_hand = serializers.IntegerField()
    on_order = serializers.IntegerField()
    rows = StockRowSerializer(many=True)
    next_sku = serializers.CharField(allow_null=True, help_text="Pass as ?after= for the next page.")


class ProductSerializer(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = ["id", "sku", "name", "category", "currency", "cost", "price", "is_active"]


class OrderLineSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="product.sku")

    class Meta:
        model = ProposedOrderLine
        fields = ["id", "product", "sku", "quantity", "unit_cost"]


class OrderEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username")

    class Meta:
        model = ProposedOrderEvent
        fields = ["from_status", "to_status", "actor", "comment", "created_at"]


class OrderSerializer(serializers.ModelSerializer):
    lines = OrderLineSerializer(many=True)
    events = OrderEventSerializer(many=True)
    created_by = serializers.CharField(source="created_by.username")

    class Meta:
        model = ProposedOrder
        fields = [
            "id",
            "supplier",
            "status",
            "requested_delivery_date",
            "note",
            "created_by",
            "submitted_at",
            "decided_at",
            "created_at",
            "updated_at",
            "lines",
            "events",
        ]


class OrderListSerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.username")

    class Meta:
        model = ProposedOrder
        fields = [
            "id",
            "supplier",
            "status",
            "requested_delivery_date",
            "created_by",
            "submitted_at",
            "updated_at",
        ]


class LineInputSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=1_000_000)


class OrderInputSerializer(serializers.Serializer):
    """What a supplier sets: the delivery date, a note and the lines (a full replacement on update)."""

    requested_delivery_date = serializers.DateField()
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    lines = serializers.ListField(child=LineInputSerializer(), min_length=1, max_length=500)


class TransitionInputSerializer(serializers.Serializer):
    comment = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
