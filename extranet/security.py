"""Login throttling and lockout for the extranet, counted in the database per username and address.

After ``EXTRANET_LOGIN_MAX_FAILURES`` failed sign-ins of one username from one address, that pair is
locked for ``EXTRANET_LOGIN_LOCKOUT_MINUTES``, whether the password is then right or not; a success
clears the counter. The lockout is audited.
"""

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from extranet.models import AuditEvent, LoginAttempt
from extranet.services import audit_record


def _key(username: str) -> str:
    return username.strip().lower()[:150]


def login_locked_until(*, username: str, ip_address: str) -> dt.datetime | None:
    """When the lockout of this username from this address ends, or None if it may try."""
    locked_until = (
        LoginAttempt.objects.filter(username=_key(username), ip_address=ip_address)
        .values_list("locked_until", flat=True)
        .first()
    )
    return locked_until if locked_until is not None and locked_until > timezone.now() else None


@transaction.atomic
def login_failure_record(*, username: str, ip_address: str) -> bool:
    """Count a failed sign-in; return whether it locked the pair out."""
    now = timezone.now()
    window = dt.timedelta(minutes=settings.EXTRANET_LOGIN_LOCKOUT_MINUTES)
    attempt, created = LoginAttempt.objects.select_for_update().get_or_create(
        username=_key(username), ip_address=ip_address, defaults={"failures": 1, "last_failure_at": now}
    )
    if not created:
        # The row is locked: counting in Python is safe. Failures older than the window are forgotten.
        stale = now - attempt.last_failure_at > window
        attempt.failures = 1 if stale else attempt.failures + 1
        attempt.last_failure_at = now
        attempt.save(update_fields=["failures", "last_failure_at"])
    if attempt.failures >= settings.EXTRANET_LOGIN_MAX_FAILURES:
        attempt.locked_until = now + window
        attempt.save(update_fields=["locked_until"])
        audit_record(
            action=AuditEvent.Action.LOGIN_LOCKED,
            actor=None,
            summary=f"Extranet login locked: {attempt.username} from {ip_address}",
            details={"username": attempt.username, "ip": ip_address, "failures": attempt.failures},
        )
        return True
    return False


def login_success_record(*, username: str, ip_address: str) -> None:
    LoginAttempt.objects.filter(username=_key(username), ip_address=ip_address).delete()
