"""A service rep finds a customer by a Korean name and works the live timeline in a real browser (issue 4)."""

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import BrowserContext, Page, expect
from pytest_django.live_server_helper import LiveServer

from crm.models import User
from crm.roles import Role
from customers.ingest import events_ingest
from customers.models import Interaction
from tests.browser.conftest import SCREENSHOTS
from tests.factories import (
    PASSWORD,
    ConsentFactory,
    ContractFactory,
    CustomerAnalyticsFactory,
    CustomerFactory,
    CustomerIdentityFactory,
    InteractionFactory,
    PurchaseLineFactory,
    SourceSystemFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

DESKTOP = {"width": 1366, "height": 900}


def seed_customer() -> tuple[int, int]:
    """김민지 with 64 interactions over a month (more than one page), and a namesake-free neighbour."""
    pos = SourceSystemFactory(code="pos", name="매장 POS", trust_phone=True)
    customer = CustomerFactory(
        name="김민지",
        email="minji.kim@example.kr",
        birth_date=dt.date(1991, 3, 14),
        gender="female",
        region="서울",
    )
    CustomerIdentityFactory(customer=customer, source_system=pos, external_id="C-991")
    CustomerAnalyticsFactory(
        customer=customer, lifetime_value=1_284_000, rfm_group="loyal", churn_risk="0.150", last_nps=9
    )
    ConsentFactory(customer=customer, channel="email", granted=True)
    ConsentFactory(customer=customer, channel="sms", granted=False)
    ContractFactory(customer=customer, name="다이렉트 자동차보험")
    CustomerFactory(name="이서준")
    now = timezone.now()
    kinds = [
        ("web_visit", "web", "웹 방문: 러닝화"),
        ("service_call", "phone", "배송 문의"),
        ("email", "email", "주간 뉴스레터"),
    ]
    for n in range(60):
        kind, channel, summary = kinds[n % 3]
        InteractionFactory(
            customer=customer,
            source_system=pos,
            kind=kind,
            channel=channel,
            summary=summary,
            occurred_at=now - dt.timedelta(hours=5 + n * 11),
        )
    for n in range(4):
        PurchaseLineFactory(
            interaction__customer=customer,
            interaction__source_system=pos,
            interaction__summary="러닝화 구매",
            interaction__occurred_at=now - dt.timedelta(hours=3 + n * 50),
            product__name="뉴발란스 1080",
        )
    return customer.pk, 64


def sign_in(page: Page, live_server: LiveServer, user: User) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("사용자 이름").fill(user.username)
    page.get_by_label("비밀번호").fill(PASSWORD)
    page.get_by_role("button", name="로그인", exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/")


def test_a_rep_finds_a_customer_and_works_the_live_timeline(
    live_server: LiveServer,
    new_context: Callable[..., BrowserContext],
    screenshot: Callable[[Page, str], Path],
    user_with_role: Callable[..., User],
) -> None:
    customer_id, total = seed_customer()
    rep = user_with_role(Role.SERVICE_REP, first_name="박상담")
    page = new_context(locale="ko-KR", viewport=DESKTOP).new_page()
    sign_in(page, live_server, rep)

    # Search as you type, from the navigation.
    page.get_by_role("link", name="고객", exact=True).first.click()
    page.get_by_test_id("customer-search").press_sequentially("김민", delay=60)
    result = page.get_by_test_id("search-result")
    expect(result).to_have_count(1)
    expect(result).to_contain_text("김민지")
    screenshot(page, "customer-search-ko")
    result.click()
    expect(page).to_have_url(f"{live_server.url}/customers/{customer_id}/")

    # The profile header and its panels.
    expect(page.get_by_role("heading", name="김민지")).to_be_visible()
    expect(page.get_by_test_id("customer-analytics")).to_contain_text("1,284,000")
    expect(page.get_by_test_id("customer-identities")).to_contain_text("C-991")
    expect(page.get_by_test_id("customer-contracts")).to_contain_text("다이렉트 자동차보험")

    items = page.get_by_test_id("timeline-item")
    expect(items).to_have_count(50)

    # Filter the timeline, then clear the filter.
    page.locator("#filter-kind").select_option("purchase")
    expect(items).to_have_count(4)
    expect(page).to_have_url(re.compile(r"kind=purchase"))
    items.first.locator("summary").click()
    expect(items.first.get_by_test_id("timeline-details")).to_contain_text("뉴발란스 1080")
    page.locator("#filter-kind").select_option("")
    expect(items).to_have_count(50)

    # Scroll to the end: the rest loads, each item once.
    page.get_by_test_id("timeline-more").scroll_into_view_if_needed()
    expect(items).to_have_count(total)
    ids = items.evaluate_all("nodes => nodes.map(n => n.dataset.id)")
    assert len(set(ids)) == total

    # An event ingested elsewhere appears without a reload.
    ingested = events_ingest(
        events=[
            {
                "source": "pos",
                "external_id": "T-LIVE-1",
                "customer": {"source": "pos", "id": "C-991"},
                "kind": "payment",
                "channel": "store",
                "occurred_at": timezone.now().isoformat(),
                "amount": "59000",
                "currency": "KRW",
                "summary": "강남점 결제",
            }
        ]
    )
    assert ingested.results[0].status == "created"
    page.evaluate("window.scrollTo(0, 0)")
    live = page.locator('[data-testid="timeline-item"]', has_text="강남점 결제")
    expect(live).to_be_visible(timeout=3000)
    expect(items).to_have_count(total + 1)

    # A call logged from the page joins the timeline at once.
    page.locator("#log-form textarea").fill("반품 절차 안내, 내일 다시 통화")
    page.locator("#log-form").get_by_role("button", name="기록").click()
    expect(page.locator('[data-testid="timeline-item"]', has_text="반품 절차 안내")).to_be_visible(
        timeout=3000
    )
    expect(items).to_have_count(total + 2)
    assert (
        Interaction.objects.filter(
            customer_id=customer_id, kind="service_call", source_system__code="crm"
        ).count()
        == 1
    )
    assert (
        ids == items.evaluate_all("nodes => nodes.map(n => n.dataset.id)")[2:]
    )  # new ones on top, the rest kept

    page.evaluate("window.scrollTo(0, 0)")
    page.locator('[data-testid="timeline-item"][data-kind="purchase"]').first.locator("summary").click()
    # The whole page, and what the rep sees first.
    screenshot(page, "customer-page-full-ko")
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SCREENSHOTS / "customer-page-ko.png"))
