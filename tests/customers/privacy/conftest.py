"""Fixtures of the privacy tests."""

from collections.abc import Callable

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from crm.models import User
from crm.roles import Role
from customers.privacy.models import AccessRecord
from tests.factories import UserFactory


def api_client(user: User) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def api_as() -> Callable[[Role], APIClient]:
    """An API client with a token of a fresh user holding the role."""
    return lambda role: api_client(UserFactory(role=role))


def last_record() -> AccessRecord:
    record = AccessRecord.objects.order_by("-seq").first()
    assert record is not None, "no access record was written"
    return record


def records_since(seq: int) -> list[AccessRecord]:
    return list(AccessRecord.objects.filter(seq__gt=seq).order_by("seq"))


def head_seq() -> int:
    return AccessRecord.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
