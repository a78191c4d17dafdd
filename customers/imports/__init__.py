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

The package: ``mapping`` (targets and mappings), ``files`` (reading and checking files), ``rows`` (CSV
rows into what ingestion takes), ``run`` (create, preview, start, run, resume), ``selectors`` (reads).
"""

from customers.imports.files import DELIMITERS, ENCODINGS, EXTENSIONS, MAX_COLUMNS, FileFacts, file_inspect
from customers.imports.mapping import (
    CUSTOMER_TARGETS,
    EVENT_TARGETS,
    IGNORE,
    PREVIEW_ROWS,
    PROPERTY,
    TARGETS,
    Target,
    mapping_clean,
    mapping_suggest,
    target_choices,
)
from customers.imports.rows import RowError
from customers.imports.run import (
    ImportPreview,
    NotStartable,
    PreviewRow,
    import_create,
    import_header,
    import_preview,
    import_run,
    import_start,
    imports_resume_stale,
)
from customers.imports.selectors import import_duplicates_of, import_errors, import_list, import_progress

__all__ = [
    "CUSTOMER_TARGETS",
    "DELIMITERS",
    "ENCODINGS",
    "EVENT_TARGETS",
    "EXTENSIONS",
    "IGNORE",
    "MAX_COLUMNS",
    "PREVIEW_ROWS",
    "PROPERTY",
    "TARGETS",
    "FileFacts",
    "ImportPreview",
    "NotStartable",
    "PreviewRow",
    "RowError",
    "Target",
    "file_inspect",
    "import_create",
    "import_duplicates_of",
    "import_errors",
    "import_header",
    "import_list",
    "import_preview",
    "import_progress",
    "import_run",
    "import_start",
    "imports_resume_stale",
    "mapping_clean",
    "mapping_suggest",
    "target_choices",
]
