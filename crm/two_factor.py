"""A second factor at sign-in: TOTP (authenticator app) devices from django-otp, for staff and suppliers.

A user who has set up a device must enter a code after each sign-in before any page opens; with
``STAFF_TWO_FACTOR_REQUIRED`` on, staff without one are sent to set one up first (the extranet has its
own switch for supplier admins, ``EXTRANET_TWO_FACTOR_FOR_ADMINS``). API tokens are not asked for a
code: they are the credential of a machine. A session that signed in but has not entered its code is
refused by the API, like a signed-out one.

Whether the user has a device is read once, when they sign in, and kept in the session: pages pay no
query for it. django-otp throttles wrong codes per device (``OTP_TOTP_THROTTLE_FACTOR``).
"""

from base64 import b32encode
from collections.abc import Callable
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.signals import user_logged_in
from django.contrib.auth.views import redirect_to_login
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from crm.models import User
from crm.permissions import user_can_use_staff_ui

# The session's answer to "has this user a confirmed device?", read at sign-in.
HAS_DEVICE_SESSION_KEY = "crm_second_factor_device"


class CodeForm(forms.Form):
    token = forms.CharField(
        label=_("Code from your authenticator app"),
        max_length=8,
        widget=forms.TextInput(
            attrs={"class": "form-control", "autocomplete": "one-time-code", "inputmode": "numeric"}
        ),
    )

    wrong_code = _("That code is not right. Check the time on your phone and try again.")


def has_confirmed_device(user: User) -> bool:
    return TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).exists()


@receiver(user_logged_in, dispatch_uid="crm.two_factor.device_remember")
def device_remember(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        request.session[HAS_DEVICE_SESSION_KEY] = has_confirmed_device(user)


def session_has_device(request: HttpRequest, user: User) -> bool:
    """From the session; read once for sessions that signed in before this was kept there."""
    has_device = request.session.get(HAS_DEVICE_SESSION_KEY)
    if has_device is None:
        has_device = request.session[HAS_DEVICE_SESSION_KEY] = has_confirmed_device(user)
    return bool(has_device)


def pending_device(user: User, name: str) -> TOTPDevice:
    """The user's unconfirmed device, made if there is none: its key is shown until a code confirms it."""
    device = TOTPDevice.objects.filter(user_id=user.pk, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name=name, confirmed=False)


def setup_context(device: TOTPDevice) -> dict[str, str]:
    """The key to type into an authenticator app, and the otpauth:// link that a QR code would hold."""
    return {"secret": b32encode(device.bin_key).decode(), "config_url": device.config_url}


def device_confirm(request: HttpRequest, user: User, token: str) -> bool:
    """Confirm the pending device with a code from it; the session counts as verified from now on."""
    device = TOTPDevice.objects.filter(user_id=user.pk, confirmed=False).first()
    if device is None or not device.verify_token(token):
        return False
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    otp_login(request, device)
    request.session[HAS_DEVICE_SESSION_KEY] = True
    return True


def code_verify(request: HttpRequest, user: User, token: str) -> bool:
    """Check a code against the user's confirmed devices; a right one verifies the session."""
    for device in TOTPDevice.objects.filter(user_id=user.pk, confirmed=True):
        if device.verify_token(token):
            otp_login(request, device)
            return True
    return False


def is_verified(user: User | AnonymousUser) -> bool:
    return bool(getattr(user, "is_verified", lambda: False)())


class StaffSecondFactorMiddleware:
    """Staff sessions that owe a code (or, when required, a device) reach only the pages that take it.

    After ``django_otp.middleware.OTPMiddleware``. The extranet checks its own pages (a supplier's
    membership decides there); requests with an ``Authorization`` header are the API's tokens.
    """

    exempt_prefixes = ("/accounts/", "/extranet/", "/i18n/", "/static/", "/admin/logout/", "/admin/jsi18n/")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            request.path_info.startswith(self.exempt_prefixes)
            or "HTTP_AUTHORIZATION" in request.META
            or not request.user.is_authenticated
            or is_verified(request.user)
        ):
            return self.get_response(request)
        step = self._step(request, request.user)
        if step is None:
            return self.get_response(request)
        if request.path_info.startswith("/api/"):
            return JsonResponse(
                {"detail": str(_("Enter the code from your authenticator app to finish signing in."))},
                status=403,
            )
        if step == "verify":
            return redirect_to_login(request.get_full_path(), reverse("two_factor_verify"))
        return HttpResponseRedirect(reverse("two_factor_setup"))

    @staticmethod
    def _step(request: HttpRequest, user: User) -> str | None:
        has_device = session_has_device(request, user)
        if has_device and request.path_info.startswith("/api/"):
            return "verify"  # any user's session, a supplier's included: the API has no code prompt
        if not has_device and not settings.STAFF_TWO_FACTOR_REQUIRED:
            return None
        if not user_can_use_staff_ui(user):
            return None  # a supplier's session: staff pages answer 403 anyway, the extranet asks itself
        return "verify" if has_device else "setup"
