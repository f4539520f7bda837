"""Importing records kept elsewhere — an office's Excel 台账, a city's 311 export — as tasks.

A mapping file (TOML, see ``examples/mappings/``) says which column holds which field, how
dates are written and in which time zone, how each status value maps onto the lifecycle,
what deadline a row without one gets, and whether unknown units and categories are
registered or refused. Each row becomes a task with the events its columns prove, entered
by the importing administrator; the task's Assigned event carries the row's ``origin`` (the
source's name, the file's sha256, the file name, the row number and the source's own id).

A row's task id is derived from the row's identity — the source's own id where the mapping
names an id column, else the file's digest and the row number — so a row imported before is
recognised and skipped, and two imports racing over the same rows collide in the store
rather than write a row twice. Rows are saved in batches, one transaction each; an import
killed half-way is resumed by running it again, which skips what the saved batches hold.
Bad rows are never dropped silently: each is reported with its row, column, value and reason.
"""

from __future__ import annotations

import _strptime
import base64
import copy
import csv
import hashlib
import io
import re
import tomllib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import get_topic

from domain.base import Actor, Refused, local_date
from domain.registry import CODE_PATTERN, UNIT_KINDS, Campaign, Unit, check_zone
from domain.roles import authorize
from domain.task import CLOSURES, Task, parse_source
from ledger.app import ATTEMPTS, Conflict, Ledger
from ledger.workdays import Calendar, UnknownYear, WorkingDays, parse_working_days

ID_PREFIX = "IM-"
FIELDS = ("id", "category", "description", "location", "unit", "source", "assigned",
          "deadline", "status", "status_date", "closed", "rectification", "reinspection",
          "reassign_to", "notes")
REQUIRED = ("category", "description", "location", "unit", "source", "assigned")
ACTIONS = ("open", "reassign", *CLOSURES)
SECTIONS = ("file", "columns", "defaults", "values", "dates", "status", "deadline", "units",
            "categories", "reassign")
POLICIES = ("register", "refuse")
RELATIVE_DEADLINE = re.compile(r"^(\d{1,4})\s*(天|日|d|days?)$", re.IGNORECASE)
TEMPLATE_FIELD = re.compile(r"\{([^{}]+)\}")
TIME_DIRECTIVES = re.compile(r"%[HIMSpXcfTRr]")


# --- dates -------------------------------------------------------------------------------

# Formats of numbers only (and AM/PM) are read here with strptime's own pattern, without
# strptime's per-call locale checks and general assembly (nine tenths of its time); any
# other format, and any text the pattern refuses, goes to strptime itself.
_QUICK_DIRECTIVES = frozenset("YymdHIMSp")
_PARSERS: dict[str, Callable[[str], datetime]] = {}


def strptime(text: str, fmt: str) -> datetime:
    """``datetime.strptime(text, fmt)``, faster for the common formats."""
    parser = _PARSERS.get(fmt)
    if parser is None:
        parser = _PARSERS[fmt] = _quick_parser(fmt) or (
            lambda text: datetime.strptime(text, fmt))
    return parser(text)


def _quick_parser(fmt: str) -> Callable[[str], datetime] | None:
    """A reader of ``fmt`` that gives what strptime gives, if ``fmt`` has only numeric
    directives (with a year, month and day, and AM/PM only with a 12-hour hour)."""
    directives = re.findall(r"%(.)", fmt)
    found = set(directives)
    if (not found <= _QUICK_DIRECTIVES or len(found) != len(directives)
            or not ({"Y", "y"} & found and {"m", "d"} <= found) or {"Y", "y"} <= found
            or {"H", "I"} <= found or ("p" in found and "I" not in found)):
        return None
    try:
        # The locale's AM/PM are those strptime reads now; the ledger never changes locale.
        pattern = re.compile(_strptime._TimeRE_cache.pattern(fmt), re.IGNORECASE)
        am, pm = _strptime._TimeRE_cache.locale_time.am_pm
    except Exception:  # a future Python's strptime, made otherwise
        return None

    def parse(text: str) -> datetime:
        match = pattern.match(text)
        if match is None or match.end() != len(text):
            return datetime.strptime(text, fmt)  # refused as strptime refuses it
        value = match.groupdict()
        if "Y" in value:
            year = int(value["Y"])
        else:
            year = int(value["y"])
            year += 2000 if year <= 68 else 1900
        if "I" in value:
            hour = int(value["I"])
            ampm = value.get("p", "").lower()
            if ampm in ("", am):
                if hour == 12:
                    hour = 0
            elif ampm == pm and hour != 12:
                hour += 12
        else:
            hour = int(value.get("H", 0))
        try:
            return datetime(year, int(value["m"]), int(value["d"]), hour,
                            int(value.get("M", 0)), int(value.get("S", 0)))
        except ValueError:
            return datetime.strptime(text, fmt)
    return parse


# --- the mapping ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Spec:
    """Where a field's value comes from: columns tried in order, or templates over columns."""

    parts: tuple[str, ...]

    def columns(self) -> list[str]:
        found: list[str] = []
        for part in self.parts:
            found.extend(TEMPLATE_FIELD.findall(part) if "{" in part else [part])
        return found

    @property
    def label(self) -> str:
        """The column a reject names: the first one the field reads."""
        return self.parts[0] if "{" not in self.parts[0] else self.columns()[0]


@dataclass(frozen=True)
class Mapping:
    """A parsed, checked mapping file."""

    path: str
    source: str
    format: str | None
    encoding: str
    sheet: str | None
    header_row: int
    columns: dict[str, Spec]
    notes: tuple[str, ...]
    defaults: dict[str, str]
    values: dict[str, dict[str, str]]
    date_formats: tuple[str, ...]
    time_zone: str | None
    statuses: dict[str, str]
    deadline_missing: str
    deadline_days: int | None
    deadline_days_by_category: dict[str, int]
    deadline_working_days: int | None
    unknown_units: str
    unit_kind: str
    unit_parent: str | None
    unknown_categories: str
    reassign_to: str | None

    @property
    def name(self) -> str:
        return Path(self.path).name


def load_mapping(path: str | Path) -> Mapping:
    """Read and check a mapping file; a mistake is refused naming the key and the value."""
    name = Path(path).name
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise Refused(f"mapping {name}: cannot be read: {e}") from None
    except tomllib.TOMLDecodeError as e:
        raise Refused(f"mapping {name}: not valid TOML: {e}") from None
    return _Checker(name).mapping(str(path), raw)


class _Checker:
    """Checks one mapping file's tables, naming the key of any mistake."""

    def __init__(self, name: str) -> None:
        self.name = name

    def fail(self, key: str, message: str) -> Refused:
        return Refused(f"mapping {self.name}: {key}: {message}")

    def table(self, raw: dict[str, Any], key: str, allowed: tuple[str, ...] | None = None
              ) -> dict[str, Any]:
        value = raw.get(key, {})
        if not isinstance(value, dict):
            raise self.fail(f"[{key}]", "must be a table")
        if allowed is not None:
            for unknown in sorted(set(value) - set(allowed)):
                raise self.fail(f"[{key}] {unknown}",
                                f"unknown key (known: {', '.join(allowed)})")
        return value

    def text(self, table: dict[str, Any], section: str, key: str,
             default: str | None = None) -> str | None:
        value = table.get(key, default)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise self.fail(f"[{section}] {key}", f"must be non-empty text, got {value!r}")
        return value

    def choice(self, table: dict[str, Any], section: str, key: str, choices: tuple[str, ...],
               default: str) -> str:
        value = table.get(key, default)
        if value not in choices:
            raise self.fail(f"[{section}] {key}",
                            f"must be one of {', '.join(choices)}, got {value!r}")
        return value

    def days(self, value: Any, key: str) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise self.fail(key, f"must be a whole number of days (0 or more), got {value!r}")
        return value

    def spec(self, key: str, value: Any) -> Spec:
        parts = [value] if isinstance(value, str) else value
        if not isinstance(parts, list) or not parts or not all(
                isinstance(p, str) and p.strip() for p in parts):
            raise self.fail(f"[columns] {key}",
                            f"must be a column name, a template like \"{{A}} {{B}}\", or a "
                            f"list of them, got {value!r}")
        return Spec(tuple(parts))

    def mapping(self, path: str, raw: dict[str, Any]) -> Mapping:
        for unknown in sorted(set(raw) - set(SECTIONS)):
            raise self.fail(f"[{unknown}]", f"unknown table (known: {', '.join(SECTIONS)})")
        file = self.table(raw, "file", ("source", "format", "encoding", "sheet",
                                        "header_row"))
        source = self.text(file, "file", "source")
        if source is None:
            raise self.fail("[file] source", "is required: the name of the system or 台账 "
                            "the rows come from (their ids are unique within it)")
        fmt = self.text(file, "file", "format")
        if fmt is not None and fmt not in ("csv", "xlsx"):
            raise self.fail("[file] format", f"must be csv or xlsx, got {fmt!r}")
        encoding = self.text(file, "file", "encoding", "utf-8")
        check_encoding(encoding, f"mapping {self.name}: [file] encoding")
        header_row = file.get("header_row", 1)
        if not isinstance(header_row, int) or isinstance(header_row, bool) or header_row < 1:
            raise self.fail("[file] header_row", f"must be a row number, got {header_row!r}")

        columns_raw = self.table(raw, "columns", FIELDS)
        notes = columns_raw.get("notes", [])
        if isinstance(notes, str):
            notes = [notes]
        if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
            raise self.fail("[columns] notes",
                            f"must be a list of column names, got {notes!r}")
        columns = {key: self.spec(key, value) for key, value in columns_raw.items()
                   if key != "notes"}
        defaults = self.table(raw, "defaults", FIELDS)
        for key, value in defaults.items():
            self.text(defaults, "defaults", key)
        for key in REQUIRED:
            if key not in columns and key not in defaults:
                raise self.fail(f"[columns] {key}", "is required (or a value in [defaults])")

        values_raw = self.table(raw, "values", ("unit", "category", "source"))
        values: dict[str, dict[str, str]] = {}
        for key, table in values_raw.items():
            if not isinstance(table, dict) or not all(
                    isinstance(v, str) and v.strip() for v in table.values()):
                raise self.fail(f"[values.{key}]", "must map values in the file to values in "
                                "the ledger (text)")
            values[key] = {str(k).strip(): v.strip() for k, v in table.items()}
        for raw_value, code in values.get("source", {}).items():
            try:
                parse_source(code)
            except Refused as e:
                raise self.fail(f"[values.source] {raw_value!r}", str(e)) from None

        dates = self.table(raw, "dates", ("formats", "time_zone"))
        formats = dates.get("formats", [])
        if not isinstance(formats, list) or not all(isinstance(f, str) and "%" in f
                                                    for f in formats):
            raise self.fail("[dates] formats", "must be a list of strptime formats like "
                            f"\"%m/%d/%Y %I:%M:%S %p\", got {formats!r}")
        time_zone = self.text(dates, "dates", "time_zone")
        if time_zone is not None:
            try:
                check_zone(time_zone)
            except Refused as e:
                raise self.fail("[dates] time_zone", str(e)) from None

        statuses = self.table(raw, "status")
        for value, action in statuses.items():
            if action not in ACTIONS:
                raise self.fail(f"[status] {value!r}",
                                f"must be one of {', '.join(ACTIONS)}, got {action!r}")
        if statuses and "status" not in columns:
            raise self.fail("[status]", "needs [columns] status: the column it reads")
        if "status" in columns and not statuses:
            raise self.fail("[columns] status", "needs a [status] table mapping each value "
                            f"to one of {', '.join(ACTIONS)}")

        deadline = self.table(raw, "deadline", ("missing", "days", "days_by_category",
                                                "working_days"))
        missing = self.choice(deadline, "deadline", "missing", ("default", "reject"),
                              "default")
        days = deadline.get("days")
        if days is not None:
            days = self.days(days, "[deadline] days")
        by_category = deadline.get("days_by_category", {})
        if not isinstance(by_category, dict):
            raise self.fail("[deadline] days_by_category", "must be a table")
        by_category = {str(k): self.days(v, f"[deadline.days_by_category] {k!r}")
                       for k, v in by_category.items()}
        working_days = deadline.get("working_days")
        if working_days is not None:
            working_days = self.days(working_days, "[deadline] working_days")
            if working_days < 1 or days is not None:
                raise self.fail("[deadline] working_days", "must be 1 or more, and not given "
                                f"with days, got {working_days!r}")
        if missing == "default" and days is None and working_days is None:
            raise self.fail("[deadline] days", "is required: the deadline, in days (or "
                            "working_days) after the assignment, of a row that gives none "
                            "(or missing = \"reject\")")

        units = self.table(raw, "units", ("unknown", "kind", "parent"))
        unit_kind = self.text(units, "units", "kind", "部门")
        if unit_kind not in UNIT_KINDS:
            raise self.fail("[units] kind",
                            f"must be one of {', '.join(UNIT_KINDS)}, got {unit_kind!r}")
        categories = self.table(raw, "categories", ("unknown",))
        reassign = self.table(raw, "reassign", ("to",))
        reassign_to = self.text(reassign, "reassign", "to")
        if "reassign" in statuses.values() and reassign_to is None and \
                "reassign_to" not in columns:
            raise self.fail("[reassign] to", "is required where a status means reassign "
                            "(or [columns] reassign_to)")
        return Mapping(
            path=path, source=source.strip(), format=fmt, encoding=encoding or "utf-8",
            sheet=self.text(file, "file", "sheet"), header_row=header_row, columns=columns,
            notes=tuple(notes), defaults={k: v.strip() for k, v in defaults.items()},
            values=values, date_formats=tuple(formats), time_zone=time_zone,
            statuses={str(k).strip(): v for k, v in statuses.items()},
            deadline_missing=missing, deadline_days=days,
            deadline_days_by_category=by_category, deadline_working_days=working_days,
            unknown_units=self.choice(units, "units", "unknown", POLICIES, "refuse"),
            unit_kind=unit_kind or "部门", unit_parent=self.text(units, "units", "parent"),
            unknown_categories=self.choice(categories, "categories", "unknown", POLICIES,
                                           "refuse"),
            reassign_to=reassign_to)


def check_encoding(encoding: str | None, where: str) -> None:
    import codecs

    try:
        codecs.lookup(encoding or "utf-8")
    except LookupError:
        raise Refused(f"{where}: unknown encoding {encoding!r}") from None


# --- the file ------------------------------------------------------------------------------

@dataclass
class Table:
    """An opened CSV file or worksheet: its identity, header and rows."""

    name: str
    digest: str
    kind: str
    encoding: str
    sheet: str | None
    header: list[str]
    header_row: int
    count: int
    _rows: Callable[[], Iterator[tuple[int, list[Any]]]]

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        """(row number, cells) for every data row, as a spreadsheet numbers them."""
        return self._rows()


def open_table(path: str | Path, mapping: Mapping, encoding: str | None = None,
               sheet: str | None = None) -> Table:
    """Open FILE as the mapping (or the overriding encoding and sheet) says.

    The whole file is read and decoded first, so that an encoding mistake anywhere refuses
    the import before anything is written."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise Refused(f"cannot read {path.name}: {e.strerror}") from None
    digest = hashlib.sha256(data).hexdigest()
    # The file's own extension decides, so that a workbook's rejects (a CSV) import with
    # the workbook's mapping; the mapping's format serves files named otherwise.
    suffix = path.suffix.lower()
    kind = ("csv" if suffix == ".csv" else "xlsx" if suffix in (".xlsx", ".xlsm")
            else mapping.format or "csv")
    if kind == "xlsx":
        return _open_xlsx(path.name, data, digest, mapping, sheet or mapping.sheet)
    encoding = encoding or mapping.encoding
    check_encoding(encoding, "--encoding")
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise Refused(f"{path.name} is not {encoding} text: byte {e.start} (line {line}) "
                      "cannot be decoded; name the file's encoding with --encoding "
                      "(e.g. gb18030 for Chinese Excel exports)") from None
    # A UTF-8 file written by Excel starts with a byte-order mark, whatever was said.
    text = text.removeprefix("\ufeff")

    def records() -> Iterator[tuple[int, list[str]]]:
        reader = csv.reader(io.StringIO(text, newline=""))
        try:
            yield from enumerate(reader, 1)
        except csv.Error as e:
            raise Refused(f"{path.name} is not a readable CSV file near record "
                          f"{reader.line_num}: {e}") from None

    header: list[str] | None = None
    count = 0
    for number, cells in records():
        if number == mapping.header_row:
            header = [c.strip() for c in cells]
        elif number > mapping.header_row and any(c.strip() for c in cells):
            count += 1
    if header is None:
        raise Refused(f"{path.name} has no header row {mapping.header_row}")

    def rows() -> Iterator[tuple[int, list[Any]]]:
        for number, cells in records():
            if number > mapping.header_row:
                yield number, cells

    return Table(path.name, digest, "csv", encoding, None, header, mapping.header_row,
                 count, rows)


def _open_xlsx(name: str, data: bytes, digest: str, mapping: Mapping,
               sheet: str | None) -> Table:
    import zipfile

    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError):
        raise Refused(f"{name} is not an xlsx workbook") from None
    if sheet is None:
        sheet = book.sheetnames[0]
    elif sheet not in book.sheetnames:
        raise Refused(f"{name} has no sheet {sheet!r} (sheets: {', '.join(book.sheetnames)})")
    # All rows at once: counting them (for the progress bar) takes a pass anyway, and the
    # workbook is closed before the import starts.
    all_rows = list(book[sheet].iter_rows(min_row=mapping.header_row, values_only=True))
    book.close()
    if not all_rows:
        raise Refused(f"{name} sheet {sheet!r} has no header row {mapping.header_row}")
    header = ["" if c is None else str(c).strip() for c in all_rows[0]]
    body = [(mapping.header_row + i, list(cells)) for i, cells in enumerate(all_rows[1:], 1)]
    count = sum(1 for _, cells in body if not _blank(cells))
    return Table(name, digest, "xlsx", "", sheet, header, mapping.header_row, count,
                 lambda: iter(body))


def _blank(cells: list[Any]) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


def cell_text(value: Any) -> str:
    """A cell as text: dates as ISO, whole numbers without a decimal point."""
    if type(value) is str:
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ") if value.time() != time() else value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


# --- the report ----------------------------------------------------------------------------

@dataclass
class Reject:
    """A row not imported, and why."""

    row: int
    column: str
    value: str
    kind: str  # the reason's kind, for the summary: "malformed date", "unknown unit" …
    reason: str
    cells: list[str]


@dataclass
class ImportReport:
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
    categories_added: list[str] = field(default_factory=list)
    filled: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)

    def rejected_by_reason(self) -> Counter[str]:
        return Counter(f"{r.kind} ({r.column})" for r in self.rejects)

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file, "sha256": self.digest, "mapping": self.mapping,
            "source": self.source, "dry_run": self.dry_run, "strict": self.strict,
            "written": self.written, "rows_read": self.rows_read,
            "tasks_created": self.tasks_created, "events": self.events,
            "already_imported": self.already_imported, "rows_rejected": len(self.rejects),
            "rejected_by_reason": dict(sorted(self.rejected_by_reason().items())),
            "units_registered": self.units_registered,
            "categories_added": self.categories_added,
            "filled_in": dict(sorted(self.filled.items())),
            "statuses": dict(sorted(self.statuses.items())),
            "rejects": [{"row": r.row, "column": r.column, "value": r.value,
                         "reason": r.reason} for r in self.rejects],
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


# --- rows ----------------------------------------------------------------------------------

class RowError(Exception):
    """A row that cannot become a task: the column, the value and why."""

    def __init__(self, column: str, value: str, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.column, self.value, self.kind, self.reason = column, value, kind, reason


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
    reassign_to: str | None
    rectification: str
    reinspection: str
    note: str
    filled: list[str]
    labels: dict[str, str]


class RowReader:
    """Turns a row's cells into a :class:`Row`; pure: no store, no clock."""

    def __init__(self, mapping: Mapping, table: Table, zone: tzinfo,
                 calendar: Calendar | None = None) -> None:
        self.mapping = mapping
        self.table = table
        self.zone = zone
        self.calendar = calendar or Calendar()
        self.file_zone = ZoneInfo(mapping.time_zone) if mapping.time_zone else zone
        self.index = {}
        for position, name in enumerate(table.header):
            if name and name not in self.index:
                self.index[name] = position
        wanted = [c for spec in mapping.columns.values() for c in spec.columns()]
        for name in [*wanted, *mapping.notes]:
            if name not in self.index:
                known = ", ".join(h for h in table.header if h)
                raise Refused(f"mapping {mapping.name}: column {name!r} is not in "
                              f"{table.name}'s header ({known})")
        repeated = sorted({n for n in wanted if table.header.count(n) > 1})
        if repeated:
            raise Refused(f"{table.name}: column {repeated[0]!r} appears twice in the header; "
                          "the mapping cannot tell which to read")
        self.labels = {f: self.label(f) for f in FIELDS if f != "notes"}
        # Fields read from plain columns (no templates): the columns' positions, in order.
        self._positions = {name: [self.index[part] for part in spec.parts]
                           for name, spec in mapping.columns.items()
                           if not any("{" in part for part in spec.parts)}
        self._raw: list[Any] = []
        self._filled: list[str] = []
        self._memo: dict[str, str] = {}

    def key(self, number: int, raw: list[Any]) -> str | None:
        """The row's identity, read cheaply (None where the id is missing: the full read
        says what is wrong)."""
        if "id" not in self.mapping.columns:
            return f"{self.table.digest}\n{number}"
        self._raw, self._memo = raw, {}
        external_id = self.optional_text("id")
        return f"{self.mapping.source}\n{external_id}" if external_id else None

    def read(self, number: int, raw: list[Any]) -> Row:
        width = len(self.table.header)
        if len(raw) > width and any(cell_text(c) for c in raw[width:]):
            raise RowError("", "", "bad row", f"row has {len(raw)} values, the header "
                           f"{width} columns")
        self._raw, self._filled, self._memo = raw, [], {}
        mapping = self.mapping
        external_id = self.text("id") if "id" in mapping.columns else None
        key = (f"{mapping.source}\n{external_id}" if external_id is not None
               else f"{self.table.digest}\n{number}")
        category = self._mapped("category", self.text("category"))
        assigned = self.moment("assigned")
        deadline, deadline_rule = self.deadline(assigned, category)
        status, action = self.status()
        acted_at = None
        closed_value = self.optional_text("closed")
        if action == "open":
            if closed_value:
                raise RowError(self.label("closed"), closed_value, "inconsistent status",
                               f"{self.label('closed')} is {closed_value!r} but status "
                               f"{status!r} maps to open")
        else:
            acted_at = (self.moment("closed") if closed_value
                        else self.moment("status_date") if self.optional_text("status_date")
                        else None)
            if acted_at is None:
                column = self.label("closed") if "closed" in mapping.columns else \
                    self.label("status_date") if "status_date" in mapping.columns else \
                    self.label("status")
                raise RowError(column, "", "missing date",
                               f"status {status!r} ({action}) needs the date it happened, "
                               f"and {column} is empty")
        reassign_to = None
        if action == "reassign":
            reassign_to = (self.text("reassign_to") if "reassign_to" in mapping.columns
                           else mapping.reassign_to)
        notes = "; ".join(f"{name}: {value}" for name in mapping.notes
                          if (value := self._cell(name)))
        return Row(
            number=number, cells=raw, key=key, external_id=external_id,
            unit=self.text("unit"), category=category,
            source=self._source(), location=self.text("location"),
            description=self.text("description"), assigned=assigned, deadline=deadline,
            deadline_rule=deadline_rule, action=action, status=status, acted_at=acted_at,
            reassign_to=reassign_to,
            rectification=self.optional_text("rectification"),
            reinspection=self.optional_text("reinspection"), note=notes,
            filled=self._filled, labels=self.labels)

    # --- fields ---

    def label(self, name: str) -> str:
        spec = self.mapping.columns.get(name)
        return spec.label if spec is not None else f"[defaults] {name}"

    def _value(self, spec: Spec) -> str:
        for part in spec.parts:
            if "{" in part:
                values = {c: self._cell(c) for c in TEMPLATE_FIELD.findall(part)}
                if any(values.values()):
                    return TEMPLATE_FIELD.sub(lambda m: values[m.group(1)], part).strip()
            else:
                value = self._cell(part)
                if value:
                    return value
        return ""

    def _cell(self, column: str) -> str:
        position = self.index[column]
        return cell_text(self._raw[position]) if position < len(self._raw) else ""

    def optional_text(self, name: str) -> str:
        value = self._memo.get(name)
        if value is None:
            positions = self._positions.get(name)
            if positions is not None:  # what _value gives, read directly
                raw, value = self._raw, ""
                for position in positions:
                    if position < len(raw):
                        value = cell_text(raw[position])
                        if value:
                            break
            else:
                spec = self.mapping.columns.get(name)
                value = self._value(spec) if spec is not None else ""
            self._memo[name] = value
        return value

    def text(self, name: str) -> str:
        value = self.optional_text(name)
        if value:
            return value
        default = self.mapping.defaults.get(name)
        if default is not None:
            if name in self.mapping.columns:
                self._filled.append(f"{name}: {default!r} ({self.label(name)} empty)")
            return default
        raise RowError(self.label(name), "", f"empty {name}", f"{self.label(name)} is empty")

    def _mapped(self, name: str, value: str) -> str:
        return self.mapping.values.get(name, {}).get(value, value)

    def _source(self) -> str:
        value = self._mapped("source", self.text("source"))
        try:
            return parse_source(value)
        except Refused as e:
            raise RowError(self.label("source"), value, "unknown source", str(e)) from None

    def status(self) -> tuple[str, str]:
        if "status" not in self.mapping.columns:
            return ("", "verified" if self.optional_text("closed") else "open")
        status = self.optional_text("status")
        action = self.mapping.statuses.get(status)
        if action is None:
            kind = "unknown status" if status else "empty status"
            raise RowError(self.label("status"), status, kind,
                           f"status {status!r} is not in the mapping's [status] table "
                           f"({', '.join(repr(s) for s in self.mapping.statuses)})")
        return status, action

    def _parse(self, name: str) -> tuple[datetime | date, str]:
        """A date field's value: a datetime (aware) or a date (a day, no time)."""
        spec = self.mapping.columns[name]
        text = self.optional_text(name)
        # A workbook's date cell is already a date; one at midnight is a day.
        if len(spec.parts) == 1 and "{" not in spec.parts[0]:
            cell = self._raw[self.index[spec.parts[0]]] \
                if self.index[spec.parts[0]] < len(self._raw) else None
            if isinstance(cell, datetime):
                if cell.time() == time() and cell.tzinfo is None:
                    return cell.date(), text
                return (cell if cell.tzinfo else cell.replace(tzinfo=self.file_zone)), text
            if isinstance(cell, date):
                return cell, text
        for fmt in self.mapping.date_formats:
            try:
                parsed = strptime(text, fmt)
            except ValueError:
                continue
            if not TIME_DIRECTIVES.search(fmt):
                return parsed.date(), text
            return (parsed if parsed.tzinfo else parsed.replace(tzinfo=self.file_zone)), text
        try:
            return date.fromisoformat(text), text
        except ValueError:
            pass
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            formats = ", ".join(self.mapping.date_formats) or "ISO 8601"
            raise RowError(spec.label, text, "malformed date",
                           f"{spec.label} {text!r} is not a date ({formats})") from None
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=self.file_zone)), text

    def moment(self, name: str) -> datetime:
        if name not in self.mapping.columns:
            raise RowError(self.label(name), "", f"empty {name}", f"no column gives {name}")
        if not self.optional_text(name):
            raise RowError(self.label(name), "", f"empty {name}",
                           f"{self.label(name)} is empty")
        value, _ = self._parse(name)
        if isinstance(value, datetime):
            return value
        return datetime.combine(value, time(), tzinfo=self.file_zone)

    def deadline(self, assigned: datetime, category: str) -> tuple[date, str | None]:
        """The row's deadline, and the rule it was given as where that is working days
        ("5个工作日" in the cell, or the mapping's working_days)."""
        text = self.optional_text("deadline")
        column = self.label("deadline")
        if text:
            try:
                working = parse_working_days(text, column)
            except Refused as e:
                raise RowError(column, text, "malformed deadline", str(e)) from None
            if working is not None:
                return self._working(assigned, working, column, text)
            relative = RELATIVE_DEADLINE.match(text)
            if relative:
                return local_date(assigned, self.zone) + timedelta(days=int(relative[1])), None
            value, _ = self._parse("deadline")
            return (value.astimezone(self.zone).date() if isinstance(value, datetime)
                    else value), None
        if self.mapping.deadline_missing == "reject":
            raise RowError(column, "", "empty deadline", f"{column} is empty")
        empty = f" ({column} empty)" if "deadline" in self.mapping.columns else ""
        days = self.mapping.deadline_days_by_category.get(category,
                                                          self.mapping.deadline_days)
        if days is None and self.mapping.deadline_working_days is not None:
            count = self.mapping.deadline_working_days
            self._filled.append(f"deadline: {count} working days after assignment{empty}")
            return self._working(assigned, WorkingDays(count, f"{count}个工作日"), column, "")
        assert days is not None, "the mapping checker requires [deadline] days"
        self._filled.append(f"deadline: {days} days after assignment{empty}")
        return local_date(assigned, self.zone) + timedelta(days=days), None

    def _working(self, assigned: datetime, working: WorkingDays, column: str,
                 text: str) -> tuple[date, str | None]:
        try:
            return self.calendar.resolve(working, local_date(assigned, self.zone), column)
        except UnknownYear as e:
            raise RowError(column, text, "unknown calendar year", str(e)) from None


# --- the import ----------------------------------------------------------------------------

@lru_cache(maxsize=4096)  # a row's id is asked for when it is read and when it is built
def task_id_for(key: str) -> str:
    """A row's task id, derived from its identity: the same row always gets the same id
    (65 bits of its sha256, in base32, fitting the board's 16 characters)."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return ID_PREFIX + base64.b32encode(digest[:10]).decode("ascii")[:13]


def unit_code_for(name: str) -> str:
    """A code for a unit registered by an import: the name itself where it is a valid
    code, its letters and digits joined by '-' where it is Latin, else a digest."""
    if CODE_PATTERN.match(name):
        return name
    slug = "-".join(re.findall(r"[A-Za-z0-9]+", name))[:40]
    if slug and name.isascii():
        return slug
    return "U-" + hashlib.sha256(name.encode("utf-8")).hexdigest()[:10].upper()


@dataclass
class _Known:
    """A row whose task the ledger already holds."""

    number: int
    key: str
    cells: list[Any]


@dataclass
class _Batch:
    """What one batch adds: built aggregates and the report's share of it."""

    tasks: list[Task] = field(default_factory=list)
    units: dict[str, Unit] = field(default_factory=dict)
    categories: list[str] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    already: int = 0
    events: int = 0
    filled: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    keys: dict[str, int] = field(default_factory=dict)


class Importer:
    """Imports one table into the ledger as the mapping says, acting as ``actor_id``."""

    SCAN_PAGE = 5000

    def __init__(self, ledger: Ledger, actor_id: str | None, mapping: Mapping, table: Table,
                 *, batch_size: int = 1000) -> None:
        self.ledger = ledger
        self.mapping = mapping
        self.table = table
        self.batch_size = batch_size
        self.progress: Callable[[int], None] | None = None
        self.actor: Actor = ledger.actor(actor_id)
        authorize(self.actor, "import_records")
        self.campaign: Campaign = ledger.campaign()
        self.reader = RowReader(mapping, table, self.campaign.zone,
                                ledger.work_calendar(self.campaign))
        self.imported: set[str] = set()
        self.scanned = 0
        self.units: dict[str, Unit] = {}
        self.unit_names: dict[str, list[str]] = {}
        self.seen: dict[str, int] = {}
        self._refresh()
        self.parent: str | None = None
        if mapping.unit_parent is not None:
            try:
                self.parent = self._unit(mapping.unit_parent, "[units] parent")
            except RowError as e:
                raise Refused(f"mapping {mapping.name}: [units] parent: {e.reason}") from None

    def run(self, *, dry_run: bool = False, strict: bool = False,
            progress: Callable[[int], None] | None = None) -> ImportReport:
        """Import every row; a dry run, or a strict run that meets a bad row, writes
        nothing. ``progress`` is told how many rows each batch took. Returns the report."""
        self.progress = progress
        report = ImportReport(self.table.name, self.table.digest, self.mapping.name,
                              self.mapping.source, dry_run=dry_run, strict=strict)
        save_each = not (dry_run or strict)
        held: list[_Batch] = []  # a strict run's batches, saved together at the end
        pending: list[tuple[int, list[Any]]] = []
        for number, cells in self.table.rows():
            if _blank(cells):
                continue
            report.rows_read += 1
            pending.append((number, cells))
            if len(pending) >= self.batch_size:
                batch = self._batch(pending, report, save=save_each)
                if strict and not dry_run:
                    held.append(batch)
                pending = []
        if pending:
            batch = self._batch(pending, report, save=save_each)
            if strict and not dry_run:
                held.append(batch)
        if strict and not dry_run and not report.rejects:
            self._save_all(held)
        report.written = not dry_run and not (strict and report.rejects)
        return report

    # --- batches ---

    def _batch(self, rows: list[tuple[int, list[Any]]], report: ImportReport,
               save: bool) -> _Batch:
        read: list[Row | Reject | _Known] = []
        for number, cells in rows:
            # A row imported before is known by its identity alone: no need to read it all.
            key = self.reader.key(number, cells)
            if key is not None and task_id_for(key) in self.imported:
                read.append(_Known(number, key, cells))
                continue
            try:
                read.append(self.reader.read(number, cells))
            except RowError as e:
                read.append(Reject(number, e.column, e.value, e.kind, e.reason,
                                   [cell_text(c) for c in cells]))
        for _ in range(ATTEMPTS):
            batch = self._build(read)
            if save:
                try:
                    self.ledger.save(self.campaign, *batch.units.values(), *batch.tasks)
                except IntegrityError:
                    # Someone wrote meanwhile (perhaps these very rows): look again.
                    self._refresh()
                    continue
            self._merge(batch, report)
            if self.progress:
                self.progress(len(rows))
            return batch
        raise Conflict("others kept writing the same records; the batches saved so far "
                       "stay, run the import again to resume")

    def _save_all(self, held: list[_Batch]) -> None:
        """A strict run's batches, all in one transaction: all rows or none."""
        units = [u for batch in held for u in batch.units.values()]
        tasks = [t for batch in held for t in batch.tasks]
        try:
            self.ledger.save(self.campaign, *units, *tasks)
        except IntegrityError:
            raise Conflict("others wrote to the ledger during the import; nothing was "
                           "written, run it again") from None

    def _merge(self, batch: _Batch, report: ImportReport) -> None:
        report.tasks_created += len(batch.tasks)
        report.events += batch.events
        report.already_imported += batch.already
        report.rejects.extend(batch.rejects)
        report.units_registered.extend(batch.units)
        report.categories_added.extend(batch.categories)
        report.filled.update(batch.filled)
        report.statuses.update(batch.statuses)
        self.seen.update(batch.keys)
        for code, unit in batch.units.items():
            self._know(code, unit)

    def _build(self, rows: list[Row | Reject | _Known]) -> _Batch:
        batch = _Batch()
        now = self.ledger.clock()
        categories = set(self.campaign.categories)
        for row in rows:
            if isinstance(row, Reject):
                batch.rejects.append(row)
                continue
            try:
                if isinstance(row, _Known):
                    self._known(row, batch)
                else:
                    self._build_row(row, batch, categories, now)
            except RowError as e:
                batch.rejects.append(Reject(row.number, e.column, e.value, e.kind, e.reason,
                                            [cell_text(c) for c in row.cells]))
        return batch

    def _known(self, row: _Known, batch: _Batch) -> None:
        self._check_first(row.key, row.number, batch)
        batch.already += 1
        batch.keys[row.key] = row.number

    def _check_first(self, key: str, number: int, batch: _Batch) -> None:
        first = batch.keys.get(key, self.seen.get(key))
        if first is not None:
            external_id = key.split("\n", 1)[1]
            raise RowError(self.reader.labels["id"], external_id, "repeated id",
                           f"id {external_id!r} repeats row {first}")

    def _build_row(self, row: Row, batch: _Batch, categories: set[str],
                   now: datetime) -> None:
        self._check_first(row.key, row.number, batch)
        task_id = task_id_for(row.key)
        if task_id in self.imported:
            batch.already += 1
            batch.keys[row.key] = row.number
            return
        unit, new_unit = self._resolve_unit(row.unit, row.labels["unit"], batch)
        new_category = row.category not in categories
        if new_category and self.mapping.unknown_categories == "refuse":
            raise RowError(row.labels["category"], row.category, "unknown category",
                           f"category {row.category!r} is not one of this campaign's "
                           "categories (the mapping refuses unknown categories)")
        origin = {"source": self.mapping.source, "file": self.table.digest,
                  "name": self.table.name, "row": row.number, "id": row.external_id}
        if self.table.sheet:
            origin["sheet"] = self.table.sheet
        where = f"{self.table.name} row {row.number}"
        try:
            task = Task.assign(
                task_id=task_id, unit=unit, category=row.category, source=row.source,
                location=row.location, description=row.description, deadline=row.deadline,
                actor=self.actor, occurred_at=row.assigned, zone=self.campaign.zone, now=now,
                note=row.note, origin=origin, deadline_rule=row.deadline_rule)
        except Refused as e:
            raise self._refusal(row, e, "assigned") from None
        new_target = None
        try:
            if row.action == "verified":
                task.close_imported_as_verified(
                    rectification=row.rectification or f"imported: {where} records the "
                    "problem rectified",
                    reinspection=row.reinspection or f"imported: {where} records the "
                    "closure as rectified",
                    reason=self._reason(row, where), actor=self.actor,
                    occurred_at=row.acted_at, now=now)  # type: ignore[arg-type]
            elif row.action == "reassign":
                target, new_target = self._resolve_unit(
                    row.reassign_to or "", row.labels["reassign_to"]
                    if "reassign_to" in self.mapping.columns else "[reassign] to", batch)
                task.reassign(unit=target, reason=self._reason(row, where), actor=self.actor,
                              occurred_at=row.acted_at, now=now)  # type: ignore[arg-type]
            elif row.action != "open":
                task.close(closure=row.action, reason=self._reason(row, where),
                           actor=self.actor, now=now,
                           occurred_at=row.acted_at)  # type: ignore[arg-type]
        except Refused as e:
            raise self._refusal(row, e, "closed") from None
        if new_category:
            try:
                self.campaign.add_category(row.category, actor=self.actor, occurred_at=now)
            except Refused as e:
                raise RowError(row.labels["category"], row.category, "refused by the ledger",
                               str(e)) from None
            categories.add(row.category)
            batch.categories.append(row.category)
        for new in (new_unit, new_target):
            if new is not None:
                batch.units[new.code] = new
        batch.tasks.append(task)
        batch.keys[row.key] = row.number
        batch.events += len(task.log)
        batch.filled.update(row.filled)
        batch.statuses[f"{row.status or '(no status)'} → {row.action}"] += 1

    def _reason(self, row: Row, where: str) -> str:
        said = f"{row.labels['status']} {row.status}" if row.status else \
            f"{row.labels['closed']} {row.acted_at:%Y-%m-%d}"
        return f"imported: {where} ({said})"

    def _refusal(self, row: Row, error: Refused, step: str) -> RowError:
        """A domain refusal, put on the column it is about."""
        message = str(error)
        if step == "assigned":
            for name in ("deadline", "location", "description", "source"):
                if message.startswith(name) or f" {name} " in f" {message} ":
                    column = row.labels[name]
                    break
            else:
                column = row.labels["assigned"]
        elif "already assigned to unit" in message and "reassign_to" in self.mapping.columns:
            column = row.labels["reassign_to"]
        else:
            column = row.labels["closed"] if "closed" in self.mapping.columns \
                else row.labels["status_date"] if "status_date" in self.mapping.columns \
                else row.labels["status"]
        position = self.reader.index.get(column, len(row.cells))
        value = cell_text(row.cells[position]) if position < len(row.cells) else ""
        return RowError(column, value, "refused by the ledger", message)

    # --- units ---

    def _resolve_unit(self, value: str, column: str, batch: _Batch) -> tuple[str, Unit | None]:
        """A unit named by code or name (or through [values.unit]); an unknown one is
        registered (returned, to save with the row) or refused as the mapping says."""
        value = self.mapping.values.get("unit", {}).get(value, value)
        if value in batch.units:
            return value, None
        try:
            return self._unit(value, column), None
        except RowError as e:
            if self.mapping.unknown_units == "refuse" or e.kind != "unknown unit":
                raise
        code = unit_code_for(value)
        if code in batch.units:
            return code, None
        if code in self.units:
            raise RowError(column, value, "ambiguous unit",
                           f"unit {value!r} is unknown, and the code {code} it would be "
                           f"registered under is unit {self.units[code].name!r}'s")
        parent = self.units[self.parent] if self.parent is not None else None
        try:
            unit = Unit.register(code=code, name=value, kind=self.mapping.unit_kind,
                                 parent=parent, actor=self.actor,
                                 occurred_at=self.ledger.clock())
        except Refused as e:
            raise RowError(column, value, "refused by the ledger", str(e)) from None
        return code, unit

    def _unit(self, value: str, column: str) -> str:
        if value in self.units:
            code = value
        else:
            codes = self.unit_names.get(value, [])
            if len(codes) > 1:
                raise RowError(column, value, "ambiguous unit",
                               f"unit name {value!r} is shared by units {', '.join(codes)}")
            if not codes:
                raise RowError(column, value, "unknown unit",
                               f"unit {value!r} is neither a unit's code nor its name"
                               + (" (the mapping refuses unknown units)"
                                  if self.mapping.unknown_units == "refuse" else ""))
            code = codes[0]
        if self.units[code].retired:
            raise RowError(column, value, "retired unit", f"unit {code} is retired")
        return code

    def _know(self, code: str, unit: Unit) -> None:
        self.units[code] = unit
        self.unit_names.setdefault(unit.name, [])
        if code not in self.unit_names[unit.name]:
            self.unit_names[unit.name].append(code)

    # --- what the store holds ---

    def _refresh(self) -> None:
        """Read what was written since last time: imported tasks, units, the campaign."""
        recorder = self.ledger.recorder
        topics = [get_topic(Task.Assigned), get_topic(Unit.Registered),
                  get_topic(Unit.Renamed), get_topic(Unit.Retired)]
        changed_units: set[str] = set()
        while True:
            page = recorder.select_notifications(self.scanned + 1, self.SCAN_PAGE,
                                                 topics=topics)
            for notification in page:
                if notification.originator_id.startswith(ID_PREFIX):
                    self.imported.add(notification.originator_id)
                elif notification.originator_id.startswith("unit:"):
                    changed_units.add(notification.originator_id.split(":", 1)[1])
            if page:
                self.scanned = page[-1].id
            if len(page) < self.SCAN_PAGE:
                break
        for code in changed_units:
            unit = self.ledger.unit(code)
            old = self.units.get(code)
            if old is not None and old.name != unit.name:
                self.unit_names[old.name].remove(code)
            self._know(code, unit)
        # A copy: the ledger may cache the campaign, and a dry run changes it unsaved.
        self.campaign = copy.deepcopy(self.ledger.campaign())
