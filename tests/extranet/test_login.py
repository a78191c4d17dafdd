"""The extranet's own login (extranet/views/auth.py, extranet/security.py), issue 5 items 1 and 7."""

import pytest
from django.test import Client
from django.urls import reverse

from crm.models import LoginAttempt
from extranet.models import AuditEvent
from tests.extranet.conftest import World
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def sign_in(client: Client, username: str, password: str = PASSWORD) -> int:
    return client.post(reverse("extranet:login"), {"username": username, "password": password}).status_code


@pytest.mark.parametrize("persona", ["a_admin", "a_member", "a_ro", "b_admin"])
def test_supplier_users_sign_in_to_the_extranet(world: World, persona: str) -> None:
    client = Client()
    assert sign_in(client, world.users[persona].username) == 302
    assert client.get("/extranet/").status_code == 200


@pytest.mark.parametrize("persona", ["rep", "buyer_a", "admin"])
def test_staff_are_refused_at_the_extranet_login(world: World, persona: str) -> None:
    client = Client()
    response = client.post(
        reverse("extranet:login"), {"username": world.users[persona].username, "password": PASSWORD}
    )

    assert response.status_code == 200
    assert "cannot use the supplier extranet" in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("persona", ["a_admin", "b_admin"])
def test_supplier_users_are_refused_by_the_staff_ui_admin_and_staff_api(world: World, persona: str) -> None:
    staff_login = Client().post(
        "/accounts/login/", {"username": world.users[persona].username, "password": PASSWORD}
    )
    assert staff_login.status_code == 200  # refused: the form again

    client = world.client(persona)
    assert client.get("/").status_code == 403
    assert client.get("/buying/orders/").status_code == 403
    assert client.get("/admin/").status_code == 302  # the admin's own login
    assert client.get("/api/v1/customers/").status_code == 403


def test_next_only_leads_into_the_extranet(world: World) -> None:
    client = Client()
    response = client.post(
        reverse("extranet:login") + "?next=/customers/merges/",
        {"username": world.users["a_admin"].username, "password": PASSWORD, "next": "/customers/merges/"},
    )
    assert response["Location"] == "/extranet/"


def test_repeated_failures_lock_the_username_out(world: World, settings: object) -> None:
    username = world.users["a_admin"].username
    client = Client()
    for _ in range(5):
        assert sign_in(client, username, "wrong-password") == 200

    # Locked: even the right password is refused now, with a message that says why.
    response = client.post(reverse("extranet:login"), {"username": username, "password": PASSWORD})
    assert response.status_code == 200
    assert "Too many failed sign-ins" in response.content.decode()
    assert AuditEvent.objects.filter(action=AuditEvent.Action.LOGIN_LOCKED).count() == 1

    # Lifting the lockout (an administrator deletes the row in the admin) lets the user in.
    LoginAttempt.objects.all().delete()
    assert sign_in(client, username) == 302


def test_a_success_clears_the_failures(world: World) -> None:
    username = world.users["a_admin"].username
    client = Client()
    for _ in range(3):
        sign_in(client, username, "wrong-password")
    assert sign_in(client, username) == 302
    assert not LoginAttempt.objects.exists()
