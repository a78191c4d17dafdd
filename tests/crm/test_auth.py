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
