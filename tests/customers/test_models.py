"""Database constraints of the customer model: rules the database enforces whatever the code does."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from customers.models import Interaction
from tests.factories import (
    ContractFactory,
    CustomerFactory,
    CustomerIdentityFactory,
    InteractionFactory,
    PurchaseLineFactory,
    SourceSystemFactory,
)

pytestmark = pytest.mark.django_db


def test_duplicate_interaction_per_source_is_refused_by_the_database() -> None:
    pos = SourceSystemFactory(code="pos")
    first = InteractionFactory(source_system=pos, external_id="T-2026-000123")
    with pytest.raises(IntegrityError), transaction.atomic():
        Interaction.objects.create(
            customer=CustomerFactory(),
            source_system=pos,
            external_id="T-2026-000123",
            kind="purchase",
            channel="store",
            occurred_at=first.occurred_at,
        )
    assert Interaction.objects.filter(external_id="T-2026-000123").count() == 1


def test_same_external_id_in_another_source_is_a_different_interaction() -> None:
    InteractionFactory(source_system=SourceSystemFactory(code="pos"), external_id="T-1")
    InteractionFactory(source_system=SourceSystemFactory(code="web", name="Web"), external_id="T-1")
    assert Interaction.objects.filter(external_id="T-1").count() == 2


def test_duplicate_identity_per_source_is_refused_by_the_database() -> None:
    identity = CustomerIdentityFactory(external_id="C-991")
    with pytest.raises(IntegrityError), transaction.atomic():
        CustomerIdentityFactory(source_system=identity.source_system, external_id="C-991")


def test_duplicate_contract_per_source_is_refused_by_the_database() -> None:
    contract = ContractFactory(external_id="P-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        ContractFactory(source_system=contract.source_system, external_id="P-1")


@pytest.mark.parametrize(
    ("fields", "constraint"),
    [
        ({"amount": Decimal("1000"), "currency": ""}, "amount_has_currency"),
        ({"amount": None, "currency": "KRW"}, "amount_has_currency"),
        ({"amount": Decimal("1000"), "currency": "krw"}, "amount_has_currency"),
        ({"kind": "web_visit", "nps_score": 9}, "nps_on_survey"),
        ({"kind": "survey", "nps_score": 11}, "nps_on_survey"),
    ],
)
def test_interaction_check_constraints(fields: dict[str, object], constraint: str) -> None:
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        InteractionFactory(**fields)


def test_merged_customer_must_point_at_a_survivor() -> None:
    with pytest.raises(IntegrityError, match="merged_has_survivor"), transaction.atomic():
        CustomerFactory(status="merged")
    survivor = CustomerFactory()
    merged = CustomerFactory(status="merged", merged_into=survivor)
    assert merged.merged_into == survivor


@pytest.mark.parametrize("fields", [{"quantity": 0}, {"unit_price": Decimal("-1")}, {"currency": "won"}])
def test_purchase_line_check_constraints(fields: dict[str, object]) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        PurchaseLineFactory(**fields)


def test_contract_cannot_end_before_it_starts() -> None:
    import datetime as dt

    with pytest.raises(IntegrityError, match="ends_after_start"), transaction.atomic():
        ContractFactory(start_date=dt.date(2026, 1, 1), end_date=dt.date(2025, 12, 31))


def test_a_customer_or_source_with_interactions_cannot_be_deleted_without_the_database_constraint() -> None:
    """Issue 3: ``Interaction`` keeps no foreign-key constraints in the database (their per-row checks
    were half an ingestion batch's time); ``PROTECT`` still refuses deleting what interactions point to."""
    interaction = InteractionFactory()
    with pytest.raises(ProtectedError):
        interaction.customer.delete()
    with pytest.raises(ProtectedError):
        interaction.source_system.delete()
    assert Interaction.objects.filter(pk=interaction.pk).exists()
