"""The demo's stock levels: every product is held somewhere, with sensible quantities."""

from io import StringIO

import pytest
from django.core.management import call_command

from crm.models import Location, Product
from extranet.models import InventoryLevel

pytestmark = pytest.mark.django_db


def test_every_product_is_stocked_in_the_warehouses_and_the_online_shop() -> None:
    call_command("seed_demo", customers=5, interactions=2, products=40, seed=1, stdout=StringIO())

    warehouses_and_shop = set(Location.objects.exclude(kind="store").values_list("id", flat=True))
    for product in Product.objects.all():
        held = set(InventoryLevel.objects.filter(product=product).values_list("location_id", flat=True))
        assert held >= warehouses_and_shop
    assert InventoryLevel.objects.filter(location__kind="store").exists()
    assert InventoryLevel.objects.filter(on_order__gt=0).exists()
    assert not InventoryLevel.objects.filter(on_hand__lt=-3).exists()
