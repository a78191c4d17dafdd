"""The buyers' queue in the staff UI: proposed orders of the suppliers a buyer is assigned to.

Staff pages (``StaffRequiredMixin``) with the model permission to view proposed orders; which orders a
buyer sees is decided by their guardian assignments, never by a global permission.
"""

from typing import Any, cast

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import TemplateView

from crm.models import User
from crm.pagination import keyset_page
from crm.permissions import STAFF_UI_PERMISSION, StaffRequiredMixin
from extranet.access import refuse_out_of_scope
from extranet.forms import DecisionForm
from extranet.models import ProposedOrder
from extranet.selectors import order_events, order_get_for_buyer, order_lines, order_list_for_buyer
from extranet.services import TRANSITIONS, OrderConflict, OrderError, OrderForbidden, order_transition

BUYER_ACTIONS = [name for name, transition in TRANSITIONS.items() if transition.side == "buyer"]
PERMISSIONS: tuple[str, ...] = (STAFF_UI_PERMISSION, "extranet.view_proposedorder")


class BuyerOrderMixin(StaffRequiredMixin):
    permission_required: tuple[str, ...] = PERMISSIONS
    request: HttpRequest
    kwargs: dict[str, Any]

    def get_order(self) -> ProposedOrder:
        order = order_get_for_buyer(self.request.user, self.kwargs["pk"])
        if order is None:
            raise refuse_out_of_scope(self.request, ProposedOrder, self.kwargs["pk"], None)
        return order


class QueueView(BuyerOrderMixin, TemplateView):
    """Orders waiting for a decision first (``?status=``, default submitted), newest first."""

    template_name = "extranet/buying/queue.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        status = self.request.GET.get("status", ProposedOrder.Status.SUBMITTED)
        orders = order_list_for_buyer(self.request.user)
        if status in ProposedOrder.Status.values:
            orders = orders.filter(status=status)
        context["page"] = keyset_page(self.request, orders)
        context["status"] = status
        context["statuses"] = ProposedOrder.Status.choices
        return context


class BuyerOrderDetailView(BuyerOrderMixin, TemplateView):
    template_name = "extranet/buying/detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        order = self.get_order()
        context["order"] = order
        context["lines"] = list(order_lines(order))
        context["events"] = list(order_events(order))
        own = order.created_by_id == self.request.user.pk
        context["own_proposal"] = own
        context["actions"] = [
            TRANSITIONS[name]
            for name in BUYER_ACTIONS
            if not own
            and order.status in TRANSITIONS[name].sources
            and self.request.user.has_perm("extranet.change_proposedorder")
        ]
        context["form"] = DecisionForm()
        return context


class BuyerOrderActionView(BuyerOrderMixin, View):
    """POST approve / reject / request changes / mark ordered / close / cancel, with a comment."""

    permission_required = (*PERMISSIONS, "extranet.change_proposedorder")
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int, action: str) -> HttpResponse:
        if action not in BUYER_ACTIONS:
            raise Http404
        order = self.get_order()
        form = DecisionForm(request.POST)
        comment = form.cleaned_data["comment"] if form.is_valid() else ""
        try:
            order_transition(
                order=order, actor=cast(User, request.user), name=action, comment=comment, request=request
            )
        except OrderConflict as error:
            return render(
                request,
                "extranet/orders/conflict.html",
                {"order": order, "error": error.message, "staff": True},
                status=409,
            )
        except OrderForbidden as error:
            return HttpResponse(error.message, status=403)
        except OrderError as error:
            messages.error(request, error.message)
            return HttpResponseRedirect(reverse("buying:order_detail", args=[order.pk]))
        messages.success(
            request, _("PO-%(id)d: %(action)s done.") % {"id": order.pk, "action": TRANSITIONS[action].label}
        )
        return HttpResponseRedirect(reverse("buying:order_detail", args=[order.pk]))
