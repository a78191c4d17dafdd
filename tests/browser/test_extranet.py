"""Issue 5 end to end in headless Chromium, in Korean: a supplier reads its dashboard with charts,
drafts and submits a proposed order; an assigned buyer approves it in the staff UI; the supplier sees it
approved."""

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import BrowserContext, Page, expect
from pytest_django.live_server_helper import LiveServer

from crm.models import User
from crm.roles import Role
from extranet.models import ProposedOrder, SupplierMembership
from extranet.rollup import sales_rollup_fold
from extranet.services import buyer_assign
from tests.factories import (
    PASSWORD,
    InventoryLevelFactory,
    LocationFactory,
    ProductFactory,
    PurchaseLineFactory,
    SupplierFactory,
    SupplierMembershipFactory,
    UserFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

DESKTOP = {"width": 1280, "height": 900}


def seed() -> tuple[User, User]:
    supplier = SupplierFactory(name="뉴발란스 코리아", code="nb-kr")
    store = LocationFactory(name="강남점")
    products = [ProductFactory(supplier=supplier, sku=f"NB-{n}", name=f"러닝화 {n}") for n in range(1, 4)]
    for n, product in enumerate(products):
        InventoryLevelFactory(product=product, location=store, on_hand=5 + n * 20)
        for days_ago in range(0, 27, 3):
            PurchaseLineFactory(
                product=product,
                quantity=1 + (days_ago + n) % 4,
                unit_price=Decimal("129000"),
                unit_cost=Decimal("70000"),
                interaction__occurred_at=timezone.now() - dt.timedelta(days=days_ago, hours=2),
            )
    sales_rollup_fold(lag=dt.timedelta(0))
    supplier_user = UserFactory(role=Role.SUPPLIER_MEMBER, first_name="동현", last_name="이")
    SupplierMembershipFactory(user=supplier_user, supplier=supplier, role=SupplierMembership.Role.MEMBER)
    buyer = UserFactory(role=Role.BUYER, first_name="민호")
    buyer_assign(user=buyer, supplier_id=supplier.pk)
    return supplier_user, buyer


def test_supplier_proposes_buyer_approves_in_korean(
    live_server: LiveServer,
    new_context: Callable[..., BrowserContext],
    screenshot: Callable[[Page, str], Path],
) -> None:
    supplier_user, buyer = seed()
    page = new_context(locale="ko-KR", viewport=DESKTOP).new_page()

    # The supplier signs in at the extranet's own login page.
    page.goto(f"{live_server.url}/extranet/")
    expect(page).to_have_url(re.compile(r"/extranet/login/\?next=/extranet/$"))
    expect(page.get_by_role("heading", name="공급사 로그인")).to_be_visible()
    page.get_by_label("사용자 이름").fill(supplier_user.username)
    page.get_by_label("비밀번호").fill(PASSWORD)
    page.get_by_role("button", name="로그인", exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/extranet/")

    # The dashboard: figures and a chart with bars.
    expect(page.get_by_role("heading", name="뉴발란스 코리아: 개요")).to_be_visible()
    expect(page.get_by_test_id("revenue-chart").locator("svg rect").first).to_be_visible()
    expect(page.get_by_test_id("kpi-revenue")).not_to_have_text("0")
    screenshot(page, "extranet-dashboard-ko")
    page.get_by_label("엑스트라넷 메뉴").get_by_role("link", name="매출").click()
    expect(page.get_by_role("heading", name="잘 팔리는 상품")).to_be_visible()
    screenshot(page, "extranet-sales-ko")

    # A draft from the own catalog, then submitted.
    page.get_by_label("엑스트라넷 메뉴").get_by_role("link", name="발주 제안").click()
    page.get_by_role("link", name="새 발주 제안").click()
    page.get_by_label("희망 납기일").fill((timezone.localdate() + dt.timedelta(days=20)).isoformat())
    page.get_by_label("품목").fill("NB-1, 24\nNB-2, 12")
    page.get_by_label("메모").fill("겨울 시즌 보충")
    page.get_by_role("button", name="초안 저장").click()
    expect(page.get_by_test_id("order-status")).to_have_text("초안")
    page.get_by_role("button", name="제출").click()
    expect(page.get_by_test_id("order-status")).to_have_text("제출됨")
    order_url = page.url
    order = ProposedOrder.objects.get()
    assert order.lines.count() == 2

    # The buyer approves it in the staff UI's queue.
    staff = new_context(locale="ko-KR", viewport=DESKTOP).new_page()
    staff.goto(f"{live_server.url}/buying/orders/")
    staff.get_by_label("사용자 이름").fill(buyer.username)
    staff.get_by_label("비밀번호").fill(PASSWORD)
    staff.get_by_role("button", name="로그인", exact=True).click()
    expect(staff).to_have_url(f"{live_server.url}/buying/orders/")
    staff.get_by_role("link", name=f"PO-{order.pk}").click()
    staff.get_by_label("의견").fill("좋습니다.")
    screenshot(staff, "buying-order-ko")
    staff.get_by_role("button", name="승인").click()
    expect(staff.get_by_test_id("order-status")).to_have_text("승인됨")

    # The supplier sees it approved, with the buyer's comment in the history.
    page.goto(order_url)
    expect(page.get_by_test_id("order-status")).to_have_text("승인됨")
    expect(page.get_by_text("좋습니다.")).to_be_visible()
    screenshot(page, "extranet-order-approved-ko")
