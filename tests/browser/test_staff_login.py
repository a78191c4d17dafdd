"""A Korean-speaking service rep signs in to the staff UI in a real browser, on a desktop and on a phone,
and with a required second factor."""

import re
from base64 import b32decode
from collections.abc import Callable
from pathlib import Path

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import BrowserContext, Page, expect
from pytest_django.fixtures import SettingsWrapper
from pytest_django.live_server_helper import LiveServer

from crm.models import User
from crm.roles import Role
from tests.factories import PASSWORD

# The live server needs committed data; serialized_rollback brings back the role groups that the data
# migrations created, which the flush after each transactional test would otherwise remove.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def sign_in(page: Page, live_server: LiveServer, user: User) -> None:
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
    expect(page.get_by_role("heading", name="직원 로그인")).to_be_visible()
    page.get_by_label("사용자 이름").fill(user.username)
    page.get_by_label("비밀번호").fill(PASSWORD)
    page.get_by_role("button", name="로그인", exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/")


def test_service_rep_signs_in_and_works_in_korean(
    live_server: LiveServer,
    new_context: Callable[..., BrowserContext],
    screenshot: Callable[[Page, str], Path],
    user_with_role: Callable[..., User],
) -> None:
    user = user_with_role(Role.SERVICE_REP, first_name="김민지")
    page = new_context(locale="ko-KR", viewport=DESKTOP).new_page()

    page.goto(f"{live_server.url}/accounts/login/")
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    screenshot(page, "staff-login-ko")

    sign_in(page, live_server, user)
    expect(page.get_by_role("heading", name="안녕하세요, 김민지님")).to_be_visible()
    expect(page.get_by_text("상담원", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="홈")).to_be_visible()
    screenshot(page, "staff-home-ko")

    page.get_by_test_id("user-menu").click()
    page.get_by_role("button", name="로그아웃").click()
    expect(page).to_have_url(f"{live_server.url}/accounts/login/")


def test_phone_navbar_collapses_and_opens(
    live_server: LiveServer,
    new_context: Callable[..., BrowserContext],
    screenshot: Callable[[Page, str], Path],
    user_with_role: Callable[..., User],
) -> None:
    user = user_with_role(Role.SERVICE_REP, first_name="김민지")
    page = new_context(
        locale="ko-KR", viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2
    ).new_page()
    sign_in(page, live_server, user)

    home_link = page.get_by_role("link", name="홈")
    toggler = page.get_by_role("button", name="메뉴 열기/닫기")
    expect(home_link).to_be_hidden()
    expect(toggler).to_be_visible()
    screenshot(page, "staff-home-phone-ko")

    toggler.click()
    # Bootstrap animates the menu open ("collapsing"); it is settled once it has the "show" class.
    expect(page.locator("#main-nav")).to_have_class(re.compile(r"\bshow\b"))
    expect(home_link).to_be_visible()
    expect(page.get_by_role("button", name="한국어")).to_be_visible()
    expect(page.get_by_test_id("user-menu")).to_be_visible()
    expect(toggler).to_have_attribute("aria-expanded", "true")
    screenshot(page, "staff-home-phone-nav-open-ko")


def test_staff_set_up_a_required_second_factor_and_sign_in_with_a_code(
    live_server: LiveServer,
    new_context: Callable[..., BrowserContext],
    screenshot: Callable[[Page, str], Path],
    user_with_role: Callable[..., User],
    settings: SettingsWrapper,
) -> None:
    settings.STAFF_TWO_FACTOR_REQUIRED = True
    user = user_with_role(Role.SERVICE_REP, first_name="김민지")
    page = new_context(locale="ko-KR", viewport=DESKTOP).new_page()

    # Signed in with the password, the rep is held on the setup page until an app is set up.
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("사용자 이름").fill(user.username)
    page.get_by_label("비밀번호").fill(PASSWORD)
    page.get_by_role("button", name="로그인", exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/accounts/two-factor/")
    page.goto(f"{live_server.url}/customers/")
    expect(page).to_have_url(f"{live_server.url}/accounts/two-factor/")
    expect(page.get_by_text("조직에서 직원에게 2단계 로그인을 요구합니다")).to_be_visible()
    secret = page.get_by_test_id("totp-secret").inner_text().strip()
    screenshot(page, "staff-two-factor-setup-ko")

    def app() -> str:  # what an authenticator app shows for the key typed into it (RFC 6238 defaults)
        return f"{totp(b32decode(secret)):06d}"

    page.get_by_label("인증 앱의 코드").fill(app())
    page.get_by_role("button", name="켜기").click()
    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_text("계정에 2단계 로그인이 켜졌습니다.")).to_be_visible()

    # A new browser signs in with the password, is asked for a code, and goes on to where it was going.
    other = new_context(locale="ko-KR", viewport=DESKTOP).new_page()
    other.goto(f"{live_server.url}/customers/")
    other.get_by_label("사용자 이름").fill(user.username)
    other.get_by_label("비밀번호").fill(PASSWORD)
    other.get_by_role("button", name="로그인", exact=True).click()
    expect(other).to_have_url(re.compile(r"/accounts/two-factor/verify/\?next=/customers/$"))
    screenshot(other, "staff-two-factor-verify-ko")
    device = TOTPDevice.objects.get(user=user)
    device.last_t = -1  # the setup used this time step's code; an app shows the same one
    device.save(update_fields=["last_t"])
    other.get_by_label("인증 앱의 코드").fill(app())
    other.get_by_role("button", name="계속").click()
    expect(other).to_have_url(f"{live_server.url}/customers/")
