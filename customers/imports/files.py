"""Reading uploaded CSV files: checks, encodings, delimiters, records with spreadsheet row numbers."""

import codecs
import csv
import hashlib
import io
import itertools
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, TypeAlias

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.template.defaultfilters import filesizeformat
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from customers.models import ImportJob

logger = logging.getLogger(__name__)

Label: TypeAlias = str | Promise


EXTENSIONS = (".csv", ".tsv", ".txt")
ENCODINGS = ("utf-8", "cp949")
DELIMITERS = (",", ";", "\t")
MAX_COLUMNS = 200
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
