"""The navigation registry: what each user sees, and entries added without touching the templates."""

from collections.abc import Callable, Iterator

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path

from crm import navigation
from crm.models import User
from crm.navigation import NavItem
from crm.roles import Role
from crm.urls import urlpatterns as crm_urlpatterns
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


# Features register entries of their own (customers: merges); these tests are about home and the admin.


def test_staff_roles_see_home_but_not_the_admin(user_with_role: Callable[[Role], User]) -> None:
    names = [item.url_name for item in navigation.items_for(user_with_role(Role.SERVICE_REP))]
    assert names[0] == "home"
    assert "admin:index" not in names


def test_administrators_see_the_admin() -> None:
    administrator = UserFactory(role=Role.ADMINISTRATOR, is_staff=True)
    assert [item.url_name for item in navigation.items_for(administrator)][:2] == ["home", "admin:index"]


@pytest.mark.parametrize("role", [Role.SUPPLIER_ADMIN, Role.SUPPLIER_MEMBER])
def test_supplier_users_see_nothing(user_with_role: Callable[[Role], User], role: Role) -> None:
    assert navigation.items_for(user_with_role(role)) == []


def test_anonymous_and_inactive_users_see_nothing() -> None:
    assert navigation.items_for(AnonymousUser()) == []
    assert navigation.items_for(UserFactory(role=Role.ADMINISTRATOR, is_staff=True, is_active=False)) == []


def test_a_url_name_is_registered_once() -> None:
    with pytest.raises(ValueError, match="already registered"):
        navigation.register(NavItem(label="Again", url_name="home", permission="crm.access_staff_ui"))


def reports(request: HttpRequest) -> HttpResponse:
    return HttpResponse("Reports")


urlpatterns = [*crm_urlpatterns, path("reports/", reports, name="reports")]


@pytest.fixture
def reports_item() -> Iterator[NavItem]:
    """A feature that plugs in a page of its own, visible to buyers only."""
    item = navigation.register(
        NavItem(label="Reports", url_name="reports", permission="crm.change_product", description="Numbers.")
    )
    yield item
    navigation.unregister("reports")


@pytest.mark.urls(__name__)
def test_a_registered_item_shows_in_the_navbar_and_as_a_card(
    client_for: Callable[[Role], Client], reports_item: NavItem
) -> None:
    content = client_for(Role.BUYER).get("/").content.decode()
    assert content.count('href="/reports/"') == 2
    assert "Numbers." in content


@pytest.mark.urls(__name__)
def test_a_registered_item_is_hidden_without_its_permission(
    client_for: Callable[[Role], Client], reports_item: NavItem
) -> None:
    assert 'href="/reports/"' not in client_for(Role.MARKETER).get("/").content.decode()
