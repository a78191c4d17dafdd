"""Root URLs: the staff UI, the admin, the extranet and the REST API."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from crm import views

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("accounts/login/", views.StaffLoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/language/", views.language_set, name="language_set"),
    path("accounts/two-factor/", views.TwoFactorSetupView.as_view(), name="two_factor_setup"),
    path("accounts/two-factor/verify/", views.TwoFactorVerifyView.as_view(), name="two_factor_verify"),
    path("customers/", include("customers.urls")),
    path("segments/", include("campaigns.urls")),
    path("buying/", include("extranet.buying_urls")),
    path("extranet/", include("extranet.urls")),
    path("admin/", admin.site.urls),
    path("api/", include("crm.api.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
]
