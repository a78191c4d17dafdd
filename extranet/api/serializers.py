"""Serializers of the extranet API. Fields a supplier may not set (status, supplier, proposer, decider,
unit cost; a message's author, side and thread) are output-only: the input serializers do not have them."""

from decimal import Decimal
from typing import Any, cast

from rest_framework import serializers

from crm.models import Product
from extranet.messaging import UNREAD_COUNT_LIMIT
from extranet.models import Message, MessageThread, ProposedOrder, ProposedOrderEvent, ProposedOrderLine


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
    location_id = serializers.IntegerField()
    location = serializers.CharField(help_text="The location's name.")


class ProductRowSerializer(FiguresSerializer):
    product_id = serializers.IntegerField()
    sku = serializers.CharField()
    name = serializers.CharField()


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
    product_id = serializers.IntegerField()
    sku = serializers.CharField()
    name = serializers.CharField()
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


# The dashboards' answers, written out. The serializers above describe them (the OpenAPI schema, and a test
# that these functions give exactly what the serializers would): running a serializer's field machinery over
# the 80-odd rows of a sales answer cost about 40% of the endpoint's CPU time, these functions a few percent.
# Decimals are already rounded by ``extranet.dashboards`` to the serializers' places; like DRF they are
# written as strings.


def _decimal(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:f}"


def _figures(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "units": row["units"],
        "return_units": row["return_units"],
        "net_units": row["net_units"],
        "net_revenue": f"{row['net_revenue']:f}",
        "net_cost": f"{row['net_cost']:f}",
        "gross_margin": f"{row['gross_margin']:f}",
        "margin_pct": _decimal(row["margin_pct"]),
        "returns_rate": _decimal(row["returns_rate"]),
    }


def _products(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {**_figures(row), "product_id": row["product_id"], "sku": row["sku"], "name": row["name"]}
        for row in rows
    ]


def sales_dashboard_data(data: dict[str, Any]) -> dict[str, Any]:
    """What ``SalesDashboardSerializer(data).data`` gives."""
    return {
        "start": data["start"].isoformat(),
        "end": data["end"].isoformat(),
        "grain": data["grain"],
        "totals": _figures(data["totals"]),
        "by_period": [{**_figures(row), "bucket": row["bucket"].isoformat()} for row in data["by_period"]],
        "by_channel": [{**_figures(row), "channel": row["channel"]} for row in data["by_channel"]],
        "by_location": [
            {**_figures(row), "location_id": row["location_id"], "location": row["location"]}
            for row in data["by_location"]
        ],
        "top_products": _products(data["top_products"]),
    }


def profitability_dashboard_data(data: dict[str, Any]) -> dict[str, Any]:
    """What ``ProfitabilityDashboardSerializer(data).data`` gives."""
    totals = data["totals"]
    return {
        "start": data["start"].isoformat(),
        "end": data["end"].isoformat(),
        "totals": {
            **_figures(totals),
            "on_hand": totals["on_hand"],
            "sell_through": _decimal(totals["sell_through"]),
        },
        "top_products": _products(data["top_products"]),
    }


def inventory_dashboard_data(data: dict[str, Any]) -> dict[str, Any]:
    """What ``InventoryDashboardSerializer(data).data`` gives."""
    return {
        "on_hand": data["on_hand"],
        "on_order": data["on_order"],
        "rows": [
            {
                "product_id": row["product_id"],
                "sku": row["sku"],
                "name": row["name"],
                "on_hand": row["on_hand"],
                "on_order": row["on_order"],
                "recent_units": row["recent_units"],
                "weeks_of_supply": _decimal(row["weeks_of_supply"]),
                "low_stock": row["low_stock"],
            }
            for row in data["rows"]
        ],
        "next_sku": data["next_sku"],
    }


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


# Message threads. The length limits are the models' (the page's forms have the same).
SUBJECT_MAX_LENGTH = cast(int, MessageThread._meta.get_field("subject").max_length)
BODY_MAX_LENGTH = cast(int, Message._meta.get_field("body").max_length)


class ThreadSerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.username", help_text="Who started the thread.")
    last_message_id = serializers.IntegerField(help_text="The newest message's id (pass as up_to to read/).")
    unread = serializers.BooleanField(help_text="The thread has messages the calling user has not read.")

    class Meta:
        model = MessageThread
        fields = [
            "id",
            "supplier",
            "subject",
            "created_by",
            "created_at",
            "last_message_id",
            "last_message_at",
            "unread",
        ]


class MessageSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username")
    author_name = serializers.SerializerMethodField(help_text="The author's full name, or username.")
    from_supplier = serializers.BooleanField(
        help_text="Written by the supplier's side (else by the retailer's buyers or creative team)."
    )

    class Meta:
        model = Message
        fields = ["id", "thread", "author", "author_name", "from_supplier", "body", "created_at"]

    def get_author_name(self, message: Message) -> str:
        return message.author.get_full_name() or message.author.get_username()


class ReplyInputSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=BODY_MAX_LENGTH, help_text="The message (plain text).")


class ThreadInputSerializer(ReplyInputSerializer):
    """A new thread: its subject and its first message."""

    subject = serializers.CharField(max_length=SUBJECT_MAX_LENGTH)


class MarkReadInputSerializer(serializers.Serializer):
    up_to = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text=(
            "The newest message id the client has shown (default: the thread's newest message): messages "
            "posted after it stay unread."
        ),
    )


class UnreadCountSerializer(serializers.Serializer):
    unread_threads = serializers.IntegerField(
        help_text=f"Threads with messages the calling user has not read, counted up to {UNREAD_COUNT_LIMIT}."
    )
