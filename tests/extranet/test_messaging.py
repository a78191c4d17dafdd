"""Message threads (extranet/messaging.py, extranet/views/messages.py), issue 5 item 5."""

from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail

from extranet.messaging import (
    message_post,
    thread_get_for_supplier,
    thread_list_for_supplier,
    thread_mark_read,
    unread_thread_count,
)
from extranet.models import MessageThread, ThreadReadState
from tests.extranet.conftest import World

pytestmark = pytest.mark.django_db


def test_a_supplier_message_reaches_the_assigned_buyers_by_email(
    world: World, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = world.client("a_admin").post(
            f"/extranet/messages/{world.thread_a.pk}/", {"body": "Photos are up."}
        )

    assert response.status_code == 302
    assert [message.to for message in mail.outbox] == [["buyer-a@retail.example"]]
    assert "Photos are up." in mail.outbox[0].body


def test_a_buyer_reply_reaches_the_suppliers_users(
    world: World, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        world.client("buyer_a").post(f"/buying/messages/{world.thread_a.pk}/", {"body": "Thanks!"})

    recipients = {to for message in mail.outbox for to in message.to}
    assert recipients == {world.users[p].email for p in ["a_admin", "a_member", "a_ro"]}


def test_unread_counts_follow_reading(world: World) -> None:
    admin = world.users["a_admin"]
    threads = thread_list_for_supplier(supplier_id=world.supplier_a.pk, user=admin)
    assert unread_thread_count(threads, admin) == 1  # a_member's opening message
    assert unread_thread_count(threads, world.users["a_member"]) == 0  # the author has read it

    page = world.client("a_admin").get("/extranet/messages/")
    assert page.context["unread"] == 1
    world.client("a_admin").get(f"/extranet/messages/{world.thread_a.pk}/")
    assert unread_thread_count(threads, admin) == 0

    message_post(thread=world.thread_a, author=world.users["buyer_a"], body="Any news?", from_supplier=False)
    assert unread_thread_count(threads, admin) == 1
    listed = world.client("a_admin").get("/extranet/messages/").context["threads"]
    assert [thread.unread for thread in listed] == [True]


def test_staff_see_only_threads_of_their_suppliers(world: World) -> None:
    assert world.client("buyer_a").get("/buying/messages/").context["threads"] == [world.thread_a]
    assert world.client("buyer_x").get("/buying/messages/").context["threads"] == []
    assert world.client("b_admin").get("/extranet/messages/").context["threads"] == []


def test_a_read_state_only_moves_forward(world: World) -> None:
    admin = world.users["a_admin"]
    first = world.thread_a.last_message_id
    message_post(thread=world.thread_a, author=world.users["buyer_a"], body="Any news?", from_supplier=False)
    thread = thread_get_for_supplier(supplier_id=world.supplier_a.pk, thread_id=world.thread_a.pk, user=admin)
    assert thread is not None and thread.unread

    thread_mark_read(thread=thread, user=admin, up_to=first)  # the client saw the first message only
    assert ThreadReadState.objects.get(thread=thread, user=admin).last_read_id == first
    thread_mark_read(thread=thread, user=admin)
    thread_mark_read(thread=thread, user=admin, up_to=first)  # a late call does not move it back
    assert ThreadReadState.objects.get(thread=thread, user=admin).last_read_id == thread.last_message_id


def test_the_threads_last_message_never_moves_back(world: World) -> None:
    """Of two replies posted at once, the one with the smaller id may commit last: it leaves the thread's
    newest message as it is."""
    newer = message_post(thread=world.thread_a, author=world.users["a_admin"], body="2", from_supplier=True)
    stale = MessageThread.objects.get(pk=world.thread_a.pk)
    MessageThread.objects.filter(pk=stale.pk).update(last_message_id=newer.pk + 1000)

    message_post(thread=stale, author=world.users["a_member"], body="3", from_supplier=True)

    assert MessageThread.objects.get(pk=stale.pk).last_message_id == newer.pk + 1000
