"""Who may use an extranet page: signed-in users with a supplier membership, writes by role.

Anonymous visitors go to the extranet's own login; signed-in users without a membership (staff) get 403.
Another supplier's object answers 404 like a missing one, and the refusal is audited.
"""

from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.http import Http404, HttpRequest, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from extranet.models import AuditEvent, SupplierMembership
from extranet.selectors import ACCESS_EXTRANET, membership_of
from extranet.services import audit_record

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
WRITER_ROLES = (SupplierMembership.Role.ADMIN, SupplierMembership.Role.MEMBER)
ADMIN_ROLES = (SupplierMembership.Role.ADMIN,)


class SupplierRequiredMixin:
    """For extranet views. ``write_roles`` are the roles that may POST (every role may read)."""

    write_roles: tuple[str, ...] = WRITER_ROLES
    read_roles: tuple[str, ...] = tuple(SupplierMembership.Role.values)
    membership: SupplierMembership
    two_factor_exempt = False  # the pages that set up or ask for the second factor

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("extranet:login"))
        membership = membership_of(request.user)
        if membership is None or not request.user.has_perm(ACCESS_EXTRANET):
            raise PermissionDenied
        roles = self.read_roles if request.method in SAFE_METHODS else self.write_roles
        if membership.role not in roles:
            raise PermissionDenied
        self.membership = membership
        request.extranet_membership = membership  # type: ignore[attr-defined]  # for the layout
        if not self.two_factor_exempt:
            second_factor = second_factor_redirect(request, membership)
            if second_factor is not None:
                return second_factor
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]


def second_factor_redirect(request: HttpRequest, membership: SupplierMembership) -> HttpResponseBase | None:
    """Where a session must go before this page: the code prompt (a device is set up but this session has
    not entered a code) or the setup (an admin without a device, when admins must use one)."""
    if getattr(request.user, "is_verified", lambda: False)():
        return None
    has_device = getattr(membership, "has_second_factor", None)  # read with the membership (selectors)
    if has_device is None:
        has_device = TOTPDevice.objects.filter(user_id=membership.user_id, confirmed=True).exists()
    if has_device:
        return redirect_to_login(request.get_full_path(), reverse("extranet:two_factor_verify"))
    if settings.EXTRANET_TWO_FACTOR_FOR_ADMINS and membership.role == SupplierMembership.Role.ADMIN:
        return HttpResponseRedirect(reverse("extranet:two_factor_setup"))
    return None


def refuse_out_of_scope(
    request: HttpRequest, model: type[Model], pk: Any, supplier_id: int | None
) -> Http404:
    """The 404 for an id outside the caller's scope; audited when the object exists (cross-tenant)."""
    if model._default_manager.filter(pk=pk).exists():
        audit_record(
            action=AuditEvent.Action.CROSS_TENANT,
            actor=request.user,  # type: ignore[arg-type]
            supplier_id=supplier_id,
            request=request,
            summary=f"Refused {request.method} of {model._meta.label} {pk} outside the caller's scope",
            details={"model": model._meta.label, "id": str(pk)},
        )
    return Http404()
