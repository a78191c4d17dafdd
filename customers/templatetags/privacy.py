"""Template tags for personal fields: ``{{ value|masked:"phone" }}`` always masks;
``{% personal customer "phone" %}`` masks and, for users with ``customers.view_personal_data``, adds the
"show" button whose click (htmx) reveals the value and is written to the access log."""

from typing import Any

from django import template

from customers.privacy.masking import can_see_personal_data, mask_value

register = template.Library()


@register.filter
def masked(value: Any, field: str) -> Any:
    """The masked form of a personal field's value."""
    return mask_value(field, value)


@register.inclusion_tag("customers/privacy/personal_field.html", takes_context=True)
def personal(context: template.Context, customer: Any, field: str) -> dict[str, Any]:
    """A personal field of a customer, masked, with a reveal button for those allowed to see it."""
    request = context.get("request")
    value = getattr(customer, field, "")
    return {
        "customer_id": customer.pk,
        "field": field,
        "masked": mask_value(field, value),
        "empty": value in (None, ""),
        "can_reveal": can_see_personal_data(getattr(request, "user", None)),
    }
