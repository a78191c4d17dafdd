"""A second factor for the extranet: TOTP (authenticator app) devices from django-otp.

A user who has set up a device must enter a code after each sign-in before any other extranet page opens;
with ``EXTRANET_TWO_FACTOR_FOR_ADMINS`` on, supplier admins without a device are sent to set one up first.
API tokens are not asked for a code: they are the credential of a machine.
"""

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from extranet.access import SupplierRequiredMixin


class CodeForm(forms.Form):
    token = forms.CharField(
        label=gettext_lazy("Code from your authenticator app"),
        max_length=8,
        widget=forms.TextInput(
            attrs={"class": "form-control", "autocomplete": "one-time-code", "inputmode": "numeric"}
        ),
    )


class TwoFactorSetupView(SupplierRequiredMixin, View):
    """Set up an authenticator app: the secret (and its otpauth:// link), then a code to confirm it."""

    two_factor_exempt = True
    write_roles = SupplierRequiredMixin.read_roles

    def _device(self) -> TOTPDevice:
        device = TOTPDevice.objects.filter(user=self.membership.user, confirmed=False).first()
        return device or TOTPDevice.objects.create(
            user=self.membership.user, name="extranet", confirmed=False
        )

    def _render(self, request: HttpRequest, form: CodeForm, status: int = 200) -> HttpResponse:
        if TOTPDevice.objects.filter(user=self.membership.user, confirmed=True).exists():
            return render(request, "extranet/two_factor/setup.html", {"enrolled": True}, status=status)
        device = self._device()
        secret = device.bin_key
        from base64 import b32encode

        context: dict[str, Any] = {
            "form": form,
            "secret": b32encode(secret).decode(),
            "config_url": device.config_url,
        }
        return render(request, "extranet/two_factor/setup.html", context, status=status)

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(request, CodeForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        form = CodeForm(request.POST)
        device = TOTPDevice.objects.filter(user=self.membership.user, confirmed=False).first()
        if form.is_valid() and device is not None and device.verify_token(form.cleaned_data["token"]):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            otp_login(request, device)
            messages.success(request, _("Two-factor sign-in is on for your account."))
            return HttpResponseRedirect(reverse("extranet:dashboard"))
        form.add_error("token", _("That code is not right. Check the time on your phone and try again."))
        return self._render(request, form, status=400)


class TwoFactorVerifyView(SupplierRequiredMixin, View):
    """After signing in: the code from the user's authenticator app."""

    two_factor_exempt = True
    write_roles = SupplierRequiredMixin.read_roles

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, "extranet/two_factor/verify.html", {"form": CodeForm()})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = CodeForm(request.POST)
        if form.is_valid():
            for device in TOTPDevice.objects.filter(user=self.membership.user, confirmed=True):
                if device.verify_token(form.cleaned_data["token"]):
                    otp_login(request, device)
                    return HttpResponseRedirect(reverse("extranet:dashboard"))
        form.add_error("token", _("That code is not right. Check the time on your phone and try again."))
        return render(request, "extranet/two_factor/verify.html", {"form": form}, status=400)
