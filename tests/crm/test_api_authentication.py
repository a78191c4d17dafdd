"""crm.api.authentication: a token's user and all of its permissions in one query, as Django grants them."""

import pytest
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from pytest_django import DjangoAssertNumQueries
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.test import APIClient

from crm.api.authentication import TokenWithPermissionsAuthentication
from crm.models import User
from crm.roles import Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def authenticate(user: User) -> User:
    token = Token.objects.create(user=user)
    found, auth = TokenWithPermissionsAuthentication().authenticate_credentials(token.key)
    assert auth.key == token.key and auth.user_id == user.pk
    return found


@pytest.mark.parametrize("role", list(Role))
def test_a_role_gets_the_permissions_model_backend_gives(role: Role) -> None:
    user = UserFactory(role=role)
    user.user_permissions.add(Permission.objects.get(codename="view_outboxmessage"))
    found = authenticate(user)
    assert found.pk == user.pk and found.username == user.username
    assert found._perm_cache == ModelBackend().get_all_permissions(User.objects.get(pk=user.pk))


def test_own_and_group_permissions_and_the_user_come_in_one_query(
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    user = UserFactory()
    user.user_permissions.add(Permission.objects.get(codename="view_outboxmessage"))
    group = Group.objects.create(name="Readers")
    group.permissions.add(Permission.objects.get(codename="view_customer"))
    user.groups.add(group)
    key = Token.objects.create(user=user).key
    with django_assert_num_queries(1):
        found, _ = TokenWithPermissionsAuthentication().authenticate_credentials(key)
        assert found.has_perm("crm.view_outboxmessage") and found.has_perm("customers.view_customer")
        assert not found.has_perm("customers.delete_customer")


def test_a_user_without_permissions_has_none() -> None:
    assert authenticate(UserFactory())._perm_cache == set()


def test_a_superuser_has_every_permission() -> None:
    found = authenticate(UserFactory(is_superuser=True))
    assert found._perm_cache == {
        f"{p.content_type.app_label}.{p.codename}" for p in Permission.objects.select_related("content_type")
    }


def test_an_unknown_token_and_an_inactive_user_are_refused() -> None:
    with pytest.raises(AuthenticationFailed):
        TokenWithPermissionsAuthentication().authenticate_credentials("0" * 40)
    inactive = UserFactory(role=Role.ADMINISTRATOR, is_active=False)
    with pytest.raises(AuthenticationFailed):
        authenticate(inactive)


def test_the_api_answers_401_with_the_token_scheme_for_a_wrong_token() -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    response = client.get("/api/v1/customers/")
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token.", "code": "authentication_failed"}
    assert response.headers["WWW-Authenticate"] == "Token"
