"""Writes of the crm app."""

from collections.abc import Callable

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.models import User
from crm.roles import Role
from crm.services import user_set_language

pytestmark = pytest.mark.django_db


def statements(captured: CaptureQueriesContext) -> list[str]:
    """The SQL run, without the savepoints that atomic() sets inside the test's transaction."""
    return [q["sql"] for q in captured.captured_queries if "SAVEPOINT" not in q["sql"].upper()]


def test_user_set_language_saves_only_the_preference(user_with_role: Callable[..., User]) -> None:
    user = user_with_role(Role.SERVICE_REP)
    user.first_name = "not saved"
    with CaptureQueriesContext(connection) as captured:
        user_set_language(user=user, language="ko")
    [update] = statements(captured)
    assert "preferred_language" in update
    assert "first_name" not in update
    user.refresh_from_db()
    assert (user.preferred_language, user.first_name) == ("ko", "")


def test_user_set_language_back_to_the_browser(user_with_role: Callable[..., User]) -> None:
    user = user_with_role(Role.SERVICE_REP, preferred_language="ko")
    user_set_language(user=user, language="")
    user.refresh_from_db()
    assert user.preferred_language == ""


def test_user_set_language_writes_nothing_when_unchanged(user_with_role: Callable[..., User]) -> None:
    user = user_with_role(Role.SERVICE_REP, preferred_language="ko")
    with CaptureQueriesContext(connection) as captured:
        user_set_language(user=user, language="ko")
    assert statements(captured) == []


def test_user_set_language_refuses_a_language_the_site_does_not_offer(
    user_with_role: Callable[..., User],
) -> None:
    user = user_with_role(Role.SERVICE_REP)
    with pytest.raises(ValidationError) as error:
        user_set_language(user=user, language="fr")
    assert error.value.code == "invalid_language"
    user.refresh_from_db()
    assert user.preferred_language == ""
