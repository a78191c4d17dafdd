"""Model instances from written-out rows (crm/rows.py): what the ORM's ``from_db`` gives, cheaper."""

from typing import Any

import pytest
from django.db.models.signals import post_init

from crm.rows import instance_loaded
from customers.models import Customer, CustomerAnalytics
from customers.search import ANALYTICS_FIELDS, CUSTOMER_FIELDS
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _state(instance: Any) -> dict[str, Any]:
    fields = {k: v for k, v in instance.__dict__.items() if k != "_state"}
    return {
        "fields": fields,
        "deferred": instance.get_deferred_fields(),
        "adding": instance._state.adding,
        "db": instance._state.db,
    }


@pytest.mark.parametrize(
    ("model", "names", "values"),
    [
        (Customer, CUSTOMER_FIELDS, None),
        (CustomerAnalytics, ANALYTICS_FIELDS, (7, "champions")),
    ],
)
def test_an_instance_loaded_is_the_one_from_db_gives(model: Any, names: Any, values: Any) -> None:
    if values is None:
        customer = CustomerFactory(name="김민지", email="minji@example.kr", phone="010-1234-5678")
        values = tuple(getattr(customer, name) for name in names)
    fast = instance_loaded(model, names, values, "default")
    orm = model.from_db("default", names, values)
    assert type(fast) is model
    assert _state(fast) == _state(orm)
    assert fast.get_deferred_fields()  # some fields deferred, as with .only()


def test_a_deferred_field_loads_on_access_as_the_orms_would() -> None:
    customer = CustomerFactory(name="김민지", region="Seoul")
    values = tuple(getattr(customer, name) for name in CUSTOMER_FIELDS)
    loaded = instance_loaded(Customer, CUSTOMER_FIELDS, values)
    assert "region" not in CUSTOMER_FIELDS
    assert loaded.region == "Seoul"
    assert loaded == customer and loaded.name == "김민지"


def test_a_model_with_init_receivers_goes_through_from_db() -> None:
    seen: list[Any] = []

    def receiver(sender: Any, instance: Any, **kwargs: Any) -> None:
        seen.append(instance)

    post_init.connect(receiver, sender=CustomerAnalytics)
    try:
        loaded = instance_loaded(CustomerAnalytics, ANALYTICS_FIELDS, (7, "champions"))
    finally:
        post_init.disconnect(receiver, sender=CustomerAnalytics)
    assert seen == [loaded]
