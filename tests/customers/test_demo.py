"""The customers the demo seeds are consistent: with the database's rules, with the catalog, and with
how the rest of the app reads them (contact normalisation, consent history, analytics)."""

from collections import defaultdict
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count

from customers.contact import is_placeholder_email, normalize_phone
from customers.models import (
    Consent,
    ConsentChange,
    Contract,
    Customer,
    CustomerAnalytics,
    CustomerIdentity,
    Interaction,
    PurchaseLine,
    SourceSystem,
)

pytestmark = pytest.mark.django_db

MONEY_KINDS = {"purchase", "return", "payment", "claim"}


@pytest.fixture(autouse=True)
def _seeded() -> None:
    call_command("seed_demo", customers=50, interactions=10, seed=1, stdout=StringIO())


def test_every_kind_and_every_source_system_is_used() -> None:
    assert set(Interaction.objects.values_list("kind", flat=True)) == set(Interaction.Kind.values)
    used = set(Interaction.objects.values_list("source_system__code", flat=True))
    assert used == set(SourceSystem.objects.values_list("code", flat=True))
    assert used >= {"pos", "web", "app", "call_center", "ecommerce", "policy", "survey", "marketing"}


def test_kinds_come_through_plausible_channels_and_sources() -> None:
    pairs = set(Interaction.objects.values_list("kind", "channel", "source_system__code"))
    assert {(channel, source) for kind, channel, source in pairs if kind == "purchase"} <= {
        ("store", "pos"),
        ("web", "ecommerce"),
        ("app", "ecommerce"),
    }
    assert {(channel, source) for kind, channel, source in pairs if kind == "service_call"} == {
        ("phone", "call_center")
    }
    assert {source for kind, _channel, source in pairs if kind in {"claim", "contract_change"}} == {"policy"}
    assert {(kind, channel) for kind, channel, source in pairs if source == "marketing"} == {
        ("email", "email"),
        ("sms", "sms"),
        ("push", "push"),
    }


def test_amounts_and_nps_scores_only_where_they_belong() -> None:
    for kind, amount, currency, nps in Interaction.objects.values_list(
        "kind", "amount", "currency", "nps_score"
    ):
        assert (amount is not None) == (kind in MONEY_KINDS), kind
        assert (currency != "") == (amount is not None)
        assert (nps is not None) == (kind == "survey")
        assert nps is None or 0 <= nps <= 10
    assert set(Interaction.objects.exclude(currency="").values_list("currency", flat=True)) >= {"KRW", "USD"}


def test_purchases_and_returns_equal_the_sum_of_their_lines() -> None:
    lines = defaultdict(list)
    for line in PurchaseLine.objects.select_related("product", "location"):
        lines[line.interaction_id].append(line)
    money = Interaction.objects.filter(kind__in=["purchase", "return"])
    assert money.exists()
    for interaction in money:
        its_lines = lines[interaction.pk]
        assert its_lines, interaction.pk
        assert interaction.amount == sum((line.quantity * line.unit_price for line in its_lines), Decimal(0))
        for line in its_lines:
            assert line.is_return == (interaction.kind == "return")
            assert (line.currency, line.channel, line.occurred_at) == (
                interaction.currency,
                interaction.channel,
                interaction.occurred_at,
            )
            assert 1 <= line.quantity <= 3
            assert line.location.kind == ("store" if interaction.channel == "store" else "online")
    assert set(lines) == set(money.values_list("pk", flat=True))  # no line without its purchase or return


def test_lines_carry_their_products_supplier_price_and_cost() -> None:
    lines = PurchaseLine.objects.select_related("product")
    assert lines.exists()
    for line in lines:
        assert line.supplier_id == line.product.supplier_id
        if line.currency == "KRW":
            assert line.unit_cost == line.product.cost
            assert line.unit_price <= line.product.price  # a sale price at most
            assert line.unit_price >= line.product.price * Decimal("0.7") - 100


def test_every_customer_has_one_to_four_identities_unique_per_source() -> None:
    per_customer = dict(Customer.objects.annotate(n=Count("identities")).values_list("id", "n"))
    assert len(per_customer) == 50
    assert all(1 <= n <= 4 for n in per_customer.values())
    pairs = list(CustomerIdentity.objects.values_list("source_system_id", "external_id"))
    assert len(pairs) == len(set(pairs))


def test_contact_details_are_realistic_and_usable_for_matching() -> None:
    customers = list(Customer.objects.all())
    names = [customer.name for customer in customers]
    assert sum(any("가" <= char <= "힣" for char in name) for name in names) >= 30  # about 80% Korean
    assert any(name.isascii() for name in names)
    for customer in customers:
        assert customer.phone_normalized == normalize_phone(customer.phone)
        if customer.email:
            assert not is_placeholder_email(customer.email), customer.email
    assert Customer.objects.filter(email="").exists()
    assert {customer.phone[:3] for customer in customers if customer.phone} >= {"010", "+82"}
    assert Customer.objects.filter(region="서울").exists()


def test_every_current_consent_is_its_latest_change() -> None:
    latest = {}
    for change in ConsentChange.objects.order_by("changed_at", "id"):
        latest[(change.customer_id, change.channel, change.purpose)] = change
    consents = list(Consent.objects.all())
    assert consents
    assert {(c.customer_id, c.channel, c.purpose) for c in consents} == set(latest)
    for consent in consents:
        change = latest[(consent.customer_id, consent.channel, consent.purpose)]
        assert (consent.granted, consent.source, consent.changed_at) == (
            change.granted,
            change.source,
            change.changed_at,
        )


def test_contracts_are_policies_with_premiums_in_won() -> None:
    contracts = Contract.objects.all()
    assert contracts.exists()
    for contract in contracts:
        assert contract.end_date is None or contract.end_date >= contract.start_date
        assert contract.currency == ("KRW" if contract.premium is not None else "")


def test_every_customer_has_an_analytics_row() -> None:
    assert CustomerAnalytics.objects.count() == Customer.objects.count() == 50
    assert CustomerAnalytics.objects.filter(purchases_total__gt=0).exists()


def test_the_first_customer_has_every_kind_of_interaction() -> None:
    first = Customer.objects.order_by("id").first()
    assert first.name == "김민지"
    assert set(first.interactions.values_list("kind", flat=True)) == set(Interaction.Kind.values)
