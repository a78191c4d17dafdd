"""The supplier's dashboards: overview, inventory, sales and profitability, each table also as CSV."""

from typing import Any

from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _
from django.views.generic import TemplateView

from crm.models import Product
from extranet import dashboards
from extranet.access import SupplierRequiredMixin, refuse_out_of_scope
from extranet.charts import bar_chart
from extranet.exports import csv_response
from extranet.forms import PeriodForm
from extranet.selectors import inventory_of_product, product_get

SALES_HEADER = [
    "units",
    "returned units",
    "net revenue",
    "net cost",
    "gross margin",
    "margin %",
    "returns rate %",
]


def _figures(row: dict[str, Any]) -> list[Any]:
    return [
        row["units"],
        row["return_units"],
        row["net_revenue"],
        row["net_cost"],
        row["gross_margin"],
        row["margin_pct"],
        row["returns_rate"],
    ]


class PeriodMixin(SupplierRequiredMixin):
    """Reads the date range of ``?start=&end=&grain=``; an invalid range shows its error over the default."""

    request: HttpRequest

    def period_form(self) -> PeriodForm:
        default = dashboards.Period.default()
        form = PeriodForm(
            self.request.GET or None, initial={"start": default.start, "end": default.end, "grain": "week"}
        )
        if form.is_bound and form.is_valid():
            self.period, self.grain = form.cleaned_data["period"], form.cleaned_data["grain"]
        else:
            self.period, self.grain = dashboards.Period.default(), "week"
        return form


class DashboardView(PeriodMixin, TemplateView):
    """The start page: the range's totals and revenue per week or month."""

    template_name = "extranet/dashboard.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["form"] = self.period_form()
        supplier_id = self.membership.supplier_id
        context["totals"] = dashboards.profitability(supplier_id=supplier_id, period=self.period)
        series = dashboards.sales_by_period(supplier_id=supplier_id, period=self.period, grain=self.grain)
        context["series"] = series
        context["chart"] = bar_chart(
            [row["bucket"].isoformat() for row in series],
            [row["net_revenue"] for row in series],
            _("Net revenue"),
        )
        return context


class SalesView(PeriodMixin, TemplateView):
    """Units and revenue by week or month, by product, by channel and by store."""

    template_name = "extranet/sales.html"
    exports = ("period", "channel", "location", "product")

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:  # type: ignore[override]  # CSV downloads stream
        export = request.GET.get("export")
        if export:
            if export not in self.exports:
                raise Http404
            self.period_form()
            return self.export(export)
        return super().get(request, *args, **kwargs)

    def tables(self, product_limit: int | None = 50) -> dict[str, list[dict[str, Any]]]:
        supplier_id, period = self.membership.supplier_id, self.period
        return {
            "period": dashboards.sales_by_period(supplier_id=supplier_id, period=period, grain=self.grain),
            "channel": dashboards.sales_by_channel(supplier_id=supplier_id, period=period),
            "location": dashboards.sales_by_location(supplier_id=supplier_id, period=period),
            "product": dashboards.sales_by_product(
                supplier_id=supplier_id, period=period, limit=product_limit
            ),
        }

    def export(self, table: str) -> HttpResponseBase:
        supplier_id, period = self.membership.supplier_id, self.period
        name = f"sales-{table}-{period.start}-{period.end}.csv"
        if table == "period":
            rows = dashboards.sales_by_period(supplier_id=supplier_id, period=period, grain=self.grain)
            return csv_response(
                name, [self.grain, *SALES_HEADER], ([r["bucket"], *_figures(r)] for r in rows)
            )
        if table == "channel":
            rows = dashboards.sales_by_channel(supplier_id=supplier_id, period=period)
            return csv_response(
                name, ["channel", *SALES_HEADER], ([r["channel"], *_figures(r)] for r in rows)
            )
        if table == "location":
            rows = dashboards.sales_by_location(supplier_id=supplier_id, period=period)
            return csv_response(
                name, ["location", *SALES_HEADER], ([r["location"], *_figures(r)] for r in rows)
            )
        rows = dashboards.sales_by_product(supplier_id=supplier_id, period=period, limit=None)
        return csv_response(
            name,
            ["sku", "product", *SALES_HEADER],
            ([r["sku"], r["name"], *_figures(r)] for r in rows),
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["form"] = self.period_form()
        tables = self.tables()
        context.update(tables)
        labels = [row["bucket"].isoformat() for row in tables["period"]]
        context["units_chart"] = bar_chart(
            labels, [row["net_units"] for row in tables["period"]], _("Net units")
        )
        context["revenue_chart"] = bar_chart(
            labels, [row["net_revenue"] for row in tables["period"]], _("Net revenue")
        )
        context["query"] = self.request.GET.urlencode()
        return context


class ProfitabilityView(PeriodMixin, TemplateView):
    """Revenue, cost, gross margin and margin %, returns rate and sell-through, in total and by product."""

    template_name = "extranet/profitability.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:  # type: ignore[override]  # CSV downloads stream
        if request.GET.get("export") == "product":
            self.period_form()
            rows = dashboards.sales_by_product(
                supplier_id=self.membership.supplier_id, period=self.period, limit=None
            )
            return csv_response(
                f"profitability-{self.period.start}-{self.period.end}.csv",
                ["sku", "product", *SALES_HEADER],
                ([r["sku"], r["name"], *_figures(r)] for r in rows),
            )
        if request.GET.get("export"):
            raise Http404
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["form"] = self.period_form()
        supplier_id = self.membership.supplier_id
        context["totals"] = dashboards.profitability(supplier_id=supplier_id, period=self.period)
        products = dashboards.sales_by_product(supplier_id=supplier_id, period=self.period, limit=50)
        context["products"] = products
        context["chart"] = bar_chart(
            [row["sku"] for row in products[:20]],
            [row["gross_margin"] for row in products[:20]],
            _("Gross margin of the best-selling products"),
        )
        context["query"] = self.request.GET.urlencode()
        return context


class InventoryView(SupplierRequiredMixin, TemplateView):
    """Stock per product (pages by SKU) with weeks of supply and low-stock flags; CSV of every location."""

    template_name = "extranet/inventory.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:  # type: ignore[override]  # CSV downloads stream
        if request.GET.get("export") == "locations":
            return csv_response(
                "inventory.csv",
                ["sku", "product", "location", "on hand", "on order"],
                dashboards.inventory_rows_for_export(supplier_id=self.membership.supplier_id),
            )
        if request.GET.get("export"):
            raise Http404
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        supplier_id = self.membership.supplier_id
        after = self.request.GET.get("after", "")[:64]
        context["page"] = dashboards.inventory_by_product(supplier_id=supplier_id, after_sku=after)
        context["totals"] = dashboards.inventory_totals(supplier_id=supplier_id)
        context["is_first_page"] = not after
        context["low_stock_weeks"] = dashboards.LOW_STOCK_WEEKS
        return context


class ProductInventoryView(SupplierRequiredMixin, TemplateView):
    """One of the supplier's products at each location; another supplier's product answers 404."""

    template_name = "extranet/product_inventory.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        supplier_id = self.membership.supplier_id
        product = product_get(supplier_id=supplier_id, product_id=self.kwargs["pk"])
        if product is None:
            raise refuse_out_of_scope(self.request, Product, self.kwargs["pk"], supplier_id)
        context["product"] = product
        context["levels"] = list(inventory_of_product(supplier_id=supplier_id, product_id=product.pk))
        return context
