"""Staff pages of CSV imports (customers/views/imports.py): who may use them, the upload → mapping →
progress → report flow, and what the list costs."""

import csv
import io
from collections.abc import Callable

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from pytest_django.fixtures import SettingsWrapper

from crm.models import User
from crm.roles import STAFF_ROLES, SUPPLIER_ROLES, Role
from customers.imports import import_create
from customers.models import Customer, ImportJob
from tests.factories import (
    ImportJobFactory,
    ImportRowErrorFactory,
    SourceSystemFactory,
    UserFactory,
    session_queries,
)

pytestmark = pytest.mark.django_db

LIST = "/customers/imports/"
NEW = "/customers/imports/new/"
CUSTOMERS_CSV = "고객번호,이름,이메일,메모\nC-1,김민지,minji@example.kr,VIP\nC-2,=cmd|' /C calc'!A0,x@example.kr,\nC-3,이서준,not-an-email,\n"


@pytest.fixture
def pos():
    return SourceSystemFactory(code="pos", name="POS", trust_email=True, trust_phone=True)


def pages(job: ImportJob) -> list[tuple[str, str]]:
    base = f"/customers/imports/{job.pk}/"
    return [
        ("get", base),
        ("post", base + "preview/"),
        ("post", base + "start/"),
        ("get", base + "progress/"),
        ("get", base + "rejected-rows.csv"),
    ]


def upload_job(owner: User, source, content: str = CUSTOMERS_CSV) -> ImportJob:
    return import_create(
        upload=SimpleUploadedFile("고객.csv", content.encode("cp949")),
        kind="customers",
        source_system=source,
        user=owner,
    )


# --- who may use the pages --------------------------------------------------------------------------


def test_the_routes_are_the_documented_ones() -> None:
    from django.urls import reverse

    assert reverse("customers:import_list") == LIST
    assert reverse("customers:import_new") == NEW
    assert reverse("customers:import_errors", args=[7]) == "/customers/imports/7/rejected-rows.csv"


@pytest.mark.parametrize("path", [LIST, NEW, "/customers/imports/1/", "/customers/imports/1/progress/"])
def test_anonymous_users_are_sent_to_the_login_page(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize(
    "role", [Role.SERVICE_REP, Role.BUYER, Role.INTEGRATION, *SUPPLIER_ROLES], ids=lambda r: r.value
)
def test_roles_without_imports_get_403_everywhere(
    client_for: Callable[[Role], Client], pos, role: Role
) -> None:
    client = client_for(role)
    job = upload_job(User.objects.get(pk=client.session["_auth_user_id"]), pos)
    for method, path in [("get", LIST), ("get", NEW), ("post", NEW), *pages(job)]:
        assert getattr(client, method)(path).status_code == 403, (method, path)
    assert ImportJob.objects.get().status == ImportJob.Status.UPLOADED


@pytest.mark.parametrize("role", [Role.MARKETER, Role.ADMINISTRATOR], ids=lambda r: r.value)
def test_marketers_and_administrators_import(client_for: Callable[[Role], Client], pos, role: Role) -> None:
    client = client_for(role)
    assert client.get(LIST).status_code == 200
    assert client.get(NEW).status_code == 200


def test_another_users_import_answers_404(client_for: Callable[[Role], Client], pos) -> None:
    client = client_for(Role.MARKETER)
    job = upload_job(UserFactory(role=Role.MARKETER), pos)
    for method, path in pages(job):
        assert getattr(client, method)(path).status_code == 404, (method, path)
    assert job.pk not in [j.pk for j in client.get(LIST).context["jobs"]]


def test_administrators_see_everyones_imports(client_for: Callable[[Role], Client], pos) -> None:
    job = upload_job(UserFactory(role=Role.MARKETER), pos)
    client = client_for(Role.ADMINISTRATOR)
    response = client.get(LIST)
    assert [j.pk for j in response.context["jobs"]] == [job.pk]
    assert response.context["sees_all"]
    assert client.get(f"/customers/imports/{job.pk}/").status_code == 200


def test_the_navigation_offers_imports_to_those_who_may_read_them(
    client_for: Callable[[Role], Client],
) -> None:
    home = client_for(Role.MARKETER).get("/").content.decode()
    assert 'href="/customers/imports/"' in home
    rep = Client()
    rep.force_login(UserFactory(role=Role.SERVICE_REP))
    assert 'href="/customers/imports/"' not in rep.get("/").content.decode()


# --- upload, mapping, preview, start, progress, report --------------------------------------------


def test_upload_map_preview_start_and_download_the_report(
    client_for: Callable[[Role], Client], pos, django_capture_on_commit_callbacks
) -> None:
    client = client_for(Role.MARKETER)
    response = client.post(
        NEW,
        {
            "kind": "customers",
            "source": pos.pk,
            "file": SimpleUploadedFile("고객.csv", CUSTOMERS_CSV.encode("cp949")),
        },
    )
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/customers/imports/{job.pk}/"
    assert job.encoding == "cp949"

    page = client.get(response["Location"])
    assert page.templates[0].name == "customers/imports/mapping.html"
    form = page.context["form"]
    assert [form[name].value() for name, _column in form.columns] == ["external_id", "name", "email", ""]
    html = page.content.decode()
    assert "김민지" in html and "CP949 / EUC-KR" in html
    preview = page.context["preview"]
    assert preview["rejected"] == 2
    assert [[e.code for e in row["errors"]] for row in preview["rows"]] == [[], ["formula"], ["invalid"]]

    partial = client.post(
        f"/customers/imports/{job.pk}/preview/",
        {"column_0": "", "column_1": "name", "column_2": "email", "column_3": ""},
        HTTP_HX_REQUEST="true",
    )
    assert partial.status_code == 200
    assert partial.templates[0].name == "customers/partials/import_preview.html"
    assert "<html" not in partial.content.decode()
    assert partial.context["preview"]["general_errors"]

    refused = client.post(f"/customers/imports/{job.pk}/start/", {"column_1": "name"})
    assert refused.status_code == 400
    assert ImportJob.objects.get().status == ImportJob.Status.UPLOADED

    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(
            f"/customers/imports/{job.pk}/start/",
            {"column_0": "external_id", "column_1": "name", "column_2": "email", "column_3": ""},
        )
    assert started.status_code == 302
    job.refresh_from_db()
    assert (job.status, job.created_rows, job.rejected_rows) == (ImportJob.Status.COMPLETED, 1, 2)
    assert Customer.objects.get().name == "김민지"

    progress = client.get(f"/customers/imports/{job.pk}/")
    assert progress.templates[0].name == "customers/imports/progress.html"
    assert progress.context["percent"] == 100
    assert 'hx-trigger="every 1s"' not in progress.content.decode()

    report = client.get(
        f"/customers/imports/{job.pk}/rejected-rows.csv", {"reason": "checking the rejected rows"}
    )
    assert report["Content-Type"] == "text/csv; charset=utf-8"
    assert f'filename="import-{job.pk}-rejected-rows.csv"' in report["Content-Disposition"]
    content = b"".join(report.streaming_content).decode("utf-8")
    assert content.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(content.lstrip("\ufeff"))))
    assert rows[0] == ["Row", "Column", "Code", "Reason"]
    assert [row[:3] for row in rows[1:]] == [["3", "이름", "formula"], ["4", "이메일", "invalid"]]


def test_a_second_start_goes_to_the_progress_page(client_for: Callable[[Role], Client], pos) -> None:
    client = client_for(Role.MARKETER)
    job = upload_job(User.objects.get(pk=client.session["_auth_user_id"]), pos)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING)
    response = client.post(f"/customers/imports/{job.pk}/start/", {"column_0": "external_id"})
    assert response.status_code == 302
    assert client.post(f"/customers/imports/{job.pk}/preview/", {}).status_code == 409


def test_a_running_import_polls_its_progress(client_for: Callable[[Role], Client], pos) -> None:
    client = client_for(Role.MARKETER)
    job = upload_job(User.objects.get(pk=client.session["_auth_user_id"]), pos)
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.RUNNING, processed_rows=1, created_rows=1
    )
    page = client.get(f"/customers/imports/{job.pk}/").content.decode()
    assert f'hx-get="/customers/imports/{job.pk}/progress/" hx-trigger="every 1s"' in page
    partial = client.get(f"/customers/imports/{job.pk}/progress/", HTTP_HX_REQUEST="true")
    assert partial.context["percent"] == 33
    assert 'aria-valuenow="33"' in partial.content.decode()


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"", "empty.csv", "The submitted file is empty."),
        (b"id,name\n1,Kim\n", "customers.xlsx", "Only CSV files can be imported"),
        (b"PK\x03\x04\x14\x00", "customers.csv", "This is an Excel workbook"),
        (b"id,name\n1,K\x00im\n", "customers.csv", "This is not a text file"),
        (b"id,name\n" + b"1,Kim\n" * 50, "customers.csv", "at most 100"),
    ],
)
def test_files_that_cannot_be_imported_are_refused_on_the_form(
    client_for: Callable[[Role], Client], pos, settings: SettingsWrapper, data: bytes, name: str, message: str
) -> None:
    settings.CRM_IMPORT_MAX_BYTES = 100
    response = client_for(Role.MARKETER).post(
        NEW, {"kind": "customers", "source": pos.pk, "file": SimpleUploadedFile(name, data)}
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ImportJob.objects.exists()


def test_the_report_escapes_formula_cells(client_for: Callable[[Role], Client]) -> None:
    client = client_for(Role.MARKETER)
    job = ImportJobFactory(created_by=User.objects.get(pk=client.session["_auth_user_id"]), rejected_rows=2)
    ImportRowErrorFactory(job=job, row_number=2, field="=HYPERLINK(1)", code="formula", message="-bad")
    ImportRowErrorFactory(job=job, row_number=3, field="@name", code="invalid", message="+cmd")
    content = b"".join(
        client.get(
            f"/customers/imports/{job.pk}/rejected-rows.csv", {"reason": "fix the source file"}
        ).streaming_content
    ).decode()
    rows = list(csv.reader(io.StringIO(content.lstrip("\ufeff"))))
    assert rows[1:] == [["2", "'=HYPERLINK(1)", "formula", "'-bad"], ["3", "'@name", "invalid", "'+cmd"]]


# --- what pages cost --------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.MARKETER, Role.ADMINISTRATOR], ids=lambda r: r.value)
def test_the_list_costs_the_same_for_one_and_many_imports(
    client_for: Callable[[Role], Client], role: Role
) -> None:
    client = client_for(role)
    me = User.objects.get(pk=client.session["_auth_user_id"])
    ImportJobFactory(created_by=me, source_system=SourceSystemFactory(code="pos"))
    client.get(LIST)  # warm the permission cache and the session like any later request
    with CaptureQueriesContext(connection) as one:
        assert client.get(LIST).status_code == 200
    for n in range(30):
        ImportJobFactory(created_by=me, source_system=SourceSystemFactory(code=f"s{n % 3}"))
    with CaptureQueriesContext(connection) as many:
        response = client.get(LIST)
    assert len(response.context["jobs"]) == 31
    assert len(one) == len(many), [q["sql"][:90] for q in many.captured_queries]


def test_the_list_pages_by_id(client_for: Callable[[Role], Client], settings: SettingsWrapper) -> None:
    from customers.views import imports as views

    client = client_for(Role.MARKETER)
    me = User.objects.get(pk=client.session["_auth_user_id"])
    jobs = [ImportJobFactory(created_by=me) for _ in range(5)]
    original = views.PAGE_SIZE
    views.PAGE_SIZE = 2
    try:
        first = client.get(LIST).context
        second = client.get(LIST, {"before": first["page"].older}).context
    finally:
        views.PAGE_SIZE = original
    assert [j.pk for j in first["jobs"]] == [jobs[4].pk, jobs[3].pk]
    assert [j.pk for j in second["jobs"]] == [jobs[2].pk, jobs[1].pk]


@pytest.mark.parametrize("errors", [1, 25])
def test_the_progress_panel_costs_a_fixed_number_of_queries(
    client_for: Callable[[Role], Client], errors: int
) -> None:
    client = client_for(Role.MARKETER)
    job = ImportJobFactory(
        created_by=User.objects.get(pk=client.session["_auth_user_id"]),
        status=ImportJob.Status.RUNNING,
        total_rows=100,
        processed_rows=50,
        rejected_rows=errors,
    )
    for n in range(errors):
        ImportRowErrorFactory(job=job, row_number=n + 2)
    client.get(f"/customers/imports/{job.pk}/progress/")
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/customers/imports/{job.pk}/progress/")
    assert len(response.context["errors"]) == min(errors, 20)
    # session (unless in Redis), the user with its permissions (one query), the job, its first
    # rejected rows
    assert len(queries) == 3 + session_queries(), [q["sql"][:90] for q in queries.captured_queries]


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_every_staff_role_gets_an_answer_not_an_error(
    client_for: Callable[[Role], Client], role: Role
) -> None:
    assert client_for(role).get(LIST).status_code in (200, 403)
