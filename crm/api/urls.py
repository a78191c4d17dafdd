"""The one API router: every app's API under /api/v1/, the OpenAPI schema and its interactive docs."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

app_name = "api"

urlpatterns = [
    path("v1/", include("customers.api.urls")),
    path("v1/", include("campaigns.api.urls")),
    path("v1/extranet/", include("extranet.api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
]
