"""A supplier's team (extranet/team.py, extranet/views/team.py), issue 5 item 2: invitations, roles, removal."""

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token

from crm.models import User
from extranet.models import AuditEvent, Invitation, SupplierMembership
from tests.extranet.conftest import World

pytestmark = pytest.mark.django_db


def invite(
    world: World, capture: Callable[..., Any], email: str = "minji@brand.example", role: str = "member"
) -> str:
    client = world.client("a_admin")
    mail.outbox.clear()
    with capture(execute=True):
        response = client.post("/extranet/team/", {"email": email, "role": role})
    assert response.status_code == 302
    (message,) = mail.outbox
    assert message.to == [email]
    found = re.search(r"http://testserver(/extranet/invitations/\S+/)", message.body)
    assert found is not None, message.body
    return found[1]


def test_an_invited_colleague_joins_once(
    world: World, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    link = invite(world, django_capture_on_commit_callbacks, role="read_only")
    newcomer = Client()

    assert newcomer.get(link).status_code == 200
    response = newcomer.post(
        link, {"username": "minji", "first_name": "민지", "password": "a-long-enough-passphrase"}
    )
    assert response.status_code == 302 and response["Location"] == "/extranet/"
    assert newcomer.get("/extranet/").status_code == 200

    user = User.objects.get(username="minji")
    membership = SupplierMembership.objects.get(user=user)
    assert (membership.supplier, membership.role) == (world.supplier_a, "read_only")
    assert user.has_perm("extranet.access_extranet") and not user.has_perm("extranet.propose_orders")
    # Single use: the same link no longer works.
    assert Client().get(link).status_code == 404
    assert (
        AuditEvent.objects.filter(action=AuditEvent.Action.INVITATION, actor=world.users["a_admin"]).count()
        == 1
    )


def test_an_expired_or_forged_link_does_not_work(
    world: World, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    link = invite(world, django_capture_on_commit_callbacks)
    assert Client().get(link[:-3] + "xx/").status_code == 404

    Invitation.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    response = Client().post(link, {"username": "late", "password": "a-long-enough-passphrase"})
    assert response.status_code == 404
    assert not User.objects.filter(username="late").exists()


def test_an_email_with_an_account_cannot_be_invited(world: World) -> None:
    response = world.client("a_admin").post(
        "/extranet/team/", {"email": world.users["rep"].email, "role": "member"}
    )

    assert response.status_code == 400
    assert not Invitation.objects.exists()


def test_changing_a_role_changes_the_permissions_and_is_audited(world: World) -> None:
    member = SupplierMembership.objects.get(user=world.users["a_member"])

    response = world.client("a_admin").post(f"/extranet/team/{member.pk}/", {"role": "read_only"})

    assert response.status_code == 302
    member.refresh_from_db()
    assert member.role == "read_only"
    refreshed = User.objects.get(pk=world.users["a_member"].pk)
    assert not refreshed.has_perm("extranet.propose_orders")
    assert AuditEvent.objects.filter(action=AuditEvent.Action.ROLE_CHANGE).count() == 1


def test_an_admin_cannot_demote_or_remove_themselves(world: World) -> None:
    own = SupplierMembership.objects.get(user=world.users["a_admin"])
    client = world.client("a_admin")

    assert client.post(f"/extranet/team/{own.pk}/", {"role": "member"}).status_code == 409
    assert client.post(f"/extranet/team/{own.pk}/", {"remove": "1"}).status_code == 409
    own.refresh_from_db()
    assert own.role == "admin"


def test_a_removed_users_session_and_token_stop_at_once(world: World) -> None:
    member = world.users["a_member"]
    session = world.client("a_member")
    token = Token.objects.create(user=member)
    api = Client(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert session.get("/extranet/").status_code == 200
    assert api.get("/api/v1/extranet/products/").status_code == 200

    membership = SupplierMembership.objects.get(user=member)
    assert (
        world.client("a_admin").post(f"/extranet/team/{membership.pk}/", {"remove": "1"}).status_code == 302
    )

    assert session.get("/extranet/").status_code == 302  # signed out: back to the login
    assert api.get("/api/v1/extranet/products/").status_code == 401
    assert not Token.objects.filter(user=member).exists()
    assert AuditEvent.objects.filter(action=AuditEvent.Action.USER_REMOVED).count() == 1
    login = Client().post(
        "/extranet/login/", {"username": member.username, "password": "correct-horse-battery"}
    )
    assert login.status_code == 200  # the form again: inactive accounts cannot sign in


def test_membership_alone_removed_locks_out_at_once(world: World) -> None:
    """Even without the deactivation (e.g. the admin deleted the membership), the next request is refused."""
    session = world.client("a_member")
    SupplierMembership.objects.filter(user=world.users["a_member"]).delete()

    assert session.get("/extranet/").status_code == 403
    assert session.get("/api/v1/extranet/products/").status_code == 403
