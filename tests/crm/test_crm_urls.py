"""``{% pk_url %}`` / ``reverse_pk`` (crm/templatetags/crm_urls.py): the same URL as ``reverse``, under any
script prefix, for any number."""

from collections.abc import Callable, Iterator

import pytest
from django.template import Context, Template
from django.urls import clear_script_prefix, reverse, set_script_prefix

from crm.templatetags.crm_urls import reverse_pk


@pytest.fixture
def prefix() -> Iterator[Callable[[str], None]]:
    yield set_script_prefix
    clear_script_prefix()


@pytest.mark.parametrize("pk", [1, 42, 9_007_199_254_740_993])
def test_reverse_pk_is_reverse(pk: int) -> None:
    assert reverse_pk("customers:customer_detail", pk) == reverse("customers:customer_detail", args=[pk])
    assert reverse_pk("customers:personal_reveal", pk, "email") == reverse(
        "customers:personal_reveal", args=[pk, "email"]
    )


def test_each_script_prefix_gets_its_own_url(prefix: Callable[[str], None]) -> None:
    assert reverse_pk("customers:customer_detail", 7) == "/customers/7/"
    prefix("/crm/")  # served under a path (SCRIPT_NAME), after a URL was cached without it
    assert reverse_pk("customers:customer_detail", 7) == "/crm/customers/7/"
    assert reverse_pk("customers:customer_detail", 7) == reverse("customers:customer_detail", args=[7])
    prefix("/")
    assert reverse_pk("customers:customer_detail", 8) == "/customers/8/"


def test_the_tag_renders_the_url(prefix: Callable[[str], None]) -> None:
    prefix("/crm/")
    rendered = Template('{% load crm_urls %}{% pk_url "customers:customer_detail" pk %}').render(
        Context({"pk": 12})
    )
    assert rendered == "/crm/customers/12/"
