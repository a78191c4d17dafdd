"""A Korean-speaking service rep compares two customers: personal fields are masked until a click
reveals one, and the click is written to the access log (issue 7)."""

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect
from pytest_django.live_server_helper import LiveServer

from crm.models import User
from crm.roles import Role
from customers.privacy.models import AccessRecord
from tests.browser.test_staff_login import DESKTOP, sign_in
from tests.factories import CustomerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_a_rep_reveals_a_masked_phone_with_a_logged_click(
    live_server: LiveServer,
    new_context: Callable[..., BrowserContext],
    screenshot: Callable[[Page, str], Path],
    user_with_role: Callable[..., User],
) -> None:
    rep = user_with_role(Role.SERVICE_REP, first_name="김민지")
    first = CustomerFactory(
        name="이서준",
        email="seojun.lee@example.kr",
        phone="010-2345-6789",
        birth_date=dt.date(1988, 3, 9),
        address="서울특별시 강남구 테헤란로 123",
    )
    second = CustomerFactory(name="이서준", email="sj.lee@example.kr", phone="010-2345-6789")
    page = new_context(locale="ko-KR", viewport=DESKTOP).new_page()
    sign_in(page, live_server, rep)

    page.goto(f"{live_server.url}/customers/merges/new/?first={first.pk}&second={second.pk}")
    card = page.get_by_test_id("merge-candidate").first
    expect(card).to_contain_text("s***@example.kr")
    expect(card).to_contain_text("010-****-6789")
    expect(card).to_contain_text("서울특별시 강남구 ***")
    expect(card).not_to_contain_text("seojun.lee@example.kr")
    screenshot(page, "privacy-masked-ko")

    before = AccessRecord.objects.filter(route="POST customers:personal_reveal").count()
    card.get_by_test_id("reveal-phone").click()
    expect(card).to_contain_text("010-2345-6789")
    expect(card).to_contain_text("s***@example.kr")  # only the clicked field
    screenshot(page, "privacy-revealed-ko")
    record = AccessRecord.objects.filter(route="POST customers:personal_reveal").order_by("-id").first()
    assert AccessRecord.objects.filter(route="POST customers:personal_reveal").count() == before + 1
    assert record is not None and (record.username, record.customer_ids) == (rep.username, [first.pk])
