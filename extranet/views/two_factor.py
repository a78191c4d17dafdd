"""The extranet's pages of the second factor: TOTP devices from django-otp, as in ``crm.two_factor``.

A user who has set up a device must enter a code after each sign-in before any other extranet page opens;
with ``EXTRANET_TWO_FACTOR_FOR_ADMINS`` on, supplier admins without a device are sent to set one up first.
API tokens are not asked for a code: they are the credential of a machine.
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View

from crm.two_factor import (
    CodeForm,
    code_verify,
    device_confirm,
    has_confirmed_device,
    pending_device,
    setup_context,
)
from extranet.access import SupplierRequiredMixin


class TwoFactorSetupView(SupplierRequiredMixin, View):
    """Set up an authenticator app: the secret (and its otpauth:// link), then a code to confirm it."""

    two_factor_exempt = True
    write_roles = SupplierRequiredMixin.read_roles

    def _render(self, request: HttpRequest, form: CodeForm, status: int = 200) -> HttpResponse:
        user = self.membership.user
        if has_confirmed_device(user):
            return render(request, "extranet/two_factor/setup.html", {"enrolled": True}, status=status)
        context = {"form": form, **setup_context(pending_device(user, name="extranet"))}
        return render(request, "extranet/two_factor/setup.html", context, status=status)

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(request, CodeForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        form = CodeForm(request.POST)
        if form.is_valid() and device_confirm(request, self.membership.user, form.cleaned_data["token"]):
            messages.success(request, _("Two-factor sign-in is on for your account."))
            return HttpResponseRedirect(reverse("extranet:dashboard"))
        form.add_error("token", str(CodeForm.wrong_code))
        return self._render(request, form, status=400)


class TwoFactorVerifyView(SupplierRequiredMixin, View):
    """After signing in: the code from the user's authenticator app."""

    two_factor_exempt = True
    write_roles = SupplierRequiredMixin.read_roles

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, "extranet/two_factor/verify.html", {"form": CodeForm()})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = CodeForm(request.POST)
        if form.is_valid() and code_verify(request, self.membership.user, form.cleaned_data["token"]):
            return HttpResponseRedirect(reverse("extranet:dashboard"))
        form.add_error("token", str(CodeForm.wrong_code))
        return render(request, "extranet/two_factor/verify.html", {"form": form}, status=400)
