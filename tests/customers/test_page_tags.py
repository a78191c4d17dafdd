"""The customer page's and search's pieces written by template tags (issue 4: the template engine's
cost per included template): every value from the database escaped, personal fields masked, labels in
the reader's language."""

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from crm.roles import Role
from customers.models import Customer, SourceSystem
from tests.factories import (
    ConsentFactory,
    ContractFactory,
    CustomerAnalyticsFactory,
    CustomerFactory,
    CustomerIdentityFactory,
    InteractionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

HOSTILE = '<script>alert("x")</script>'
ESCAPED = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"


def test_the_header_escapes_and_masks_personal_fields(client: Client) -> None:
    customer = CustomerFactory(
        name=f"Kim {HOSTILE}",
        email="minji<b>@example.kr",
        phone="010-1234-5678",
        address=f"Seoul Gangnam {HOSTILE}",
    )
    client.force_login(UserFactory(role=Role.SERVICE_REP))
    html = client.get(f"/customers/{customer.pk}/").content.decode()
    assert "<script>alert" not in html and "<b>@" not in html
    assert f"Kim {ESCAPED}" in html
    assert (
        '<span class="personal-field" data-field="email"><span class="font-monospace">m***@example.kr</span>'
        in html
    )
    assert "010-****-5678" in html and "Seoul Gangnam ***" in html


def test_the_reveal_button_is_offered_only_to_those_who_may_see_personal_data(client: Client) -> None:
    customer = CustomerFactory(email="minji@example.kr", phone="", birth_date=None)
    client.force_login(UserFactory(role=Role.MARKETER))
    marketer = client.get(f"/customers/{customer.pk}/").content.decode()
    client.force_login(UserFactory(is_superuser=True))
    admin = client.get(f"/customers/{customer.pk}/").content.decode()
    assert 'data-testid="reveal-email"' not in marketer
    assert f'hx-post="/customers/{customer.pk}/reveal/email/"' in admin
    assert 'data-testid="reveal-phone"' not in admin  # an empty field shows a dash, nothing to reveal
    assert '<span class="text-body-secondary">—</span>' in admin


def test_timeline_days_and_filter_options_escape_their_values(client: Client) -> None:
    source = SourceSystem.objects.create(code="hostile", name=f"System {HOSTILE}")
    customer = CustomerFactory()
    InteractionFactory(
        customer=customer, source_system=source, occurred_at=timezone.now() - dt.timedelta(days=1)
    )
    client.force_login(UserFactory(role=Role.SERVICE_REP))
    html = client.get(f"/customers/{customer.pk}/").content.decode()
    assert "<script>alert" not in html
    assert f'<option value="hostile">System {ESCAPED}</option>' in html
    assert html.count('<section class="crm-day"') == 1
    chosen = client.get(f"/customers/{customer.pk}/", {"kind": "note", "channel": "web", "source": "hostile"})
    page = chosen.content.decode()
    assert '<option value="note" selected>Note</option>' in page
    assert '<option value="web" selected>' in page
    assert f'<option value="hostile" selected>System {ESCAPED}</option>' in page


def test_filter_options_follow_the_language(client: Client) -> None:
    customer = CustomerFactory()
    client.force_login(UserFactory(role=Role.SERVICE_REP, preferred_language="ko"))
    korean = client.get(f"/customers/{customer.pk}/").content.decode()
    client.force_login(UserFactory(role=Role.SERVICE_REP))
    english = client.get(f"/customers/{customer.pk}/").content.decode()
    assert '<option value="purchase">Purchase</option>' in english
    assert (
        '<option value="purchase">Purchase</option>' not in korean and '<option value="purchase">' in korean
    )


def test_search_results_escape_mask_and_badge(client: Client) -> None:
    hostile = CustomerFactory(name=f"Kimhostile {HOSTILE}", email="a<b>@example.kr", phone="010-1234-5678")
    CustomerAnalyticsFactory(customer=hostile, rfm_group="loyal")
    survivor = CustomerFactory(name="Kimhostile survivor")
    merged = CustomerFactory(name="Kimhostile merged", status=Customer.Status.MERGED, merged_into=survivor)
    erased = CustomerFactory(name="", email="", phone="", status=Customer.Status.ERASED)
    CustomerIdentityFactory(customer=erased, external_id="GONE-1")
    client.force_login(UserFactory(role=Role.SERVICE_REP))
    html = client.get("/customers/", {"q": "kimhostile"}, HTTP_HX_REQUEST="true").content.decode()
    assert "<script>alert" not in html and "<b>@" not in html
    assert f"Kimhostile {ESCAPED}" in html and "a***@example.kr · 010-****-5678" in html
    assert '<span class="badge rounded-pill text-bg-light border">Loyal</span>' in html
    assert f"Merged into #{survivor.pk}" in html and f'href="/customers/{merged.pk}/"' in html
    assert html.count('data-testid="search-result"') == 3
    gone = client.get("/customers/", {"q": "GONE-1"}, HTTP_HX_REQUEST="true").content.decode()
    assert "(no name)" in gone and "text-bg-dark" in gone and ">?</span>" in gone
    client.force_login(UserFactory(role=Role.SERVICE_REP, preferred_language="ko"))
    korean = client.get("/customers/", {"q": "GONE-1"}, HTTP_HX_REQUEST="true").content.decode()
    assert "(no name)" not in korean


def test_the_log_form_keeps_the_chosen_kind(client: Client) -> None:
    customer = CustomerFactory()
    client.force_login(UserFactory(role=Role.SERVICE_REP))
    page = client.get(f"/customers/{customer.pk}/").content.decode()
    assert 'id="id_kind_0" value="service_call" checked>' in page
    refused = client.post(
        f"/customers/{customer.pk}/timeline/log/", {"kind": "note", "summary": ""}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert 'id="id_kind_1" value="note" checked>' in refused
    assert 'value="service_call" checked>' not in refused


def test_the_language_menu_escapes_the_path_and_marks_the_language(client: Client) -> None:
    client.force_login(UserFactory(role=Role.SERVICE_REP, preferred_language="ko"))
    html = client.get("/customers/", QUERY_STRING='q="><b>x').content.decode()
    assert '"><b>x' not in html
    assert 'name="next" value="/customers/?q=%22%3E%3Cb%3Ex"' in html  # encoded, and escaped
    assert 'class="dropdown-item active" aria-current="true">\n        한국어' in html
    token = client.cookies["csrftoken"].value
    assert 'name="csrfmiddlewaretoken" value="' in html and token


def test_the_cards_escape_their_values_and_speak_korean(client: Client) -> None:
    customer = CustomerFactory(name="김민지")
    source = SourceSystem.objects.create(code="pos", name=f"POS {HOSTILE}")
    CustomerIdentityFactory(customer=customer, source_system=source, external_id=f"id-{HOSTILE}")
    ContractFactory(customer=customer, name=f"Auto {HOSTILE}")
    ConsentFactory(customer=customer, source=f"web {HOSTILE}", granted=False)
    client.force_login(UserFactory(role=Role.SERVICE_REP, username=f"rep{HOSTILE}"))
    html = client.get(f"/customers/{customer.pk}/", HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert "<script>alert" not in html
    assert f'<span class="text-body-secondary">POS {ESCAPED}</span>' in html
    assert f'<code class="text-body">id-{ESCAPED}</code>' in html
    assert f'<span class="fw-semibold">Auto {ESCAPED}</span>' in html
    assert f'title="web {ESCAPED} ' in html
    assert f"rep{ESCAPED}" in html  # the user menu
    for korean in ("계약", "분석", "동의", "거부", "아직 분석이 없습니다"):
        assert korean in html


def test_the_cached_fragments_carry_each_page_its_own_customer_and_token(client: Client) -> None:
    """The filters and the log form are rendered once per language and filled per page: two customers in
    a row each get their own URLs, and the form its request's CSRF token."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory(role=Role.SERVICE_REP))
    first, second = CustomerFactory(), CustomerFactory()
    for customer in (first, second):
        html = client.get(f"/customers/{customer.pk}/").content.decode()
        assert f'<form method="get" action="/customers/{customer.pk}/"' in html
        assert f'hx-post="/customers/{customer.pk}/timeline/log/"' in html
        other = second if customer is first else first
        assert f"/customers/{other.pk}/timeline/log/" not in html
        token = html.split('name="csrfmiddlewaretoken" value="', 2)[2].split('"', 1)[0]
        logged = client.post(
            f"/customers/{customer.pk}/timeline/log/",
            {"kind": "note", "summary": "Called back", "csrfmiddlewaretoken": token},
            HTTP_HX_REQUEST="true",
        )
        assert logged.status_code == 200
        assert customer.interactions.filter(summary="Called back").exists()
