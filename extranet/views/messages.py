"""Message threads, from the supplier's side (extranet) and from the retailer's (staff UI)."""

from typing import Any, cast

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from crm.models import Supplier, User
from crm.permissions import STAFF_UI_PERMISSION, StaffRequiredMixin
from extranet.access import SupplierRequiredMixin, refuse_out_of_scope
from extranet.messaging import (
    message_post,
    thread_get_for_supplier,
    thread_list_for_staff,
    thread_list_for_supplier,
    thread_mark_read,
    thread_messages,
    thread_start,
    unread_thread_count,
)
from extranet.models import MessageThread
from extranet.selectors import buyer_supplier_ids


class ReplyForm(forms.Form):
    body = forms.CharField(
        label=gettext_lazy("Message"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4, "class": "form-control"}),
    )


class ThreadForm(ReplyForm):
    subject = forms.CharField(
        label=gettext_lazy("Subject"), max_length=200, widget=forms.TextInput(attrs={"class": "form-control"})
    )
    field_order = ["subject", "body"]


class SupplierThreadListView(SupplierRequiredMixin, View):
    """The supplier's threads, newest activity first, unread ones marked; POST starts a thread."""

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.render_page(request, ThreadForm())

    def render_page(self, request: HttpRequest, form: ThreadForm, status: int = 200) -> HttpResponse:
        user = self.membership.user
        threads = thread_list_for_supplier(supplier_id=self.membership.supplier_id, user=user)
        context = {
            "threads": list(threads.order_by("-last_message_id")[:100]),
            "unread": unread_thread_count(threads, user),
            "form": form,
            "can_write": self.membership.role in self.write_roles,
        }
        return render(request, "extranet/messages/list.html", context, status=status)

    def post(self, request: HttpRequest) -> HttpResponse:
        form = ThreadForm(request.POST)
        if not form.is_valid():
            return self.render_page(request, form, status=400)
        thread = thread_start(
            supplier_id=self.membership.supplier_id,
            author=self.membership.user,
            subject=form.cleaned_data["subject"],
            body=form.cleaned_data["body"],
            from_supplier=True,
        )
        return HttpResponseRedirect(reverse("extranet:thread", args=[thread.pk]))


class SupplierThreadView(SupplierRequiredMixin, View):
    """One thread: reading it marks it read; POST replies."""

    def get_thread(self, request: HttpRequest, pk: int) -> MessageThread:
        thread = thread_get_for_supplier(
            supplier_id=self.membership.supplier_id, thread_id=pk, user=self.membership.user
        )
        if thread is None:
            raise refuse_out_of_scope(request, MessageThread, pk, self.membership.supplier_id)
        return thread

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        thread = self.get_thread(request, pk)
        thread_mark_read(thread=thread, user=self.membership.user)
        context = {
            "thread": thread,
            "messages_": list(thread_messages(thread)),
            "form": ReplyForm(),
            "can_write": self.membership.role in self.write_roles,
            "mine_from_supplier": True,
        }
        return render(request, "extranet/messages/thread.html", context)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        thread = self.get_thread(request, pk)
        form = ReplyForm(request.POST)
        if not form.is_valid():
            return HttpResponse(_("Write a message."), status=400)
        message_post(
            thread=thread, author=self.membership.user, body=form.cleaned_data["body"], from_supplier=True
        )
        return HttpResponseRedirect(reverse("extranet:thread", args=[thread.pk]))


STAFF_PERMISSIONS = (STAFF_UI_PERMISSION, "extranet.view_messagethread")


class StaffThreadListView(StaffRequiredMixin, View):
    """Threads with the suppliers the user is assigned to; POST starts one with such a supplier."""

    permission_required = STAFF_PERMISSIONS

    def render_page(self, request: HttpRequest, form: ThreadForm, status: int = 200) -> HttpResponse:
        user = cast(User, request.user)
        threads = thread_list_for_staff(user)
        context = {
            "threads": list(threads.order_by("-last_message_id")[:100]),
            "unread": unread_thread_count(threads, user),
            "form": form,
            "suppliers": Supplier.objects.filter(pk__in=buyer_supplier_ids(user)).order_by("name")[:200],
        }
        return render(request, "extranet/messages/staff_list.html", context, status=status)

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.render_page(request, ThreadForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        user = cast(User, request.user)
        form = ThreadForm(request.POST)
        supplier = Supplier.objects.filter(
            pk__in=buyer_supplier_ids(user), pk=request.POST.get("supplier") or 0
        ).first()
        if supplier is None:
            form.add_error(None, _("Choose one of your suppliers."))
        if not form.is_valid() or supplier is None:
            return self.render_page(request, form, status=400)
        thread = thread_start(
            supplier_id=supplier.pk,
            author=user,
            subject=form.cleaned_data["subject"],
            body=form.cleaned_data["body"],
            from_supplier=False,
        )
        messages.success(request, _("Message sent."))
        return HttpResponseRedirect(reverse("buying:thread", args=[thread.pk]))


class StaffThreadView(StaffRequiredMixin, View):
    permission_required = STAFF_PERMISSIONS

    def get_thread(self, request: HttpRequest, pk: int) -> MessageThread:
        thread = thread_list_for_staff(cast(User, request.user)).filter(pk=pk).first()
        if thread is None:
            raise refuse_out_of_scope(request, MessageThread, pk, None)
        return thread

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        thread = self.get_thread(request, pk)
        thread_mark_read(thread=thread, user=cast(User, request.user))
        context: dict[str, Any] = {
            "thread": thread,
            "messages_": list(thread_messages(thread)),
            "form": ReplyForm(),
            "can_write": request.user.has_perm("extranet.add_message"),
            "mine_from_supplier": False,
        }
        return render(request, "extranet/messages/staff_thread.html", context)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        thread = self.get_thread(request, pk)
        if not request.user.has_perm("extranet.add_message"):
            return HttpResponse(status=403)
        form = ReplyForm(request.POST)
        if not form.is_valid():
            return HttpResponse(_("Write a message."), status=400)
        message_post(
            thread=thread,
            author=cast(User, request.user),
            body=form.cleaned_data["body"],
            from_supplier=False,
        )
        return HttpResponseRedirect(reverse("buying:thread", args=[thread.pk]))
