"""crm.auth.ModelBackendOneQuery: the same permissions as Django's ModelBackend, in one query."""

import pytest
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from pytest_django import DjangoAssertNumQueries

from crm.auth import ModelBackendOneQuery
from crm.models import User
from crm.roles import Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def fresh(user: User) -> User:
    """The user without cached permissions, as a new request loads it."""
    return User.objects.get(pk=user.pk)


@pytest.mark.parametrize("role", list(Role))
def test_a_role_has_the_same_permissions_as_with_model_backend(role: Role) -> None:
    user = UserFactory(role=role)
    user.user_permissions.add(Permission.objects.get(codename="view_outboxmessage"))
    assert ModelBackendOneQuery().get_all_permissions(fresh(user)) == ModelBackend().get_all_permissions(
        fresh(user)
    )


def test_own_and_group_permissions_are_read_in_one_query(
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    created = User.objects.get(pk=UserFactory().pk)
    created.user_permissions.add(Permission.objects.get(codename="view_outboxmessage"))
    group = Group.objects.create(name="Readers")
    group.permissions.add(Permission.objects.get(codename="view_customer"))
    created.groups.add(group)
    user = fresh(created)
    with django_assert_num_queries(1):
        assert user.has_perm("crm.view_outboxmessage")
        assert user.has_perm("customers.view_customer")
        assert not user.has_perm("customers.delete_customer")


def test_superusers_have_every_permission_and_inactive_users_none() -> None:
    superuser = fresh(UserFactory(is_superuser=True))
    assert ModelBackendOneQuery().get_all_permissions(superuser) == {
        f"{p.content_type.app_label}.{p.codename}" for p in Permission.objects.select_related("content_type")
    }
    inactive = UserFactory(role=Role.ADMINISTRATOR, is_active=False)
    assert not fresh(inactive).has_perm("customers.view_customer")


def test_object_permissions_are_left_to_guardian() -> None:
    user = fresh(UserFactory(role=Role.ADMINISTRATOR))
    assert ModelBackendOneQuery().get_all_permissions(user, obj=user) == set()


@pytest.mark.parametrize("role", list(Role))
def test_the_session_user_comes_with_its_permissions_in_one_query(
    role: Role, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    """Issue 4: a staff request reads its user and the user's permissions in one statement."""
    created = UserFactory(role=role, first_name="Minji")
    created.user_permissions.add(Permission.objects.get(codename="view_outboxmessage"))
    expected = fresh(created)
    permissions = ModelBackend().get_all_permissions(fresh(created))
    with django_assert_num_queries(1):
        user = ModelBackendOneQuery().get_user(created.pk)
        assert user is not None
        assert ModelBackendOneQuery().get_all_permissions(user) == permissions
        assert user.has_perm("crm.view_outboxmessage")
    assert [getattr(user, f.attname) for f in User._meta.concrete_fields] == [
        getattr(expected, f.attname) for f in User._meta.concrete_fields
    ]
    assert user.get_session_auth_hash() == expected.get_session_auth_hash()


def test_the_session_user_is_none_when_gone_or_inactive() -> None:
    assert ModelBackendOneQuery().get_user(10**9) is None
    assert ModelBackendOneQuery().get_user(UserFactory(is_active=False).pk) is None
    superuser = ModelBackendOneQuery().get_user(UserFactory(is_superuser=True).pk)
    assert superuser is not None and superuser.has_perm("customers.delete_customer")
