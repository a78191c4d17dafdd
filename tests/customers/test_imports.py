"""CSV import services (customers/imports/): files, mappings, previews, runs and resuming."""

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.utils import timezone
from pytest_django.fixtures import SettingsWrapper

from crm.exports import is_formula, spreadsheet_safe
from crm.models import OutboxMessage
from crm.roles import Role
from customers import imports
from customers.imports import (
    NotStartable,
    import_create,
    import_preview,
    import_run,
    import_start,
    imports_resume_stale,
    mapping_clean,
    mapping_suggest,
)
from customers.models import Customer, CustomerIdentity, ImportJob, ImportRowError, Interaction, PurchaseLine
from tests.factories import (
    CustomerFactory,
    CustomerIdentityFactory,
    LocationFactory,
    ProductFactory,
    SourceSystemFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

CUSTOMERS_CSV = "고객번호,이름,이메일,휴대폰,생년월일,성별\nC-1,김민지,minji@example.kr,010-2937-4410,1990-05-17,여\nC-2,이서준,seojun@example.kr,010-5555-0192,1985.03.02,남\n"
EVENTS_HEADER = "external_id,customer_id,kind,channel,occurred_at,amount,currency,sku,quantity,summary\n"


@pytest.fixture
def pos():
    return SourceSystemFactory(code="pos", name="POS", trust_email=True, trust_phone=True)


@pytest.fixture
def user():
    return UserFactory(role=Role.MARKETER)


def upload(content: bytes | str, name: str = "file.csv") -> SimpleUploadedFile:
    data = content.encode() if isinstance(content, str) else content
    return SimpleUploadedFile(name, data, content_type="text/csv")


@pytest.fixture
def create(pos, user) -> Callable[..., ImportJob]:
    def make(content: bytes | str, kind: str = "customers", name: str = "file.csv") -> ImportJob:
        return import_create(upload=upload(content, name), kind=kind, source_system=pos, user=user)

    return make


@pytest.fixture
def run(django_capture_on_commit_callbacks) -> Callable[..., ImportJob]:
    """Start a job and run it to the end (Celery runs tasks inline in tests)."""

    def start(job: ImportJob, mapping: dict[str, str] | None = None) -> ImportJob:
        with django_capture_on_commit_callbacks(execute=True):
            import_start(job=job, mapping=job.mapping if mapping is None else mapping)
        job.refresh_from_db()
        return job

    return start


def file_error(error: pytest.ExceptionInfo[ValidationError]) -> tuple[str, str]:
    [item] = error.value.error_dict["file"]
    return item.code or "", item.messages[0]


def errors_of(job: ImportJob) -> list[tuple[int, str, str]]:
    return list(job.row_errors.order_by("row_number", "field").values_list("row_number", "field", "code"))


def events_csv(rows: list[str], header: str = EVENTS_HEADER) -> str:
    return header + "".join(row + "\n" for row in rows)


def event_row(n: int, **overrides: str) -> str:
    values = {
        "external_id": f"T-{n}",
        "customer_id": f"C-{n % 7}",
        "kind": "web_visit",
        "channel": "web",
        "occurred_at": "2026-11-20 14:03",
        "amount": "",
        "currency": "",
        "sku": "",
        "quantity": "",
        "summary": "Visited",
    }
    values.update(overrides)
    return ",".join(values.values())


# --- files: encodings, delimiters and refusals ------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (CUSTOMERS_CSV.encode("utf-8"), "utf-8"),
        (CUSTOMERS_CSV.encode("utf-8-sig"), "utf-8-sig"),
        (CUSTOMERS_CSV.encode("cp949"), "cp949"),
        (CUSTOMERS_CSV.encode("euc-kr"), "cp949"),
    ],
)
def test_utf8_bom_and_cp949_files_read_the_same(create, run, data: bytes, encoding: str) -> None:
    job = create(data)
    assert job.encoding == encoding
    assert job.total_rows == 2
    assert job.mapping == {
        "고객번호": "external_id",
        "이름": "name",
        "이메일": "email",
        "휴대폰": "phone",
        "생년월일": "birth_date",
        "성별": "gender",
    }
    job = run(job)
    assert job.status == ImportJob.Status.COMPLETED, job.error
    assert (job.created_rows, job.duplicate_rows, job.rejected_rows) == (2, 0, 0)
    minji = Customer.objects.get(identities__external_id="C-1")
    assert (minji.name, minji.email, minji.phone_normalized, minji.birth_date, minji.gender) == (
        "김민지",
        "minji@example.kr",
        "+821029374410",
        dt.date(1990, 5, 17),
        "female",
    )
    assert Customer.objects.get(identities__external_id="C-2").birth_date == dt.date(1985, 3, 2)
    assert CustomerIdentity.objects.get(external_id="C-1").matched_by == "import"


@pytest.mark.parametrize(("delimiter", "name"), [(",", "a.csv"), (";", "b.csv"), ("\t", "c.tsv")])
def test_the_delimiter_is_detected(create, delimiter: str, name: str) -> None:
    text = CUSTOMERS_CSV.replace(",", delimiter)
    job = create(text, name=name)
    assert job.delimiter == delimiter
    assert imports.import_header(job=job) == ["고객번호", "이름", "이메일", "휴대폰", "생년월일", "성별"]


def test_a_comma_inside_quotes_does_not_make_it_the_delimiter(create) -> None:
    job = create('id;name;address\n1;Kim;"Seoul, Gangnam-gu"\n2;Lee;"Busan, Haeundae"\n')
    assert job.delimiter == ";"


@pytest.mark.parametrize(
    ("data", "name", "code"),
    [
        (b"", "empty.csv", "empty"),
        (b"id,name\n", "header-only.csv", "no_rows"),
        (b"\n\n", "blank.csv", "no_header"),
        (b"id,name\n1,Kim\n", "customers.xlsx", "invalid_extension"),
        (b"id,name\n1,Kim\n", "customers", "invalid_extension"),
        (b"PK\x03\x04\x14\x00\x06\x00", "customers.csv", "not_csv"),
        (b"id,name\n1,K\x00im\n", "customers.csv", "not_csv"),
        ("id,name\n1,Kim\n".encode("utf-16"), "customers.csv", "not_csv"),
        (b"id,name\n1,Kim\n2,\x80\xff\xfe\n", "customers.csv", "invalid_encoding"),
        (b'id,name\n1,Kim\n2,"Lee\n3,Park\n', "customers.csv", "unclosed_quote"),
        (b"id,name,id\n1,Kim,2\n", "customers.csv", "duplicate_column"),
    ],
)
def test_files_that_cannot_be_imported_are_refused_with_a_reason(
    create, data: bytes, name: str, code: str
) -> None:
    with pytest.raises(ValidationError) as error:
        create(data, name=name)
    assert file_error(error)[0] == code
    assert not ImportJob.objects.exists()


def test_the_encoding_error_names_the_line(create) -> None:
    with pytest.raises(ValidationError) as error:
        create(b"id,name\n1,Kim\n2,Lee\n3,\xff\xfe\xff\n")
    assert "line 4" in file_error(error)[1]


def test_the_unclosed_quote_names_its_row(create) -> None:
    with pytest.raises(ValidationError) as error:
        create(b'id,name\n1,Kim\n2,"Lee\n3,Park\n')
    assert "Row 3 " in file_error(error)[1]


def test_an_oversized_file_is_refused_before_it_is_read(create, settings: SettingsWrapper) -> None:
    settings.CRM_IMPORT_MAX_BYTES = 100
    with pytest.raises(ValidationError) as error:
        create("id,name\n" + "1,Kim\n" * 20)
    code, message = file_error(error)
    assert code == "too_large"
    assert (
        message
        == "The file is 128\xa0bytes; at most 100\xa0bytes can be imported at once. Split it in parts."
    )


def test_a_file_at_the_limit_is_accepted(create, settings: SettingsWrapper) -> None:
    content = "고객번호,이름\n" + "".join(f"C-{n},Kim\n" for n in range(10))
    settings.CRM_IMPORT_MAX_BYTES = len(content.encode())
    assert create(content).total_rows == 10


def test_the_file_is_kept_with_its_facts(create, user) -> None:
    job = create(CUSTOMERS_CSV, name="회원목록.csv")
    assert job.original_name == "회원목록.csv"
    assert job.status == ImportJob.Status.UPLOADED
    assert job.size == len(CUSTOMERS_CSV.encode())
    assert len(job.sha256) == 64
    assert job.created_by == user
    assert job.file.read().decode() == CUSTOMERS_CSV


def test_an_inactive_source_system_is_refused(user) -> None:
    source = SourceSystemFactory(code="old", is_active=False)
    with pytest.raises(ValidationError) as error:
        import_create(upload=upload(CUSTOMERS_CSV), kind="customers", source_system=source, user=user)
    assert "source" in error.value.error_dict


# --- mappings --------------------------------------------------------------------------------------


def test_suggestions_read_english_and_korean_names() -> None:
    header = ["Member No", "성명", "E-Mail", "전화번호", "Birthday", "메모", ""]
    assert mapping_suggest(kind="customers", header=header) == {
        "Member No": "external_id",
        "성명": "name",
        "E-Mail": "email",
        "전화번호": "phone",
        "Birthday": "birth_date",
        "메모": "",
    }
    events = ["주문번호", "회원번호", "구분", "채널", "거래일시", "결제금액", "통화", "상품코드", "수량"]
    assert mapping_suggest(kind="events", header=events) == {
        "주문번호": "external_id",
        "회원번호": "customer_id",
        "구분": "kind",
        "채널": "channel",
        "거래일시": "occurred_at",
        "결제금액": "amount",
        "통화": "currency",
        "상품코드": "sku",
        "수량": "quantity",
    }


def test_a_field_is_suggested_for_one_column_only() -> None:
    assert mapping_suggest(kind="customers", header=["이름", "성명"]) == {"이름": "name", "성명": ""}


@pytest.mark.parametrize(
    ("mapping", "key", "code"),
    [
        ({"id": "external_id", "name": "name"}, "note", "unmapped_column"),
        ({"id": "external_id", "name": "name", "note": "", "other": ""}, "other", "unknown_column"),
        ({"id": "external_id", "name": "name", "note": "shoe_size"}, "note", "invalid_choice"),
        ({"id": "external_id", "name": "name", "note": "name"}, "note", "duplicate_target"),
        ({"id": "", "name": "name", "note": ""}, "__all__", "required"),
    ],
)
def test_a_mapping_refers_to_the_file_and_its_fields(mapping: dict[str, str], key: str, code: str) -> None:
    with pytest.raises(ValidationError) as error:
        mapping_clean(kind="customers", header=["id", "name", "note", ""], mapping=mapping)
    assert [e.code for e in error.value.error_dict[key]] == [code]


def test_events_need_a_column_that_names_the_customer() -> None:
    header = ["id", "kind", "channel", "at", "email"]
    mapping = {"id": "external_id", "kind": "kind", "channel": "channel", "at": "occurred_at", "email": ""}
    with pytest.raises(ValidationError) as error:
        mapping_clean(kind="events", header=header, mapping=mapping)
    assert [e.code for e in error.value.error_dict["__all__"]] == ["required"]
    assert mapping_clean(kind="events", header=header, mapping={**mapping, "email": "customer_email"})


def test_extra_properties_may_take_several_columns() -> None:
    header = ["id", "kind", "channel", "at", "customer", "store", "cashier"]
    mapping = dict(
        zip(header[:5], ["external_id", "kind", "channel", "occurred_at", "customer_id"], strict=True)
    )
    cleaned = mapping_clean(
        kind="events", header=header, mapping={**mapping, "store": "property", "cashier": "property"}
    )
    assert cleaned["store"] == cleaned["cashier"] == "property"


def test_start_refuses_a_bad_mapping_and_a_second_start(create, run) -> None:
    job = create(CUSTOMERS_CSV)
    with pytest.raises(ValidationError):
        import_start(job=job, mapping={"이름": "name"})
    job.refresh_from_db()
    assert job.status == ImportJob.Status.UPLOADED
    run(job)
    with pytest.raises(NotStartable):
        import_start(job=job, mapping=job.mapping)


# --- previews --------------------------------------------------------------------------------------


def test_the_preview_shows_the_first_rows_with_the_errors_the_run_would_report(create) -> None:
    content = (
        "고객번호,이름,이메일,생년월일\n"
        "C-1,김민지,minji@example.kr,1990-05-17\n"
        'C-2,=HYPERLINK("http://evil"),x@example.kr,1990-01-01\n'
        ",이서준,not-an-email,1990-02-30\n"
        "C-4,박지훈\n" + "".join(f"C-{n},고객{n},c{n}@example.kr,\n" for n in range(5, 40))
    )
    job = create(content)
    preview = import_preview(job=job, mapping=job.mapping)
    assert preview.header == ["고객번호", "이름", "이메일", "생년월일"]
    assert len(preview.rows) == 20
    assert [r.row for r in preview.rows[:4]] == [2, 3, 4, 5]
    assert preview.rows[0].errors == []
    assert [(e.field, e.code) for e in preview.rows[1].errors] == [("이름", "formula")]
    assert sorted((e.field, e.code) for e in preview.rows[2].errors) == [
        ("고객번호", "required"),
        ("생년월일", "invalid"),
        ("이메일", "invalid"),
    ]
    assert [(e.field, e.code) for e in preview.rows[3].errors] == [("", "column_count")]
    assert not Customer.objects.exists()


def test_the_preview_reports_mapping_errors_and_reads_with_the_rest(create) -> None:
    job = create(CUSTOMERS_CSV)
    preview = import_preview(job=job, mapping={"이름": "name", "이메일": "email"})
    assert set(preview.mapping_errors) == {"__all__", "고객번호", "휴대폰", "생년월일", "성별"}
    assert preview.mapping == {"이름": "name", "이메일": "email"}
    # The missing customer number is said once, for the mapping, not again on every row.
    assert [row.errors for row in preview.rows] == [[], []]


def test_the_preview_of_events_looks_up_products(create) -> None:
    ProductFactory(sku="NB-1080")
    job = create(
        events_csv(
            [
                event_row(
                    1,
                    kind="purchase",
                    channel="store",
                    amount='"129,000"',
                    currency="KRW",
                    sku="NB-1080",
                    quantity="1",
                ),
                event_row(
                    2,
                    kind="purchase",
                    channel="store",
                    amount="5000",
                    currency="KRW",
                    sku="NOPE",
                    quantity="1",
                ),
                event_row(3, kind="teleport"),
            ]
        ),
        kind="events",
    )
    preview = import_preview(job=job, mapping=job.mapping)
    assert [[(e.field, e.code) for e in r.errors] for r in preview.rows] == [
        [],
        [("sku", "unknown_sku")],
        [("kind", "invalid_choice")],
    ]


# --- runs: customers ---------------------------------------------------------------------------------


def test_importing_the_same_customers_file_again_adds_nothing(create, run) -> None:
    first = run(create(CUSTOMERS_CSV))
    assert (first.created_rows, first.duplicate_rows) == (2, 0)
    counts = (Customer.objects.count(), CustomerIdentity.objects.count())
    again = run(create(CUSTOMERS_CSV))
    assert again.status == ImportJob.Status.COMPLETED
    assert (again.created_rows, again.duplicate_rows, again.rejected_rows) == (0, 2, 0)
    assert (Customer.objects.count(), CustomerIdentity.objects.count()) == counts
    assert list(imports.import_duplicates_of(job=again)) == [first]


def test_a_known_customer_takes_the_fields_the_file_gives(create, run, pos) -> None:
    identity = CustomerIdentityFactory(
        source_system=pos, external_id="C-1", customer__name="Old", customer__region="Busan"
    )
    run(create("고객번호,이름,지역,이메일\nC-1,김민지,,new@example.kr\n"))
    customer = Customer.objects.get(pk=identity.customer_id)
    assert (customer.name, customer.email, customer.region) == ("김민지", "new@example.kr", "Busan")


def test_merged_and_erased_customers_are_not_written(create, run, pos) -> None:
    survivor = CustomerFactory(name="Survivor")
    merged = CustomerFactory(name="Merged", status="merged", merged_into=survivor)
    erased = CustomerFactory(name="", status="erased")
    CustomerIdentityFactory(source_system=pos, external_id="M", customer=merged)
    CustomerIdentityFactory(source_system=pos, external_id="E", customer=erased)
    job = run(create("고객번호,이름\nM,New name\nE,New name\n"))
    assert job.duplicate_rows == 2
    assert Customer.objects.get(pk=merged.pk).name == "Merged"
    assert Customer.objects.get(pk=erased.pk).name == ""


def test_a_new_id_matches_by_trusted_email_and_fills_only_empty_fields(create, run, pos) -> None:
    existing = CustomerFactory(name="김민지", email="minji@example.kr", region="")
    job = run(create("고객번호,이름,이메일,지역\nC-9,Minji Kim,MINJI@example.kr,Seoul\n"))
    assert job.created_rows == 1
    existing.refresh_from_db()
    assert (existing.name, existing.region) == ("김민지", "Seoul")
    identity = CustomerIdentity.objects.get(external_id="C-9")
    assert (identity.customer_id, identity.matched_by) == (existing.pk, "email")
    assert Customer.objects.count() == 1


def test_the_same_id_twice_in_a_file_is_one_customer_with_the_later_values(create, run) -> None:
    job = run(create("고객번호,이름,지역\nC-1,김민지,Seoul\nC-1,김민지,Busan\n"))
    assert (job.created_rows, job.duplicate_rows) == (1, 1)
    assert Customer.objects.get().region == "Busan"


def test_rejected_rows_are_reported_and_the_rest_imported(create, run) -> None:
    content = (
        "고객번호,이름,이메일,휴대폰,성별\n"
        "C-1,김민지,minji@example.kr,010-2937-4410,F\n"
        "C-2,@SUM(1+1),a@example.kr,,\n"
        "C-3,Lee,b@example.kr,+82 10-5555-0192,male\n"
        "C-4,Park,c@example.kr,-1234-5678,unknown\n"
        'C-5,"Kim "x" Y",d@example.kr,,\n'
        "C-6,Choi,e@example.kr,,,extra\n"
        "C-7,Jung,f@example.kr,\t010,\n"
    )
    job = run(create(content))
    assert job.status == ImportJob.Status.COMPLETED
    assert (job.processed_rows, job.created_rows, job.rejected_rows) == (7, 2, 5)
    assert errors_of(job) == [
        (3, "이름", "formula"),
        (5, "성별", "invalid_choice"),
        (5, "휴대폰", "invalid"),
        (6, "", "malformed"),
        (7, "", "column_count"),
        (8, "휴대폰", "formula"),
    ]
    assert set(CustomerIdentity.objects.values_list("external_id", flat=True)) == {"C-1", "C-3"}


def test_blank_rows_are_skipped_but_row_numbers_stay_those_of_the_sheet(create, run) -> None:
    job = run(create("고객번호,이름\n\nC-1,Kim\n,\n,Lee\n"))
    assert (job.total_rows, job.processed_rows, job.created_rows, job.rejected_rows) == (2, 2, 1, 1)
    assert errors_of(job) == [(5, "고객번호", "required")]


def test_a_value_with_a_line_break_inside_quotes_is_one_row(create, run) -> None:
    job = run(create('고객번호,주소\nC-1,"Seoul\nGangnam"\nC-2,Busan\n'))
    assert job.created_rows == 2
    assert Customer.objects.get(identities__external_id="C-1").address == "Seoul\nGangnam"


# --- runs: events ------------------------------------------------------------------------------------


def test_importing_the_same_events_file_again_adds_nothing(create, run) -> None:
    product = ProductFactory(sku="NB-1080")
    rows = [event_row(n) for n in range(1, 30)] + [
        event_row(
            30,
            kind="purchase",
            channel="store",
            amount='"129,000"',
            currency="KRW",
            sku=product.sku,
            quantity="2",
        )
    ]
    first = run(create(events_csv(rows), kind="events"))
    assert first.status == ImportJob.Status.COMPLETED, first.error
    assert (first.processed_rows, first.created_rows, first.duplicate_rows, first.rejected_rows) == (
        30,
        30,
        0,
        0,
    )
    assert Interaction.objects.count() == 30
    purchase = Interaction.objects.get(external_id="T-30")
    assert purchase.amount == 129000
    assert purchase.occurred_at == dt.datetime(2026, 11, 20, 5, 3, tzinfo=dt.UTC)  # 14:03 in Seoul
    assert PurchaseLine.objects.get().quantity == 2
    counts = (Interaction.objects.count(), Customer.objects.count(), PurchaseLine.objects.count())
    again = run(create(events_csv(rows), kind="events"))
    assert (again.created_rows, again.duplicate_rows, again.rejected_rows) == (0, 30, 0)
    assert (Interaction.objects.count(), Customer.objects.count(), PurchaseLine.objects.count()) == counts


def test_rejected_events_name_their_column(create, run) -> None:
    rows = [
        event_row(1),
        event_row(
            2, kind="purchase", channel="store", amount="5000", currency="KRW", sku="NOPE", quantity="1"
        ),
        event_row(3, occurred_at="yesterday"),
        event_row(4, customer_id=""),
        event_row(5, summary="-2+3"),
        event_row(6, quantity="1.5", sku="X"),
    ]
    job = run(create(events_csv(rows), kind="events"))
    assert (job.created_rows, job.rejected_rows) == (1, 5)
    assert errors_of(job) == [
        (3, "sku", "unknown_sku"),
        (4, "occurred_at", "invalid"),
        (5, "", "required"),
        (6, "summary", "formula"),
        (7, "quantity", "invalid"),
    ]


def test_kinds_and_channels_may_be_written_as_their_english_or_korean_labels(create, run) -> None:
    rows = [event_row(1, kind="웹 방문", channel="웹"), event_row(2, kind="Service call", channel="PHONE")]
    job = run(create(events_csv(rows).encode("cp949"), kind="events"))
    assert job.created_rows == 2, job.row_errors.values_list("message", flat=True)
    assert sorted(Interaction.objects.values_list("kind", "channel")) == [
        ("service_call", "phone"),
        ("web_visit", "web"),
    ]


def test_extra_columns_become_properties(create, run) -> None:
    job = create(
        events_csv([event_row(1) + ",Gangnam"], header=EVENTS_HEADER.strip() + ",store\n"), kind="events"
    )
    run(job, {**job.mapping, "store": "property"})
    assert Interaction.objects.get().properties == {"store": "Gangnam"}


def test_an_events_import_writes_outbox_messages_for_analytics(create, run) -> None:
    run(create(events_csv([event_row(n) for n in range(1, 5)]), kind="events"))
    assert OutboxMessage.objects.filter(topic="interactions.ingested").exists()


PLAIN_HEADER = (
    "external_id,customer_id,customer_email,customer_name,kind,channel,occurred_at,amount,currency,"
    "sku,quantity,unit_price,nps_score,location,summary,store\n"
)


def _mixed_events(sku: str, store: str) -> list[str]:
    """Rows of every sort: plain ones (one statement) and the others (the ordinary way), mixed."""
    rows = [
        "T-1,C-1,,Kim,web_visit,web,2026-11-20 14:03,,,,,,,,Visited,Gangnam",
        "T-2,C-1,,Lee,웹 방문,웹,2026-11-19T10:00:00+09:00,,,,,,,,,",  # the name of C-1's first row wins
        f"T-3,C-2,,,purchase,store,2026-11-20 15:00,,KRW,{sku},2,,,{store},Shoes,",  # amount from the line
        f'T-4,C-2,,,purchase,store,2026-11-20 15:01,"129,000",KRW,{sku},1,"99,000",,,,',
        f"T-5,C-3,,,return,store,2026-11-20 16:00,5000,KRW,{sku},,,,,,",
        "T-6,C-3,,,survey,web,2026-11-20,,,,,,9,,,",
        "T-7,C-4,,,purchase,store,2026-11-20 15:00,,KRW,NOPE,1,,,,,",  # unknown SKU: named
        f"T-8,C-4,,,purchase,store,2026-11-20 15:00,,KRW,{sku},1,,,nowhere,,",  # unknown location
        "T-1,C-5,,,app_visit,app,2026-11-21 09:00,,,,,,,,,",  # a repeat: a duplicate of row 2
        "T-9,C-6,c6@example.kr,Park,web_visit,web,2026-11-21 09:00,,,,,,,,,",  # an email: the ordinary way
        "T-10,C-6,,,web_visit,web,2026-11-20 09:00,,,,,,,,,",  # C-6 goes that way whole
        "T-11, C-7,,,web_visit,web,2026-11-21 09:00,,,,,,,,,",  # spaces: the ordinary way
        "T-12,C-7,,,web_visit,web,2026-11-21 09:00,,,,,,,,,",
        "T-13,C-8,,,payment,web,2026-11-21 09:00,-5000,KRW,,,,,,,",  # a sign: the ordinary way
        "T-14,C-8,,,web_visit,web,yesterday,,,,,,,,,",  # rejected
        "T-15,C-8,,,web_visit,web,2026-11-21 09:00,,,,,,3,,,",  # an NPS score off a survey: rejected
        "T-16,C-9,,,purchase,store,2026-11-21 09:00,,,,,,,,,",  # no amount: rejected
        "T-17,K-1,,,web_visit,web,2026-11-21 09:00,,,,,,,,,",  # a known customer
        "T-18,C-10,,,web_visit,web,2026-11-21 09:00,1000,,,,,,,,",  # an amount without currency
        "T-19,C-10,,,web_visit,nope,2026-11-21 09:00,,,,,,,,,",
        "T-20,C-10,,,web_visit,web,2026-11-21 09:00,,,,,,,,=1+1,",
    ]
    return rows


def _outcome_of(job: ImportJob) -> dict[str, Any]:
    source = job.source_system_id
    identities = {
        i.customer_id: i.external_id for i in CustomerIdentity.objects.filter(source_system_id=source)
    }
    interactions = Interaction.objects.filter(source_system_id=source)
    return {
        "counts": (job.processed_rows, job.created_rows, job.duplicate_rows, job.rejected_rows),
        "errors": errors_of(job),
        "interactions": sorted(
            (
                i.external_id,
                identities.get(i.customer_id, i.customer_id),
                i.kind,
                i.channel,
                i.occurred_at,
                i.amount,
                i.currency,
                i.summary,
                i.nps_score,
                i.properties,
            )
            for i in interactions
        ),
        "lines": sorted(
            (
                line.interaction.external_id,
                line.product_id,
                line.supplier_id,
                line.location_id,
                line.occurred_at,
                line.channel,
                line.is_return,
                line.quantity,
                line.unit_price,
                line.unit_cost,
                line.currency,
            )
            for line in PurchaseLine.objects.filter(interaction__source_system_id=source).select_related(
                "interaction"
            )
        ),
        "customers": sorted(
            (
                i.external_id,
                i.matched_by,
                i.match_note,
                i.customer.name,
                i.customer.email,
                i.customer.signup_at,
                i.customer.status,
            )
            for i in CustomerIdentity.objects.filter(source_system_id=source).select_related("customer")
        ),
        "outbox": sum(
            len(m.payload["interaction_ids"])
            for m in OutboxMessage.objects.filter(topic="interactions.ingested")
            if set(m.payload["interaction_ids"]) <= set(interactions.values_list("id", flat=True))
        ),
    }


@pytest.mark.skipif(connection.vendor != "postgresql", reason="plain rows take one statement on PostgreSQL")
def test_plain_rows_are_stored_as_the_ordinary_way_stores_them(
    user, run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 3 (a CSV import of 1M rows over 50,000 rows/s): plain rows go into the tables by one
    statement; customers, identities, interactions, lines, errors and counters come out as the ordinary
    way makes them, row for row."""
    product = ProductFactory(sku="NB-1080")
    store = LocationFactory(code="gangnam")
    outcomes = []
    for code, plain in (("pos-a", True), ("pos-b", False)):
        source = SourceSystemFactory(code=code, name=code)
        CustomerIdentityFactory(
            source_system=source, external_id="K-1", customer__name="Known", customer__email=""
        )
        if not plain:
            monkeypatch.setattr("customers.imports.run._plain_layout", lambda plan: None)
        content = PLAIN_HEADER + "".join(row + "\n" for row in _mixed_events(product.sku, store.code))
        job = import_create(upload=upload(content), kind="events", source_system=source, user=user)
        job = run(job, {**job.mapping, "store": "property"})
        assert job.status == ImportJob.Status.COMPLETED, job.error
        outcomes.append(_outcome_of(job))
    fast, ordinary = outcomes
    assert fast == ordinary
    assert fast["counts"] == (21, 12, 1, 8)
    assert fast["errors"] == [
        (8, "amount", "required"),
        (8, "sku", "unknown_sku"),
        (9, "location", "unknown_location"),
        (16, "occurred_at", "invalid"),
        (17, "nps_score", "invalid"),
        (18, "amount", "required"),
        (20, "currency", "required"),
        (21, "channel", "invalid_choice"),
        (22, "summary", "formula"),
    ]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="plain rows take one statement on PostgreSQL")
def test_plain_rows_take_one_statement(create, run) -> None:
    """Issue 3: a chunk of plain rows costs the same statements whatever its size: its COPY, the
    statement that resolves its customers and the one that writes its interactions."""
    from django.test.utils import CaptureQueriesContext

    counts = []
    for size in (3, 300):
        job = create(events_csv([event_row(n) for n in range(size * 10, size * 11)]), kind="events")
        with CaptureQueriesContext(connection) as queries:
            job = run(job)
        assert job.created_rows == size
        counts.append(
            [
                q["sql"].split()[0]
                for q in queries.captured_queries
                if "ingest_plain_" in q["sql"] and not q["sql"].startswith(("CREATE", "TRUNCATE"))
            ]
        )
    assert counts == [["COPY", "WITH", "WITH"], ["COPY", "WITH", "WITH"]]
    with connection.cursor() as cursor:  # the statement's settings are put back
        cursor.execute("SELECT current_setting('enable_nestloop'), current_setting('jit')")
        assert cursor.fetchone()[0] == "on"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="plain rows take one statement on PostgreSQL")
@pytest.mark.parametrize("statement", ["resolve", "write"])
def test_plain_rows_that_lose_a_race_go_the_ordinary_way(create, run, monkeypatch, statement: str) -> None:
    """Issue 3: when a concurrent writer stored an event or an identity since a statement looked, the
    unique constraint refuses the statement; its savepoint is rolled back and the ordinary way decides."""
    from django.db import IntegrityError

    def raced(**kwargs: Any) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        raise IntegrityError("duplicate key value violates unique constraint")

    first = run(create(events_csv([event_row(n) for n in range(1, 4)]), kind="events"))
    monkeypatch.setattr(f"customers.imports.run.plain_events_{statement}", raced)
    again = run(create(events_csv([event_row(n) for n in range(1, 7)]), kind="events"))
    assert (first.created_rows, again.created_rows, again.duplicate_rows) == (3, 3, 3)
    assert Interaction.objects.count() == 6
    # One customer per customer id, whichever statement lost the race (after the second, the ordinary
    # way finds the customers that the first created).
    assert Customer.objects.count() == CustomerIdentity.objects.count() == 6


def _chunked_file() -> str:
    """Events of customers named across many chunks of 40 rows: purchases with lines, a row that repeats
    an event of the chunk before (80), an unknown SKU (130), a row that goes the ordinary way (210)."""
    rows = []
    for n in range(400):
        external_id = "T-45" if n == 85 else f"T-{n}"
        customer, at = f"C-{n % 53}", f"2026-11-{1 + n % 28:02d} 14:03"
        if n % 4 == 0:
            sku = "NOPE" if n == 132 else "NB-1080"
            rows.append(f"{external_id},{customer},purchase,store,{at},,KRW,{sku},{1 + n % 3},Bought")
        else:
            summary = " Visited" if n == 210 else "Visited"
            rows.append(f"{external_id},{customer},web_visit,web,{at},,,,,{summary}")
    return events_csv(rows)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="two connections on PostgreSQL")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_chunks_at_once_store_what_one_chunk_at_a_time_stores(
    settings: SettingsWrapper, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 3 (a CSV import of 1M rows over 50,000 rows/s): an import stores two chunks at once, on two
    connections, each chunk handing the new customers it created (not committed yet) to the next. The
    customers, identities, interactions, lines, errors and counters are those of one chunk at a time
    (which an import inside a transaction does)."""
    from customers.imports import run as run_module

    settings.CRM_IMPORT_CHUNK_ROWS = 40
    user = UserFactory(role=Role.MARKETER)
    ProductFactory(sku="NB-1080")
    handed = []

    def resolve(**kwargs: Any) -> Any:
        handed.append(bool(kwargs["pending"]))
        return plain_events_resolve(**kwargs)

    plain_events_resolve = run_module.plain_events_resolve
    monkeypatch.setattr(run_module, "plain_events_resolve", resolve)
    outcomes = []
    for code, two in (("pos-two", True), ("pos-one", False)):
        source = SourceSystemFactory(code=code, name=code)
        CustomerIdentityFactory(
            source_system=source, external_id="C-1", customer__name="Known", customer__email=""
        )
        job = import_create(upload=upload(_chunked_file()), kind="events", source_system=source, user=user)
        ImportJob.objects.filter(pk=job.pk).update(mapping=job.mapping, status=ImportJob.Status.QUEUED)
        if two:
            assert import_run(job_id=job.pk) == ImportJob.Status.COMPLETED
            assert any(handed)
        else:
            with transaction.atomic():  # one connection: one chunk after the other
                assert import_run(job_id=job.pk) == ImportJob.Status.COMPLETED
        job.refresh_from_db()
        outcomes.append(_outcome_of(job))
    two_at_once, one_at_a_time = outcomes
    assert two_at_once == one_at_a_time
    assert two_at_once["counts"] == (400, 398, 1, 1)
    assert two_at_once["errors"] == [(134, "amount", "required"), (134, "sku", "unknown_sku")]


# --- chunks, checkpoints and resuming ---------------------------------------------------------------


def test_chunks_advance_the_checkpoint_and_counters_add_up(create, run, settings: SettingsWrapper) -> None:
    settings.CRM_IMPORT_CHUNK_ROWS = 7
    rows = [event_row(n) for n in range(1, 51)] + [event_row(51, kind="nope")]
    job = run(create(events_csv(rows), kind="events"))
    assert job.status == ImportJob.Status.COMPLETED
    assert job.processed_rows == job.total_rows == 51
    assert job.created_rows + job.duplicate_rows + job.rejected_rows == 51
    assert job.finished_at is not None and job.heartbeat_at is not None


def test_a_run_goes_on_from_its_checkpoint(create, settings: SettingsWrapper) -> None:
    """As after a worker was killed between two chunks: the rows before the checkpoint are not read again."""
    settings.CRM_IMPORT_CHUNK_ROWS = 10
    job = create(events_csv([event_row(n) for n in range(1, 31)]), kind="events")
    ImportJob.objects.filter(pk=job.pk).update(
        mapping=job.mapping, status=ImportJob.Status.RUNNING, processed_rows=10
    )
    assert import_run(job_id=job.pk) == ImportJob.Status.COMPLETED
    job.refresh_from_db()
    assert (job.processed_rows, job.created_rows) == (30, 20)
    assert set(Interaction.objects.values_list("external_id", flat=True)) == {f"T-{n}" for n in range(11, 31)}


def test_a_replayed_chunk_adds_nothing_and_writes_its_errors_once(create, run) -> None:
    """A worker killed after storing a chunk but before... cannot happen (one transaction); a chunk run
    twice (by two runs of a job) still adds nothing."""
    job = run(create(events_csv([event_row(1), event_row(2, kind="nope")]), kind="events"))
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING, processed_rows=0)
    import_run(job_id=job.pk)
    job.refresh_from_db()
    assert Interaction.objects.count() == 1
    assert ImportRowError.objects.filter(job=job).count() == 1


def test_a_run_behind_another_stops(create) -> None:
    job = create(events_csv([event_row(1)]), kind="events")
    ImportJob.objects.filter(pk=job.pk).update(mapping=job.mapping, status=ImportJob.Status.COMPLETED)
    assert import_run(job_id=job.pk) == ImportJob.Status.COMPLETED
    assert not Interaction.objects.exists()


def test_a_paused_run_stops_between_chunks(create, settings: SettingsWrapper) -> None:
    settings.CRM_IMPORT_CHUNK_ROWS = 5
    job = create(events_csv([event_row(n) for n in range(1, 21)]), kind="events")
    ImportJob.objects.filter(pk=job.pk).update(mapping=job.mapping, status=ImportJob.Status.QUEUED)
    assert import_run(job_id=job.pk, time_budget=0) == "paused"
    job.refresh_from_db()
    assert (job.status, job.processed_rows) == (ImportJob.Status.RUNNING, 5)
    assert import_run(job_id=job.pk) == ImportJob.Status.COMPLETED


def test_an_unexpected_error_fails_the_import_with_a_message(create, monkeypatch: pytest.MonkeyPatch) -> None:
    job = create(events_csv([event_row(1)]), kind="events")
    ImportJob.objects.filter(pk=job.pk).update(mapping=job.mapping, status=ImportJob.Status.QUEUED)

    def boom(**kwargs: Any) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("customers.imports.run.events_store", boom)
    assert import_run(job_id=job.pk) == ImportJob.Status.FAILED
    job.refresh_from_db()
    assert "disk on fire" in job.error
    assert job.processed_rows == 0


def test_stale_imports_are_enqueued_again(create, django_capture_on_commit_callbacks) -> None:
    job = create(events_csv([event_row(n) for n in range(1, 4)]), kind="events")
    long_ago = timezone.now() - dt.timedelta(hours=1)
    ImportJob.objects.filter(pk=job.pk).update(
        mapping=job.mapping, status=ImportJob.Status.RUNNING, heartbeat_at=long_ago
    )
    fresh = create(CUSTOMERS_CSV)
    ImportJob.objects.filter(pk=fresh.pk).update(status=ImportJob.Status.RUNNING, heartbeat_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        assert imports_resume_stale() == [job.pk]
    job.refresh_from_db()
    assert job.status == ImportJob.Status.COMPLETED
    assert Interaction.objects.count() == 3


# --- spreadsheet safety ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "formula"),
    [
        ("=1+1", True),
        ("@SUM(A1)", True),
        ("\tx", True),
        ("\rx", True),
        ("+A1", True),
        ("-2+3", True),
        ("-cmd|' /C calc'!A0", True),
        ("-", False),
        ("+", False),
        ("-5", False),
        ("-1,000.50", False),
        ("+82 10-1234-5678", False),
        ("+1 (555) 010-9999", False),
        ("Kim", False),
        ("", False),
    ],
)
def test_formula_cells(value: str, formula: bool) -> None:
    assert is_formula(value) is formula


@pytest.mark.parametrize(
    ("value", "safe"),
    [("=1+1", "'=1+1"), ("-5", "'-5"), ("@x", "'@x"), ("\tx", "'\tx"), ("Kim", "Kim"), (None, "")],
)
def test_exports_escape_formula_cells(value: str | None, safe: str) -> None:
    assert spreadsheet_safe(value) == safe
