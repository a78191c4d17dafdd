"""The extranet's own sign-in and sign-out, separate from the staff login."""

from typing import Any

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.urls import reverse

from extranet.forms import SupplierAuthenticationForm
from extranet.selectors import membership_of


class SupplierLoginView(auth_views.LoginView):
    form_class = SupplierAuthenticationForm
    template_name = "extranet/login.html"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.user.is_authenticated and membership_of(request.user) is not None:
            return HttpResponseRedirect(self.get_success_url())
        return super().dispatch(request, *args, **kwargs)

    def get_default_redirect_url(self) -> str:
        return reverse("extranet:dashboard")

    def get_redirect_url(self) -> str:
        # Only pages of the extranet: a staff URL in ?next= would only answer 403.
        url = super().get_redirect_url()
        return url if url.startswith("/extranet/") else ""


class SupplierLogoutView(auth_views.LogoutView):
    next_page = "extranet:login"
