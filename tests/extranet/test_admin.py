"""The extranet admin (extranet/admin.py): memberships and inventory levels."""

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import InventoryLevelFactory, ProductFactory, SupplierMembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def search(client: Client, url: str, term: str) -> list[int]:
    response = client.get(url, {"q": term})
    assert response.status_code == 200
    return [row.pk for row in response.context["cl"].result_list]


def test_inventory_search_by_exact_sku(admin_client: Client) -> None:
    product = ProductFactory(sku="NB-1080-270")
    levels = InventoryLevelFactory.create_batch(2, product=product)
    InventoryLevelFactory(product=ProductFactory(sku="NB-1080-2700"))
    url = reverse("admin:extranet_inventorylevel_changelist")

    assert sorted(search(admin_client, url, "NB-1080-270")) == sorted(level.pk for level in levels)


def test_inventory_list_shows_the_products_supplier(admin_client: Client) -> None:
    level = InventoryLevelFactory()

    response = admin_client.get(reverse("admin:extranet_inventorylevel_changelist"))

    assert level.product.supplier.name in response.content.decode()


def test_membership_search_by_username_or_supplier(admin_client: Client) -> None:
    membership = SupplierMembershipFactory(
        user=UserFactory(username="nb-buyer"), supplier__name="New Balance"
    )
    SupplierMembershipFactory()
    url = reverse("admin:extranet_suppliermembership_changelist")

    assert search(admin_client, url, "nb-buyer") == [membership.pk]
    assert search(admin_client, url, "balance") == [membership.pk]


def test_membership_form_picks_user_and_supplier_by_search(admin_client: Client) -> None:
    page = admin_client.get(reverse("admin:extranet_suppliermembership_add")).content.decode()

    assert page.count('class="admin-autocomplete') == 2
    autocomplete = admin_client.get(
        reverse("admin:autocomplete"),
        {"app_label": "extranet", "model_name": "suppliermembership", "field_name": "user", "term": "nb"},
    )
    assert autocomplete.status_code == 200
