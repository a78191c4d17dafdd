"""Writes of the customers app (customers/services.py)."""

import datetime as dt

import pytest

from customers.models import Consent, ConsentChange
from customers.services import consent_record
from tests.factories import ConsentFactory, CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)


def test_consent_record_appends_history_and_sets_the_current_consent() -> None:
    customer = CustomerFactory()
    user = UserFactory()

    change = consent_record(
        customer=customer,
        channel="sms",
        purpose="marketing",
        granted=True,
        source="paper form",
        changed_at=NOW,
        recorded_by=user,
    )

    assert ConsentChange.objects.get() == change
    assert change.recorded_by == user
    current = Consent.objects.get(customer=customer, channel="sms", purpose="marketing")
    assert (current.granted, current.source, current.changed_at) == (True, "paper form", NOW)


def test_consent_record_withdrawal_replaces_the_current_consent() -> None:
    current = ConsentFactory(channel="email", granted=True, changed_at=NOW - dt.timedelta(days=30))

    consent_record(
        customer=current.customer,
        channel="email",
        purpose="marketing",
        granted=False,
        source="call",
        changed_at=NOW,
    )

    current.refresh_from_db()
    assert (current.granted, current.source, current.changed_at) == (False, "call", NOW)


def test_consent_record_older_change_is_history_only() -> None:
    current = ConsentFactory(channel="email", granted=False, source="call", changed_at=NOW)

    consent_record(
        customer=current.customer,
        channel="email",
        purpose="marketing",
        granted=True,
        source="late paper form",
        changed_at=NOW - dt.timedelta(days=1),
    )

    current.refresh_from_db()
    assert (current.granted, current.source) == (False, "call")
    assert ConsentChange.objects.filter(customer=current.customer).count() == 1
