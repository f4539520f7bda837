"""A row of an imported table as the importer holds it (:class:`Row`), why one cannot become
a task (:class:`RowError`), and the small readings every part of the importer shares; the
reading itself is :mod:`ledger.importer.rows`."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from domain.base import Said


def in_english(error: BaseException) -> str:
    """A refusal's words in English, whatever the language in use: how the importer tells
    which column a refusal of the ledger is about (by how its English begins)."""
    from i18n import refusal, translation

    return refusal(error, translation("en").gettext)


class RowError(Said):
    """A row that cannot become a task: why, in words (a message with ``{column}`` and
    ``{value}`` among its fields), the column and the value at fault, and the kind of
    reason (a stable English key the report counts rows by: "malformed date" …)."""

    def __init__(self, template: str, /, *, column: str, value: str, kind: str,
                 **values: Any) -> None:
        super().__init__(template, column=column, value=value, **values)
        self.column, self.value, self.kind = column, value, kind

    @property
    def reason(self) -> str:
        return str(self)


@dataclass
class Row:
    """A row read as the mapping says: what the task and its events will be made of."""

    number: int
    cells: list[Any]
    key: str
    external_id: str | None
    unit: str
    category: str
    source: str
    location: str
    description: str
    assigned: datetime
    deadline: date
    deadline_rule: str | None
    action: str
    status: str
    acted_at: datetime | None
    acted_column: str  # the column acted_at was read from (or would be)
    reassign_to: str | None
    rectification: str
    reinspection: str
    note: str
    filled: list[str]
    labels: dict[str, str]
    latitude: float | None = None
    longitude: float | None = None
    # An open row's status_date, where it gives a rectification (整改情况) but no result yet.
    reported_at: datetime | None = None


def half_width(text: str) -> str:
    """Full-width digits and punctuation as ASCII (２０２４年５月３日 → 2024年5月3日, ７天 → 7天),
    for the dates and numbers read from a cell (NFKC; descriptions are kept as written)."""
    return text if text.isascii() else unicodedata.normalize("NFKC", text)
