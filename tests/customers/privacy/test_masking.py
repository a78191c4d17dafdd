"""Masking of personal fields (customers/privacy/masking.py): the masks, per role in the API and the pages,
and the reveal click that is logged."""

import datetime as dt

import pytest
from django.test import Client

from crm.roles import Role
from customers.privacy.masking import mask_address, mask_birth_date, mask_email, mask_phone
from tests.customers.privacy.conftest import api_client, head_seq, records_since
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("010-1234-5678", "010-****-5678"),
        ("+821012345678", "+8210****5678"),
        ("02 123 4567", "02 *** 4567"),
        ("1234", "****"),
        ("", ""),
    ],
)
def test_phones_keep_their_first_group_and_last_four_digits(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked


def test_emails_addresses_and_birth_dates_are_masked() -> None:
    assert mask_email("minji.kim@example.kr") == "m***@example.kr"
    assert mask_email("not-an-email") == "***"
    assert mask_address("서울특별시 강남구 테헤란로 123") == "서울특별시 강남구 ***"
    assert mask_birth_date(dt.date(1990, 5, 17)) == "1990-**-**"


PERSONAL = {
    "email": "minji.kim@example.kr",
    "phone": "010-1234-5678",
    "address": "서울특별시 강남구 테헤란로 123",
    "birth_date": dt.date(1990, 5, 17),
}


@pytest.mark.parametrize(
    ("role", "masked"),
    [
        (Role.MARKETER, True),
        (Role.SERVICE_REP, False),
        (Role.ADMINISTRATOR, False),
        (Role.INTEGRATION, False),
    ],
)
def test_the_api_masks_for_roles_without_the_permission(role: Role, masked: bool) -> None:
    customer = CustomerFactory(**PERSONAL, phone_normalized="+821012345678")
    client = api_client(UserFactory(role=role))
    detail = client.get(f"/api/v1/customers/{customer.pk}/").json()
    listed = client.get("/api/v1/customers/").json()["results"][0]
    for body in (detail, listed):
        if masked:
            assert (body["email"], body["phone"], body["phone_normalized"]) == (
                "m***@example.kr",
                "010-****-5678",
                "+8210****5678",
            )
            assert (body["address"], body["birth_date"]) == ("서울특별시 강남구 ***", "1990-**-**")
        else:
            assert (body["email"], body["phone"], body["birth_date"]) == (
                "minji.kim@example.kr",
                "010-1234-5678",
                "1990-05-17",
            )
            assert body["address"] == PERSONAL["address"]
        assert body["name"] == customer.name


def test_a_customer_created_through_the_api_answers_masked_without_the_permission() -> None:
    user = UserFactory(role=Role.MARKETER)
    from django.contrib.auth.models import Permission

    user.user_permissions.add(Permission.objects.get(codename="add_customer"))
    body = (
        api_client(user).post("/api/v1/customers/", {"email": "new.person@example.kr"}, format="json").json()
    )
    assert body["email"] == "n***@example.kr"


def _merge_page(client: Client, first: int, second: int) -> str:
    return client.get("/customers/merges/new/", {"first": first, "second": second}).content.decode()


def test_pages_mask_and_offer_the_reveal_click_only_to_those_allowed(client: Client) -> None:
    first, second = CustomerFactory(**PERSONAL), CustomerFactory()
    rep = UserFactory(role=Role.SERVICE_REP)
    client.force_login(rep)
    page = _merge_page(client, first.pk, second.pk)
    assert "minji.kim@example.kr" not in page and "m***@example.kr" in page
    assert "010-****-5678" in page and "1990-**-**" in page
    assert f"/customers/{first.pk}/reveal/email/" in page

    # A role that may merge but not see personal data: masked, and no reveal button.
    from django.contrib.auth.models import Permission

    merger = UserFactory(role=Role.MARKETER)
    merger.user_permissions.add(Permission.objects.get(codename="merge_customer"))
    client.force_login(merger)
    page = _merge_page(client, first.pk, second.pk)
    assert "m***@example.kr" in page and "reveal" not in page


def test_revealing_a_field_is_a_logged_click(client: Client) -> None:
    customer = CustomerFactory(**PERSONAL)
    client.force_login(UserFactory(role=Role.SERVICE_REP))
    seq = head_seq()
    response = client.post(f"/customers/{customer.pk}/reveal/phone/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "010-1234-5678" in response.content.decode()
    [record] = records_since(seq)
    assert (record.action, record.customer_ids, record.route) == (
        "view",
        [customer.pk],
        "POST customers:personal_reveal",
    )


@pytest.mark.parametrize("role", [Role.MARKETER, Role.BUYER, Role.SUPPLIER_ADMIN])
def test_roles_without_the_permission_cannot_reveal(client: Client, role: Role) -> None:
    customer = CustomerFactory(**PERSONAL)
    client.force_login(UserFactory(role=role))
    seq = head_seq()
    assert client.post(f"/customers/{customer.pk}/reveal/phone/").status_code == 403
    assert records_since(seq) == []


def test_reveal_refuses_other_fields_and_get(client: Client) -> None:
    customer = CustomerFactory()
    client.force_login(UserFactory(role=Role.SERVICE_REP))
    assert client.post(f"/customers/{customer.pk}/reveal/name/").status_code == 404
    assert client.get(f"/customers/{customer.pk}/reveal/email/").status_code == 405
    assert client.post("/customers/999999/reveal/email/").status_code == 404


def test_anonymous_visitors_go_to_the_login(client: Client) -> None:
    customer = CustomerFactory()
    assert client.post(f"/customers/{customer.pk}/reveal/email/").status_code == 302
