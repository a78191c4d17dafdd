"""Message threads: reads scoped like everything else (a supplier's users see their supplier's threads,
staff see the threads of the suppliers they are assigned to), writes that notify the other side by email.
"""

from django.conf import settings
from django.core.mail import send_mass_mail
from django.db import transaction
from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from crm.models import User
from extranet.models import (
    Message,
    MessageThread,
    SupplierBuyerPermission,
    SupplierMembership,
    ThreadReadState,
)
from extranet.models.orders import BUYER_PERMISSION_CODENAME
from extranet.selectors import buyer_supplier_ids

# The pages' badge and the API count unread threads up to this many: past it the number is "many".
UNREAD_COUNT_LIMIT = 100


def _with_unread(threads: QuerySet[MessageThread], user: User) -> QuerySet[MessageThread]:
    read = ThreadReadState.objects.filter(thread_id=OuterRef("pk"), user_id=user.pk).values("last_read_id")[
        :1
    ]
    return threads.annotate(
        unread=ExpressionWrapper(
            Q(last_message_id__gt=Coalesce(Subquery(read), 0)), output_field=BooleanField()
        )
    )


def thread_list_for_supplier(*, supplier_id: int, user: User) -> QuerySet[MessageThread]:
    return _with_unread(MessageThread.objects.filter(supplier_id=supplier_id), user).select_related(
        "created_by"
    )


def thread_get_for_supplier(*, supplier_id: int, thread_id: int, user: User) -> MessageThread | None:
    """One of the supplier's threads with its ``unread`` flag for the user; None for another supplier's
    thread as for a missing one (the page and the API answer both with 404)."""
    return thread_list_for_supplier(supplier_id=supplier_id, user=user).filter(pk=thread_id).first()


def thread_list_for_staff(user: User) -> QuerySet[MessageThread]:
    return _with_unread(
        MessageThread.objects.filter(supplier_id__in=buyer_supplier_ids(user)), user
    ).select_related("supplier", "created_by")


def unread_thread_count(threads: QuerySet[MessageThread], user: User) -> int:
    """How many of the threads have messages the user has not read (one query, at most
    ``UNREAD_COUNT_LIMIT`` counted)."""
    read = ThreadReadState.objects.filter(
        thread_id=OuterRef("pk"), user_id=user.pk, last_read_id__gte=OuterRef("last_message_id")
    )
    return threads.filter(last_message_id__gt=0).exclude(Exists(read)).order_by()[:UNREAD_COUNT_LIMIT].count()


def thread_messages(thread: MessageThread) -> QuerySet[Message]:
    return thread.messages.select_related("author").order_by("id")


def thread_mark_read(*, thread: MessageThread, user: User, up_to: int | None = None) -> None:
    """Mark the thread read for the user up to message ``up_to`` (default: its newest message).

    The API marks read in a request of its own, after the client has fetched the messages: ``up_to`` is
    the newest one it saw, so that a message posted in between stays unread. A read state only moves
    forward, so a late or repeated call never makes read messages unread again.
    """
    last = thread.last_message_id if up_to is None else min(up_to, thread.last_message_id)
    moved = ThreadReadState.objects.filter(thread=thread, user=user, last_read_id__lt=last).update(
        last_read_id=last
    )
    if not moved:
        ThreadReadState.objects.get_or_create(thread=thread, user=user, defaults={"last_read_id": last})


@transaction.atomic
def thread_start(
    *, supplier_id: int, author: User, subject: str, body: str, from_supplier: bool
) -> MessageThread:
    thread = MessageThread.objects.create(supplier_id=supplier_id, subject=subject, created_by=author)
    message_post(thread=thread, author=author, body=body, from_supplier=from_supplier)
    return thread


@transaction.atomic
def message_post(*, thread: MessageThread, author: User, body: str, from_supplier: bool) -> Message:
    """Add a message, mark the thread read to it for its author, and email the other side."""
    message = Message.objects.create(thread=thread, author=author, body=body, from_supplier=from_supplier)
    # Only forward: of two replies posted at once, the one with the smaller id may commit last.
    MessageThread.objects.filter(pk=thread.pk, last_message_id__lt=message.pk).update(
        last_message_id=message.pk, last_message_at=message.created_at
    )
    thread.last_message_id, thread.last_message_at = message.pk, message.created_at
    thread_mark_read(thread=thread, user=author)
    recipients = _other_side(thread.supplier_id, from_supplier)
    if recipients:
        subject = _("New message: %(subject)s") % {"subject": thread.subject}
        text = _("%(author)s wrote:\n\n%(body)s") % {
            "author": author.get_full_name() or author.get_username(),
            "body": body,
        }
        transaction.on_commit(
            lambda: send_mass_mail([(subject, text, settings.DEFAULT_FROM_EMAIL, [to]) for to in recipients])
        )
    return message


def _other_side(supplier_id: int, from_supplier: bool) -> list[str]:
    if from_supplier:
        users = User.objects.filter(
            pk__in=SupplierBuyerPermission.objects.filter(
                content_object_id=supplier_id, permission__codename=BUYER_PERMISSION_CODENAME
            ).values("user_id")
        )
    else:
        users = User.objects.filter(
            pk__in=SupplierMembership.objects.filter(supplier_id=supplier_id).values("user_id")
        )
    return sorted({email for email in users.filter(is_active=True).values_list("email", flat=True) if email})
