"""Views of the staff web UI shell: the home page, the staff login with its second factor, and the
language switcher."""

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.http import require_POST
from django.views.generic import TemplateView

from crm import navigation
from crm.forms import LanguageForm, StaffAuthenticationForm
from crm.models import User
from crm.permissions import StaffRequiredMixin, user_can_use_staff_ui
from crm.roles import Role
from crm.services import user_set_language
from crm.two_factor import (
    CodeForm,
    code_verify,
    device_confirm,
    has_confirmed_device,
    is_verified,
    pending_device,
    setup_context,
)


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


def _safe_next(request: HttpRequest, default: str) -> str:
    """The ``next`` the request names, if it leads into this site; else ``default``."""
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return next_url
    return default


class TwoFactorSetupView(View):
    """Set up an authenticator app: the key (and its otpauth:// link), then a code from it to confirm.

    Open to any signed-in staff user, and the only page a staff user without a device reaches while
    ``STAFF_TWO_FACTOR_REQUIRED`` is on.
    """

    user: User

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        self.user = request.user
        if not user_can_use_staff_ui(self.user):
            raise PermissionDenied
        if has_confirmed_device(self.user) and not is_verified(self.user):
            # A second device may only be added by a session that proved it holds the first.
            return redirect_to_login(request.get_full_path(), reverse("two_factor_verify"))
        return super().dispatch(request, *args, **kwargs)

    def _render(self, request: HttpRequest, form: CodeForm, status: int = 200) -> HttpResponse:
        if has_confirmed_device(self.user):
            return render(request, "registration/two_factor_setup.html", {"enrolled": True}, status=status)
        context = {
            "form": form,
            "required": settings.STAFF_TWO_FACTOR_REQUIRED,
            **setup_context(pending_device(self.user, name="staff")),
        }
        return render(request, "registration/two_factor_setup.html", context, status=status)

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(request, CodeForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        form = CodeForm(request.POST)
        if form.is_valid() and device_confirm(request, self.user, form.cleaned_data["token"]):
            messages.success(request, _("Two-factor sign-in is on for your account."))
            return HttpResponseRedirect(reverse("home"))
        form.add_error("token", str(CodeForm.wrong_code))
        return self._render(request, form, status=400)


class TwoFactorVerifyView(View):
    """After the password: the code from the user's authenticator app, then on to ``next``."""

    user: User

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        self.user = request.user
        if not user_can_use_staff_ui(self.user):
            raise PermissionDenied  # suppliers enter their codes at the extranet's own prompt
        if is_verified(self.user) or not has_confirmed_device(self.user):
            return HttpResponseRedirect(_safe_next(request, reverse("home")))
        return super().dispatch(request, *args, **kwargs)

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, "registration/two_factor_verify.html", {"form": CodeForm()})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = CodeForm(request.POST)
        if form.is_valid() and code_verify(request, self.user, form.cleaned_data["token"]):
            return HttpResponseRedirect(_safe_next(request, reverse("home")))
        form.add_error("token", str(CodeForm.wrong_code))
        return render(request, "registration/two_factor_verify.html", {"form": form}, status=400)


@require_POST
def language_set(request: HttpRequest) -> HttpResponse:
    """Switch the interface language: a cookie for this browser and, when signed in, the user's preference."""
    form = LanguageForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest()
    language = form.cleaned_data["language"]
    if request.user.is_authenticated:
        user_set_language(user=request.user, language=language)

    response = HttpResponseRedirect(_safe_next(request, reverse("home")))
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
