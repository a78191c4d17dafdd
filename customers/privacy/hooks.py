"""Hooks that make a door log: a decorator and a mixin for Django views, a mixin for DRF views, a mixin
for the admin. Each door notes the customers it showed or touched (``note_customers``) and the hook
writes one access record when the request succeeds, inside the request's transaction for writes, so that a
change never commits without its record and a failure to log fails the request.

A download needs the reason first: without ``reason`` the page answers a form asking for it (the API
answers 400 ``reason_required``), and the file is produced only once a reason is given.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from django.contrib.admin import helpers as admin_helpers
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.utils.translation import gettext
from rest_framework import status as http_status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from customers.privacy.log import FILE_ACTIONS, access_record
from customers.privacy.models import AccessAction

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
REASON_MIN_LENGTH = 5
REASON_TEMPLATE = "customers/privacy/download_reason.html"
NOTE_ATTRIBUTE = "personal_data_access"

# Actions where a record is written even when no single customer can be named (a file of rows, an upload).
ALWAYS_RECORDED = FILE_ACTIONS | {AccessAction.INPUT, AccessAction.DELETE}

ActionSpec = str | dict[str, str]


@dataclass
class AccessNote:
    """What a request did with personal data, gathered while it runs and written when it succeeds."""

    action: str
    customer_ids: set[int] = field(default_factory=set)
    reason: str = ""
    # Personal data was shown that belongs to no customer yet (the rows of an uploaded file).
    force: bool = False


def _action_for(spec: ActionSpec, method: str) -> str:
    if isinstance(spec, str):
        return spec
    return spec.get(method, spec.get("*", AccessAction.VIEW))


def note_customers(
    request: HttpRequest, customer_ids: Iterable[int | None], action: str | None = None
) -> None:
    """Add customers to the access record this request will write (and change its action if given)."""
    note: AccessNote | None = getattr(request, NOTE_ATTRIBUTE, None)
    if note is None:
        # A door that forgot its hook: fail loudly in development rather than lose records.
        raise RuntimeError("note_customers called on a request without a personal-data hook")
    note.customer_ids.update(pk for pk in customer_ids if pk is not None)
    if action is not None:
        note.action = action


def note_file_rows(request: HttpRequest) -> None:
    """Record this request even without customers: it showed rows of a file of personal data."""
    note: AccessNote | None = getattr(request, NOTE_ATTRIBUTE, None)
    if note is None:
        raise RuntimeError("note_file_rows called on a request without a personal-data hook")
    note.force = True


class _ReasonMissing(Exception):
    """Raised by ``reason_required`` to have the hook answer the reason form instead of the file."""


def reason_required(request: HttpRequest) -> str:
    """For a download view, after it found what it serves (so that a missing object still answers 404)
    and before it produces the file: the reason given, or the hook answers a form asking for it."""
    note: AccessNote | None = getattr(request, NOTE_ATTRIBUTE, None)
    if note is None:
        raise RuntimeError("reason_required called on a request without a personal-data hook")
    reason = request_reason(request).strip()
    if len(reason) < REASON_MIN_LENGTH:
        raise _ReasonMissing
    note.reason = reason
    return reason


def request_reason(request: HttpRequest) -> str:
    """The reason given for a download: the ``reason`` parameter, or the ``X-Access-Reason`` header."""
    return (
        request.POST.get("reason") if request.method == "POST" else request.GET.get("reason")
    ) or request.headers.get("X-Access-Reason", "")


def _write(request: HttpRequest, note: AccessNote) -> None:
    if note.customer_ids or note.force or note.action in ALWAYS_RECORDED:
        access_record(request, note.action, note.customer_ids, note.reason)


def _reason_form(request: HttpRequest, error: bool) -> HttpResponse:
    return render(
        request,
        REASON_TEMPLATE,
        {"error": error, "query": request.GET.copy(), "min_length": REASON_MIN_LENGTH},
        status=400 if error else 200,
    )


def logs_personal_data(action: ActionSpec = AccessAction.VIEW) -> Callable[[Callable[..., Any]], Any]:
    """Decorate a Django view that shows or changes customers' personal data; put it below the
    permission decorators (``@staff_required`` first), so that a download asks for its reason only of
    people allowed to download.

    ``action`` is an action or a dict by HTTP method (``{"GET": "view", "POST": "change"}``). The view
    calls ``note_customers(request, ids)``. File actions ask for the reason before the view runs.
    """

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            note = AccessNote(action=_action_for(action, request.method or "GET"))
            setattr(request, NOTE_ATTRIBUTE, note)
            try:
                if request.method in SAFE_METHODS:
                    response = view(request, *args, **kwargs)
                    if response.status_code < 400:
                        _write(request, note)
                    return response
                with transaction.atomic():
                    response = view(request, *args, **kwargs)
                    if response.status_code < 400:
                        _write(request, note)
                return response
            except _ReasonMissing:
                return _reason_form(request, error="reason" in request.GET or "reason" in request.POST)

        wrapper.personal_data_logged = True  # type: ignore[attr-defined]  # read by the route inventory
        return wrapper

    return decorator


class PersonalDataViewMixin:
    """For class-based views: ``personal_data_action`` (an action, or a dict by method) and the view calls
    ``note_customers(self.request, ids)``. Put it after the permission mixin and before the view class
    (``StaffRequiredMixin, PersonalDataViewMixin, View``), so that permissions are checked before a
    download asks for its reason."""

    personal_data_action: ActionSpec = AccessAction.VIEW
    personal_data_logged = True

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        parent = super().dispatch  # type: ignore[misc]
        response: HttpResponseBase = logs_personal_data(self.personal_data_action)(parent)(
            request, *args, **kwargs
        )
        return response


class PersonalDataAPIMixin:
    """For DRF views: the customers of the objects read (``get_object``) and of the page listed
    (``paginate_queryset``) are noted by ``personal_data_customer_ids(obj)``; one record per request is
    written when it succeeds. Writes run in one transaction with their record.

    ``personal_data_actions`` maps the viewset action (or the lower-case HTTP method) to the access action.
    """

    personal_data_actions: dict[str, str] = {
        "list": AccessAction.SEARCH,
        "retrieve": AccessAction.VIEW,
        "create": AccessAction.INPUT,
        "update": AccessAction.CHANGE,
        "partial_update": AccessAction.CHANGE,
        "destroy": AccessAction.DELETE,
    }
    personal_data_logged = True

    def personal_data_customer_ids(self, obj: Any) -> Iterable[int | None]:
        """The customers an object concerns; a customer by default, ``obj.customer_id`` otherwise."""
        from customers.models import Customer

        return [obj.pk] if isinstance(obj, Customer) else [getattr(obj, "customer_id", None)]

    def _personal_data_action(self, request: Request) -> str:
        name = getattr(self, "action", None) or (request.method or "get").lower()
        default = AccessAction.VIEW if request.method in SAFE_METHODS else AccessAction.CHANGE
        return self.personal_data_actions.get(name, default)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]  # authenticates first
        note = AccessNote(action=self._personal_data_action(request))
        if note.action in FILE_ACTIONS:
            note.reason = request_reason(request).strip()
            if len(note.reason) < REASON_MIN_LENGTH:
                message = gettext("Give the reason for this download in at least %(n)d characters.")
                raise ValidationError(
                    {"reason": [message % {"n": REASON_MIN_LENGTH}]}, code="reason_required"
                )
        setattr(request, NOTE_ATTRIBUTE, note)
        setattr(request._request, NOTE_ATTRIBUTE, note)

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if request.method in SAFE_METHODS:
            return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
        with transaction.atomic():
            return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]

    def get_object(self) -> Any:
        obj = super().get_object()  # type: ignore[misc]
        note_customers(self.request, self.personal_data_customer_ids(obj))  # type: ignore[attr-defined]
        return obj

    def paginate_queryset(self, queryset: Any) -> Any:
        page = super().paginate_queryset(queryset)  # type: ignore[misc]
        rows = page if page is not None else queryset
        ids: list[int | None] = []
        for obj in rows:
            ids.extend(self.personal_data_customer_ids(obj))
        note_customers(self.request, ids)  # type: ignore[attr-defined]
        return page

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        note: AccessNote | None = getattr(request, NOTE_ATTRIBUTE, None)
        if note is not None and response.status_code < http_status.HTTP_400_BAD_REQUEST:
            _write(request._request, note)
        return response


class PersonalDataAdminMixin:
    """For ModelAdmins of tables with personal data: the list logs the customers of the rows it showed
    (``search`` when a search term was given), the change page ``view`` or ``change``, deletion
    ``delete``, the history ``view``. ``personal_data_customer_fields`` names the fields holding the
    customer's id (``pk`` for the customer table itself)."""

    personal_data_customer_fields: tuple[str, ...] = ("customer_id",)
    personal_data_logged = True

    def _route(self, view: str) -> str:
        opts = self.model._meta  # type: ignore[attr-defined]
        return f"admin:{opts.app_label}_{opts.model_name}_{view}"

    def _ids_of(self, obj: Any) -> list[int]:
        return [getattr(obj, name) for name in self.personal_data_customer_fields if getattr(obj, name)]

    def _ids_of_pk(self, object_id: str) -> list[int]:
        return self._ids_of_pks([object_id])

    def _ids_of_pks(self, object_ids: list[str]) -> list[int]:
        object_ids = [pk for pk in object_ids if str(pk).isdigit()]
        if self.personal_data_customer_fields == ("pk",):
            return [int(pk) for pk in object_ids]
        model = self.model  # type: ignore[attr-defined]
        rows = model._default_manager.filter(pk__in=object_ids).values_list(
            *self.personal_data_customer_fields
        )
        return [pk for row in rows for pk in row if pk]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        parent = super().changelist_view  # type: ignore[misc]
        if request.method == "POST" and request.POST.get("action"):
            # An admin action on the selected rows (undo merges...): a change, with its record.
            with transaction.atomic():
                ids = self._ids_of_pks(request.POST.getlist(admin_helpers.ACTION_CHECKBOX_NAME))
                response = parent(request, extra_context)
                if response.status_code < 400 and ids:
                    access_record(request, AccessAction.CHANGE, ids, route=self._route("changelist"))
            return response
        response = parent(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None and response.status_code < 400:
            ids = [pk for obj in changelist.result_list for pk in self._ids_of(obj)]
            action = AccessAction.SEARCH if changelist.query else AccessAction.VIEW
            if ids:
                access_record(request, action, ids, route=self._route("changelist"))
        return response

    def _logged(
        self, request: HttpRequest, view: str, action: str, object_id: str | None, call: Callable[[], Any]
    ) -> Any:
        def run() -> Any:
            ids = self._ids_of_pk(object_id) if object_id else []
            response = call()
            if response.status_code < 400 and (ids or action in ALWAYS_RECORDED):
                access_record(request, action, ids, route=self._route(view))
            return response

        if request.method in SAFE_METHODS:
            return run()
        with transaction.atomic():  # a change commits with its record, or not at all
            return run()

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> Any:
        action = AccessAction.VIEW if request.method in SAFE_METHODS else AccessAction.CHANGE
        parent = super().change_view  # type: ignore[misc]
        return self._logged(
            request, "change", action, object_id, lambda: parent(request, object_id, form_url, extra_context)
        )

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: Any = None) -> Any:
        parent = super().add_view  # type: ignore[misc]
        if request.method in SAFE_METHODS:
            return parent(request, form_url, extra_context)
        return self._logged(
            request, "add", AccessAction.INPUT, None, lambda: parent(request, form_url, extra_context)
        )

    def delete_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> Any:
        action = AccessAction.VIEW if request.method in SAFE_METHODS else AccessAction.DELETE
        parent = super().delete_view  # type: ignore[misc]
        return self._logged(
            request, "delete", action, object_id, lambda: parent(request, object_id, extra_context)
        )

    def logged_view(self, request: HttpRequest, view: str, object_id: str, call: Callable[[], Any]) -> Any:
        """For a ModelAdmin's own extra views on one object (``undo``): ``view`` on GET, ``change`` on POST."""
        action = AccessAction.VIEW if request.method in SAFE_METHODS else AccessAction.CHANGE
        return self._logged(request, view, action, object_id, call)

    def history_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> Any:
        parent = super().history_view  # type: ignore[misc]
        return self._logged(
            request,
            "history",
            AccessAction.VIEW,
            object_id,
            lambda: parent(request, object_id, extra_context),
        )
