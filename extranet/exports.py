"""CSV downloads of dashboard tables, with cells a spreadsheet would run as formulas escaped."""

import csv
from collections.abc import Iterable, Sequence

from django.http import StreamingHttpResponse

from crm.exports import spreadsheet_safe


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_response(
    filename: str, header: Sequence[object], rows: Iterable[Sequence[object]]
) -> StreamingHttpResponse:
    """Stream rows as a UTF-8 CSV file (with a byte-order mark, for Excel) named ``filename``."""
    writer = csv.writer(_Echo())

    def lines() -> Iterable[str]:
        yield "\ufeff" + writer.writerow([spreadsheet_safe(cell) for cell in header])
        for row in rows:
            yield writer.writerow([spreadsheet_safe(cell) for cell in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
