"""crm/db.py: times loaded by psycopg's own loader, prepared statements for the hot path."""

import datetime as dt

import pytest
from django.db import connection

from crm.db import prepared_cursor
from customers.models import Interaction
from tests.factories import InteractionFactory

pytestmark = pytest.mark.django_db

postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's loaders and plans")


@postgres_only
def test_times_come_from_psycopgs_own_loader_with_the_values_django_gives() -> None:
    from psycopg.pq import Format

    connection.ensure_connection()
    oid = connection.connection.adapters.types["timestamptz"].oid
    loader = connection.connection.adapters.get_loader(oid, Format.TEXT)
    assert loader is not None and loader.__name__ == "UTCTimestamptzLoader"
    instance = loader(oid, connection.connection)
    assert instance.load.__self__.__class__.__module__.startswith("psycopg")  # psycopg's own, not Django's

    at = dt.datetime(2026, 11, 20, 23, 59, 59, 123456, tzinfo=dt.UTC)
    InteractionFactory(occurred_at=at)
    loaded = Interaction.objects.values_list("occurred_at", flat=True).get()
    assert loaded == at and loaded.tzinfo == dt.UTC and loaded.utcoffset() == dt.timedelta(0)


@postgres_only
def test_a_hot_statement_is_prepared_after_five_runs_and_counted_as_a_query(
    django_assert_num_queries,
) -> None:
    statement = "SELECT count(*) FROM customers_interaction WHERE customer_id = %s"
    with django_assert_num_queries(6):
        for _ in range(6):
            with prepared_cursor() as cursor:
                cursor.execute(statement, [1])
                assert cursor.fetchone() == (0,)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ["SELECT count(*) FROM customers_interaction WHERE customer_id = $1%"],
        )
        assert cursor.fetchone() == (1,)


def test_elsewhere_the_hot_statement_runs_on_the_usual_cursor() -> None:
    with prepared_cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
