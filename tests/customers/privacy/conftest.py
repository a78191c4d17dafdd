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
    record = AccessRecord.objects.order_by("-id").first()
    assert record is not None, "no access record was written"
    return record


def records_since(last_id: int) -> list[AccessRecord]:
    """The records written after the one numbered ``last_id`` (``head_seq()`` before the request)."""
    return list(AccessRecord.objects.filter(id__gt=last_id).order_by("id"))


def head_seq() -> int:
    """The number of the last record written so far."""
    return AccessRecord.objects.order_by("-id").values_list("id", flat=True).first() or 0
