"""Forms of the privacy pages."""

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models import ConsentChannel, ConsentPurpose
from customers.privacy.models import DataSubjectRequest
from customers.privacy.review import parse_month


class ConsentChangeForm(forms.Form):
    """One consent decision recorded by staff: channel, purpose, yes or no, and where the customer said so."""

    channel = forms.ChoiceField(label=_("Channel"), choices=ConsentChannel.choices)
    purpose = forms.ChoiceField(label=_("Purpose"), choices=ConsentPurpose.choices)
    granted = forms.TypedChoiceField(
        label=_("Decision"),
        choices=[("true", _("Granted")), ("false", _("Withdrawn"))],
        coerce=lambda value: value == "true",
    )
    source = forms.CharField(
        label=_("Source"), max_length=100, help_text=_("Where the customer said so: call, store, letter…")
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs["class"] = (
                "form-select form-select-sm"
                if isinstance(field.widget, forms.Select)
                else "form-control form-control-sm"
            )


class SubjectRequestForm(forms.Form):
    """A data-subject request: whose, what, and the customer's request it answers."""

    customer = forms.IntegerField(label=_("Customer number"), min_value=1)
    kind = forms.ChoiceField(
        label=_("Request"), choices=DataSubjectRequest.Kind.choices, widget=forms.RadioSelect
    )
    reference = forms.CharField(
        label=_("Reference"),
        max_length=200,
        min_length=5,
        help_text=_("The customer's request: ticket number, letter or email, and how identity was checked."),
    )
    confirm = forms.BooleanField(label=_("I understand that erasure cannot be undone."), required=False)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("kind") == DataSubjectRequest.Kind.ERASURE and not cleaned.get("confirm"):
            self.add_error("confirm", _("Confirm that erasure cannot be undone."))
        return cleaned


class MonthForm(forms.Form):
    month = forms.CharField(
        label=_("Month"), widget=forms.TextInput(attrs={"type": "month", "class": "form-control"})
    )

    def clean_month(self) -> dt.date:
        value = self.cleaned_data["month"]
        try:
            return parse_month(value)
        except ValueError as error:
            raise forms.ValidationError(_("Give the month as YYYY-MM."), code="invalid") from error

    @staticmethod
    def last_month() -> str:
        first = timezone.localdate().replace(day=1)
        return (first - dt.timedelta(days=1)).strftime("%Y-%m")
