"""Reads of imports."""

import logging
from typing import TypeAlias

from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet
from django.utils.functional import Promise

from crm.models import User
from customers.models import ImportJob, ImportRowError

logger = logging.getLogger(__name__)

Label: TypeAlias = str | Promise


# --- reads -------------------------------------------------------------------------------------------


def import_list(*, user: User | AnonymousUser) -> QuerySet[ImportJob]:
    """The imports the user may see, with what lists show: their own, or everyone's for those who may
    change imports (administrators)."""
    jobs = ImportJob.objects.select_related("source_system", "created_by").order_by("-id")
    if not user.has_perm("customers.change_importjob"):
        jobs = jobs.filter(created_by_id=user.pk)
    return jobs


def import_errors(*, job: ImportJob) -> QuerySet[ImportRowError]:
    """The job's rejected rows in file order (served by the unique (job, row, field, code) index)."""
    return ImportRowError.objects.filter(job=job).order_by("row_number", "field", "code")


def import_duplicates_of(*, job: ImportJob) -> QuerySet[ImportJob]:
    """Earlier imports of the same file into the same source system."""
    return ImportJob.objects.filter(
        sha256=job.sha256, kind=job.kind, source_system_id=job.source_system_id, id__lt=job.pk
    ).order_by("-id")


def import_progress(job: ImportJob) -> int:
    """How far the import is, in percent."""
    if job.status == ImportJob.Status.COMPLETED:
        return 100
    if not job.total_rows:
        return 0
    return min(100, job.processed_rows * 100 // job.total_rows)
