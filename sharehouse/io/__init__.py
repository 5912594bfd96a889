"""Dataset import and export: YNTP-100 files, JSON Lines, Parquet, and anonymised releases.

Nothing heavy is imported here: pyarrow loads only when a Parquet file is written.
"""

from sharehouse.io.anonymize import SALT_ENV, Anonymizer, ReplacementCounts, resolve_salt
from sharehouse.io.export import ExportError, ExportFilters, ExportFormat, ExportReport, export_sessions
from sharehouse.io.tabular import COLUMNS, INSTRUMENT_COLUMNS, parquet_schema
from sharehouse.io.yntp import (
    FailedFile,
    ImportedFile,
    ImportReport,
    YntpImportError,
    import_yntp,
    session_id_for,
)

__all__ = [
    "COLUMNS",
    "INSTRUMENT_COLUMNS",
    "SALT_ENV",
    "Anonymizer",
    "ExportError",
    "ExportFilters",
    "ExportFormat",
    "ExportReport",
    "FailedFile",
    "ImportReport",
    "ImportedFile",
    "ReplacementCounts",
    "YntpImportError",
    "export_sessions",
    "import_yntp",
    "parquet_schema",
    "resolve_salt",
    "session_id_for",
]
