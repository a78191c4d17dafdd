"""The staff UI shell: who gets in, signing in and out, languages, and what the home page costs."""

import json
import re
from collections.abc import Callable

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.test import Client
from pytest_django import DjangoAssertNumQueries

from crm.models import User
from crm.roles import STAFF_ROLES, SUPPLIER_ROLES, Role
from tests.factories import PASSWORD, UserFactory, session_queries

pytestmark = pytest.mark.django_db

HOME = "/"
LOGIN = "/accounts/login/"
LOGOUT = "/accounts/logout/"
LANGUAGE = "/accounts/language/"


def test_anonymous_user_is_sent_to_the_login_page(client: Client) -> None:
    response = client.get(HOME)
    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN}?next={HOME}"


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_staff_roles_reach_the_home_page(client_for: Callable[[Role], Client], role: Role) -> None:
    response = client_for(role).get(HOME)
    assert response.status_code == 200
    assert response.context["roles"] == [role.label]


@pytest.mark.parametrize("role", SUPPLIER_ROLES)
def test_supplier_roles_are_refused_the_home_page(client_for: Callable[[Role], Client], role: Role) -> None:
    response = client_for(role).get(HOME)
    assert response.status_code == 403


def test_user_without_any_role_is_refused_the_home_page(client: Client) -> None:
    client.force_login(UserFactory())
    assert client.get(HOME).status_code == 403


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_staff_roles_sign_in_at_the_staff_login(
    client: Client, user_with_role: Callable[..., User], role: Role
) -> None:
    user = user_with_role(role)
    response = client.post(LOGIN, {"username": user.username, "password": PASSWORD, "next": HOME})
    assert response.status_code == 302
    assert response["Location"] == HOME
    assert client.session["_auth_user_id"] == str(user.pk)


@pytest.mark.parametrize("role", SUPPLIER_ROLES)
def test_supplier_roles_are_refused_at_the_staff_login(
    client: Client, user_with_role: Callable[..., User], role: Role
) -> None:
    user = user_with_role(role)
    response = client.post(LOGIN, {"username": user.username, "password": PASSWORD})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert [error.code for error in response.context["form"].errors.as_data()["__all__"]] == ["not_staff"]
    assert "This account cannot use the staff area." in response.content.decode()


def test_wrong_password_is_refused_at_the_staff_login(
    client: Client, user_with_role: Callable[..., User]
) -> None:
    user = user_with_role(Role.SERVICE_REP)
    response = client.post(LOGIN, {"username": user.username, "password": "not-the-password"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert [error.code for error in response.context["form"].errors.as_data()["__all__"]] == ["invalid_login"]


def test_signed_in_staff_user_is_sent_on_from_the_login_page(client_for: Callable[[Role], Client]) -> None:
    response = client_for(Role.MARKETER).get(LOGIN)
    assert response.status_code == 302
    assert response["Location"] == HOME


def test_signed_in_supplier_user_sees_the_login_form(client_for: Callable[[Role], Client]) -> None:
    assert client_for(Role.SUPPLIER_MEMBER).get(LOGIN).status_code == 200


def test_logout_by_post_signs_out(client_for: Callable[[Role], Client]) -> None:
    client = client_for(Role.SERVICE_REP)
    response = client.post(LOGOUT)
    assert response.status_code == 302
    assert response["Location"] == LOGIN
    assert "_auth_user_id" not in client.session
    assert client.get(HOME).status_code == 302


def test_logout_by_get_is_refused(client_for: Callable[[Role], Client]) -> None:
    client = client_for(Role.SERVICE_REP)
    assert client.get(LOGOUT).status_code == 405
    assert "_auth_user_id" in client.session


def test_browser_language_decides_without_a_preference(client_for: Callable[[Role], Client]) -> None:
    content = client_for(Role.SERVICE_REP).get(HOME, headers={"accept-language": "ko"}).content.decode()
    assert '<html lang="ko">' in content
    assert "안녕하세요" in content


def test_login_page_follows_the_browser_language(client: Client) -> None:
    content = client.get(LOGIN, headers={"accept-language": "ko-KR,ko;q=0.9"}).content.decode()
    assert "직원 로그인" in content


@pytest.mark.parametrize(
    ("preference", "header", "expected"), [("en", "ko", "Hello"), ("ko", "en", "안녕하세요")]
)
def test_user_preference_overrides_the_browser_language(
    client: Client, user_with_role: Callable[..., User], preference: str, header: str, expected: str
) -> None:
    client.force_login(user_with_role(Role.SERVICE_REP, preferred_language=preference))
    response = client.get(HOME, headers={"accept-language": header})
    assert f'<html lang="{preference}">' in response.content.decode()
    assert expected in response.content.decode()


def test_language_view_saves_the_preference_and_sets_the_cookie(
    client: Client, user_with_role: Callable[..., User]
) -> None:
    user = user_with_role(Role.BUYER)
    client.force_login(user)
    response = client.post(LANGUAGE, {"language": "ko", "next": HOME})
    assert response.status_code == 302
    assert response["Location"] == HOME
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ko"
    user.refresh_from_db()
    assert user.preferred_language == "ko"
    assert "안녕하세요" in client.get(HOME, headers={"accept-language": "en"}).content.decode()


def test_language_view_sets_only_the_cookie_for_anonymous_users(client: Client) -> None:
    response = client.post(LANGUAGE, {"language": "ko", "next": LOGIN})
    assert response["Location"] == LOGIN
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ko"
    assert "직원 로그인" in client.get(LOGIN).content.decode()


def test_language_view_refuses_an_unknown_language(client_for: Callable[[Role], Client]) -> None:
    assert client_for(Role.BUYER).post(LANGUAGE, {"language": "xx"}).status_code == 400


def test_language_view_does_not_redirect_off_site(client: Client) -> None:
    response = client.post(LANGUAGE, {"language": "en", "next": "https://evil.example/"})
    assert response["Location"] == HOME


def test_language_view_refuses_get(client: Client) -> None:
    assert client.get(LANGUAGE).status_code == 405


def test_home_page_shows_the_admin_card_to_administrators_only(client: Client) -> None:
    administrator = UserFactory(role=Role.ADMINISTRATOR, is_staff=True)
    client.force_login(administrator)
    # Features add cards of their own (crm.navigation); the admin's is the one this test is about.
    assert "admin:index" in [item.url_name for item in client.get(HOME).context["cards"]]

    client.force_login(UserFactory(role=Role.SERVICE_REP))
    response = client.get(HOME)
    assert "admin:index" not in [item.url_name for item in response.context["cards"]]
    assert "/admin/" not in response.content.decode()


@pytest.mark.parametrize(
    "roles", [[Role.SERVICE_REP], list(STAFF_ROLES)], ids=["one-role", "all-staff-roles"]
)
def test_home_page_query_count_does_not_grow_with_roles(
    client: Client, django_assert_num_queries: DjangoAssertNumQueries, roles: list[Role]
) -> None:
    user = UserFactory(is_staff=True)
    user.groups.set(Group.objects.filter(name__in=roles))
    client.force_login(user)
    # Session (unless in Redis), the user with its and its groups' permissions (one query), the role names.
    with django_assert_num_queries(2 + session_queries()) as captured:
        response = client.get(HOME)
    assert response.status_code == 200
    assert len(response.context["roles"]) == len(roles)
    assert not [query for query in captured.captured_queries if "COUNT(" in query["sql"].upper()]


def test_pages_load_their_assets_from_the_project_not_a_cdn(client: Client) -> None:
    content = client.get(LOGIN).content.decode()
    assert re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', content) == [
        "/static/vendor/bootstrap-5.3.8/css/bootstrap.min.css",
        "/static/crm/app.css",
        "/static/vendor/htmx-2.0.11/htmx.min.js",
        "/static/vendor/bootstrap-5.3.8/js/bootstrap.bundle.min.js",
    ]


def test_htmx_requests_carry_the_csrf_token(user_with_role: Callable[..., User]) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user_with_role(Role.SERVICE_REP))
    match = re.search(r"<body[^>]* hx-headers='([^']+)'", client.get(HOME).content.decode())
    assert match is not None
    headers = json.loads(match.group(1))

    assert client.post(LANGUAGE, {"language": "en"}).status_code == 403
    assert client.post(LANGUAGE, {"language": "en"}, headers=headers).status_code == 302
