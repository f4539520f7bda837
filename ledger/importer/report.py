"""What an import did, and the rows it did not import, to fix and import again."""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from domain.base import Said
from i18n import refusal
from ledger.importer.row import RowError
from ledger.importer.tables import Table, cell_text


@dataclass
class Reject:
    """A row not imported, and why."""

    row: int
    column: str
    value: str
    kind: str  # the reason's kind, for the summary: "malformed date", "unknown unit" …
    said: Said  # the reason, in words (``i18n.refusal`` says it in the language in use)
    cells: list[str]
    filled: dict[str, str] = field(default_factory=dict)  # values not from their own cell

    @classmethod
    def of(cls, number: int, error: RowError, cells: list[Any],
           filled: dict[str, str] | None = None) -> Reject:
        """The row's reject; its reason names the column and the value at fault, and says
        which of the row's values did not come from their own cell (a merged cell's,
        filled down)."""
        reason: Said = error
        if error.column and error.column not in str(error):
            reason = Said("{column} {value!r}：{reason}", column=error.column,
                          value=error.value, reason=error)
        if filled:  # the row's values not from their own cell, the faulty one first
            came = sorted(filled.items(), key=lambda item: item[0] != error.column)
            reason = Said("{reason}（{filled}）", reason=reason,
                          filled="; ".join(f"{column} {how}" for column, how in came))
        return cls(number, error.column, error.value, error.kind, reason,
                   [cell_text(c) for c in cells], dict(filled or {}))

    @property
    def reason(self) -> str:
        """The reason in the language in use (the report's JSON, the rejects' CSV); the
        column, the value and the kind are the same in every language."""
        return refusal(self.said)

    def as_dict(self) -> dict[str, Any]:
        """The reject in a report's JSON (``filled`` where some of its values did not come
        from their own cell)."""
        return {"row": self.row, "column": self.column, "value": self.value,
                "reason": self.reason, **({"filled": self.filled} if self.filled else {})}


class RejectedRows:
    """What a report says of the rows it did not import, said once for both (a mapping's
    :class:`ImportReport`, a template's ``records.RecordsReport``)."""

    rejects: list[Reject]
    skipped: Counter[str]  # rows that are not data, by kind

    def rejected_by_reason(self) -> Counter[str]:
        return Counter(f"{r.kind} ({r.column})" for r in self.rejects)

    def rejected_counts(self) -> dict[str, Any]:
        """The report's JSON counts of rows rejected, rows skipped by kind, and rows
        rejected by reason (kind and column)."""
        return {"rows_rejected": len(self.rejects),
                "rows_skipped": dict(sorted(self.skipped.items())),
                "rejected_by_reason": dict(sorted(self.rejected_by_reason().items()))}

    def rejects_as_dicts(self) -> list[dict[str, Any]]:
        return [r.as_dict() for r in self.rejects]


@dataclass
class ImportReport(RejectedRows):
    """What an import did (or, in a dry run or a refused strict run, would have done)."""

    file: str
    digest: str
    mapping: str
    source: str
    dry_run: bool = False
    strict: bool = False
    written: bool = False
    rows_read: int = 0
    tasks_created: int = 0
    events: int = 0
    already_imported: int = 0
    rejects: list[Reject] = field(default_factory=list)
    units_registered: list[str] = field(default_factory=list)
    unit_names: dict[str, str] = field(default_factory=dict)  # code → "name (kind under P)"
    categories_added: list[str] = field(default_factory=list)
    filled: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)  # rows that are not data, by kind

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file, "sha256": self.digest, "mapping": self.mapping,
            "source": self.source, "dry_run": self.dry_run, "strict": self.strict,
            "written": self.written, "rows_read": self.rows_read,
            "tasks_created": self.tasks_created, "events": self.events,
            "already_imported": self.already_imported, **self.rejected_counts(),
            "units_registered": self.units_registered,
            "categories_added": self.categories_added,
            "filled_in": dict(sorted(self.filled.items())),
            "statuses": dict(sorted(self.statuses.items())),
            "rejects": self.rejects_as_dicts(),
        }


def write_rejects(report: ImportReport, table: Table, path: str | Path) -> None:
    """The rejected rows as a CSV to fix and import again with the same mapping: the header
    on the same row as in the file, the original columns, then the row number, the column
    and the reason (in the file's encoding; UTF-8 with a BOM, which Excel reads, for a
    workbook)."""
    encoding = table.encoding or "utf-8-sig"
    with open(path, "w", encoding=encoding, newline="", errors="replace") as out:
        writer = csv.writer(out)
        for line in range(1, table.header_row):
            writer.writerow([f"rows of {table.name} not imported" if line == 1 else ""])
        writer.writerow([*table.header, "import_row", "import_column", "import_reason"])
        for reject in report.rejects:
            cells = reject.cells + [""] * (len(table.header) - len(reject.cells))
            writer.writerow([*cells, reject.row, reject.column, reject.reason])
