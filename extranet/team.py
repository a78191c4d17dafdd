"""A supplier's team: its admins invite colleagues, change their roles and remove them.

Invitations are links signed with the project's secret (``django.core.signing``) that carry the
invitation's id; they expire after ``EXTRANET_INVITATION_DAYS`` and work once. A removed user is
deactivated and their API token deleted. Their sessions need no sweep of the session table: Django's
backend re-reads the user on every request and refuses an inactive one, and every extranet request
re-reads the membership, so the next request of any open session is anonymous.
"""

import datetime as dt

from django.conf import settings
from django.contrib.auth.models import Group
from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from crm.models import User
from crm.roles import Role
from extranet.models import AuditEvent, Invitation, SupplierMembership
from extranet.services import audit_record

SALT = "extranet.invitation"
ROLE_GROUPS: dict[str, str] = {
    SupplierMembership.Role.ADMIN: Role.SUPPLIER_ADMIN,
    SupplierMembership.Role.MEMBER: Role.SUPPLIER_MEMBER,
    SupplierMembership.Role.READ_ONLY: Role.SUPPLIER_READ_ONLY,
}


class TeamError(Exception):
    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message, self.code = message, code


def invitation_token(invitation: Invitation) -> str:
    return signing.dumps({"invitation": invitation.pk}, salt=SALT)


def invitation_from_token(token: str) -> Invitation | None:
    """The open invitation a link names, or None if the link is forged, expired, used or revoked."""
    try:
        data = signing.loads(token, salt=SALT, max_age=dt.timedelta(days=settings.EXTRANET_INVITATION_DAYS))
    except signing.BadSignature:
        return None
    invitation = Invitation.objects.select_related("supplier").filter(pk=data.get("invitation")).first()
    if (
        invitation is None
        or invitation.accepted_at
        or invitation.revoked_at
        or invitation.expires_at <= timezone.now()
    ):
        return None
    return invitation


@transaction.atomic
def invitation_send(
    *, admin: SupplierMembership, email: str, role: str, request: HttpRequest | None = None
) -> Invitation:
    """Invite a colleague into the admin's supplier and email them the link."""
    email = email.strip()
    if User.objects.filter(email__iexact=email).exists():
        raise TeamError(_("Someone already has an account with this email address."), "email_taken")
    invitation = Invitation.objects.create(
        supplier_id=admin.supplier_id,
        email=email,
        role=role,
        invited_by_id=admin.user_id,
        expires_at=timezone.now() + dt.timedelta(days=settings.EXTRANET_INVITATION_DAYS),
    )
    audit_record(
        action=AuditEvent.Action.INVITATION,
        actor=admin.user,
        supplier_id=admin.supplier_id,
        request=request,
        summary=f"Invited {email} as {role}",
        details={"invitation": invitation.pk, "email": email, "role": role},
    )
    link = reverse("extranet:invitation_accept", args=[invitation_token(invitation)])
    if request is not None:
        link = request.build_absolute_uri(link)
    subject = _("You are invited to the %(supplier)s supplier extranet") % {"supplier": admin.supplier.name}
    body = _(
        "%(name)s invites you to the supplier extranet of %(supplier)s. Open this link to choose your "
        "username and password (it works once, for %(days)d days):\n\n%(link)s"
    ) % {
        "name": admin.user.get_full_name() or admin.user.get_username(),
        "supplier": admin.supplier.name,
        "days": settings.EXTRANET_INVITATION_DAYS,
        "link": link,
    }
    transaction.on_commit(lambda: send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [email]))
    return invitation


@transaction.atomic
def invitation_accept(
    *, invitation: Invitation, username: str, password: str, first_name: str, last_name: str
) -> User:
    """Create the invited user with their membership; the link stops working."""
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at or invitation.revoked_at or invitation.expires_at <= timezone.now():
        raise TeamError(_("This invitation has already been used or has expired."), "invitation_closed")
    user = User.objects.create_user(
        username=username,
        email=invitation.email,
        password=password,
        first_name=first_name,
        last_name=last_name,
    )
    user.groups.set([Group.objects.get(name=ROLE_GROUPS[invitation.role])])
    SupplierMembership.objects.create(user=user, supplier_id=invitation.supplier_id, role=invitation.role)
    invitation.accepted_at, invitation.accepted_by = timezone.now(), user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    return user


def _check_other(admin: SupplierMembership, member: SupplierMembership) -> None:
    if member.supplier_id != admin.supplier_id:
        raise TeamError(_("Not a member of your supplier."), "not_found")
    if member.user_id == admin.user_id:
        raise TeamError(_("You cannot change or remove yourself; ask another admin."), "self")


@transaction.atomic
def member_role_change(
    *, admin: SupplierMembership, member: SupplierMembership, role: str, request: HttpRequest | None = None
) -> SupplierMembership:
    """Give a colleague another role (their permission group follows)."""
    _check_other(admin, member)
    previous = member.role
    member.role = role
    member.save(update_fields=["role", "updated_at"])
    member.user.groups.set([Group.objects.get(name=ROLE_GROUPS[role])])
    audit_record(
        action=AuditEvent.Action.ROLE_CHANGE,
        actor=admin.user,
        supplier_id=admin.supplier_id,
        request=request,
        summary=f"{member.user.get_username()}: {previous} → {role}",
        details={"user": member.user_id, "from": previous, "to": role},
    )
    return member


@transaction.atomic
def member_remove(
    *, admin: SupplierMembership, member: SupplierMembership, request: HttpRequest | None = None
) -> None:
    """Remove a colleague: membership gone, account deactivated, API token deleted, sessions ended."""
    _check_other(admin, member)
    user = member.user
    member.delete()
    user.is_active = False
    user.save(update_fields=["is_active"])
    user.groups.clear()
    Token.objects.filter(user=user).delete()
    audit_record(
        action=AuditEvent.Action.USER_REMOVED,
        actor=admin.user,
        supplier_id=admin.supplier_id,
        request=request,
        summary=f"Removed {user.get_username()}",
        details={"user": user.pk},
    )
