"""The staff-only check that every staff view reuses, as a decorator and as a mixin."""

from collections.abc import Callable

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory
from django.views import View

from crm.models import User
from crm.permissions import StaffRequiredMixin, staff_required, user_can_use_staff_ui
from crm.roles import STAFF_ROLES, SUPPLIER_ROLES, Role

pytestmark = pytest.mark.django_db


@staff_required
def decorated_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse("staff only")


class MixinView(StaffRequiredMixin, View):
    def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse("staff only")


VIEWS = [pytest.param(decorated_view, id="decorator"), pytest.param(MixinView.as_view(), id="mixin")]


def request_as(user: User | AnonymousUser) -> HttpRequest:
    request = RequestFactory().get("/somewhere/?page=2")
    request.user = user
    return request


@pytest.mark.parametrize("view", VIEWS)
def test_anonymous_users_are_sent_to_the_login_page(view: Callable[[HttpRequest], HttpResponse]) -> None:
    response = view(request_as(AnonymousUser()))
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/somewhere/%3Fpage%3D2"


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("role", SUPPLIER_ROLES)
def test_supplier_users_are_refused(
    view: Callable[[HttpRequest], HttpResponse], user_with_role: Callable[..., User], role: Role
) -> None:
    with pytest.raises(PermissionDenied):
        view(request_as(user_with_role(role)))


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("role", STAFF_ROLES)
def test_staff_users_pass(
    view: Callable[[HttpRequest], HttpResponse], user_with_role: Callable[..., User], role: Role
) -> None:
    assert view(request_as(user_with_role(role))).status_code == 200


def test_inactive_staff_users_cannot_use_the_staff_ui(user_with_role: Callable[..., User]) -> None:
    assert not user_can_use_staff_ui(user_with_role(Role.SERVICE_REP, is_active=False))
    assert user_can_use_staff_ui(user_with_role(Role.SERVICE_REP))
