"""The supplier's proposed orders: list, draft, edit, submit or cancel, and read the decisions."""

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import TemplateView

from crm.pagination import keyset_page
from extranet.access import SupplierRequiredMixin, refuse_out_of_scope
from extranet.forms import DecisionForm, OrderForm
from extranet.models import ProposedOrder
from extranet.selectors import order_events, order_get_for_supplier, order_lines, order_list_for_supplier
from extranet.services import (
    EDITABLE,
    TRANSITIONS,
    OrderConflict,
    OrderError,
    OrderForbidden,
    order_create,
    order_transition,
    order_update,
)

SUPPLIER_ACTIONS = [name for name, transition in TRANSITIONS.items() if transition.side == "supplier"]


class OrderMixin(SupplierRequiredMixin):
    request: HttpRequest
    kwargs: dict[str, Any]

    def get_order(self) -> ProposedOrder:
        order = order_get_for_supplier(supplier_id=self.membership.supplier_id, order_id=self.kwargs["pk"])
        if order is None:
            raise refuse_out_of_scope(
                self.request, ProposedOrder, self.kwargs["pk"], self.membership.supplier_id
            )
        return order


class OrderListView(SupplierRequiredMixin, TemplateView):
    template_name = "extranet/orders/list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["page"] = keyset_page(
            self.request, order_list_for_supplier(supplier_id=self.membership.supplier_id)
        )
        context["can_propose"] = self.membership.role in self.write_roles
        return context


class OrderCreateView(SupplierRequiredMixin, View):
    """Draft an order; read-only users may not even see the form."""

    read_roles = SupplierRequiredMixin.write_roles

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, "extranet/orders/form.html", {"form": OrderForm()})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = OrderForm(request.POST)
        if form.is_valid():
            try:
                order = order_create(
                    membership=self.membership,
                    requested_delivery_date=form.cleaned_data["requested_delivery_date"],
                    note=form.cleaned_data["note"],
                    lines=form.cleaned_data["lines"],
                )
            except OrderError as error:
                form.add_error(
                    "lines" if "line" in error.code or "product" in error.code else None, error.message
                )
            else:
                messages.success(request, _("Draft PO-%(id)d saved.") % {"id": order.pk})
                return HttpResponseRedirect(reverse("extranet:order_detail", args=[order.pk]))
        return render(request, "extranet/orders/form.html", {"form": form}, status=400)


class OrderEditView(OrderMixin, View):
    read_roles = SupplierRequiredMixin.write_roles

    def _initial(self, order: ProposedOrder) -> dict[str, Any]:
        return {
            "requested_delivery_date": order.requested_delivery_date,
            "note": order.note,
            "lines": "\n".join(f"{line.product.sku}, {line.quantity}" for line in order_lines(order)),
        }

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        order = self.get_order()
        if order.status not in EDITABLE:
            return render(request, "extranet/orders/conflict.html", {"order": order}, status=409)
        return render(
            request,
            "extranet/orders/form.html",
            {"form": OrderForm(initial=self._initial(order)), "order": order},
        )

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        order = self.get_order()
        form = OrderForm(request.POST)
        if form.is_valid():
            try:
                order_update(
                    membership=self.membership,
                    order=order,
                    requested_delivery_date=form.cleaned_data["requested_delivery_date"],
                    note=form.cleaned_data["note"],
                    lines=form.cleaned_data["lines"],
                )
            except OrderConflict:
                return render(request, "extranet/orders/conflict.html", {"order": order}, status=409)
            except OrderError as error:
                form.add_error("lines", error.message)
            else:
                messages.success(request, _("PO-%(id)d saved.") % {"id": order.pk})
                return HttpResponseRedirect(reverse("extranet:order_detail", args=[order.pk]))
        return render(request, "extranet/orders/form.html", {"form": form, "order": order}, status=400)


class OrderDetailView(OrderMixin, TemplateView):
    template_name = "extranet/orders/detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        order = self.get_order()
        context["order"] = order
        context["lines"] = list(order_lines(order))
        context["events"] = list(order_events(order))
        can_write = self.membership.role in self.write_roles
        context["can_edit"] = can_write and order.status in EDITABLE
        context["actions"] = [
            TRANSITIONS[name]
            for name in SUPPLIER_ACTIONS
            if can_write and order.status in TRANSITIONS[name].sources
        ]
        context["form"] = DecisionForm()
        return context


class OrderActionView(OrderMixin, View):
    """POST a supplier move (submit, withdraw); a move the status does not allow answers 409."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int, action: str) -> HttpResponse:
        if action not in SUPPLIER_ACTIONS:
            raise Http404
        order = self.get_order()
        form = DecisionForm(request.POST)
        comment = form.cleaned_data["comment"] if form.is_valid() else ""
        try:
            order_transition(
                order=order, actor=self.membership.user, name=action, comment=comment, request=request
            )
        except OrderConflict as error:
            return render(
                request, "extranet/orders/conflict.html", {"order": order, "error": error.message}, status=409
            )
        except OrderForbidden as error:
            return HttpResponse(error.message, status=403)
        except OrderError as error:
            messages.error(request, error.message)
            return HttpResponseRedirect(reverse("extranet:order_detail", args=[order.pk]))
        messages.success(
            request, _("PO-%(id)d: %(action)s done.") % {"id": order.pk, "action": TRANSITIONS[action].label}
        )
        return HttpResponseRedirect(reverse("extranet:order_detail", args=[order.pk]))
