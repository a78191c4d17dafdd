"""The access matrix of issue 5: every extranet page, buying page and extranet API endpoint, for every
persona and every method, against a table of expected statuses; refused writes leave the database as it
was; and every route of those areas is in the matrix or on the public allow-list."""

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from rest_framework.authtoken.models import Token

from crm.models import User
from extranet.models import (
    AuditEvent,
    InventoryLevel,
    Invitation,
    Message,
    MessageThread,
    ProposedOrder,
    ProposedOrderEvent,
    ProposedOrderLine,
    SupplierMembership,
    ThreadReadState,
)
from tests.extranet.conftest import PERSONAS, World

pytestmark = pytest.mark.django_db

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
SUPPLIERS = ["a_admin", "a_member", "a_ro", "b_admin"]
STAFF = ["rep", "buyer_a", "buyer_x", "admin"]
PREFIXES = ("extranet/", "buying/", "api/v1/extranet/")
# Routes anyone may open: the extranet's own sign-in and sign-out.
# An invitation link is opened by someone who has no account yet: tests/extranet/test_team.py covers it.
PUBLIC = {"extranet/login/", "extranet/logout/", "extranet/invitations/<str:token>/"}


def row(statuses: str) -> list[int]:
    return [int(status) for status in statuses.split()]


def all_(status: int) -> str:
    return " ".join([str(status)] * len(METHODS))


@dataclass
class Case:
    """One URL: its expected status per persona, as "GET POST PUT PATCH DELETE"."""

    name: str
    url: Callable[[World], str]
    expected: dict[str, str]
    body: Callable[[World], dict[str, Any]] = field(default=lambda w: {})
    api: bool = False


def page(
    name: str, url: Callable[[World], str], body: Callable[[World], dict] | None = None, **suppliers: str
) -> Case:
    """An extranet page: anonymous visitors go to the extranet login, staff are refused."""
    expected = {"anon": all_(302), **{persona: all_(403) for persona in STAFF}, **suppliers}
    return Case(name, url, expected, body or (lambda w: {}))


def staff_page(
    name: str, url: Callable[[World], str], body: Callable[[World], dict] | None = None, **staff: str
) -> Case:
    """A buying page of the staff UI: anonymous visitors go to the staff login, supplier users are refused."""
    expected = {"anon": all_(302), "rep": all_(403), **{p: all_(403) for p in SUPPLIERS}, **staff}
    return Case(name, url, expected, body or (lambda w: {"comment": "Looks right."}))


def api(
    name: str, url: Callable[[World], str], body: Callable[[World], dict] | None = None, **suppliers: str
) -> Case:
    """An extranet API endpoint: anonymous requests answer 401, staff 403."""
    expected = {"anon": all_(401), **{persona: all_(403) for persona in STAFF}, **suppliers}
    return Case(name, url, expected, body or (lambda w: {}), api=True)


READ = "200 405 405 405 405"
READ_RO = "200 403 403 403 403"
ORDER_FORM = lambda w: {  # noqa: E731
    "requested_delivery_date": "2099-01-31",
    "note": "restock",
    "lines": "NB-1080-270, 12",
}
ORDER_JSON = lambda w: {  # noqa: E731
    "requested_delivery_date": "2099-01-31",
    "note": "restock",
    "lines": [{"sku": "NB-1080-270", "quantity": 12}],
}

MATRIX = [
    *[
        page(name, lambda w, url=url: url, a_admin=READ, a_member=READ, a_ro=READ_RO, b_admin=READ)
        for name, url in [
            ("overview", "/extranet/"),
            ("inventory", "/extranet/inventory/"),
            ("sales", "/extranet/sales/"),
            ("profitability", "/extranet/profitability/"),
            ("orders", "/extranet/orders/"),
        ]
    ],
    page(
        "product inventory",
        lambda w: f"/extranet/inventory/{w.product_a.pk}/",
        a_admin=READ,
        a_member=READ,
        a_ro=READ_RO,
        b_admin="404 405 405 405 405",
    ),
    page(
        "new order",
        lambda w: "/extranet/orders/new/",
        ORDER_FORM,
        a_admin="200 302 405 405 405",
        a_member="200 302 405 405 405",
        a_ro=all_(403),
        b_admin="200 400 405 405 405",  # A's SKU is not in B's catalog
    ),
    page(
        "order",
        lambda w: f"/extranet/orders/{w.submitted_a.pk}/",
        a_admin=READ,
        a_member=READ,
        a_ro=READ_RO,
        b_admin="404 405 405 405 405",
    ),
    page(
        "edit draft",
        lambda w: f"/extranet/orders/{w.draft_a.pk}/edit/",
        ORDER_FORM,
        a_admin="200 302 405 405 405",
        a_member="200 302 405 405 405",
        a_ro=all_(403),
        b_admin="404 404 405 405 405",
    ),
    page(
        "submit draft",
        lambda w: f"/extranet/orders/{w.draft_a.pk}/submit/",
        a_admin="405 302 405 405 405",
        a_member="405 302 405 405 405",
        a_ro="405 403 403 403 403",
        b_admin="405 404 405 405 405",
    ),
    page(
        "submit a submitted order",
        lambda w: f"/extranet/orders/{w.submitted_a.pk}/submit/",
        a_admin="405 409 405 405 405",
        a_member="405 409 405 405 405",
        a_ro="405 403 403 403 403",
        b_admin="405 404 405 405 405",
    ),
    page(
        "withdraw",
        lambda w: f"/extranet/orders/{w.submitted_a.pk}/withdraw/",
        a_admin="405 302 405 405 405",
        a_member="405 302 405 405 405",
        a_ro="405 403 403 403 403",
        b_admin="405 404 405 405 405",
    ),
    page(
        "buyer action from the extranet",
        lambda w: f"/extranet/orders/{w.submitted_a.pk}/approve/",
        a_admin="405 404 405 405 405",
        a_member="405 404 405 405 405",
        a_ro="405 403 403 403 403",
        b_admin="405 404 405 405 405",
    ),
    page(
        "api token",
        lambda w: "/extranet/api-token/",
        a_admin="200 302 405 405 405",
        a_member="200 302 405 405 405",
        a_ro="200 302 405 405 405",
        b_admin="200 302 405 405 405",
    ),
    page(
        "team",
        lambda w: "/extranet/team/",
        lambda w: {"email": "new.colleague@brand.example", "role": "member"},
        a_admin="200 302 405 405 405",
        a_member=all_(403),
        a_ro=all_(403),
        b_admin="200 302 405 405 405",
    ),
    page(
        "team member",
        lambda w: f"/extranet/team/{SupplierMembership.objects.get(user=w.users['a_member']).pk}/",
        lambda w: {"role": "read_only"},
        a_admin="405 302 405 405 405",
        a_member=all_(403),
        a_ro=all_(403),
        b_admin="405 404 405 405 405",
    ),
    page(
        "messages",
        lambda w: "/extranet/messages/",
        lambda w: {"subject": "Catalogue shoot", "body": "When?"},
        a_admin="200 302 405 405 405",
        a_member="200 302 405 405 405",
        a_ro=READ_RO,
        b_admin="200 302 405 405 405",
    ),
    page(
        "thread",
        lambda w: f"/extranet/messages/{w.thread_a.pk}/",
        lambda w: {"body": "Friday works."},
        a_admin="200 302 405 405 405",
        a_member="200 302 405 405 405",
        a_ro=READ_RO,
        b_admin="404 404 405 405 405",
    ),
    staff_page(
        "staff messages",
        lambda w: "/buying/messages/",
        lambda w: {"supplier": w.supplier_a.pk, "subject": "Catalogue shoot", "body": "When?"},
        buyer_a="200 302 405 405 405",
        buyer_x="200 400 405 405 405",
        admin="200 400 405 405 405",
    ),
    staff_page(
        "staff thread",
        lambda w: f"/buying/messages/{w.thread_a.pk}/",
        lambda w: {"body": "Friday works."},
        buyer_a="200 302 405 405 405",
        buyer_x="404 404 405 405 405",
        admin="404 404 405 405 405",
    ),
    page(
        "two-factor setup",
        lambda w: "/extranet/two-factor/",
        lambda w: {"token": "not-a-code"},
        a_admin="200 400 405 405 405",
        a_member="200 400 405 405 405",
        a_ro="200 400 405 405 405",
        b_admin="200 400 405 405 405",
    ),
    page(
        "two-factor code",
        lambda w: "/extranet/two-factor/verify/",
        lambda w: {"token": "not-a-code"},
        a_admin="200 400 405 405 405",
        a_member="200 400 405 405 405",
        a_ro="200 400 405 405 405",
        b_admin="200 400 405 405 405",
    ),
    staff_page("queue", lambda w: "/buying/orders/", buyer_a=READ, buyer_x=READ, admin=READ),
    staff_page(
        "buyer order",
        lambda w: f"/buying/orders/{w.submitted_a.pk}/",
        buyer_a=READ,
        buyer_x="404 405 405 405 405",
        admin="404 405 405 405 405",
    ),
    staff_page(
        "approve",
        lambda w: f"/buying/orders/{w.submitted_a.pk}/approve/",
        buyer_a="405 302 405 405 405",
        buyer_x="405 404 405 405 405",
        admin="405 404 405 405 405",
    ),
    staff_page(
        "approve a draft",
        lambda w: f"/buying/orders/{w.draft_a.pk}/approve/",
        buyer_a="405 409 405 405 405",
        buyer_x="405 404 405 405 405",
        admin="405 404 405 405 405",
    ),
    staff_page(
        "mark a submitted order ordered",
        lambda w: f"/buying/orders/{w.submitted_a.pk}/mark_ordered/",
        buyer_a="405 409 405 405 405",
        buyer_x="405 404 405 405 405",
        admin="405 404 405 405 405",
    ),
    *[
        api(name, lambda w, url=url: url, a_admin=READ, a_member=READ, a_ro=READ_RO, b_admin=READ)
        for name, url in [
            ("api sales", "/api/v1/extranet/dashboards/sales/"),
            ("api profitability", "/api/v1/extranet/dashboards/profitability/"),
            ("api inventory", "/api/v1/extranet/dashboards/inventory/"),
            ("api products", "/api/v1/extranet/products/"),
        ]
    ],
    api(
        "api product",
        lambda w: f"/api/v1/extranet/products/{w.product_a.pk}/",
        a_admin=READ,
        a_member=READ,
        a_ro=READ_RO,
        b_admin="404 405 405 405 405",
    ),
    api(
        "api orders",
        lambda w: "/api/v1/extranet/orders/",
        ORDER_JSON,
        a_admin="200 201 405 405 405",
        a_member="200 201 405 405 405",
        a_ro=READ_RO,
        b_admin="200 400 405 405 405",
    ),
    api(
        "api draft",
        lambda w: f"/api/v1/extranet/orders/{w.draft_a.pk}/",
        ORDER_JSON,
        a_admin="200 405 200 200 405",
        a_member="200 405 200 200 405",
        a_ro=READ_RO,
        b_admin="404 405 404 404 405",
    ),
    api(
        "api submit",
        lambda w: f"/api/v1/extranet/orders/{w.draft_a.pk}/submit/",
        a_admin="405 200 405 405 405",
        a_member="405 200 405 405 405",
        a_ro="405 403 403 403 403",
        b_admin="405 404 405 405 405",
    ),
    api(
        "api submit a submitted order",
        lambda w: f"/api/v1/extranet/orders/{w.submitted_a.pk}/submit/",
        a_admin="405 409 405 405 405",
        a_member="405 409 405 405 405",
        a_ro="405 403 403 403 403",
        b_admin="405 404 405 405 405",
    ),
    api(
        "api withdraw",
        lambda w: f"/api/v1/extranet/orders/{w.submitted_a.pk}/withdraw/",
        a_admin="405 200 405 405 405",
        a_member="405 200 405 405 405",
        a_ro="405 403 403 403 403",
        b_admin="405 404 405 405 405",
    ),
    api(
        "api threads",
        lambda w: "/api/v1/extranet/threads/",
        lambda w: {"subject": "Catalogue shoot", "body": "When?"},
        a_admin="200 201 405 405 405",
        a_member="200 201 405 405 405",
        a_ro=READ_RO,
        b_admin="200 201 405 405 405",  # a thread of B's own
    ),
    api(
        "api unread threads",
        lambda w: "/api/v1/extranet/threads/unread/",
        a_admin=READ,
        a_member=READ,
        a_ro=READ_RO,
        b_admin=READ,
    ),
    api(
        "api thread",
        lambda w: f"/api/v1/extranet/threads/{w.thread_a.pk}/",
        a_admin=READ,
        a_member=READ,
        a_ro=READ_RO,
        b_admin="404 405 405 405 405",
    ),
    api(
        "api thread messages",
        lambda w: f"/api/v1/extranet/threads/{w.thread_a.pk}/messages/",
        lambda w: {"body": "Friday works."},
        a_admin="200 201 405 405 405",
        a_member="200 201 405 405 405",
        a_ro=READ_RO,
        b_admin="404 404 405 405 405",
    ),
    api(
        "api mark thread read",
        lambda w: f"/api/v1/extranet/threads/{w.thread_a.pk}/read/",
        a_admin="405 200 405 405 405",
        a_member="405 200 405 405 405",
        a_ro="405 200 405 405 405",  # the caller's own read state: every role, as opening the page
        b_admin="405 404 405 405 405",
    ),
]


def snapshot() -> list[Any]:
    """Everything a write could change (audit events are written on refusals on purpose)."""
    return [
        list(ProposedOrder.objects.order_by("id").values()),
        list(ProposedOrderLine.objects.order_by("id").values()),
        list(ProposedOrderEvent.objects.order_by("id").values_list("id", "to_status")),
        list(Token.objects.order_by("key").values_list("user_id", "key")),
        list(SupplierMembership.objects.order_by("id").values_list("user_id", "supplier_id", "role")),
        list(InventoryLevel.objects.order_by("id").values()),
        list(User.objects.order_by("id").values_list("id", "is_active", "password")),
        list(Message.objects.order_by("id").values_list("id", "thread_id", "body")),
        list(MessageThread.objects.order_by("id").values_list("id", "last_message_id")),
        list(ThreadReadState.objects.order_by("id").values_list("thread_id", "user_id", "last_read_id")),
        list(Invitation.objects.order_by("id").values_list("id", "email")),
    ]


def send(client: Client, case: Case, method: str, world: World) -> int:
    url = case.url(world)
    body = case.body(world) if method in {"POST", "PUT", "PATCH"} else {}
    if case.api:
        response = client.generic(method, url, json.dumps(body), content_type="application/json")
    elif method in {"GET", "POST"}:
        response = getattr(client, method.lower())(url, body)
    else:
        response = client.generic(method, url)
    return response.status_code


def test_the_matrix_covers_every_persona() -> None:
    for case in MATRIX:
        assert sorted(case.expected) == sorted(PERSONAS), case.name
        for statuses in case.expected.values():
            assert len(row(statuses)) == len(METHODS), case.name


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("case", MATRIX, ids=lambda case: case.name)
def test_access(case: Case, persona: str, world: World) -> None:
    client = world.client(persona)
    got = []
    for method in METHODS:
        # Each method from the same starting state: a successful write is rolled back before the next.
        with transaction.atomic():
            before = snapshot()
            status = send(client, case, method, world)
            if status >= 400 or (status == 302 and persona == "anon"):
                assert snapshot() == before, f"{case.name}: {persona} {method} answered {status} but wrote"
            got.append(status)
            transaction.set_rollback(True)
    assert got == row(case.expected[persona]), f"{case.name} as {persona}"


def test_cross_tenant_refusals_are_audited(world: World) -> None:
    client = world.client("b_admin")

    assert client.get(f"/extranet/orders/{world.submitted_a.pk}/").status_code == 404
    assert client.get(f"/api/v1/extranet/orders/{world.submitted_a.pk}/").status_code == 404
    assert client.get(f"/api/v1/extranet/threads/{world.thread_a.pk}/").status_code == 404
    assert client.get("/extranet/orders/999999/").status_code == 404  # missing: nothing to audit
    assert client.get("/api/v1/extranet/threads/999999/").status_code == 404

    events = AuditEvent.objects.filter(action=AuditEvent.Action.CROSS_TENANT)
    assert events.count() == 3
    assert set(events.values_list("actor_id", flat=True)) == {world.users["b_admin"].pk}
    assert all(event.ip_address == "127.0.0.1" for event in events)


def routes(patterns: list, prefix: str = "") -> set[str]:
    found: set[str] = set()
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            found |= routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            found.add(normal(route))
    return found


def normal(route: str) -> str:
    """Routes as the resolver joins them and as ``ResolverMatch.route`` gives them differ in anchors."""
    return route.replace("^", "").replace("$", "")


def test_every_route_is_in_the_matrix_or_public(world: World) -> None:
    ours = {route for route in routes(get_resolver().url_patterns) if route.startswith(PREFIXES)}
    covered = {normal(resolve(case.url(world).split("?")[0]).route) for case in MATRIX}

    assert ours, "no extranet routes found"
    assert ours - covered - PUBLIC == set()
