"""Lockout on every login page and the staff second factor (crm/security.py, crm/two_factor.py), issue 5
item 7: "login throttling and lockout, a second factor that can be required for supplier admins and staff".
"""

import pytest
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from pytest_django.fixtures import SettingsWrapper
from rest_framework.authtoken.models import Token

from crm.models import LoginAttempt, User
from crm.roles import Role
from extranet.models import AuditEvent
from tests.factories import PASSWORD, SupplierFactory, SupplierMembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

VERIFY = "/accounts/two-factor/verify/"
SETUP = "/accounts/two-factor/"


def code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def wrong(device: TOTPDevice) -> str:
    return "000000" if code(device) != "000000" else "111111"


def unthrottle(device: TOTPDevice) -> None:
    """django-otp slows down guessing after a wrong code; the test moves past the delay."""
    TOTPDevice.objects.filter(pk=device.pk).update(
        throttling_failure_count=0, throttling_failure_timestamp=None
    )


def staff(role: Role = Role.SERVICE_REP, **kwargs: object) -> User:
    return UserFactory(role=role, **kwargs)


def device_for(user: User) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


def sign_in(client: Client, username: str, password: str = PASSWORD, url: str = "/accounts/login/") -> int:
    return client.post(url, {"username": username, "password": password}).status_code


# --- Lockout -----------------------------------------------------------------------------------------


def test_repeated_failures_lock_a_staff_username_out_even_with_the_right_password() -> None:
    user = staff()
    client = Client()
    for _ in range(5):
        assert sign_in(client, user.username, "wrong-password") == 200

    response = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 200
    assert "Too many failed sign-ins" in response.content.decode()
    assert "_auth_user_id" not in client.session
    event = AuditEvent.objects.get(action=AuditEvent.Action.LOGIN_LOCKED)
    assert event.details == {"username": user.username, "ip": "127.0.0.1", "failures": 5, "login": "staff"}

    # An administrator lifts it by deleting the row (the admin lists them); then the password works.
    LoginAttempt.objects.all().delete()
    assert sign_in(client, user.username) == 302


def test_the_admin_login_staff_login_and_extranet_login_share_one_counter() -> None:
    user = staff(Role.ADMINISTRATOR, is_staff=True)
    client = Client()
    for _ in range(2):
        assert sign_in(client, user.username, "wrong", url="/admin/login/") == 200
    for _ in range(2):
        assert sign_in(client, user.username, "wrong") == 200
    assert sign_in(client, user.username, "wrong", url="/extranet/login/") == 200

    # Five failures over three pages: locked on all of them, the admin's included.
    response = client.post("/admin/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 200 and "Too many failed sign-ins" in response.content.decode()
    assert sign_in(client, user.username) == 200
    assert AuditEvent.objects.get(action=AuditEvent.Action.LOGIN_LOCKED).details["login"] == "extranet"


def test_a_lockout_is_per_address_and_case_blind_and_a_success_clears_the_failures() -> None:
    user = staff()
    for _ in range(5):
        sign_in(Client(REMOTE_ADDR="10.0.0.1"), user.username.upper(), "wrong")
    assert sign_in(Client(REMOTE_ADDR="10.0.0.1"), user.username) == 200  # locked from there
    assert sign_in(Client(REMOTE_ADDR="10.0.0.2"), user.username) == 302  # not from elsewhere

    other = staff()
    for _ in range(3):
        sign_in(Client(), other.username, "wrong")
    assert sign_in(Client(), other.username) == 302
    assert not LoginAttempt.objects.filter(username=other.username).exists()


def test_failures_older_than_the_window_are_forgotten(settings: SettingsWrapper) -> None:
    settings.LOGIN_MAX_FAILURES = 2
    user = staff()
    sign_in(Client(), user.username, "wrong")
    LoginAttempt.objects.update(last_failure_at="2000-01-01T00:00:00Z")
    sign_in(Client(), user.username, "wrong")

    assert LoginAttempt.objects.get().failures == 1
    assert sign_in(Client(), user.username) == 302


# --- The staff second factor ------------------------------------------------------------------------


def test_a_staff_user_with_a_device_enters_a_code_before_any_staff_page_the_admin_or_the_api() -> None:
    user = staff(Role.ADMINISTRATOR, is_staff=True)
    device = device_for(user)
    client = Client()
    assert sign_in(client, user.username) == 302

    response = client.get("/customers/?q=kim")
    assert response.status_code == 302
    assert response["Location"] == f"{VERIFY}?next=/customers/%3Fq%3Dkim"
    assert client.get("/admin/")["Location"].startswith(VERIFY)
    api = client.get("/api/v1/customers/")
    assert api.status_code == 403 and "authenticator app" in api.json()["detail"]
    assert client.get(VERIFY).status_code == 200

    # A wrong code keeps every page closed; the right one opens them and goes on to ``next``.
    assert client.post(VERIFY, {"token": wrong(device), "next": "/customers/"}).status_code == 400
    assert client.get("/customers/").status_code == 302
    unthrottle(device)
    response = client.post(VERIFY, {"token": code(device), "next": "/customers/?q=kim"})
    assert response.status_code == 302 and response["Location"] == "/customers/?q=kim"
    assert client.get("/customers/").status_code == 200
    assert client.get("/admin/").status_code == 200
    assert client.get("/api/v1/customers/").status_code == 200


def test_the_code_prompt_only_leads_back_into_this_site() -> None:
    user = staff()
    device = device_for(user)
    client = Client()
    sign_in(client, user.username)
    response = client.post(VERIFY, {"token": code(device), "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_signing_out_and_switching_language_need_no_code() -> None:
    user = staff()
    device_for(user)
    client = Client()
    sign_in(client, user.username)
    assert client.post("/accounts/language/", {"language": "ko", "next": "/"}).status_code == 302
    assert client.post("/accounts/logout/").status_code == 302
    assert "_auth_user_id" not in client.session


def test_api_tokens_are_not_asked_for_a_code() -> None:
    user = staff()
    device_for(user)
    token = Token.objects.create(user=user)
    response = Client().get("/api/v1/customers/", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200


def test_without_a_device_and_without_the_requirement_nothing_is_asked() -> None:
    client = Client()
    sign_in(client, staff().username)
    assert client.get("/customers/").status_code == 200


def test_when_required_staff_without_a_device_set_one_up_before_anything_else(
    settings: SettingsWrapper,
) -> None:
    settings.STAFF_TWO_FACTOR_REQUIRED = True
    user = staff(Role.ADMINISTRATOR, is_staff=True)
    client = Client()
    sign_in(client, user.username)

    assert client.get("/customers/")["Location"] == SETUP
    assert client.get("/admin/")["Location"] == SETUP
    page = client.get(SETUP)
    assert page.status_code == 200
    html = page.content.decode()
    assert "requires two-factor sign-in for staff" in html and 'data-testid="totp-secret"' in html
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    assert f"secret={page.context['secret']}" in device.config_url

    assert client.post(SETUP, {"token": wrong(device)}).status_code == 400
    assert client.get("/customers/")["Location"] == SETUP
    unthrottle(device)
    assert client.post(SETUP, {"token": code(device)})["Location"] == "/"
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/customers/").status_code == 200  # confirming verified this session
    assert 'data-testid="two-factor-on"' in client.get(SETUP).content.decode()

    # The next session is asked for a code.
    again = Client()
    sign_in(again, user.username)
    assert again.get("/customers/")["Location"].startswith(VERIFY)


def test_a_second_device_needs_a_session_that_proved_the_first() -> None:
    user = staff()
    device_for(user)
    client = Client()
    sign_in(client, user.username)
    assert client.get(SETUP)["Location"].startswith(VERIFY)
    assert client.post(SETUP, {"token": "123456"})["Location"].startswith(VERIFY)
    assert not TOTPDevice.objects.filter(confirmed=False).exists()


def test_supplier_users_get_no_staff_setup_and_their_extranet_is_unaffected(
    settings: SettingsWrapper,
) -> None:
    settings.STAFF_TWO_FACTOR_REQUIRED = True
    membership = SupplierMembershipFactory(
        supplier=SupplierFactory(), user=UserFactory(role=Role.SUPPLIER_MEMBER)
    )
    user = membership.user
    client = Client()
    assert sign_in(client, user.username, url="/extranet/login/") == 302
    assert client.get("/extranet/").status_code == 200
    assert client.get("/customers/").status_code == 403
    assert client.get(SETUP).status_code == 403


def test_a_supplier_session_that_owes_its_code_is_refused_by_the_api() -> None:
    membership = SupplierMembershipFactory(
        supplier=SupplierFactory(), user=UserFactory(role=Role.SUPPLIER_MEMBER)
    )
    device_for(membership.user)
    client = Client()
    assert sign_in(client, membership.user.username, url="/extranet/login/") == 302
    response = client.get("/api/v1/extranet/products/")
    assert response.status_code == 403 and "authenticator app" in response.json()["detail"]


def test_a_session_from_before_the_device_was_remembered_reads_it_once() -> None:
    user = staff()
    device_for(user)
    client = Client()
    sign_in(client, user.username)
    session = client.session
    del session["crm_second_factor_device"]
    session.save()

    assert client.get("/customers/")["Location"].startswith(VERIFY)
    assert client.session["crm_second_factor_device"] is True


@pytest.mark.parametrize("url", [SETUP, VERIFY])
def test_the_second_factor_pages_send_anonymous_visitors_to_the_login_and_refuse_suppliers(url: str) -> None:
    response = Client().get(url)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")

    membership = SupplierMembershipFactory(
        supplier=SupplierFactory(), user=UserFactory(role=Role.SUPPLIER_MEMBER)
    )
    device_for(membership.user)
    client = Client()
    assert sign_in(client, membership.user.username, url="/extranet/login/") == 302
    assert client.get(url).status_code == 403
    assert client.post(url, {"token": "123456"}).status_code == 403
