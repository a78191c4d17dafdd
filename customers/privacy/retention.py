"""Retention: customers with no activity for ``CRM_RETENTION_INACTIVE_YEARS`` years are anonymised
(off when 0, the default). A dry run lists who would be; the Celery beat task runs it for real.

No activity: no interaction (the analytics row's ``last_interaction_at``) and no profile change since the
cutoff. Each customer is erased in its own transaction with an access record and a data-subject audit.
"""

import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from customers.models import Customer
from customers.privacy.chain import record_write
from customers.privacy.models import AccessAction, DataSubjectRequest
from customers.privacy.subject import (
    SubjectRequestError,
    customer_erase,
    subject_request_record,
    unfinished_imports,
)

logger = logging.getLogger(__name__)

REFERENCE = "retention policy"


def retention_cutoff(years: int | None = None, now: dt.datetime | None = None) -> dt.datetime | None:
    """The time before which inactivity makes a customer due, or None when the policy is off."""
    years = settings.CRM_RETENTION_INACTIVE_YEARS if years is None else years
    if not years:
        return None
    now = now or timezone.now()
    return now - dt.timedelta(days=round(365.25 * years))


def retention_due(cutoff: dt.datetime) -> QuerySet[Customer]:
    """Active customers with neither an interaction nor a profile change since ``cutoff``."""
    return (
        Customer.objects.filter(status=Customer.Status.ACTIVE, updated_at__lt=cutoff)
        .filter(Q(analytics__last_interaction_at__lt=cutoff) | Q(analytics__isnull=True))
        .exclude(merged_from__updated_at__gte=cutoff)
        .order_by("pk")
    )


@dataclass(frozen=True)
class RetentionReport:
    cutoff: dt.datetime | None
    due: int
    sample: list[Customer]
    erased: int = 0
    # Unfinished imports the run waited for (their ids): it erases no one while there are any.
    waiting_for_imports: tuple[int, ...] = ()


def retention_report(*, years: int | None = None, sample: int = 50) -> RetentionReport:
    """The dry run: how many customers are due, and the first of them."""
    cutoff = retention_cutoff(years)
    if cutoff is None:
        return RetentionReport(cutoff=None, due=0, sample=[])
    due = retention_due(cutoff)
    return RetentionReport(
        cutoff=cutoff, due=due.count(), sample=list(due.select_related("analytics")[:sample])
    )


def retention_run(*, years: int | None = None, limit: int = 10_000) -> RetentionReport:
    """Anonymise up to ``limit`` due customers (the beat task comes back for the rest)."""
    cutoff = retention_cutoff(years)
    if cutoff is None:
        return RetentionReport(cutoff=None, due=0, sample=[])
    # Erasure refuses a person an unfinished import's file holds, and finding out reads the file: once per
    # customer, which for thousands of customers and a large file would take hours. The run waits instead
    # (the imports finish, or an abandoned upload is deleted in the admin) and comes back the next night.
    waiting = tuple(unfinished_imports().values_list("pk", flat=True))
    if waiting:
        logger.warning("Retention waits for unfinished imports %s", ", ".join(map(str, waiting)))
        return RetentionReport(cutoff=cutoff, due=0, sample=[], waiting_for_imports=waiting)
    erased = 0
    for customer in retention_due(cutoff)[:limit].iterator(chunk_size=500):
        # The erasure, its audit row and its access record commit together, or none of them does.
        try:
            with transaction.atomic():
                _erase(customer)
        except SubjectRequestError:
            continue  # an import uploaded meanwhile holds the person: the next run comes back for them
        erased += 1
    return RetentionReport(cutoff=cutoff, due=erased, sample=[], erased=erased)


def _erase(customer: Customer) -> None:
    summary = customer_erase(customer=customer)
    subject_request_record(
        kind=DataSubjectRequest.Kind.ERASURE,
        customer=customer,
        user=None,
        reference=REFERENCE,
        summary=summary,
    )
    record_write(
        user_id=None,
        username="",
        ip=None,
        action=AccessAction.DELETE,
        route="retention_run",
        customer_ids=[customer.pk],
        reason=REFERENCE,
    )
