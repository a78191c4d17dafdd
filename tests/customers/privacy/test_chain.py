"""The access log's hash chain (customers/privacy/chain.py): appends link, the verifier finds an edited,
deleted, reordered or cut-off record, the database refuses changes, and the purge keeps the rest verifiable."""

import datetime as dt
import threading

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections, transaction
from django.db.utils import DatabaseError
from django.utils import timezone

from customers.privacy.chain import GENESIS, PURGE_SETTING, access_log_purge, chain_append, chain_verify
from customers.privacy.models import AccessChainHead, AccessCheckpoint, AccessRecord
from tests.factories import access_records

pytestmark = pytest.mark.django_db

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the append-only trigger is PostgreSQL's"
)


def tamper(sql: str, params: list) -> None:
    """Change the log as someone with database access would, going round the append-only trigger."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT set_config(%s, 'on', true)", [PURGE_SETTING])
            cursor.execute(
                "ALTER TABLE customers_accessrecord DISABLE TRIGGER customers_accessrecord_append_only"
            )
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute(
                "ALTER TABLE customers_accessrecord ENABLE TRIGGER customers_accessrecord_append_only"
            )


def test_records_link_to_the_one_before() -> None:
    first, second, third = access_records(3, customer_ids=[3, 1, 2])
    assert (first.seq, second.seq, third.seq) == (1, 2, 3)
    assert first.prev_hash == GENESIS
    assert second.prev_hash == first.hash and third.prev_hash == second.hash
    assert AccessRecord.objects.get(seq=1).customer_ids == [1, 2, 3]
    assert AccessChainHead.objects.get().seq == 3
    assert chain_verify() == (3, [])


def test_the_verifier_finds_an_edited_record() -> None:
    access_records(5, customer_ids=[7])
    tamper("UPDATE customers_accessrecord SET customer_ids = %s WHERE seq = 3", ["[8]"])
    checked, problems = chain_verify()
    assert checked == 5
    assert [(p.seq, "content" in p.problem) for p in problems] == [(3, True)]


def test_the_verifier_finds_an_edited_account_or_time() -> None:
    access_records(3)
    tamper("UPDATE customers_accessrecord SET username = %s WHERE seq = 2", ["someone-else"])
    assert [p.seq for p in chain_verify()[1]] == [2]


def test_the_verifier_finds_a_deleted_record() -> None:
    access_records(5)
    tamper("DELETE FROM customers_accessrecord WHERE seq = 3", [])
    problems = chain_verify()[1]
    assert [p.seq for p in problems] == [4, 4]
    assert "missing" in problems[0].problem and "link" in problems[1].problem


def test_the_verifier_finds_deleted_records_at_the_end() -> None:
    access_records(5)
    tamper("DELETE FROM customers_accessrecord WHERE seq >= 4", [])
    problems = chain_verify()[1]
    assert len(problems) == 1 and "head" in problems[0].problem


def test_the_verifier_finds_reordered_records() -> None:
    access_records(5, customer_ids=[1])
    # Swap records 2 and 4 by their sequence numbers: each then sits in the other's place in the chain.
    tamper("UPDATE customers_accessrecord SET seq = -2 WHERE seq = 2", [])
    tamper("UPDATE customers_accessrecord SET seq = 2 WHERE seq = 4", [])
    tamper("UPDATE customers_accessrecord SET seq = 4 WHERE seq = -2", [])
    problems = chain_verify()[1]
    assert {p.seq for p in problems} >= {2, 3, 4}


def test_the_verifier_finds_a_forged_hash_without_the_key(settings) -> None:
    access_records(2)
    record = AccessRecord.objects.get(seq=2)
    # Recomputed with another key, as someone without CRM_ACCESS_LOG_KEY would.
    settings.CRM_ACCESS_LOG_KEY = "guessed"
    from customers.privacy.chain import record_hash

    forged = record_hash(
        seq=2,
        at=record.at,
        user_id=None,
        username="x",
        ip=record.ip,
        action=record.action,
        route=record.route,
        customer_ids=[],
        reason="",
        prev_hash=record.prev_hash,
    )
    settings.CRM_ACCESS_LOG_KEY = "access-log:" + settings.SECRET_KEY
    tamper("UPDATE customers_accessrecord SET username = 'x', hash = %s WHERE seq = 2", [forged])
    assert chain_verify()[1]


def test_the_command_says_whether_the_chain_is_intact(capsys) -> None:
    access_records(3)
    call_command("access_log_verify")
    assert "3 records verified" in capsys.readouterr().out
    tamper("UPDATE customers_accessrecord SET reason = 'x' WHERE seq = 2", [])
    with pytest.raises(CommandError, match="broken"):
        call_command("access_log_verify")
    assert "record #2" in capsys.readouterr().err


@postgres_only
@pytest.mark.parametrize(
    "statement", ["UPDATE customers_accessrecord SET reason = 'x'", "DELETE FROM customers_accessrecord"]
)
def test_the_database_refuses_changes(statement: str) -> None:
    access_records(1)
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)
    assert AccessRecord.objects.count() == 1


def test_the_purge_keeps_the_rest_verifiable() -> None:
    access_records(4)
    old = timezone.now() - dt.timedelta(days=800)
    tamper("UPDATE customers_accessrecord SET at = %s WHERE seq <= 2", [old])
    # Moving the time is itself an edit: rebuild those two records' hashes as if they were written then.
    _rehash_from(1)
    assert chain_verify()[1] == []

    purged = access_log_purge(before=timezone.now() - dt.timedelta(days=730))

    assert purged == 2
    assert list(AccessRecord.objects.order_by("seq").values_list("seq", flat=True)) == [3, 4, 5]
    assert AccessRecord.objects.get(seq=5).action == "purge"
    assert AccessCheckpoint.objects.get().seq == 2
    assert chain_verify() == (3, [])


def test_the_purge_command_uses_the_retention_setting(settings, capsys) -> None:
    settings.CRM_ACCESS_LOG_RETENTION_DAYS = 730
    access_records(2)
    call_command("access_log_purge")
    assert "Purged 0" in capsys.readouterr().out
    call_command("access_log_purge", days=-1)
    assert AccessRecord.objects.filter(action="view").count() == 0
    assert chain_verify()[1] == []


def _rehash_from(seq: int) -> None:
    """Recompute hashes from ``seq`` on, as a test's stand-in for records written at another time."""
    from customers.privacy.chain import record_hash

    previous = (
        AccessRecord.objects.filter(seq__lt=seq).order_by("-seq").values_list("hash", flat=True).first()
    )
    prev = previous or GENESIS
    for record in AccessRecord.objects.filter(seq__gte=seq).order_by("seq"):
        digest = record_hash(
            seq=record.seq,
            at=record.at,
            user_id=record.user_id,
            username=record.username,
            ip=record.ip,
            action=record.action,
            route=record.route,
            customer_ids=record.customer_ids,
            reason=record.reason,
            prev_hash=prev,
        )
        tamper(
            "UPDATE customers_accessrecord SET prev_hash = %s, hash = %s WHERE seq = %s",
            [prev, digest, record.seq],
        )
        prev = digest
    AccessChainHead.objects.filter(pk=1).update(hash=prev)


@postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_appends_never_fork_the_chain() -> None:
    AccessChainHead.objects.get_or_create(pk=1)
    errors: list[Exception] = []

    def append(n: int) -> None:
        try:
            for _ in range(n):
                chain_append(
                    user_id=None, username="t", ip=None, action="view", route="test", customer_ids=[1]
                )
        except Exception as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=append, args=(25,)) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert chain_verify() == (150, [])


def test_records_are_written_unsealed_and_sealed_in_order() -> None:
    from customers.privacy.chain import chain_seal, record_write

    sealed = access_records(1)
    written = [
        record_write(user_id=None, username="u", ip=None, action="view", route="r", customer_ids=[n])
        for n in range(3)
    ]
    assert [AccessRecord.objects.get(pk=r.pk).seq for r in written] == [None, None, None]
    assert chain_seal() == 3
    assert [AccessRecord.objects.get(pk=r.pk).seq for r in written] == [2, 3, 4]
    assert AccessRecord.objects.get(seq=2).prev_hash == sealed[0].hash
    assert chain_verify() == (4, [])
    assert chain_seal() == 0


@postgres_only
def test_the_database_refuses_to_change_an_unsealed_record() -> None:
    from customers.privacy.chain import record_write

    record = record_write(user_id=None, username="u", ip=None, action="view", route="r", customer_ids=[1])
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        # Sealing it while changing its content is refused too.
        cursor.execute(
            "UPDATE customers_accessrecord SET seq = 1, hash = 'x', customer_ids = '[2]' WHERE id = %s",
            [record.pk],
        )
    assert AccessRecord.objects.get(pk=record.pk).customer_ids == [1]
