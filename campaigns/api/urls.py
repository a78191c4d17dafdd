from django.urls import path
from rest_framework.routers import SimpleRouter

from campaigns.api.views import SegmentPreviewView, SegmentViewSet

router = SimpleRouter()
router.register("segments", SegmentViewSet, basename="segment")

urlpatterns = [
    path("segments/preview/", SegmentPreviewView.as_view(), name="segment-preview"),
    *router.urls,
]
