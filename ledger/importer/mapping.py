"""A mapping file (TOML): read, checked, naming the key of any mistake."""

from __future__ import annotations

import re
import tomllib
from fnmatch import fnmatchcase
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from domain.base import Refused
from domain.registry import UNIT_KINDS, check_zone
from domain.task import CLOSURES, parse_source

FIELDS = ("id", "category", "description", "location", "unit", "source", "assigned",
          "deadline", "status", "status_date", "closed", "rectification", "reinspection",
          "reassign_to", "latitude", "longitude", "notes")
REQUIRED = ("category", "description", "location", "unit", "source", "assigned")
ACTIONS = ("open", "reassign", *CLOSURES, "rework")
SECTIONS = ("file", "columns", "defaults", "values", "dates", "status", "deadline", "units",
            "categories", "reassign", "fill", "skip")
SKIP_KINDS = {"totals": "total row", "signatures": "signature line", "notes": "note line"}
POLICIES = ("register", "refuse")
RELATIVE_DEADLINE = re.compile(r"^(\d{1,4})\s*(天|日|d|days?)$", re.IGNORECASE)
TEMPLATE_FIELD = re.compile(r"\{([^{}]+)\}")
TIME_DIRECTIVES = re.compile(r"%[HIMSpXcfTRr]")


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
    header_row: int | None  # None: found by the columns' names
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
    unit_kinds: tuple[tuple[str, str], ...]  # (name pattern, kind), tried in order
    unknown_categories: str
    reassign_to: str | None
    fill_down: tuple[str, ...] = ()  # columns whose empty cells take the value above
    skip_markers: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Without an id column: the columns whose values name a row ([file] key), so a row of
    # an edited file is matched with its task (ledger/importer/update.py).
    key: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return Path(self.path).name

    def headings(self) -> list[str]:
        """Every column the mapping reads, in order, each once."""
        found = [c for spec in self.columns.values() for c in spec.columns()]
        return list(dict.fromkeys([*found, *self.notes, *self.fill_down, *self.key]))

    def kind_for(self, unit_name: str) -> str:
        """The kind of a unit the import registers: that of the first pattern its name
        matches (``*社区``; alternatives split by ``|``), else ``[units] kind``."""
        for pattern, kind in self.unit_kinds:
            if any(fnmatchcase(unit_name, p.strip()) for p in pattern.split("|")):
                return kind
        return self.unit_kind


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

    def names(self, table: dict[str, Any], key: str, name: str = "down") -> list[str]:
        value = table.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip()
                                                  for v in value):
            raise self.fail(key, f"must be a list of texts, got {value!r}")
        return [v.strip() for v in value]

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
                                        "header_row", "key"))
        source = self.text(file, "file", "source")
        if source is None:
            raise self.fail("[file] source", "is required: the name of the system or 台账 "
                            "the rows come from (their ids are unique within it)")
        fmt = self.text(file, "file", "format")
        if fmt is not None and fmt not in ("csv", "xlsx"):
            raise self.fail("[file] format", f"must be csv or xlsx, got {fmt!r}")
        encoding = self.text(file, "file", "encoding", "utf-8")
        check_encoding(encoding, f"mapping {self.name}: [file] encoding")
        header_row = file.get("header_row")
        if header_row is not None and (not isinstance(header_row, int)
                                       or isinstance(header_row, bool) or header_row < 1):
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

        if "rework" in statuses.values() and "status_date" not in columns:
            raise self.fail("[status]", "a status meaning rework (a failed re-inspection) "
                            "needs [columns] status_date: the column giving its date")
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

        units = self.table(raw, "units", ("unknown", "kind", "parent", "kinds"))
        unit_kind = self.text(units, "units", "kind", "部门")
        if unit_kind not in UNIT_KINDS:
            raise self.fail("[units] kind",
                            f"must be one of {', '.join(UNIT_KINDS)}, got {unit_kind!r}")
        kinds = units.get("kinds", {})
        if not isinstance(kinds, dict):
            raise self.fail("[units.kinds]", "must be a table of name patterns and kinds, "
                            "like \"*社区\" = \"社区\"")
        for pattern, kind in kinds.items():
            if kind not in UNIT_KINDS:
                raise self.fail(f"[units.kinds] {pattern!r}",
                                f"must be one of {', '.join(UNIT_KINDS)}, got {kind!r}")
        categories = self.table(raw, "categories", ("unknown",))
        reassign = self.table(raw, "reassign", ("to",))
        reassign_to = self.text(reassign, "reassign", "to")
        if "reassign" in statuses.values() and reassign_to is None and \
                "reassign_to" not in columns:
            raise self.fail("[reassign] to", "is required where a status means reassign "
                            "(or [columns] reassign_to)")
        key = self.names(file, "[file] key", "key")
        if key and "id" in columns:
            raise self.fail("[file] key", "names the columns that identify a row where no "
                            "column is its id; this mapping has [columns] id")
        fill = self.table(raw, "fill", ("down",))
        fill_down = self.names(fill, "[fill] down")
        skip = self.table(raw, "skip", tuple(SKIP_KINDS))
        skip_markers = {SKIP_KINDS[key]: tuple("".join(m.split()) for m in
                                               self.names(skip, f"[skip] {key}", key))
                        for key in skip}
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
            unit_kinds=tuple(kinds.items()),
            unknown_categories=self.choice(categories, "categories", "unknown", POLICIES,
                                           "refuse"),
            reassign_to=reassign_to, fill_down=tuple(fill_down), skip_markers=skip_markers,
            key=tuple(dict.fromkeys(key)))


def check_encoding(encoding: str | None, where: str) -> None:
    import codecs

    try:
        codecs.lookup(encoding or "utf-8")
    except LookupError:
        raise Refused(f"{where}: unknown encoding {encoding!r}") from None
