"""Forms of the extranet: its login, the dashboards' date range, and proposed orders."""

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from crm.models import User
from crm.security import LockoutMixin
from extranet.dashboards import MAX_RANGE_DAYS, Period
from extranet.selectors import ACCESS_EXTRANET, membership_of
from extranet.services import LineInput


class SupplierAuthenticationForm(LockoutMixin, AuthenticationForm):
    """The extranet login: only users with a supplier membership; locked after repeated failures."""

    login_name = "extranet"
    error_messages = {
        **AuthenticationForm.error_messages,
        "not_supplier": _("This account cannot use the supplier extranet. Staff sign in to the staff area."),
    }

    def __init__(self, request: HttpRequest | None = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(request, *args, **kwargs)
        self.fields["username"].widget.attrs.update({"class": "form-control", "autocomplete": "username"})
        self.fields["password"].widget.attrs.update(
            {"class": "form-control", "autocomplete": "current-password"}
        )

    def confirm_login_allowed(self, user: User) -> None:
        super().confirm_login_allowed(user)
        if membership_of(user) is None or not user.has_perm(ACCESS_EXTRANET):
            raise ValidationError(self.error_messages["not_supplier"], code="not_supplier")


class PeriodForm(forms.Form):
    """The dashboards' date range and how sales are grouped; an empty form means the last four weeks."""

    start = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    grain = forms.ChoiceField(
        label=_("Group by"),
        required=False,
        choices=[("week", _("Week")), ("month", _("Month"))],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs["class"] = (
                "form-select" if isinstance(field, forms.ChoiceField) else "form-control"
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        default = Period.default()
        start, end = cleaned.get("start") or default.start, cleaned.get("end") or default.end
        if start > end:
            raise ValidationError(_("The start date is after the end date."), code="invalid_range")
        if (end - start).days + 1 > MAX_RANGE_DAYS:
            raise ValidationError(
                _("A range spans at most %(days)d days.") % {"days": MAX_RANGE_DAYS}, code="range_too_long"
            )
        cleaned["period"] = Period(start, end)
        cleaned["grain"] = cleaned.get("grain") or "week"
        return cleaned


def parse_lines(text: str) -> list[LineInput]:
    """Order lines as people type them: one ``SKU, quantity`` (or ``SKU quantity``) per line."""
    lines = []
    for number, raw in enumerate(text.splitlines(), start=1):
        raw = raw.strip()
        if not raw:
            continue
        parts = raw.replace(",", " ").replace("\t", " ").split()
        if len(parts) != 2 or not parts[1].isdigit():
            raise ValidationError(
                _("Line %(line)d: write a SKU and a quantity, like “NB-1080-270, 12”.") % {"line": number},
                code="invalid_line",
            )
        lines.append(LineInput(sku=parts[0], quantity=int(parts[1])))
    return lines


class OrderForm(forms.Form):
    """A proposed order: when it should arrive, a note, and its lines."""

    requested_delivery_date = forms.DateField(
        label=_("Requested delivery date"),
        widget=forms.DateInput(attrs={"type": "date", "class": "form-control"}),
    )
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}),
    )
    lines = forms.CharField(
        label=_("Lines"),
        help_text=_("One product per line: its SKU and the quantity, e.g. “NB-1080-270, 12”."),
        widget=forms.Textarea(attrs={"rows": 6, "class": "form-control font-monospace"}),
    )

    def clean_lines(self) -> list[LineInput]:
        return parse_lines(self.cleaned_data["lines"])


class DecisionForm(forms.Form):
    """A buyer's (or supplier's) move of an order, with an optional comment."""

    comment = forms.CharField(
        label=_("Comment"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}),
    )
