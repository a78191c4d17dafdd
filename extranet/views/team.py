"""The supplier admin's team page: colleagues and their roles, invitations; and accepting an invitation."""

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from crm.models import User
from extranet.access import ADMIN_ROLES, SupplierRequiredMixin, refuse_out_of_scope
from extranet.models import Invitation, SupplierMembership
from extranet.team import (
    TeamError,
    invitation_accept,
    invitation_from_token,
    invitation_send,
    member_remove,
    member_role_change,
)


class InviteForm(forms.Form):
    email = forms.EmailField(
        label=gettext_lazy("Email"), widget=forms.EmailInput(attrs={"class": "form-control"})
    )
    role = forms.ChoiceField(
        label=gettext_lazy("Role"),
        choices=SupplierMembership.Role.choices,
        widget=forms.Select(attrs={"class": "form-select"}),
    )


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=SupplierMembership.Role.choices)


class AcceptForm(forms.Form):
    username = forms.CharField(
        label=gettext_lazy("Username"),
        max_length=150,
        widget=forms.TextInput(attrs={"class": "form-control", "autocomplete": "username"}),
    )
    first_name = forms.CharField(
        label=gettext_lazy("First name"),
        max_length=150,
        required=False,
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )
    last_name = forms.CharField(
        label=gettext_lazy("Last name"),
        max_length=150,
        required=False,
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )
    password = forms.CharField(
        label=gettext_lazy("Password"),
        widget=forms.PasswordInput(attrs={"class": "form-control", "autocomplete": "new-password"}),
    )

    def clean_username(self) -> str:
        username = self.cleaned_data["username"].strip()
        if User.objects.filter(username__iexact=username).exists():
            raise ValidationError(_("This username is taken."), code="username_taken")
        return username

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("password"):
            try:
                validate_password(cleaned["password"], User(username=cleaned.get("username", "")))
            except ValidationError as error:
                self.add_error("password", error)
        return cleaned


class TeamView(SupplierRequiredMixin, View):
    """Supplier admins only: the supplier's users and open invitations, and the invite form."""

    read_roles = ADMIN_ROLES
    write_roles = ADMIN_ROLES

    def render_page(self, request: HttpRequest, form: InviteForm, status: int = 200) -> HttpResponse:
        supplier_id = self.membership.supplier_id
        members = (
            SupplierMembership.objects.filter(supplier_id=supplier_id)
            .select_related("user")
            .order_by("user__username")
        )
        invitations = Invitation.objects.filter(
            supplier_id=supplier_id, accepted_at__isnull=True, revoked_at__isnull=True
        ).order_by("-id")[:50]
        context = {
            "members": members,
            "invitations": invitations,
            "form": form,
            "roles": SupplierMembership.Role.choices,
        }
        return render(request, "extranet/team.html", context, status=status)

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.render_page(request, InviteForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        form = InviteForm(request.POST)
        if form.is_valid():
            try:
                invitation_send(
                    admin=self.membership,
                    email=form.cleaned_data["email"],
                    role=form.cleaned_data["role"],
                    request=request,
                )
            except TeamError as error:
                form.add_error("email", error.message)
            else:
                messages.success(
                    request, _("Invitation sent to %(email)s.") % {"email": form.cleaned_data["email"]}
                )
                return HttpResponseRedirect(reverse("extranet:team"))
        return self.render_page(request, form, status=400)


class MemberView(SupplierRequiredMixin, View):
    """POST a new role (``role=``) or a removal (``remove=1``) of a colleague; another supplier's user is 404."""

    read_roles = ADMIN_ROLES
    write_roles = ADMIN_ROLES
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        member = (
            SupplierMembership.objects.select_related("user")
            .filter(pk=pk, supplier_id=self.membership.supplier_id)
            .first()
        )
        if member is None:
            raise refuse_out_of_scope(request, SupplierMembership, pk, self.membership.supplier_id)
        try:
            if request.POST.get("remove"):
                member_remove(admin=self.membership, member=member, request=request)
                messages.success(request, _("%(user)s was removed.") % {"user": member.user.get_username()})
            else:
                form = RoleForm(request.POST)
                if not form.is_valid():
                    return HttpResponse(_("Choose a role."), status=400)
                member_role_change(
                    admin=self.membership, member=member, role=form.cleaned_data["role"], request=request
                )
                messages.success(
                    request, _("%(user)s's role was changed.") % {"user": member.user.get_username()}
                )
        except TeamError as error:
            return HttpResponse(error.message, status=409)
        return HttpResponseRedirect(reverse("extranet:team"))


class InvitationAcceptView(View):
    """The link of an invitation: choose a username and password, and arrive signed in."""

    def get(self, request: HttpRequest, token: str) -> HttpResponse:
        invitation = invitation_from_token(token)
        if invitation is None:
            return render(request, "extranet/invitation_invalid.html", status=404)
        return render(
            request, "extranet/invitation_accept.html", {"form": AcceptForm(), "invitation": invitation}
        )

    def post(self, request: HttpRequest, token: str) -> HttpResponse:
        invitation = invitation_from_token(token)
        if invitation is None:
            return render(request, "extranet/invitation_invalid.html", status=404)
        form = AcceptForm(request.POST)
        if form.is_valid():
            try:
                user = invitation_accept(
                    invitation=invitation,
                    username=form.cleaned_data["username"],
                    password=form.cleaned_data["password"],
                    first_name=form.cleaned_data["first_name"],
                    last_name=form.cleaned_data["last_name"],
                )
            except TeamError:
                return render(request, "extranet/invitation_invalid.html", status=404)
            login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])
            return HttpResponseRedirect(reverse("extranet:dashboard"))
        return render(
            request, "extranet/invitation_accept.html", {"form": form, "invitation": invitation}, status=400
        )
