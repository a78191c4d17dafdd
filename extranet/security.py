"""Lockouts in the extranet's audit log: ``crm.security`` counts failed sign-ins on every login page (the
extranet's, the staff login and the admin's) and signals a lockout; the audit log records it."""

from typing import Any

from django.dispatch import receiver

from crm.security import login_locked
from extranet.models import AuditEvent
from extranet.services import audit_record


@receiver(login_locked, dispatch_uid="extranet.security.lockout_audit")
def lockout_audit(
    sender: Any, *, username: str, ip_address: str, failures: int, login: str, **kwargs: Any
) -> None:
    audit_record(
        action=AuditEvent.Action.LOGIN_LOCKED,
        actor=None,
        summary=f"Login locked ({login}): {username} from {ip_address}",
        details={"username": username, "ip": ip_address, "failures": failures, "login": login},
    )
