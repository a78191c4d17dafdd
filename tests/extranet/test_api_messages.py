"""The extranet API's message threads (extranet/api/views.py, ``ThreadViewSet``), issue 5 item 5: scoping,
unread flags, reading and replying, email to the retailer's side, validation, fixed query counts."""

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from pytest_django import DjangoAssertNumQueries
from rest_framework.authtoken.models import Token

from extranet.messaging import message_post, thread_list_for_supplier, thread_start, unread_thread_count
from extranet.models import AuditEvent, Message, MessageThread
from tests.extranet.conftest import World
from tests.factories import session_queries

pytestmark = pytest.mark.django_db

API = "/api/v1/extranet/threads/"


def post(client: Client, url: str, body: dict[str, Any], **headers: str) -> Any:
    return client.post(url, json.dumps(body), content_type="application/json", headers=headers)


def test_threads_come_newest_activity_first_with_the_callers_unread_flag(world: World) -> None:
    later = thread_start(
        supplier_id=world.supplier_a.pk,
        author=world.users["a_admin"],
        subject="Lookbook",
        body="Draft attached.",
        from_supplier=True,
    )
    client = world.client("a_admin")

    listed = client.get(API).json()["results"]
    assert [(t["id"], t["unread"]) for t in listed] == [(later.pk, False), (world.thread_a.pk, True)]
    assert listed[1]["subject"] == "Spring photos"
    assert listed[1]["created_by"] == world.users["a_member"].username

    message_post(thread=world.thread_a, author=world.users["buyer_a"], body="Friday?", from_supplier=False)
    listed = client.get(API).json()["results"]
    assert [t["id"] for t in listed] == [world.thread_a.pk, later.pk]  # the reply moved it to the top


def test_threads_are_cursor_pages(world: World) -> None:
    for n in range(3):
        thread_start(
            supplier_id=world.supplier_a.pk,
            author=world.users["a_member"],
            subject=f"Topic {n}",
            body="…",
            from_supplier=True,
        )
    client = world.client("a_admin")

    first = client.get(API, {"page_size": 2}).json()
    second = client.get(first["next"]).json()

    subjects = [t["subject"] for t in first["results"] + second["results"]]
    assert subjects == ["Topic 2", "Topic 1", "Topic 0", "Spring photos"]
    assert second["next"] is None


def test_reading_does_not_mark_read_the_read_action_does(world: World) -> None:
    client = world.client("a_admin")
    thread_url = f"{API}{world.thread_a.pk}/"

    assert client.get(thread_url).json()["unread"] is True
    messages = client.get(f"{thread_url}messages/").json()["results"]
    assert [m["body"] for m in messages] == ["Ready?"]
    assert client.get(thread_url).json()["unread"] is True  # GETs change nothing
    assert client.get(f"{API}unread/").json() == {"unread_threads": 1}

    answer = post(client, f"{thread_url}read/", {})

    assert answer.status_code == 200
    assert answer.json()["unread"] is False
    assert client.get(API).json()["results"][0]["unread"] is False
    assert client.get(f"{API}unread/").json() == {"unread_threads": 0}
    threads = thread_list_for_supplier(supplier_id=world.supplier_a.pk, user=world.users["a_admin"])
    assert unread_thread_count(threads, world.users["a_admin"]) == 0  # the page's badge agrees


def test_a_message_posted_after_the_client_looked_stays_unread(world: World) -> None:
    client = world.client("a_member")
    seen = client.get(f"{API}{world.thread_a.pk}/messages/").json()["results"][-1]["id"]
    message_post(thread=world.thread_a, author=world.users["buyer_a"], body="One more", from_supplier=False)

    answer = post(client, f"{API}{world.thread_a.pk}/read/", {"up_to": seen})

    assert answer.json()["unread"] is True
    assert client.get(f"{API}unread/").json() == {"unread_threads": 1}
    assert post(client, f"{API}{world.thread_a.pk}/read/", {}).json()["unread"] is False


def test_read_only_users_mark_read_but_do_not_write(world: World) -> None:
    client = world.client("a_ro")
    before = Message.objects.count(), MessageThread.objects.count()

    assert post(client, f"{API}{world.thread_a.pk}/read/", {}).json()["unread"] is False
    assert post(client, f"{API}{world.thread_a.pk}/messages/", {"body": "Hi"}).status_code == 403
    assert post(client, API, {"subject": "Hello", "body": "Hi"}).status_code == 403
    assert (Message.objects.count(), MessageThread.objects.count()) == before


def test_messages_come_oldest_first_in_cursor_pages(world: World) -> None:
    for n in range(3):
        message_post(thread=world.thread_a, author=world.users["buyer_a"], body=f"#{n}", from_supplier=False)
    client = world.client("a_admin")

    first = client.get(f"{API}{world.thread_a.pk}/messages/", {"page_size": 3}).json()
    second = client.get(first["next"]).json()

    assert [m["body"] for m in first["results"] + second["results"]] == ["Ready?", "#0", "#1", "#2"]
    assert [m["from_supplier"] for m in first["results"]] == [True, False, False]
    assert first["results"][1]["author"] == world.users["buyer_a"].username


def test_a_reply_is_emailed_to_the_assigned_buyers(
    world: World, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        answer = post(world.client("a_member"), f"{API}{world.thread_a.pk}/messages/", {"body": "Photos up."})

    assert answer.status_code == 201
    body = answer.json()
    assert body["body"] == "Photos up."
    assert body["from_supplier"] is True
    assert body["author"] == world.users["a_member"].username
    assert [message.to for message in mail.outbox] == [["buyer-a@retail.example"]]
    assert mail.outbox[0].subject == "New message: Spring photos"
    assert "Photos up." in mail.outbox[0].body
    thread = world.client("a_member").get(f"{API}{world.thread_a.pk}/").json()
    assert thread["last_message_id"] == body["id"]
    assert thread["unread"] is False  # the author has read their own message


def test_a_new_thread_is_emailed_to_the_assigned_buyers(
    world: World, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        answer = post(world.client("a_admin"), API, {"subject": "Catalogue shoot", "body": "When?"})

    assert answer.status_code == 201
    thread = MessageThread.objects.get(pk=answer.json()["id"])
    assert (thread.supplier_id, thread.subject, thread.created_by) == (
        world.supplier_a.pk,
        "Catalogue shoot",
        world.users["a_admin"],
    )
    assert list(thread.messages.values_list("body", "from_supplier")) == [("When?", True)]
    assert answer.json()["unread"] is False
    assert [message.to for message in mail.outbox] == [["buyer-a@retail.example"]]
    assert mail.outbox[0].subject == "New message: Catalogue shoot"


def test_another_suppliers_thread_answers_404_like_a_missing_one_and_is_audited(world: World) -> None:
    client = world.client("b_admin")
    other = world.thread_a.pk
    before = Message.objects.count()

    answers = [
        client.get(f"{API}{other}/"),
        client.get(f"{API}{other}/messages/"),
        post(client, f"{API}{other}/messages/", {"body": "Hi"}),
        post(client, f"{API}{other}/read/", {}),
    ]
    missing = client.get(f"{API}999999/")

    assert [a.status_code for a in answers] == [404, 404, 404, 404]
    assert all(a.json() == missing.json() for a in answers)
    assert Message.objects.count() == before
    events = AuditEvent.objects.filter(action=AuditEvent.Action.CROSS_TENANT)
    assert events.count() == 4  # the missing id is not audited
    assert set(events.values_list("actor_id", "supplier_id_or_none")) == {
        (world.users["b_admin"].pk, world.supplier_b.pk)
    }
    assert {event.details["model"] for event in events} == {"extranet.MessageThread"}
    assert client.get(API).json()["results"] == []
    assert client.get(f"{API}unread/").json() == {"unread_threads": 0}


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"body": "Hi"}, "subject", "required"),
        ({"subject": "Hello"}, "body", "required"),
        ({"subject": "  ", "body": "Hi"}, "subject", "blank"),
        ({"subject": "x" * 201, "body": "Hi"}, "subject", "max_length"),
        ({"subject": "Hello", "body": "x" * 5001}, "body", "max_length"),
    ],
)
def test_a_bad_new_thread_is_refused_naming_the_field(
    world: World, body: dict[str, str], field: str, code: str
) -> None:
    before = MessageThread.objects.count(), Message.objects.count()

    answer = post(world.client("a_member"), API, body)

    assert answer.status_code == 400
    assert [error["code"] for error in answer.json()[field]] == [code]
    assert (MessageThread.objects.count(), Message.objects.count()) == before


@pytest.mark.parametrize(
    ("body", "code"), [({}, "required"), ({"body": "\n "}, "blank"), ({"body": "x" * 5001}, "max_length")]
)
def test_a_bad_reply_is_refused_naming_the_field(world: World, body: dict[str, str], code: str) -> None:
    before = list(MessageThread.objects.values_list("id", "last_message_id")), Message.objects.count()

    answer = post(world.client("a_member"), f"{API}{world.thread_a.pk}/messages/", body)

    assert answer.status_code == 400
    assert [error["code"] for error in answer.json()["body"]] == [code]
    assert (
        list(MessageThread.objects.values_list("id", "last_message_id")),
        Message.objects.count(),
    ) == before


def test_the_longest_allowed_subject_and_body_are_taken(world: World) -> None:
    answer = post(world.client("a_member"), API, {"subject": "s" * 200, "body": "b" * 5000})
    assert answer.status_code == 201


def test_a_bad_read_position_is_refused(world: World) -> None:
    answer = post(world.client("a_member"), f"{API}{world.thread_a.pk}/read/", {"up_to": 0})
    assert answer.status_code == 400
    assert [error["code"] for error in answer.json()["up_to"]] == ["min_value"]


def test_a_thread_whose_first_message_fails_is_not_left_behind(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(**kwargs: Any) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr("extranet.messaging.message_post", fail)
    before = MessageThread.objects.count()

    with pytest.raises(RuntimeError):
        post(world.client("a_member"), API, {"subject": "Hello", "body": "Hi"})

    assert MessageThread.objects.count() == before


def test_a_retried_reply_with_the_same_idempotency_key_is_posted_once(world: World) -> None:
    client = world.client("a_member")
    url = f"{API}{world.thread_a.pk}/messages/"
    before = Message.objects.count()

    first = post(client, url, {"body": "Once"}, **{"Idempotency-Key": "reply-1"})
    again = post(client, url, {"body": "Once"}, **{"Idempotency-Key": "reply-1"})
    other = post(client, url, {"body": "Twice?"}, **{"Idempotency-Key": "reply-1"})

    assert (first.status_code, again.status_code, other.status_code) == (201, 201, 422)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Message.objects.count() == before + 1


def test_a_supplier_users_token_reads_and_writes_its_threads(world: World) -> None:
    token = Token.objects.create(user=world.users["a_member"])
    api = Client(HTTP_AUTHORIZATION=f"Token {token.key}")

    assert [t["id"] for t in api.get(API).json()["results"]] == [world.thread_a.pk]
    assert post(api, f"{API}{world.thread_a.pk}/messages/", {"body": "By token"}).status_code == 201
    assert api.get(f"{API}{world.thread_a.pk}/").status_code == 200


# Session, user, membership (with the permissions), then one statement: the page of threads with their
# authors and unread flags; the thread with its flag; the count of unread threads; or the thread, then the
# page of its messages with their authors.
QUERIES = {"threads": 4, "thread": 4, "unread": 4, "messages": 5}


def _url(world: World, name: str) -> str:
    thread = f"{API}{world.thread_a.pk}/"
    return {"threads": API, "thread": thread, "unread": f"{API}unread/", "messages": f"{thread}messages/"}[
        name
    ]


@pytest.mark.parametrize("name", list(QUERIES))
def test_threads_and_messages_cost_the_same_queries_for_3_and_50(
    world: World, name: str, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    client = world.client("a_admin")
    client.get(API)
    expected = QUERIES[name] - 1 + session_queries()  # the table counts the session's query

    def grow_to(count: int) -> None:
        author = world.users["buyer_a"]
        while MessageThread.objects.filter(supplier_id=world.supplier_a.pk).count() < count:
            thread = thread_start(
                supplier_id=world.supplier_a.pk, author=author, subject="Topic", body="…", from_supplier=False
            )
            message_post(thread=thread, author=world.users["a_member"], body="…", from_supplier=True)
        while world.thread_a.messages.count() < count:
            message_post(thread=world.thread_a, author=author, body="…", from_supplier=False)

    for count in (3, 50):
        grow_to(count)
        with django_assert_num_queries(expected):
            answer = client.get(_url(world, name))
        assert answer.status_code == 200
        if name in {"threads", "messages"}:
            assert len(answer.json()["results"]) == count


@pytest.mark.parametrize("pk", ["abc", "99999999999999999999"])
def test_a_thread_id_that_is_no_id_answers_404(world: World, pk: str) -> None:
    assert world.client("a_admin").get(f"{API}{pk}/").status_code == 404


@pytest.mark.parametrize("resource", ["products", "orders"])
@pytest.mark.parametrize("pk", ["abc", "99999999999999999999"])
def test_a_product_or_order_id_that_is_no_id_answers_404(world: World, resource: str, pk: str) -> None:
    assert world.client("a_admin").get(f"/api/v1/extranet/{resource}/{pk}/").status_code == 404
