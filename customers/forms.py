"""Forms of the customers app's staff pages (and the timeline's query parameters, shared with the API)."""

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext_lazy as _

from customers.models import Interaction
from customers.services import LOGGED_KINDS
from customers.timeline import TimelineFilters


class MomentField(forms.CharField):
    """A date (``2026-11-20``, the start of that day in the interface's time zone) or an ISO 8601 time
    with its UTC offset."""

    def __init__(self, *, end_of_day: bool = False, **kwargs: Any) -> None:
        self.end_of_day = end_of_day
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> dt.datetime | None:  # type: ignore[override]
        text = (super().to_python(value) or "").strip()
        if not text:
            return None
        try:
            day = parse_date(text)
            moment = None if day else parse_datetime(text)
        except ValueError:
            day = moment = None
        if day is not None:
            if self.end_of_day:
                day += dt.timedelta(days=1)
            return timezone.make_aware(dt.datetime.combine(day, dt.time.min))
        if moment is None or timezone.is_naive(moment):
            raise forms.ValidationError(
                _("Give a date (2026-11-20) or a time with its UTC offset (2026-11-20T14:03:00+09:00)."),
                code="invalid",
            )
        return moment


class TimelineFilterForm(forms.Form):
    """The timeline's filters: kinds, channels, a source system's code, and a date range (both ends
    included when given as dates)."""

    kind = forms.MultipleChoiceField(label=_("Kind"), choices=Interaction.Kind.choices, required=False)
    channel = forms.MultipleChoiceField(
        label=_("Channel"), choices=Interaction.Channel.choices, required=False
    )
    source = forms.SlugField(label=_("Source system"), max_length=40, required=False)
    since = MomentField(label=_("From"), required=False)
    until = MomentField(label=_("To"), required=False, end_of_day=True)

    def __init__(self, data: Any = None, **kwargs: Any) -> None:
        if data is not None:
            # An empty choice ("All kinds") means no filter, not an invalid kind.
            data = data.copy()
            for name in ("kind", "channel"):
                data.setlist(name, [value for value in data.getlist(name) if value])
        super().__init__(data, **kwargs)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since >= until:
            self.add_error("until", _("The end of the range must come after its start."))
        return cleaned

    def filters(self) -> TimelineFilters:
        data = self.cleaned_data
        return TimelineFilters(
            kinds=tuple(data.get("kind") or ()),
            channels=tuple(data.get("channel") or ()),
            source=data.get("source") or "",
            since=data.get("since"),
            until=data.get("until"),
        )


class InteractionLogForm(forms.Form):
    """A call or a note a rep logs on the customer page."""

    kind = forms.ChoiceField(
        label=_("What"),
        choices=[(kind, Interaction.Kind(kind).label) for kind in LOGGED_KINDS],
        initial=Interaction.Kind.SERVICE_CALL,
        widget=forms.RadioSelect,
    )
    summary = forms.CharField(
        label=_("Summary"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}),
        help_text=_("What was said or agreed, for whoever reads the timeline next."),
    )
