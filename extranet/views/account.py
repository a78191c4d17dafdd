"""The supplier user's own API token, for their systems to call /api/v1/extranet/."""

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.generic import TemplateView
from rest_framework.authtoken.models import Token

from extranet.access import SupplierRequiredMixin


class ApiTokenView(SupplierRequiredMixin, TemplateView):
    """Shows whether the user has a token; POST makes a new one (the old one stops working) and shows it once."""

    template_name = "extranet/api_token.html"
    write_roles = SupplierRequiredMixin.read_roles  # every role may have a token: reads are scoped anyway

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["has_token"] = Token.objects.filter(user_id=self.membership.user_id).exists()
        return context

    def post(self, request: HttpRequest) -> HttpResponse:
        Token.objects.filter(user_id=self.membership.user_id).delete()
        token = Token.objects.create(user_id=self.membership.user_id)
        messages.success(
            request,
            _("Your new API token: %(key)s — copy it now, it is not shown again.") % {"key": token.key},
        )
        return HttpResponseRedirect(reverse("extranet:api_token"))
