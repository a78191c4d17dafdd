"""The timeline's items as customers/templatetags/timeline.py writes them: every value escaped."""

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from crm.roles import Role
from tests.factories import (
    CustomerFactory,
    InteractionFactory,
    ProductFactory,
    PurchaseLineFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

HOSTILE = '<script>alert("x")</script>'


def test_every_value_of_an_item_is_escaped(client: Client) -> None:
    customer = CustomerFactory()
    purchase = InteractionFactory(
        customer=customer,
        kind="purchase",
        channel="store",
        amount=Decimal("129000"),
        currency="KRW",
        summary=f"summary {HOSTILE}",
        external_id=f"ext {HOSTILE}",
        properties={f"key {HOSTILE}": f"value {HOSTILE}", "count": 3},
        nps_score=None,
        occurred_at=timezone.now() - dt.timedelta(hours=1),
    )
    PurchaseLineFactory(
        interaction=purchase, product=ProductFactory(name=f"shoe {HOSTILE}", sku=f"SKU {HOSTILE}")
    )
    InteractionFactory(customer=customer, kind="survey", nps_score=9, summary="")
    client.force_login(UserFactory(role=Role.SERVICE_REP))

    html = client.get(f"/customers/{customer.pk}/").content.decode()

    assert "<script>alert" not in html
    escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"
    for text in ("summary ", "ext ", "key ", "value ", "shoe ", "SKU "):
        assert text + escaped in html, text
    assert "129,000 KRW" in html and "NPS 9" in html
    assert html.count('data-testid="timeline-item"') == 2


def test_the_labels_follow_the_language(client: Client) -> None:
    customer = CustomerFactory()
    PurchaseLineFactory(interaction__customer=customer)
    client.force_login(UserFactory(role=Role.SERVICE_REP, preferred_language="ko"))

    html = client.get(f"/customers/{customer.pk}/").content.decode()

    assert "수량" in html and ">Quantity<" not in html
