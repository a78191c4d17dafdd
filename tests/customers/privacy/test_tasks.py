"""The privacy jobs of Celery beat (customers/tasks.py): sealing, purging, retention."""

import pytest
from django.conf import settings

from customers.privacy.chain import chain_verify, record_write
from customers.privacy.models import AccessRecord
from customers.tasks import access_log_purge, access_log_seal

pytestmark = pytest.mark.django_db


def test_beat_runs_the_privacy_jobs() -> None:
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"customers.access_log_seal", "customers.access_log_purge", "customers.retention_run"} <= tasks


def test_the_seal_job_seals_what_requests_wrote_and_is_safe_to_run_twice() -> None:
    for n in range(3):
        record_write(user_id=None, username="u", ip="10.0.0.1", action="view", route="r", customer_ids=[n])
    assert access_log_seal() == 3
    assert access_log_seal() == 0
    assert not AccessRecord.objects.filter(seq__isnull=True).exists()
    assert chain_verify() == (3, [])


def test_the_purge_job_keeps_recent_records() -> None:
    record_write(user_id=None, username="u", ip=None, action="view", route="r", customer_ids=[1])
    assert access_log_purge() == 0
    assert AccessRecord.objects.count() == 1
