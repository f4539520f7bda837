"""Importing a filled ``survey`` or ``targets`` template: each row checked by the domain
before anything is written, then recorded through the indicator use cases.

A row is read by the template's declaration (``template.py``): its unit by name or code,
its month and dates as offices write them, empty optional cells given their defaults. Each
row is then decided as the use case would decide it — the domain builds the survey or the
target task, unsaved — so every bad row is known, and listed with its row, column and
value, before the first is written. Rows already in the ledger (the same unit, month,
rates, sample, source and method; the same indicator, unit, target, measure and due date)
and rows repeating an earlier one are not recorded again.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from domain.base import Actor, DomainError
from domain.roles import authorize
from domain.survey import Survey
from domain.target import TargetTask
from ledger.importer.dates import strptime
from ledger.importer.report import Reject, RejectedRows
from ledger.importer.row import RowError, half_width, in_english
from ledger.importer.tables import Table, cell_text
from ledger.importer.template import DATE_FORMATS, Template, check_header
from ledger.indicators import Indicators

MONTH = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*(?:月|[-/.]\d{1,2}日?)?$")
ACTIONS = {"survey": "record_survey", "targets": "assign_target"}


@dataclass
class RecordsReport(RejectedRows):
    """What importing a survey or targets template did (or, in a dry run, would do)."""

    file: str
    digest: str
    template: str
    dry_run: bool = False
    strict: bool = False
    written: bool = False
    rows_read: int = 0
    recorded: list[str] = field(default_factory=list)  # SV-…, ZB-… (a dry run: none)
    valid: int = 0
    already_recorded: int = 0
    rejects: list[Reject] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file, "sha256": self.digest, "template": self.template,
            "dry_run": self.dry_run, "strict": self.strict, "written": self.written,
            "rows_read": self.rows_read, "rows_valid": self.valid,
            "recorded": self.recorded, "already_recorded": self.already_recorded,
            **self.rejected_counts(), "rejects": self.rejects_as_dicts(),
        }


@dataclass
class _Read:
    number: int
    cells: list[Any]
    values: dict[str, Any]
    key: tuple[Any, ...]


class RecordsImporter:
    """Imports a filled ``survey`` or ``targets`` template through ``indicators`` (the
    ledger's indicator use cases), acting as ``actor_id``.

    ``units`` are the ledger's units as the read side lists them (code, name, retired);
    ``recorded`` its surveys or targets, to know a row recorded before."""

    def __init__(self, indicators: Indicators, *, actor_id: str | None, template: Template,
                 table: Table, units: list[dict[str, Any]],
                 recorded: list[dict[str, Any]]) -> None:
        self.indicators, self.actor_id, self.template, self.table = (indicators, actor_id,
                                                                     template, table)
        ledger = self.ledger = indicators.ledger
        self.actor: Actor = ledger.actor(actor_id)
        authorize(self.actor, "import_records")
        authorize(self.actor, ACTIONS[template.name])
        self.zone = ledger.campaign().zone
        self.system = self.indicators.system() if template.name == "targets" else None
        self.index: dict[str, int] = {}
        for position, heading in enumerate(table.header):
            self.index.setdefault(heading, position)
        check_header(template, table)
        self.by_name: dict[str, list[dict[str, Any]]] = {}
        self.by_code = {u["code"]: u for u in units}
        for unit in units:
            self.by_name.setdefault(unit["name"], []).append(unit)
        self.known = {self._key_of(r) for r in recorded}

    def run(self, *, dry_run: bool = False, strict: bool = False,
            progress: Callable[[int], None] | None = None) -> RecordsReport:
        report = RecordsReport(self.table.name, self.table.digest,
                               f"{self.template.name} ({self.template.title})",
                               dry_run=dry_run, strict=strict, skipped=self.table.skipped)
        good: list[_Read] = []
        first: dict[tuple[Any, ...], int] = {}
        for number, cells in self.table.rows():
            report.rows_read += 1
            try:
                read = self._read(number, cells)
                if read.key in self.known:  # however often the file repeats it
                    report.already_recorded += 1
                    continue
                if read.key in first:
                    raise RowError("第 {row} 行与第 {first} 行重复", column="", value="",
                                   kind="repeated row", row=number, first=first[read.key])
            except RowError as e:
                report.rejects.append(Reject.of(number, e, cells,
                                                self.table.filled.get(number)))
                continue
            first[read.key] = number
            good.append(read)
        report.valid = len(good)
        if dry_run or (strict and report.rejects):
            return report
        for read in good:
            try:
                report.recorded.append(self._record(read))
            except DomainError as e:  # the ledger changed since the row was checked
                report.rejects.append(Reject.of(read.number, self._refusal(read, e), read.cells,
                                                self.table.filled.get(read.number)))
            if progress:
                progress(1)
        report.written = bool(report.recorded)
        report.rejects.sort(key=lambda r: r.row)
        return report

    # --- a row -----------------------------------------------------------------------

    def _read(self, number: int, cells: list[Any]) -> _Read:
        values: dict[str, Any] = {}
        for column in self.template.columns:
            position = self.index.get(column.heading)
            raw = cells[position] if position is not None and position < len(cells) else None
            text = cell_text(raw)
            if not text:
                if column.default is not None:
                    text = column.default
                elif column.required:
                    raise RowError("{column} 为空", column=column.heading, value="",
                                   kind="empty " + column.field)
            values[column.field] = self._value(column.heading, column.kind, raw, text)
        values["unit"] = self._unit(values["unit"])
        read = _Read(number, cells, values, ())
        try:
            built = self._decide(values)
        except DomainError as e:
            raise self._refusal(read, e) from None
        read.key = self._key_of(built)
        return read

    def _value(self, heading: str, kind: str, raw: Any, text: str) -> Any:
        if not text or kind in ("text", "whole", "number"):
            return text
        if kind == "percent":
            return half_width(text).removesuffix("%").strip()
        if kind == "month":
            if isinstance(raw, (datetime, date)):
                return f"{raw.year:04d}-{raw.month:02d}"
            found = MONTH.match(half_width(text))
            return f"{int(found[1]):04d}-{int(found[2]):02d}" if found else text
        if isinstance(raw, datetime):
            return raw.date()
        if isinstance(raw, date):
            return raw
        plain = half_width(text)
        for fmt in DATE_FORMATS:
            try:
                return strptime(plain, fmt).date()
            except ValueError:
                continue
        raise RowError("{column} {value!r} 不是日期（应形如 2024-06-30）", column=heading,
                       value=text, kind="malformed date")

    def _unit(self, value: str) -> str:
        heading = self.template.column("unit").heading
        named = self.by_name.get(value, [])
        if len(named) > 1:
            raise RowError("{column} {value!r} 是多个单位的名称：{codes}", column=heading,
                           value=value, kind="ambiguous unit",
                           codes=", ".join(u["code"] for u in named))
        unit = named[0] if named else self.by_code.get(value)
        if unit is None:
            raise RowError("{column} {value!r} 既不是单位名称，也不是单位代码", column=heading,
                           value=value, kind="unknown unit")
        if unit["retired"]:
            raise RowError("{column} {value!r}：单位 {code} 已撤销", column=heading,
                           value=value, kind="retired unit", code=unit["code"])
        return str(unit["code"])

    def _decide(self, values: dict[str, Any]) -> Survey | TargetTask:
        """The record the use case would make of the row (unsaved): the domain's checks."""
        now = self.ledger.clock()
        if self.template.name == "survey":
            return Survey.record(
                survey_id="SV-CHECK", unit=values["unit"], month=values["month"],
                rates={k: values[k] for k in ("awareness", "participation", "satisfaction")},
                sample=values["sample"], source=values["source"], method=values["method"],
                note=values["note"], actor=self.actor, occurred_at=now, now=now,
                zone=self.zone)
        assert self.system is not None
        indicator = self.system.indicator(values["code"])
        return TargetTask.assign(
            target_id="ZB-CHECK", indicator=indicator.code,
            indicator_version=self.system.latest, unit=values["unit"],
            target=values["target"], measure=values["measure"], due=values["due"],
            note=values["note"], actor=self.actor, occurred_at=now, now=now, zone=self.zone)

    def _key_of(self, record: Any) -> tuple[Any, ...]:
        """What makes two surveys (two targets) the same, of an aggregate or a read row."""
        get = (record.get if isinstance(record, dict)
               else lambda name: getattr(record, name))
        if self.template.name == "survey":
            return (get("unit"), get("month"), float(get("awareness")),
                    float(get("participation")), float(get("satisfaction")),
                    int(get("sample")), get("source"), get("method"))
        due = get("due")
        return (get("indicator"), get("unit"), float(get("target")), get("measure"),
                due.isoformat() if isinstance(due, date) else due)

    def _record(self, read: _Read) -> str:
        values = read.values
        if self.template.name == "survey":
            return self.indicators.record_survey(
                actor_id=self.actor_id, unit=values["unit"], month=values["month"],
                awareness=values["awareness"], participation=values["participation"],
                satisfaction=values["satisfaction"], sample=values["sample"],
                source=values["source"], method=values["method"],
                note=values["note"])["survey"]
        return self.indicators.assign_target(
            actor_id=self.actor_id, code=values["code"], unit=values["unit"],
            target=values["target"], measure=values["measure"], due=values["due"],
            note=values["note"])["target_task"]

    def _refusal(self, read: _Read, error: DomainError) -> RowError:
        """A domain refusal, put on the column it is about."""
        message = in_english(error)  # the refusals' beginnings are known in English
        for column in self.template.columns:
            if any(message.startswith(start) for start in column.refusals):
                position = self.index.get(column.heading)
                value = cell_text(read.cells[position]) if position is not None and \
                    position < len(read.cells) else ""
                return RowError("{column} {value!r}：{reason}", column=column.heading,
                                value=value, kind="refused by the ledger", reason=error)
        return RowError("{reason}", column="", value="", kind="refused by the ledger",
                        reason=error)
