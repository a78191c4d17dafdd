"""Forms of the crm app: the staff and admin logins and the language switcher."""

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from crm.models import User
from crm.permissions import user_can_use_staff_ui
from crm.security import LockoutMixin


class StaffAuthenticationForm(LockoutMixin, AuthenticationForm):
    """The staff login: refuses users whose roles do not include the staff UI (supplier users), and
    locks a username out after repeated failures (``crm.security``)."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "not_staff": _(
            "This account cannot use the staff area. Supplier users sign in to the supplier extranet instead."
        ),
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].widget.attrs.update({"class": "form-control", "autocomplete": "username"})
        self.fields["password"].widget.attrs.update(
            {"class": "form-control", "autocomplete": "current-password"}
        )

    def confirm_login_allowed(self, user: User) -> None:
        super().confirm_login_allowed(user)
        if not user_can_use_staff_ui(user):
            raise ValidationError(self.error_messages["not_staff"], code="not_staff")


class AdminLoginForm(LockoutMixin, AdminAuthenticationForm):
    """The admin's own login page, under the same lockout as the staff login."""

    login_name = "admin"


class LanguageForm(forms.Form):
    """The language switcher's choice: one of the site's languages."""

    language = forms.ChoiceField(choices=settings.LANGUAGES)
