"""Routes of the extranet API, under /api/v1/extranet/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from extranet.api import views

router = SimpleRouter()
router.register("products", views.ProductViewSet, basename="extranet-product")
router.register("orders", views.OrderViewSet, basename="extranet-order")
router.register("threads", views.ThreadViewSet, basename="extranet-thread")

urlpatterns = [
    path("dashboards/sales/", views.SalesDashboardView.as_view(), name="extranet-sales"),
    path(
        "dashboards/profitability/", views.ProfitabilityDashboardView.as_view(), name="extranet-profitability"
    ),
    path("dashboards/inventory/", views.InventoryDashboardView.as_view(), name="extranet-inventory"),
    *router.urls,
]
