from django.urls import path
from rest_framework.routers import SimpleRouter

from customers.api.imports import ImportViewSet
from customers.api.merges import CustomerMergeView, MergeViewSet
from customers.api.timeline import CustomerTimelineView
from customers.api.views import CustomerViewSet, EventIngestView
from customers.privacy.api import CustomerConsentView, CustomerEraseView, CustomerExportView

router = SimpleRouter()
router.register("customers", CustomerViewSet, basename="customer")
router.register("merges", MergeViewSet, basename="merge")
router.register("imports", ImportViewSet, basename="import")

urlpatterns = [
    path("events/", EventIngestView.as_view(), name="event-ingest"),
    path("customers/<int:pk>/timeline/", CustomerTimelineView.as_view(), name="customer-timeline"),
    path("customers/<int:pk>/merge/", CustomerMergeView.as_view(), name="customer-merge"),
    path("customers/<int:pk>/consents/", CustomerConsentView.as_view(), name="customer-consents"),
    path("customers/<int:pk>/export/", CustomerExportView.as_view(), name="customer-export"),
    path("customers/<int:pk>/erase/", CustomerEraseView.as_view(), name="customer-erase"),
    *router.urls,
]
