"""Who may use the staff web UI, as a mixin and a decorator that every staff view reuses.

A staff view answers anonymous visitors with a redirect to the staff login and signed-in users without
``crm.access_staff_ui`` (supplier users) with 403: sending them to a login page they cannot pass would
only loop.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.decorators import permission_required
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse

from crm.models import User

STAFF_UI_PERMISSION = "crm.access_staff_ui"

ViewFunc = TypeVar("ViewFunc", bound=Callable[..., HttpResponse])


def user_can_use_staff_ui(user: User | AnonymousUser) -> bool:
    """Whether the user may sign in to and use the staff web UI (staff roles do, supplier roles do not)."""
    return user.is_active and user.has_perm(STAFF_UI_PERMISSION)


class StaffRequiredMixin(PermissionRequiredMixin):
    """For class-based staff views: anonymous users go to the login page, others without the permission get 403.

    Django's mixin already answers 403 to signed-in users; a view may extend ``permission_required``
    with the permissions of its own feature.
    """

    permission_required: Any = STAFF_UI_PERMISSION


def staff_required(view_func: ViewFunc) -> ViewFunc:
    """For function-based staff views: the same answers as ``StaffRequiredMixin``."""
    # permission_required(raise_exception=True) would answer 403 to anonymous users too; they are sent to
    # the login page first, and only signed-in users get Django's 403.
    checked = permission_required(STAFF_UI_PERMISSION, raise_exception=True)(view_func)

    @wraps(view_func)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return checked(request, *args, **kwargs)

    return wrapper  # type: ignore[return-value]
