"""Login throttling and lockout, counted in the database per username and address, for every login page.

After ``LOGIN_MAX_FAILURES`` failed sign-ins of one username from one address, that pair is locked for
``LOGIN_LOCKOUT_MINUTES``, whether the password is then right or not; a success clears the counter. The
staff login, the admin's login and the extranet's share the counter, so alternating between them gains
an attacker nothing. A lockout sends ``login_locked``; the extranet records it in its audit log.
"""

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.dispatch import Signal
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models import LoginAttempt

# Sent when a username is locked out: username, ip_address, failures, login ("staff", "admin", ...).
login_locked = Signal()


def _key(username: str) -> str:
    return username.strip().lower()[:150]


def client_ip(request: HttpRequest | None) -> str:
    """The address a sign-in came from (the proxy in front must set REMOTE_ADDR, as gunicorn's does)."""
    return (request.META.get("REMOTE_ADDR") if request is not None else None) or "0.0.0.0"  # noqa: S104


def login_locked_until(*, username: str, ip_address: str) -> dt.datetime | None:
    """When the lockout of this username from this address ends, or None if it may try."""
    locked_until = (
        LoginAttempt.objects.filter(username=_key(username), ip_address=ip_address)
        .values_list("locked_until", flat=True)
        .first()
    )
    return locked_until if locked_until is not None and locked_until > timezone.now() else None


@transaction.atomic
def login_failure_record(*, username: str, ip_address: str, login: str) -> bool:
    """Count a failed sign-in at the ``login`` page; return whether it locked the pair out."""
    now = timezone.now()
    window = dt.timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
    attempt, created = LoginAttempt.objects.select_for_update().get_or_create(
        username=_key(username), ip_address=ip_address, defaults={"failures": 1, "last_failure_at": now}
    )
    if not created:
        # The row is locked: counting in Python is safe. Failures older than the window are forgotten.
        stale = now - attempt.last_failure_at > window
        attempt.failures = 1 if stale else attempt.failures + 1
        attempt.last_failure_at = now
        attempt.save(update_fields=["failures", "last_failure_at"])
    if attempt.failures < settings.LOGIN_MAX_FAILURES:
        return False
    attempt.locked_until = now + window
    attempt.save(update_fields=["locked_until"])
    login_locked.send(
        sender=LoginAttempt,
        username=attempt.username,
        ip_address=ip_address,
        failures=attempt.failures,
        login=login,
    )
    return True


def login_success_record(*, username: str, ip_address: str) -> None:
    LoginAttempt.objects.filter(username=_key(username), ip_address=ip_address).delete()


class LockoutMixin:
    """For ``AuthenticationForm`` subclasses: refuse a locked username, count failures, clear on success.

    ``login_name`` names the page in the lockout signal. Every refusal of ``clean()`` counts, including a
    right password of an account that may not use this page: telling those apart would tell an attacker
    which passwords are right.
    """

    login_name = "staff"
    request: HttpRequest | None
    data: Any
    lockout_messages = {"locked": _("Too many failed sign-ins. Try again in %(minutes)d minutes.")}

    def clean(self) -> dict[str, Any]:
        username = self.data.get("username", "")
        ip_address = client_ip(self.request)
        locked = login_locked_until(username=username, ip_address=ip_address)
        if locked is not None:
            minutes = max(1, int((locked - timezone.now()).total_seconds() // 60) + 1)
            raise ValidationError(self.lockout_messages["locked"], code="locked", params={"minutes": minutes})
        try:
            cleaned = super().clean()  # type: ignore[misc]
        except ValidationError:
            login_failure_record(username=username, ip_address=ip_address, login=self.login_name)
            raise
        login_success_record(username=username, ip_address=ip_address)
        return cleaned
