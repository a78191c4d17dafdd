"""Keyset pages of the staff UI's lists (crm/pagination.py)."""

import pytest
from django.test import RequestFactory

from crm.models import Supplier
from crm.pagination import keyset_page
from tests.factories import SupplierFactory

pytestmark = pytest.mark.django_db


def test_pages_walk_every_row_once_newest_first() -> None:
    suppliers = SupplierFactory.create_batch(5)
    seen: list[int] = []
    path = "/?q=x"
    while True:
        page = keyset_page(RequestFactory().get(path), Supplier.objects.all(), size=2)
        seen += [s.pk for s in page.rows]
        assert page.query == "q=x"
        if page.older is None:
            break
        path = f"/?q=x&before={page.older}"
    assert seen == sorted((s.pk for s in suppliers), reverse=True)


@pytest.mark.parametrize("before", ["abc", "-1", "9" * 30, ""])
def test_a_before_that_is_no_id_shows_the_first_page(before: str) -> None:
    """Regression: a 30-digit ?before= reached PostgreSQL as a number too large for bigint (a 500)."""
    SupplierFactory.create_batch(3)
    page = keyset_page(RequestFactory().get("/", {"before": before}), Supplier.objects.all(), size=2)
    assert page.is_first_page and len(page.rows) == 2
