"""CSV import of customers and events: upload, column mapping, preview, and the run in Celery.

The flow: ``import_create`` checks the file (size, type, encoding, CSV structure) and suggests a mapping
from its header; ``import_preview`` validates the first rows with a mapping exactly as the run will;
``import_start`` fixes the mapping and enqueues the run once its transaction commits; ``import_run`` reads
the file in chunks and stores each chunk, its rejected rows and the new checkpoint in one transaction.

Reading a file:
- Encodings: UTF-8 with or without a byte order mark, else CP949 (a superset of EUC-KR, what Korean
  Excel saves). Delimiters: comma, semicolon or tab, told apart on the first rows.
- Row numbers are those a spreadsheet shows: the header is row 1 and a value with line breaks inside
  quotes does not start a new row. Blank rows are skipped and not counted.
- A file is refused whole when it cannot be read as a table: empty, too large, not text, not CSV, a
  quote never closed. A row is rejected on its own, with its number, column and reason, when it has the
  wrong number of values, broken quoting, a cell a spreadsheet would run as a formula, or a value that
  does not validate.

Idempotency: customers are keyed by ``(source system, customer number)`` and events by
``(source system, event id)``, both unique in the database, so importing a file again adds nothing, and a
chunk replayed after a worker was killed adds nothing either. The checkpoint (``processed_rows``) is
committed with the chunk's rows, so the counters add up exactly whatever happens to workers.

Who sees which imports: everyone with ``customers.view_importjob`` sees their own; those who may also
change imports (``customers.change_importjob``, administrators) see everyone's. Others' imports answer 404.
"""

import codecs
import csv
import datetime as dt
import functools
import hashlib
import io
import itertools
import logging
import re
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Any, TypeAlias

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.files import File
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import F, Q, QuerySet
from django.db.models.functions import Coalesce
from django.template.defaultfilters import filesizeformat
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.exports import FORMULA_STARTS, is_formula
from crm.models import User
from customers.contact import normalize_email, normalize_phone
from customers.ingest import MAX_BATCH, CustomerRow, customers_upsert, events_check, events_ingest
from customers.models import ImportJob, ImportRowError, Interaction, SourceSystem

logger = logging.getLogger(__name__)

Label: TypeAlias = str | Promise

EXTENSIONS = (".csv", ".tsv", ".txt")
ENCODINGS = ("utf-8", "cp949")
DELIMITERS = (",", ";", "\t")
MAX_COLUMNS = 200
PREVIEW_ROWS = 20
IGNORE = ""  # the mapping's value for a column that is not imported
PROPERTY = "property"  # an event column kept under its own name in the event's properties

_BLOCK = 1 << 20
_SAMPLE = 64 * 1024
_BOM = codecs.BOM_UTF8
# Other files people try: the first bytes of an Excel workbook, an old Excel file, a PDF, UTF-16 text.
_MAGIC = {
    b"PK\x03\x04": "excel",
    b"\xd0\xcf\x11\xe0": "excel",
    b"%PDF": "pdf",
    b"\xff\xfe": "utf16",
    b"\xfe\xff": "utf16",
}


# --- targets: the fields a column may go to ------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A field of the import a CSV column may go to; ``synonyms`` are header names that suggest it."""

    name: str
    label: Label
    required: bool = False
    synonyms: tuple[str, ...] = ()


CUSTOMER_TARGETS = (
    Target(
        "external_id",
        gettext_lazy("Customer number in the source system"),
        required=True,
        synonyms=(
            "id",
            "customer id",
            "customer no",
            "customer number",
            "member id",
            "member no",
            "member number",
            "고객번호",
            "회원번호",
            "고객 id",
            "회원 id",
            "고객코드",
            "회원코드",
            "고객아이디",
            "회원아이디",
        ),
    ),
    Target("name", gettext_lazy("Name"), synonyms=("full name", "customer name", "이름", "성명", "고객명")),
    Target(
        "email",
        gettext_lazy("Email"),
        synonyms=("e-mail", "mail", "email address", "이메일", "메일", "이메일주소", "전자우편"),
    ),
    Target(
        "phone",
        gettext_lazy("Phone"),
        synonyms=(
            "mobile",
            "tel",
            "telephone",
            "cell phone",
            "phone number",
            "mobile phone",
            "전화번호",
            "휴대폰",
            "휴대폰번호",
            "핸드폰",
            "핸드폰번호",
            "휴대전화",
            "연락처",
        ),
    ),
    Target(
        "birth_date",
        gettext_lazy("Birth date"),
        synonyms=("birthdate", "birthday", "dob", "date of birth", "생년월일", "생일"),
    ),
    Target("gender", gettext_lazy("Gender"), synonyms=("sex", "성별")),
    Target("address", gettext_lazy("Address"), synonyms=("addr", "주소")),
    Target("postal_code", gettext_lazy("Postal code"), synonyms=("postcode", "zip", "zip code", "우편번호")),
    Target("region", gettext_lazy("Region"), synonyms=("city", "area", "지역", "시도")),
    Target(
        "preferred_language",
        gettext_lazy("Preferred language"),
        synonyms=("language", "lang", "언어", "선호언어"),
    ),
    Target(
        "signup_at",
        gettext_lazy("Signed up at"),
        synonyms=(
            "signup",
            "signup date",
            "joined",
            "join date",
            "registered",
            "가입일",
            "가입일시",
            "가입일자",
        ),
    ),
)

EVENT_TARGETS = (
    Target(
        "external_id",
        gettext_lazy("Event id in the source system"),
        required=True,
        synonyms=(
            "id",
            "event id",
            "transaction id",
            "order id",
            "order no",
            "거래번호",
            "주문번호",
            "이벤트번호",
            "이벤트 id",
        ),
    ),
    Target(
        "customer_id",
        gettext_lazy("Customer number in the source system"),
        synonyms=(
            "customer",
            "customer no",
            "customer number",
            "member id",
            "고객번호",
            "회원번호",
            "고객 id",
        ),
    ),
    Target("customer_email", gettext_lazy("Customer email"), synonyms=("email", "e-mail", "이메일")),
    Target(
        "customer_phone",
        gettext_lazy("Customer phone"),
        synonyms=("phone", "mobile", "전화번호", "휴대폰", "휴대폰번호", "연락처"),
    ),
    Target("customer_name", gettext_lazy("Customer name"), synonyms=("name", "이름", "성명", "고객명")),
    Target(
        "kind", gettext_lazy("Kind"), required=True, synonyms=("type", "event type", "유형", "종류", "구분")
    ),
    Target("channel", gettext_lazy("Channel"), required=True, synonyms=("채널",)),
    Target(
        "occurred_at",
        gettext_lazy("Occurred at"),
        required=True,
        synonyms=(
            "date",
            "datetime",
            "time",
            "timestamp",
            "일시",
            "거래일시",
            "발생일시",
            "날짜",
            "주문일시",
        ),
    ),
    Target("amount", gettext_lazy("Amount"), synonyms=("total", "금액", "결제금액", "거래금액")),
    Target("currency", gettext_lazy("Currency"), synonyms=("통화",)),
    Target("summary", gettext_lazy("Summary"), synonyms=("description", "memo", "내용", "요약", "메모")),
    Target("nps_score", gettext_lazy("NPS score"), synonyms=("nps", "추천점수")),
    Target(
        "location", gettext_lazy("Store or location code"), synonyms=("store", "매장", "매장코드", "지점")
    ),
    Target("sku", gettext_lazy("Product SKU"), synonyms=("product code", "상품코드", "품번")),
    Target("quantity", gettext_lazy("Quantity"), synonyms=("qty", "수량")),
    Target("unit_price", gettext_lazy("Unit price"), synonyms=("price", "단가", "가격")),
    Target(PROPERTY, gettext_lazy("Extra property (kept under the column's name)")),
)

TARGETS: dict[str, tuple[Target, ...]] = {
    ImportJob.Kind.CUSTOMERS: CUSTOMER_TARGETS,
    ImportJob.Kind.EVENTS: EVENT_TARGETS,
}
_CUSTOMER_NAMING_TARGETS = ("customer_id", "customer_email", "customer_phone")


def _normal(name: str) -> str:
    return re.sub(r"[\s_\-./()]+", "", name).lower()


_SUGGESTIONS: dict[str, dict[str, str]] = {
    kind: {_normal(synonym): t.name for t in targets for synonym in (t.name, *t.synonyms)}
    for kind, targets in TARGETS.items()
}


def target_choices(kind: str) -> list[tuple[str, Label]]:
    """The fields of an import of this kind, as (name, label) choices, after "ignore"."""
    return [(IGNORE, gettext_lazy("Ignore this column"))] + [(t.name, t.label) for t in TARGETS[kind]]


def mapping_suggest(*, kind: str, header: list[str]) -> dict[str, str]:
    """A mapping guessed from the header's names, in English or Korean; unknown columns are ignored."""
    lookup = _SUGGESTIONS[kind]
    used: set[str] = set()
    mapping = {}
    for name in header:
        if not name:
            continue
        target = lookup.get(_normal(name), IGNORE)
        if target in used:
            target = IGNORE
        used.add(target)
        mapping[name] = target
    return mapping


# --- reading files ---------------------------------------------------------------------------------


@dataclass
class _Record:
    """One record of a CSV file: its spreadsheet row number and values, or why it could not be read."""

    row: int
    values: list[str]
    error: str = ""


def _records(stream: IO[str], delimiter: str) -> Iterator[_Record]:
    """The non-blank records of a file, the header first, each with its row number."""
    reader = csv.reader(stream, delimiter=delimiter, strict=True)
    for row in itertools.count(1):
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield _Record(row, [], str(error))
            continue
        if any(values):
            yield _Record(row, values)


def _clean_header(values: list[str]) -> list[str]:
    return [value.replace("\ufeff", "").strip() for value in values]


@contextmanager
def _text(binary: IO[bytes], encoding: str) -> Iterator[IO[str]]:
    """The binary file as text, leaving the binary file open afterwards."""
    text = io.TextIOWrapper(binary, encoding=encoding, newline="")
    try:
        yield text
    finally:
        text.detach()


@contextmanager
def _job_records(job: ImportJob) -> Iterator[tuple[list[str], Iterator[_Record]]]:
    """The stored file's header and an iterator over its data records."""
    with job.file.open("rb") as stored, _text(stored, job.encoding) as text:
        records = _records(text, job.delimiter)
        header = next(records, None)
        yield (_clean_header(header.values) if header else []), records


@dataclass
class FileFacts:
    """What checking an uploaded file found out."""

    size: int
    sha256: str
    encoding: str
    delimiter: str
    header: list[str]
    total_rows: int


def _refuse(message: str, code: str) -> ValidationError:
    return ValidationError({"file": [ValidationError(message, code=code)]})


def file_inspect(upload: File) -> FileFacts:
    """Check an uploaded CSV file and read its facts; raise ``ValidationError`` (on ``file``, with a
    stable code) when it cannot be imported. Reads the file three times, never whole into memory."""
    name = upload.name or ""
    if not name.lower().endswith(EXTENSIONS):
        raise _refuse(
            _("Only CSV files can be imported (a name ending in .csv, .tsv or .txt); this is %(name)s.")
            % {"name": name or _("a file without a name")},
            "invalid_extension",
        )
    size = upload.size or 0
    if size == 0:
        raise _refuse(_("The file is empty."), "empty")
    limit = settings.CRM_IMPORT_MAX_BYTES
    if size > limit:
        raise _refuse(
            _("The file is %(size)s; at most %(limit)s can be imported at once. Split it in parts.")
            % {"size": filesizeformat(size), "limit": filesizeformat(limit)},
            "too_large",
        )

    # 1. The bytes: a digest, no NUL byte (binary files), and whether they are UTF-8.
    upload.seek(0)
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8_error_line = 0
    lines = 0
    first = b""
    for block in upload.chunks(_BLOCK):
        if not first:
            first = block[:8]
            for magic, what in _MAGIC.items():
                if block.startswith(magic):
                    raise _refuse(_not_csv_message(what), "not_csv")
        digest.update(block)
        if b"\x00" in block:
            raise _refuse(
                _("This is not a text file (it contains binary data). Save it as CSV and upload that."),
                "not_csv",
            )
        if not utf8_error_line:
            try:
                decoder.decode(block)
            except UnicodeDecodeError as error:
                utf8_error_line = lines + block[: error.start].count(b"\n") + 1
        lines += block.count(b"\n")
    if not utf8_error_line:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8_error_line = lines + 1

    # 2. Not UTF-8: CP949 (which reads EUC-KR too), or refuse.
    if not utf8_error_line:
        encoding = "utf-8-sig" if first.startswith(_BOM) else "utf-8"
    else:
        upload.seek(0)
        cp949 = codecs.getincrementaldecoder("cp949")()
        try:
            for block in upload.chunks(_BLOCK):
                cp949.decode(block)
            cp949.decode(b"", final=True)
        except UnicodeDecodeError:
            raise _refuse(
                _(
                    "The file is neither UTF-8 nor CP949/EUC-KR: line %(line)d holds characters in another "
                    "encoding. Save it as “CSV UTF-8” and upload it again."
                )
                % {"line": utf8_error_line},
                "invalid_encoding",
            ) from None
        encoding = "cp949"

    # 3. The table: delimiter, header, rows, and quotes that close.
    upload.seek(0)
    with _text(upload.file, encoding) as text:  # type: ignore[arg-type]
        delimiter = _detect_delimiter(text.read(_SAMPLE))
        text.seek(0)
        records = _records(text, delimiter)
        head = next(records, None)
        if head is None or head.error or not any(_clean_header(head.values)):
            raise _refuse(_("The first row must name the columns."), "no_header")
        header = _clean_header(head.values)
        _check_header(header)
        total = 0
        for record in records:
            if record.error == "unexpected end of data":
                raise _refuse(
                    _(
                        "Row %(row)d opens a quoted value that is never closed, so the rest of the file "
                        'cannot be read. Check the quotes (") on that row.'
                    )
                    % {"row": record.row},
                    "unclosed_quote",
                )
            total += 1
    if total == 0:
        raise _refuse(_("The file has a header but no rows below it."), "no_rows")
    return FileFacts(
        size=size,
        sha256=digest.hexdigest(),
        encoding=encoding,
        delimiter=delimiter,
        header=header,
        total_rows=total,
    )


def _not_csv_message(what: str) -> str:
    if what == "excel":
        return _(
            "This is an Excel workbook, not a CSV file. In Excel, save it as “CSV UTF-8” and upload that."
        )
    if what == "utf16":
        return _("This file is in UTF-16 (Excel's “Unicode text”). Save it as “CSV UTF-8” and upload that.")
    return _("This is not a CSV file. Save the table as CSV and upload that.")


def _detect_delimiter(sample: str) -> str:
    """The delimiter among comma, semicolon and tab that splits the first rows into the most columns,
    consistently from row to row."""
    lines = sample.splitlines()
    if len(sample) >= _SAMPLE and len(lines) > 1:
        lines = lines[:-1]  # the last one may be cut
    best, best_score = ",", (0, 0)
    for delimiter in DELIMITERS:
        try:
            rows = [row for row in csv.reader(lines[:50], delimiter=delimiter) if any(row)]
        except csv.Error:
            continue
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        score = (sum(1 for row in rows if len(row) == width), width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _check_header(header: list[str]) -> None:
    if len(header) > MAX_COLUMNS:
        raise _refuse(
            _("The file has %(count)d columns; at most %(max)d can be imported.")
            % {"count": len(header), "max": MAX_COLUMNS},
            "too_many_columns",
        )
    seen: dict[str, int] = {}
    for number, name in enumerate(header, start=1):
        if not name:
            continue
        if name in seen:
            raise _refuse(
                _("Column %(a)d and column %(b)d are both named “%(name)s”; rename one.")
                % {"a": seen[name], "b": number, "name": name},
                "duplicate_column",
            )
        seen[name] = number


# --- mappings --------------------------------------------------------------------------------------


def mapping_clean(*, kind: str, header: list[str], mapping: Any) -> dict[str, str]:
    """The mapping, checked against the file's header: every named column goes to a field of this kind
    of import or is ignored, no field gets two columns, and the required fields have one. Raises
    ``ValidationError`` with errors by column name (``__all__`` for the mapping as a whole)."""
    if not isinstance(mapping, dict) or not all(isinstance(key, str) for key in mapping):
        raise ValidationError(
            {
                NON_FIELD_ERRORS: [
                    ValidationError(_("A mapping names each column and its field."), code="invalid")
                ]
            }
        )
    targets = {t.name: t for t in TARGETS[kind]}
    errors: dict[str, list[ValidationError]] = {}

    def add(key: str, message: str, code: str) -> None:
        errors.setdefault(key, []).append(ValidationError(message, code=code))

    columns = [name for name in header if name]
    cleaned: dict[str, str] = {}
    used: dict[str, str] = {}
    for name, target in mapping.items():
        if name not in columns:
            add(name, _("The file has no column named “%(name)s”.") % {"name": name}, "unknown_column")
            continue
        target = target or IGNORE
        if not isinstance(target, str) or (target != IGNORE and target not in targets):
            add(name, _("“%(target)s” is not a field of this import.") % {"target": target}, "invalid_choice")
            continue
        if target not in (IGNORE, PROPERTY) and target in used:
            add(
                name,
                _("Column “%(other)s” already goes to %(field)s.")
                % {"other": used[target], "field": targets[target].label},
                "duplicate_target",
            )
            continue
        used.setdefault(target, name)
        cleaned[name] = target
    for name in columns:
        if name not in mapping:
            add(name, _("Choose a field for this column, or ignore it."), "unmapped_column")
    for target in targets.values():
        if target.required and target.name not in used:
            add(
                NON_FIELD_ERRORS,
                _("Choose the column that holds %(field)s: it is required.") % {"field": target.label},
                "required",
            )
    if kind == ImportJob.Kind.EVENTS and not any(name in used for name in _CUSTOMER_NAMING_TARGETS):
        add(
            NON_FIELD_ERRORS,
            _("Choose a column that names the customer: their number, email or phone."),
            "required",
        )
    if errors:
        raise ValidationError(errors)
    return cleaned


# --- rows: from CSV values to what ingestion takes ---------------------------------------------------


@dataclass
class RowError:
    """Why a row was rejected: its row number, the column (empty for the whole row), a code, a message."""

    row: int
    field: str
    code: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "code": self.code, "message": self.message}


@dataclass
class _Plan:
    """A mapping ready for reading rows: which value goes where."""

    kind: str
    source: SourceSystem
    width: int
    columns: list[tuple[int, str, str]]  # (index in the row, column name, target)
    column_of: dict[str, str] = field(default_factory=dict)  # target → column name
    today: dt.date = field(default_factory=timezone.localdate)

    @classmethod
    def of(cls, *, kind: str, source: SourceSystem, header: list[str], mapping: dict[str, str]) -> "_Plan":
        columns = [
            (index, name, mapping[name])
            for index, name in enumerate(header)
            if name and mapping.get(name, IGNORE) != IGNORE
        ]
        column_of: dict[str, str] = {}
        for _index, name, target in columns:
            column_of.setdefault(target, name)
        return cls(kind=kind, source=source, width=len(header), columns=columns, column_of=column_of)


def _cells(plan: _Plan, record: _Record, errors: list[RowError]) -> tuple[dict[str, str], dict[str, str]]:
    """A record's mapped values by target (stripped, empty ones left out) and its extra properties; the
    record's structural and formula errors are added to ``errors``."""
    if record.error:
        errors.append(
            RowError(
                record.row,
                "",
                "malformed",
                _("This row cannot be read as CSV (%(reason)s); check its quotes.")
                % {"reason": record.error},
            )
        )
        return {}, {}
    values = record.values
    if len(values) != plan.width and not (len(values) > plan.width and not any(values[plan.width :])):
        errors.append(
            RowError(
                record.row,
                "",
                "column_count",
                _("This row has %(count)d values where the header has %(width)d columns.")
                % {"count": len(values), "width": plan.width},
            )
        )
        return {}, {}
    cells: dict[str, str] = {}
    properties: dict[str, str] = {}
    for index, name, target in plan.columns:
        raw = values[index]
        if not raw:
            continue
        value = raw.strip()
        # The first characters decide; most cells are let through by the first test.
        if (raw[0] in _FORMULA_OR_SPACE or value[:1] in _FORMULA_OR_SPACE) and (
            is_formula(raw) or is_formula(value)
        ):
            errors.append(
                RowError(
                    record.row,
                    name,
                    "formula",
                    _(
                        "The value starts like a spreadsheet formula (=, +, -, @); the row is refused for safety."
                    ),
                )
            )
            continue
        if not value:
            continue
        if target == PROPERTY:
            properties[name] = value
        else:
            cells[target] = value
    return cells, properties


_FORMULA_OR_SPACE = frozenset((*FORMULA_STARTS, " "))
_DATE = re.compile(r"^(\d{4})[-./](\d{1,2})[-./](\d{1,2})\.?$|^(\d{4})(\d{2})(\d{2})$")
_DATETIME_SEPARATORS = re.compile(r"^(\d{4})[./](\d{1,2})[./](\d{1,2})")
_INTEGER = re.compile(r"^[+-]?\d+$")
_THOUSANDS = re.compile(r"^([+-]?)(\d{1,3}(?:,\d{3})+)(\.\d+)?$")
_GENDERS = {
    "female": "female",
    "f": "female",
    "woman": "female",
    "여": "female",
    "여성": "female",
    "여자": "female",
    "male": "male",
    "m": "male",
    "man": "male",
    "남": "male",
    "남성": "male",
    "남자": "male",
    "other": "other",
    "기타": "other",
}
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,4})?$")


def _date(value: str) -> dt.date | None:
    match = _DATE.match(value)
    if not match:
        return None
    year, month, day = (int(part) for part in (match.groups()[:3] if match[1] else match.groups()[3:]))
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _datetime(value: str) -> dt.datetime | None:
    """An aware time from ISO 8601 or the forms spreadsheets write (2026-11-20 14:03, 2026.11.20 14:03:00,
    20261120, a date alone); without an offset it is a time of ``TIME_ZONE``."""
    try:
        parsed = dt.datetime.fromisoformat(value)  # the common case, and fast
    except ValueError:
        value = _DATETIME_SEPARATORS.sub(lambda m: f"{m[1]}-{int(m[2]):02d}-{int(m[3]):02d}", value, count=1)
        try:
            parsed = parse_datetime(value)  # type: ignore[assignment]
        except ValueError:
            return None
        if parsed is None:
            day = _date(value)
            if day is None:
                return None
            parsed = dt.datetime.combine(day, dt.time())
    if parsed.tzinfo is None:
        # zoneinfo zones are attached, not localised: replace() picks the right offset.
        parsed = parsed.replace(tzinfo=timezone.get_default_timezone())
    return parsed


def _number(value: str) -> str:
    """A number as ingestion reads it: thousands separators dropped (129,000 → 129000)."""
    match = _THOUSANDS.match(value)
    return f"{match[1]}{match[2].replace(',', '')}{match[3] or ''}" if match else value


_LIMITS = {"name": 200, "email": 254, "phone": 40, "address": 300, "postal_code": 20, "region": 100}


def _customer_row(plan: _Plan, record: _Record, errors: list[RowError]) -> CustomerRow | None:
    """A customer row from a CSV record, or None (with its errors added) when it is rejected."""
    before = len(errors)
    cells, _properties = _cells(plan, record, errors)
    if len(errors) > before:
        return None
    row, column = record.row, plan.column_of

    def reject(target: str, code: str, message: str) -> None:
        errors.append(RowError(row, column.get(target, ""), code, message))

    external_id = cells.pop("external_id", "")
    if not external_id:
        reject("external_id", "required", _("The customer number is required."))
    elif len(external_id) > 128:
        reject("external_id", "max_length", _("At most %(max)d characters.") % {"max": 128})
    profile: dict[str, Any] = {}
    email = phone = ""
    for target, value in cells.items():
        if target in _LIMITS and len(value) > _LIMITS[target]:
            reject(target, "max_length", _("At most %(max)d characters.") % {"max": _LIMITS[target]})
        elif target == "email":
            email = normalize_email(value)
            if not email:
                reject(target, "invalid", _("Not an email address."))
            profile["email"] = email
        elif target == "phone":
            phone = normalize_phone(value)
            if not phone:
                reject(target, "invalid", _("Not a phone number."))
            profile["phone"], profile["phone_normalized"] = value, phone
        elif target == "birth_date":
            day = _date(value)
            if day is None:
                reject(target, "invalid", _("Not a date; write it as 1990-05-17."))
            elif not dt.date(1900, 1, 1) <= day <= plan.today:
                reject(target, "out_of_range", _("Not a plausible birth date."))
            profile["birth_date"] = day
        elif target == "gender":
            gender = _GENDERS.get(value.lower())
            if gender is None:
                reject(target, "invalid_choice", _("Write female, male or other (or 여/남)."))
            profile["gender"] = gender
        elif target == "preferred_language":
            if not _LANGUAGE.match(value):
                reject(target, "invalid", _("A language code such as ko or en."))
            profile["preferred_language"] = value.lower().replace("_", "-")
        elif target == "signup_at":
            signed_up = _datetime(value)
            if signed_up is None:
                reject(target, "invalid", _("Not a date and time; write it as 2026-11-20 14:03."))
            profile["signup_at"] = signed_up
        else:
            profile[target] = value
    if len(errors) > before:
        return None
    return CustomerRow(
        index=row,
        customer_source=plan.source,
        customer_external_id=external_id,
        profile=profile,
        email=email,
        phone=phone,
    )


# Where ingestion's error paths point, as import targets.
_EVENT_PATHS = {
    "customer.id": "customer_id",
    "customer.email": "customer_email",
    "customer.phone": "customer_phone",
    "customer.name": "customer_name",
    "lines.0.sku": "sku",
    "lines.0.quantity": "quantity",
    "lines.0.unit_price": "unit_price",
    "lines": "sku",
}


def _event(plan: _Plan, record: _Record, errors: list[RowError]) -> dict[str, Any] | None:
    """An event as ``events_ingest`` takes it, from a CSV record; None (with errors added) when the CSV
    values already fail."""
    before = len(errors)
    cells, properties = _cells(plan, record, errors)
    if len(errors) > before:
        return None
    row, column = record.row, plan.column_of

    def reject(target: str, code: str, message: str) -> None:
        errors.append(RowError(row, column.get(target, ""), code, message))

    code = plan.source.code
    customer = {"source": code}
    for target, key in (
        ("customer_id", "id"),
        ("customer_email", "email"),
        ("customer_phone", "phone"),
        ("customer_name", "name"),
    ):
        if target in cells:
            customer[key] = cells.pop(target)
    event: dict[str, Any] = {"source": code, "customer": customer}
    line: dict[str, Any] = {}
    for target, value in cells.items():
        if target == "occurred_at":
            occurred_at = _datetime(value)
            if occurred_at is None:
                reject(
                    target,
                    "invalid",
                    _("Not a date and time; write it as 2026-11-20 14:03 or 2026-11-20T14:03:00+09:00."),
                )
            else:
                event["occurred_at"] = occurred_at.isoformat()
        elif target == "nps_score" or target == "quantity":
            if not _INTEGER.match(value):
                reject(target, "invalid", _("A whole number."))
            elif target == "quantity":
                line["quantity"] = int(value)
            else:
                event["nps_score"] = int(value)
        elif target == "amount":
            event["amount"] = _number(value)
        elif target == "sku":
            line["sku"] = value
        elif target == "unit_price":
            line["unit_price"] = _number(value)
        elif target in _CHOICE_TARGETS:
            # The value, or its label in English or Korean (구매, 웹 방문, 매장); anything else goes on to be
            # refused by ingestion with the list of values.
            event[target] = _choices(target).get(_normal(value), value)
        else:
            event[target] = value
    if line:
        if "sku" not in line:
            reject("sku", "required", _("A quantity or unit price needs the product's SKU."))
        event["lines"] = [line]
    if properties:
        event["properties"] = properties
    return None if len(errors) > before else event


_CHOICE_TARGETS = {"kind": Interaction.Kind, "channel": Interaction.Channel}


@functools.cache
def _choices(target: str) -> dict[str, str]:
    """A choice field's values by themselves and by their English and Korean labels, normalised."""
    choices = _CHOICE_TARGETS[target]
    lookup: dict[str, str] = {}
    for language in ("en", "ko"):
        with translation.override(language):
            lookup.update({_normal(str(label)): value for value, label in choices.choices})
    lookup.update({_normal(value): value for value in choices.values})
    return lookup


def _ingest_errors(plan: _Plan, row: int, by_path: dict[str, list[dict[str, str]]]) -> list[RowError]:
    errors = []
    for path, items in by_path.items():
        target = _EVENT_PATHS.get(path, path)
        name = plan.column_of.get(target, "")
        for item in items:
            errors.append(RowError(row, name, item["code"], item["message"]))
    return errors


# --- creating, previewing and starting ---------------------------------------------------------------


@transaction.atomic
def import_create(*, upload: File, kind: str, source_system: SourceSystem, user: User) -> ImportJob:
    """Check an uploaded CSV file and keep it as an import waiting for its mapping, with a mapping
    suggested from its header. Raises ``ValidationError`` naming what is wrong with the file."""
    if kind not in TARGETS:
        raise ValidationError(
            {"kind": [ValidationError(_("Choose customers or events."), code="invalid_choice")]}
        )
    if not source_system.is_active:
        raise ValidationError(
            {"source": [ValidationError(_("This source system is switched off."), code="inactive_source")]}
        )
    facts = file_inspect(upload)
    job = ImportJob(
        kind=kind,
        status=ImportJob.Status.UPLOADED,
        original_name=(upload.name or "")[:255],
        size=facts.size,
        sha256=facts.sha256,
        encoding=facts.encoding,
        delimiter=facts.delimiter,
        source_system=source_system,
        mapping=mapping_suggest(kind=kind, header=facts.header),
        total_rows=facts.total_rows,
        created_by=user,
    )
    upload.seek(0)
    job.file.save(f"{uuid.uuid4().hex}.csv", upload, save=False)
    job.save()
    return job


def import_header(*, job: ImportJob) -> list[str]:
    """The column names of the job's file."""
    with _job_records(job) as (header, _rest):
        return header


@dataclass
class PreviewRow:
    row: int
    values: list[str]
    errors: list[RowError]


@dataclass
class ImportPreview:
    """The first rows of a file as the mapping reads them, and what the run would reject."""

    header: list[str]
    mapping: dict[str, str]
    mapping_errors: dict[str, list[str]]
    rows: list[PreviewRow]

    def as_dict(self) -> dict[str, Any]:
        return {
            "header": self.header,
            "mapping": self.mapping,
            "mapping_errors": self.mapping_errors,
            "rows": [
                {"row": r.row, "values": r.values, "errors": [e.as_dict() for e in r.errors]}
                for r in self.rows
            ],
        }


def import_preview(*, job: ImportJob, mapping: Any, rows: int = PREVIEW_ROWS) -> ImportPreview:
    """The first ``rows`` rows of the file with the errors the run would report for them under this
    mapping (validated as the run validates them, looking products and locations up, storing nothing).
    Mapping errors come back in ``mapping_errors``; the rows are then read with its valid part."""
    assert job.source_system is not None
    with _job_records(job) as (header, records):
        head = list(itertools.islice(records, rows))
    mapping_errors: dict[str, list[str]] = {}
    try:
        cleaned = mapping_clean(kind=job.kind, header=header, mapping=mapping)
    except ValidationError as invalid:
        mapping_errors = {
            key: [str(message) for message in messages] for key, messages in invalid.message_dict.items()
        }
        given = mapping if isinstance(mapping, dict) else {}
        cleaned = {
            name: target
            for name, target in given.items()
            if name in header and name not in mapping_errors and isinstance(target, str)
        }
    plan = _Plan.of(kind=job.kind, source=job.source_system, header=header, mapping=cleaned)
    preview_rows = [PreviewRow(record.row, record.values, []) for record in head]
    errors: list[RowError] = []
    if job.kind == ImportJob.Kind.CUSTOMERS:
        for record in head:
            _customer_row(plan, record, errors)
    else:
        events, owners = [], []
        for record in head:
            event = _event(plan, record, errors)
            if event is not None:
                events.append(event)
                owners.append(record.row)
        for row, by_path in zip(owners, events_check(events=events), strict=True):
            errors += _ingest_errors(plan, row, by_path)
    by_row: dict[int, list[RowError]] = {}
    for error in errors:
        if mapping_errors and error.code == "required" and not error.field:
            continue  # a required field without a column: said once, in the mapping's errors
        by_row.setdefault(error.row, []).append(error)
    for preview_row in preview_rows:
        preview_row.errors = by_row.get(preview_row.row, [])
    return ImportPreview(header=header, mapping=cleaned, mapping_errors=mapping_errors, rows=preview_rows)


class NotStartable(Exception):
    """The import was started already."""


def import_start(*, job: ImportJob, mapping: Any) -> ImportJob:
    """Fix the mapping and queue the import; the task is enqueued once this transaction commits.
    Raises ``ValidationError`` for a bad mapping and ``NotStartable`` when the job was started before."""
    header = import_header(job=job)
    cleaned = mapping_clean(kind=job.kind, header=header, mapping=mapping)
    with transaction.atomic():
        locked = ImportJob.objects.select_for_update().get(pk=job.pk)
        if locked.status != ImportJob.Status.UPLOADED:
            raise NotStartable(_("This import was started already."))
        now = timezone.now()
        ImportJob.objects.filter(pk=job.pk).update(
            mapping=cleaned, status=ImportJob.Status.QUEUED, heartbeat_at=now
        )
        _enqueue_on_commit(job.pk, translation.get_language())
    job.refresh_from_db()
    return job


def _enqueue_on_commit(job_id: int, language: str | None) -> None:
    from customers.tasks import import_run as task

    transaction.on_commit(lambda: task.delay(job_id, language=language))


# --- running -----------------------------------------------------------------------------------------


@dataclass
class _Outcome:
    created: int = 0
    duplicates: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len({error.row for error in self.errors})


def import_run(*, job_id: int, time_budget: float | None = None) -> str:
    """Import the job's file from its checkpoint on; return the job's status, or ``paused`` when
    ``time_budget`` seconds ran out between chunks (the caller runs it again to go on), or ``superseded``
    when another run of the same job is ahead of this one. Safe to run twice, and concurrently.

    Each chunk is one transaction: its rows, its rejected rows and the advanced checkpoint and counters
    commit together, under a lock on the job row that also tells a second run it is behind.
    """
    started = time.monotonic()
    job = ImportJob.objects.select_related("source_system").filter(pk=job_id).first()
    if job is None or job.status not in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING):
        return job.status if job else "missing"
    now = timezone.now()
    ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.QUEUED).update(
        status=ImportJob.Status.RUNNING, started_at=Coalesce(F("started_at"), now), heartbeat_at=now
    )
    try:
        assert job.source_system is not None
        chunk_rows = settings.CRM_IMPORT_CHUNK_ROWS
        position = job.processed_rows
        with _job_records(job) as (header, records):
            plan = _Plan.of(kind=job.kind, source=job.source_system, header=header, mapping=job.mapping)
            for chunk in _batches(itertools.islice(records, position, None), chunk_rows):
                prepared = _prepare(plan, chunk)
                with transaction.atomic():
                    locked = ImportJob.objects.select_for_update().get(pk=job_id)
                    if locked.status != ImportJob.Status.RUNNING or locked.processed_rows != position:
                        return "superseded"
                    outcome = _store(prepared)
                    _store_errors(job_id, outcome.errors)
                    position += prepared.rows
                    ImportJob.objects.filter(pk=job_id).update(
                        processed_rows=position,
                        created_rows=F("created_rows") + outcome.created,
                        duplicate_rows=F("duplicate_rows") + outcome.duplicates,
                        rejected_rows=F("rejected_rows") + outcome.rejected,
                        heartbeat_at=timezone.now(),
                    )
                if time_budget is not None and time.monotonic() - started > time_budget:
                    return "paused"
        with transaction.atomic():
            locked = ImportJob.objects.select_for_update().get(pk=job_id)
            if locked.status != ImportJob.Status.RUNNING or locked.processed_rows != position:
                return "superseded"
            now = timezone.now()
            ImportJob.objects.filter(pk=job_id).update(
                status=ImportJob.Status.COMPLETED, total_rows=position, finished_at=now, heartbeat_at=now
            )
        return ImportJob.Status.COMPLETED
    except (SoftTimeLimitExceeded, OperationalError, InterfaceError):
        raise  # the task goes on later from the checkpoint: out of time, or the database went away
    except Exception as error:
        logger.exception("import %s failed", job_id)
        ImportJob.objects.filter(pk=job_id).update(
            status=ImportJob.Status.FAILED,
            error=_("The import stopped at row %(row)d: %(error)s")
            % {"row": position + 2, "error": f"{type(error).__name__}: {error}"[:2000]},
            finished_at=timezone.now(),
        )
        return ImportJob.Status.FAILED


def _batches(records: Iterable[_Record], size: int) -> Iterator[list[_Record]]:
    iterator = iter(records)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


@dataclass
class _Prepared:
    """A chunk read and checked, ready to be stored: customer rows or events (with their row numbers),
    and the rows already rejected."""

    plan: _Plan
    rows: int
    customers: list[CustomerRow] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    owners: list[int] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def _prepare(plan: _Plan, chunk: list[_Record]) -> _Prepared:
    """The CSV work of a chunk, which needs no database."""
    prepared = _Prepared(plan=plan, rows=len(chunk))
    if plan.kind == ImportJob.Kind.CUSTOMERS:
        for record in chunk:
            row = _customer_row(plan, record, prepared.errors)
            if row is not None:
                prepared.customers.append(row)
        return prepared
    for record in chunk:
        event = _event(plan, record, prepared.errors)
        if event is not None:
            prepared.events.append(event)
            prepared.owners.append(record.row)
    return prepared


def _store(prepared: _Prepared) -> _Outcome:
    """Store a prepared chunk: customers by one set-based upsert, events by ``events_ingest`` in batches."""
    outcome = _Outcome(errors=prepared.errors)
    if prepared.plan.kind == ImportJob.Kind.CUSTOMERS:
        for stored in customers_upsert(rows=prepared.customers):
            if stored.status == "created":
                outcome.created += 1
            else:
                outcome.duplicates += 1
        return outcome
    events, owners = prepared.events, prepared.owners
    for start in range(0, len(events), MAX_BATCH):
        result = events_ingest(events=events[start : start + MAX_BATCH])
        for row, item in zip(owners[start : start + MAX_BATCH], result.results, strict=True):
            if item.status == "created":
                outcome.created += 1
            elif item.status == "duplicate":
                outcome.duplicates += 1
            else:
                outcome.errors += _ingest_errors(prepared.plan, row, item.errors or {})
    return outcome


def _store_errors(job_id: int, errors: list[RowError]) -> None:
    ImportRowError.objects.bulk_create(
        [
            ImportRowError(
                job_id=job_id,
                row_number=error.row,
                field=error.field[:100],
                code=error.code[:40],
                message=error.message[:500],
            )
            for error in errors
        ],
        batch_size=1000,
        ignore_conflicts=True,  # a chunk replayed after a crash finds its errors there already
    )


def imports_resume_stale(*, now: dt.datetime | None = None) -> list[int]:
    """Enqueue again the queued or running imports without progress for ``CRM_IMPORT_STALE_MINUTES``:
    their task was lost (the broker restarted empty) or its worker died. Returns their ids.

    The heartbeat is moved on, so each is enqueued once per period; a run that turns out to be alive
    after all is harmless, since a second run of a job notices it is behind and stops.
    """
    now = now or timezone.now()
    cutoff = now - dt.timedelta(minutes=settings.CRM_IMPORT_STALE_MINUTES)
    with transaction.atomic():
        stale = list(
            ImportJob.objects.select_for_update(skip_locked=True)
            .filter(status__in=[ImportJob.Status.QUEUED, ImportJob.Status.RUNNING])
            .filter(Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, created_at__lt=cutoff))
            .values_list("pk", "created_by__preferred_language")
        )
        if stale:
            ImportJob.objects.filter(pk__in=[pk for pk, _language in stale]).update(heartbeat_at=now)
        for pk, language in stale:
            logger.warning("import %s made no progress since %s: enqueued again", pk, cutoff)
            _enqueue_on_commit(pk, language or None)
    return [pk for pk, _language in stale]


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
