"""Issue 6: a marketer builds a segment in a real browser, in Korean: adds a condition, sees the live
count and the sentence change, saves, and lands on the segment with its members."""

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import BrowserContext, Page, expect
from pytest_django.live_server_helper import LiveServer

from campaigns.models import Segment
from crm.models import User
from crm.roles import Role
from tests.factories import PASSWORD, CustomerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_marketer_builds_a_segment_with_a_live_count(
    live_server: LiveServer,
    new_context: Callable[..., BrowserContext],
    screenshot: Callable[[Page, str], Path],
    user_with_role: Callable[..., User],
) -> None:
    today = timezone.localdate()
    for years in (25, 35, 45):
        CustomerFactory(birth_date=today - dt.timedelta(days=365 * years + 30), region="서울")
    marketer = user_with_role(Role.MARKETER)
    page = new_context(locale="ko-KR", viewport={"width": 1280, "height": 900}).new_page()

    page.goto(f"{live_server.url}/accounts/login/?next=/segments/new/")
    page.get_by_label("사용자 이름").fill(marketer.username)
    page.get_by_label("비밀번호").fill(PASSWORD)
    page.get_by_role("button", name="로그인", exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/segments/new/")

    page.get_by_label("이름").first.fill("30대 이상 서울 고객")
    page.get_by_test_id("add-condition").click()
    condition = page.get_by_test_id("condition")
    expect(condition).to_have_count(1)
    expect(page.get_by_test_id("preview-invalid")).to_be_visible()  # no value yet

    value = condition.get_by_label("값")
    value.fill("30")
    value.press("Tab")  # the change event re-draws the builder with the count
    expect(page.get_by_test_id("preview-count")).to_have_text("2")
    expect(page.get_by_test_id("builder-sentence")).to_contain_text("나이: 30 이상")

    value = page.get_by_test_id("condition").get_by_label("값")
    value.fill("40")
    value.press("Tab")
    expect(page.get_by_test_id("preview-count")).to_have_text("1")
    screenshot(page, "segment-builder-ko")

    page.get_by_test_id("save").click()
    expect(page).to_have_url(re.compile(r"/segments/\d+/$"))
    expect(page.get_by_test_id("member-count")).to_have_text("1")
    segment = Segment.objects.get(name="30대 이상 서울 고객")
    assert segment.rule == {"op": "and", "conditions": [{"field": "age", "operator": "gte", "value": 40}]}
    screenshot(page, "segment-detail-ko")
