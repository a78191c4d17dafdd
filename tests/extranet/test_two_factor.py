"""The extranet's second factor (extranet/views/two_factor.py, extranet/access.py), issue 5 item 7."""

import pytest
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from pytest_django.fixtures import SettingsWrapper

from tests.extranet.conftest import World
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def unthrottle(device: TOTPDevice) -> None:
    """django-otp slows down guessing after a wrong code; the test moves past the delay."""
    TOTPDevice.objects.filter(pk=device.pk).update(
        throttling_failure_count=0, throttling_failure_timestamp=None
    )


def sign_in(world: World, persona: str) -> Client:
    client = Client()
    response = client.post(
        "/extranet/login/", {"username": world.users[persona].username, "password": PASSWORD}
    )
    assert response.status_code == 302
    return client


def test_setting_up_a_device_and_then_being_asked_for_codes(world: World) -> None:
    client = sign_in(world, "a_member")
    assert client.get("/extranet/").status_code == 200  # no device yet: nothing asked

    assert client.get("/extranet/two-factor/").status_code == 200
    device = TOTPDevice.objects.get(user=world.users["a_member"], confirmed=False)
    assert (
        client.post(
            "/extranet/two-factor/", {"token": "000000" if code(device) != "000000" else "111111"}
        ).status_code
        == 400
    )
    unthrottle(device)
    assert client.post("/extranet/two-factor/", {"token": code(device)}).status_code == 302
    device.refresh_from_db()
    assert device.confirmed

    # A new sign-in must enter a code before any page opens.
    again = sign_in(world, "a_member")
    response = again.get("/extranet/sales/")
    assert response.status_code == 302 and response["Location"].startswith("/extranet/two-factor/verify/")
    assert again.post("/extranet/two-factor/verify/", {"token": "12345x"}).status_code == 400
    assert again.get("/extranet/sales/").status_code == 302
    unthrottle(device)
    device.refresh_from_db()
    device.last_t = -1  # the code above was used by the setup; the verification takes the same step's code
    device.save()
    assert again.post("/extranet/two-factor/verify/", {"token": code(device)}).status_code == 302
    assert again.get("/extranet/sales/").status_code == 200


def test_admins_can_be_required_to_use_a_second_factor(world: World, settings: SettingsWrapper) -> None:
    settings.EXTRANET_TWO_FACTOR_FOR_ADMINS = True

    admin = sign_in(world, "a_admin")
    response = admin.get("/extranet/")
    assert response.status_code == 302 and response["Location"] == "/extranet/two-factor/"
    assert admin.get("/extranet/orders/").status_code == 302
    assert sign_in(world, "a_member").get("/extranet/").status_code == 200  # members are not required
