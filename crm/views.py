"""Views of the staff web UI shell: the home page, the staff login and logout, and the language switcher."""

from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django.views.generic import TemplateView

from crm import navigation
from crm.forms import LanguageForm, StaffAuthenticationForm
from crm.permissions import StaffRequiredMixin, user_can_use_staff_ui
from crm.roles import Role
from crm.services import user_set_language


class HomeView(StaffRequiredMixin, TemplateView):
    """The staff start page: who is signed in, with which roles, and a card for each place they may go."""

    template_name = "crm/home.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        user = self.request.user
        # Role labels in the user's language; a group that is not a role keeps its name.
        labels = dict(Role.choices)
        context["roles"] = [
            labels.get(name, name) for name in user.groups.order_by("name").values_list("name", flat=True)
        ]
        context["cards"] = [item for item in navigation.items_for(user) if item.url_name != "home"]
        return context


class StaffLoginView(auth_views.LoginView):
    """The staff login; a signed-in staff user is sent straight on."""

    form_class = StaffAuthenticationForm
    template_name = "registration/login.html"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        # Not LoginView.redirect_authenticated_user: a signed-in supplier user would be sent to a staff
        # page that refuses them, instead of seeing the login form.
        if request.user.is_authenticated and user_can_use_staff_ui(request.user):
            return HttpResponseRedirect(self.get_success_url())
        return super().dispatch(request, *args, **kwargs)


@require_POST
def language_set(request: HttpRequest) -> HttpResponse:
    """Switch the interface language: a cookie for this browser and, when signed in, the user's preference."""
    form = LanguageForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest()
    language = form.cleaned_data["language"]
    if request.user.is_authenticated:
        user_set_language(user=request.user, language=language)

    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = reverse("home")
    response = HttpResponseRedirect(next_url)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
    return response
