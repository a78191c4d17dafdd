"""Customer search (customers/search.py), issue 4 item 1: name, email, phone in any format, ids."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from pytest_django import DjangoAssertNumQueries

from customers.search import _exact_condition, customer_search
from tests.factories import CustomerFactory, CustomerIdentityFactory, SourceSystemFactory

pytestmark = pytest.mark.django_db


def found(term: str) -> list[int]:
    return [customer.pk for customer in customer_search(term=term)]


@pytest.mark.parametrize(
    "typed", ["010-1234-5678", "+82 10 1234 5678", "01012345678", "+82-10-1234-5678", "010 1234 5678"]
)
def test_a_phone_number_in_any_common_format_finds_the_customer(typed: str) -> None:
    customer = CustomerFactory(name="김민지", phone="010-1234-5678", phone_normalized="+821012345678")
    CustomerFactory(name="이서준", phone="010-1234-5679", phone_normalized="+821012345679")
    assert found(typed) == [customer.pk]


@pytest.mark.parametrize("typed", ["김민지", "민지", "김민", "김", "민지 "])
def test_a_korean_name_is_found_by_any_part_of_it(typed: str) -> None:
    kim = CustomerFactory(name="김민지")
    CustomerFactory(name="이서준")
    CustomerFactory(name="박지훈")
    result = found(typed)
    if typed.strip() in {"김민지", "김민", "김"}:  # the start of the name, or three characters anywhere
        assert result == [kim.pk]
    else:
        # Two characters inside a name have no trigram: only a name starting with them matches.
        assert result == []


def test_three_korean_characters_match_inside_a_longer_name() -> None:
    customer = CustomerFactory(name="남궁민지호")
    CustomerFactory(name="김민수")
    assert found("민지호") == [customer.pk]
    assert found("궁민지") == [customer.pk]


def test_latin_names_match_any_part_ignoring_case() -> None:
    emily = CustomerFactory(name="Emily Johnson")
    CustomerFactory(name="John Smith")
    assert found("johnson") == [emily.pk]
    assert found("EMI") == [emily.pk]
    assert sorted(found("john")) == sorted(
        [emily.pk, CustomerFactory._meta.model.objects.get(name="John Smith").pk]
    )


def test_an_email_matches_exactly_ignoring_case() -> None:
    customer = CustomerFactory(email="minji.kim@example.kr")
    CustomerFactory(email="minji.kim@example.com")
    assert found("Minji.Kim@Example.KR") == [customer.pk]
    assert found("minji.kim@") == []


def test_an_id_in_any_source_system_finds_its_customer() -> None:
    pos = SourceSystemFactory(code="pos")
    web = SourceSystemFactory(code="web", name="Website", kind="web")
    at_pos = CustomerIdentityFactory(source_system=pos, external_id="C-991").customer
    at_web = CustomerIdentityFactory(source_system=web, external_id="W-77").customer
    assert found("C-991") == [at_pos.pk]
    assert found("W-77") == [at_web.pk]


def test_a_customer_number_finds_the_customer_and_exact_matches_come_first() -> None:
    named = CustomerFactory(name="Customer 12345 fan")
    numbered = CustomerFactory()
    result = found(str(numbered.pk))
    assert result[0] == numbered.pk
    assert named.pk not in result or result.index(named.pk) > 0


def test_terms_with_digits_are_not_matched_against_names() -> None:
    CustomerFactory(name="Shop C-991 fan")
    owner = CustomerIdentityFactory(external_id="C-991").customer
    assert found("C-991") == [owner.pk]


def test_empty_or_overlong_terms_find_nothing_without_a_query(
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    CustomerFactory(name="김민지")
    with django_assert_num_queries(0):
        assert found("   ") == []
        assert found("x" * 201) == []


@pytest.mark.parametrize("matches", [3, 50])
def test_search_costs_the_same_queries_for_few_and_many_matches(
    matches: int, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    CustomerFactory.create_batch(matches, name="김민지")
    with django_assert_num_queries(1):  # ids in source systems and name matches, in one statement
        assert len(customer_search(term="김민지", limit=20)) == min(matches, 20)
    owner = CustomerIdentityFactory(external_id="minji").customer  # a login name in some system
    CustomerFactory.create_batch(matches, name="Minji Park")
    with django_assert_num_queries(1):  # ids in source systems, name matches
        result = customer_search(term="minji", limit=20)
    assert result[0] == owner
    assert len(result) == min(matches + 1, 20)
    with django_assert_num_queries(1):  # an email is no name and no id
        customer_search(term="minji@example.kr")
    with django_assert_num_queries(1):  # a phone, a number or an id: exact matches only
        customer_search(term="010-1234-5678")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigram index exists on PostgreSQL only")
def test_name_search_uses_the_trigram_index_on_postgresql() -> None:
    CustomerFactory(name="김민지")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(
            "EXPLAIN SELECT id FROM customers_customer WHERE UPPER(name::text) LIKE UPPER(%s)", ["%민지호%"]
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
        assert "customers_customer_name_trgm" in plan
        cursor.execute(
            "EXPLAIN SELECT id FROM customers_customer WHERE UPPER(name::text) LIKE UPPER(%s)", ["김민%"]
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
        assert "customers_customer_name_prefix" in plan or "customers_customer_name_trgm" in plan


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the plan is PostgreSQL's")
@pytest.mark.parametrize("term", ["minji", "01012345678"])
def test_the_exact_matches_read_customers_through_indexes_only(term: str) -> None:
    """Ids in source systems are ORed with the number and the phone as ``= ANY(ARRAY(subquery))``, which
    the planner runs first so that the customer's primary key serves it; ``IN (subquery)`` in an OR
    filters a scan of every customer."""
    CustomerIdentityFactory(external_id=term)
    exact = _exact_condition(term)
    assert exact is not None
    condition, params = exact
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN SELECT c.id FROM customers_customer c WHERE {condition}", params)  # noqa: S608
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "customers_customer_pkey" in plan
    assert "Seq Scan on customers_customer " not in plan


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the plan is PostgreSQL's")
def test_a_name_search_is_one_statement_with_the_ids_through_the_key() -> None:
    CustomerIdentityFactory(external_id="minji")
    with CaptureQueriesContext(connection) as captured:
        customer_search(term="minji")  # a name, so planned per run: the captured SQL has its values
    (query,) = captured.captured_queries
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {query['sql']}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    # The ids in source systems are an index condition on the customer's key (the name part's plan on a
    # table of a few rows is the planner's choice; the trigram index has its own test above).
    assert "Index Cond: (id = ANY (" in plan, plan
    assert "Seq Scan on customers_customer " not in plan, plan
