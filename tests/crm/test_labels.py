"""crm/templatetags/crm_labels.py: the ``label`` filter gives what ``get_FOO_display`` gives."""

import pytest
from django.template import Context, Template
from django.utils import translation

from customers.models import Customer, CustomerAnalytics

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("language", ["en", "ko"])
def test_the_label_is_the_display_value_in_the_active_language(language: str) -> None:
    template = Template(
        '{% load crm_labels %}{{ customer|label:"status" }}|{{ analytics|label:"rfm_group" }}'
    )
    with translation.override(language):
        for status in Customer.Status.values:
            for group in CustomerAnalytics._meta.get_field("rfm_group").flatchoices:
                customer = Customer(status=status)
                analytics = CustomerAnalytics(rfm_group=group[0])
                expected = f"{customer.get_status_display()}|{analytics.get_rfm_group_display()}"
                assert template.render(Context({"customer": customer, "analytics": analytics})) == expected


def test_a_value_outside_the_choices_and_no_object() -> None:
    template = Template('{% load crm_labels %}[{{ customer|label:"status" }}][{{ nothing|label:"status" }}]')
    assert template.render(Context({"customer": Customer(status="unknown")})) == "[unknown][]"
