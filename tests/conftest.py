"""Fixtures shared by the whole suite."""

from collections.abc import Callable
from pathlib import Path

import pytest
from django.test import Client
from pytest_django.fixtures import SettingsWrapper

from crm.models import User
from crm.roles import Role
from tests.factories import PASSWORD, UserFactory


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: SettingsWrapper) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _media_in_a_temporary_folder(settings: SettingsWrapper, tmp_path: Path) -> None:
    """Uploads (imports) written by tests land in a folder of their own, not the project's media/."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def user_with_role(db: None) -> Callable[[Role], User]:
    """Make a user holding one role."""

    def make(role: Role, **kwargs: object) -> User:
        return UserFactory(role=role, **kwargs)

    return make


@pytest.fixture
def client_for(client: Client, user_with_role: Callable[[Role], User]) -> Callable[[Role], Client]:
    """A test client logged in as a fresh user with the given role."""

    def make(role: Role) -> Client:
        user = user_with_role(role)
        assert client.login(username=user.username, password=PASSWORD)
        return client

    return make
