"""Retention (customers/privacy/retention.py): off by default, a dry run first, then anonymisation of the
customers inactive for N years, audited and logged; its page and command."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from crm.roles import Role
from customers.models import Customer
from customers.privacy.models import AccessRecord, DataSubjectRequest
from customers.privacy.retention import retention_report, retention_run
from customers.tasks import retention_run as retention_task
from tests.factories import CustomerAnalyticsFactory, CustomerFactory, ImportJobFactory, UserFactory

pytestmark = pytest.mark.django_db

LONG_AGO = timezone.now() - dt.timedelta(days=6 * 365)


def inactive_customer(**analytics: object) -> Customer:
    customer = CustomerFactory(email="old.customer@example.kr")
    Customer.objects.filter(pk=customer.pk).update(updated_at=LONG_AGO)
    CustomerAnalyticsFactory(customer=customer, last_interaction_at=LONG_AGO, **analytics)
    return customer


def test_the_policy_is_off_by_default() -> None:
    inactive_customer()
    assert retention_report().cutoff is None
    assert retention_task() == 0
    assert not Customer.objects.filter(status="erased").exists()


def test_the_dry_run_reports_and_the_run_anonymises(settings) -> None:
    settings.CRM_RETENTION_INACTIVE_YEARS = 5
    due = inactive_customer()
    recent = inactive_customer()
    recent.analytics.last_interaction_at = timezone.now()
    recent.analytics.save()
    changed = CustomerFactory()  # a recent profile change
    CustomerAnalyticsFactory(customer=changed, last_interaction_at=LONG_AGO)

    report = retention_report()
    assert report.due == 1 and [c.pk for c in report.sample] == [due.pk]
    assert Customer.objects.get(pk=due.pk).email == "old.customer@example.kr"  # nothing changed yet

    assert retention_task() == 1
    due.refresh_from_db()
    assert (due.status, due.email) == ("erased", "")
    assert Customer.objects.get(pk=recent.pk).status == "active"
    assert DataSubjectRequest.objects.get().reference == "retention policy"
    assert AccessRecord.objects.filter(action="delete", route="retention_run", customer_ids=[due.pk]).exists()
    assert retention_run().erased == 0  # safe to run twice


def test_the_run_waits_while_an_import_is_unfinished(settings, capsys) -> None:
    settings.CRM_RETENTION_INACTIVE_YEARS = 5
    held, free = inactive_customer(), CustomerFactory(email="other.old@example.kr")
    Customer.objects.filter(pk=free.pk).update(updated_at=LONG_AGO)
    CustomerAnalyticsFactory(customer=free, last_interaction_at=LONG_AGO)
    job = ImportJobFactory(status="running", file__data=b"email\nold.customer@example.kr\n")

    report = retention_run()
    assert (report.erased, report.waiting_for_imports) == (0, (job.pk,))
    call_command("retention", run=True)
    assert f"waiting for unfinished imports #{job.pk}" in capsys.readouterr().out
    assert not Customer.objects.filter(status="erased").exists()

    job.status = "completed"
    job.save()
    assert retention_run().erased == 2
    assert set(Customer.objects.filter(status="erased").values_list("pk", flat=True)) == {held.pk, free.pk}


def test_the_command_dry_runs_unless_told(settings, capsys) -> None:
    settings.CRM_RETENTION_INACTIVE_YEARS = 5
    due = inactive_customer()
    call_command("retention")
    assert "Dry run: 1 customers" in capsys.readouterr().out
    assert Customer.objects.get(pk=due.pk).status == "active"
    call_command("retention", run=True)
    assert Customer.objects.get(pk=due.pk).status == "erased"


def test_the_page_shows_the_dry_run(client: Client, settings) -> None:
    settings.CRM_RETENTION_INACTIVE_YEARS = 5
    due = inactive_customer()
    client.force_login(UserFactory(role=Role.ADMINISTRATOR))
    page = client.get("/customers/privacy/retention/")
    assert page.status_code == 200
    assert f"#{due.pk}" in page.content.decode()
    settings.CRM_RETENTION_INACTIVE_YEARS = 0
    assert "policy is off" in client.get("/customers/privacy/retention/").content.decode()


@pytest.mark.parametrize("role", [Role.SERVICE_REP, Role.MARKETER, Role.SUPPLIER_ADMIN])
def test_the_page_is_for_administrators(client: Client, role: Role) -> None:
    client.force_login(UserFactory(role=role))
    assert client.get("/customers/privacy/retention/").status_code == 403
