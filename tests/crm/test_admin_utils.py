"""Admin building blocks for large tables (crm/admin_utils.py): counts that never read a whole table."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.admin_utils import EstimatedCountPaginator, is_unfiltered, search_id, table_row_estimate
from customers.models import Customer
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

POSTGRESQL = connection.vendor == "postgresql"


class SmallCapPaginator(EstimatedCountPaginator):
    count_cap = 10


def count_with_queries(
    queryset, paginator: type[EstimatedCountPaginator] = SmallCapPaginator
) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        count = paginator(queryset, per_page=5).count
    return count, [query["sql"] for query in queries.captured_queries]


def analyze_customers() -> None:
    # ANALYZE counts the test's own uncommitted rows and updates pg_class.reltuples, in place: the
    # estimate outlives the test's rollback, as a stale estimate would in production.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE customers_customer")


def test_unfiltered_count_is_the_planners_estimate_on_postgresql() -> None:
    CustomerFactory.create_batch(30)
    if POSTGRESQL:
        analyze_customers()

    count, queries = count_with_queries(Customer.objects.order_by("-id"))

    assert count == 30
    if POSTGRESQL:
        assert table_row_estimate(Customer, using="default") == 30
        assert len(queries) == 1
        assert "reltuples" in queries[0]
        assert "COUNT(" not in queries[0].upper()
    else:
        assert len(queries) == 1
        assert "COUNT(*)" in queries[0]


def test_filtered_count_stops_at_the_cap_on_postgresql() -> None:
    CustomerFactory.create_batch(30)

    count, queries = count_with_queries(Customer.objects.filter(status="active").order_by("-id"))

    if POSTGRESQL:
        assert count == SmallCapPaginator.count_cap + 1  # "more than 10"
        assert queries[-1].startswith("SELECT COUNT(*) FROM (SELECT")
        assert "LIMIT 11" in queries[-1]
        assert "ORDER BY" not in queries[-1]
    else:
        assert count == 30


def test_small_or_never_analyzed_table_is_counted_up_to_the_cap() -> None:
    CustomerFactory.create_batch(4)

    count, queries = count_with_queries(Customer.objects.all(), paginator=EstimatedCountPaginator)

    assert count == 4
    if POSTGRESQL:
        # An estimate below the cap (or none, before the first ANALYZE) is not trusted: the rows are
        # counted, at most cap + 1 of them.
        assert len(queries) == 2
        assert "LIMIT 10001" in queries[1]


def test_filtered_count_below_the_cap_is_exact() -> None:
    CustomerFactory.create_batch(3, status="active")
    CustomerFactory.create_batch(2, status="erased")

    count, _queries = count_with_queries(Customer.objects.filter(status="erased"))

    assert count == 2


def test_is_unfiltered() -> None:
    assert is_unfiltered(Customer.objects.select_related("merged_into").order_by("-id"))
    assert not is_unfiltered(Customer.objects.filter(status="active"))
    assert not is_unfiltered(Customer.objects.distinct())


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("41877", 41877),
        (" 7 ", 7),
        ("9223372036854775807", 2**63 - 1),
        ("9223372036854775808", None),
        ("12a", None),
        ("-1", None),
        ("٣", None),
        ("", None),
    ],
)
def test_search_id(term: str, expected: int | None) -> None:
    assert search_id(term) == expected
