"""A mapping file (TOML): read, checked, naming the key of any mistake."""

from __future__ import annotations

import re
import tomllib
from fnmatch import fnmatchcase
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from domain.base import Refused, Said
from domain.registry import UNIT_KINDS, check_zone
from domain.task_fields import CLOSURES, parse_source
from i18n import N_

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
        raise Refused("映射文件 {mapping}：无法读取：{why}", mapping=name, why=e) from None
    except tomllib.TOMLDecodeError as e:
        raise Refused("映射文件 {mapping}：不是有效的 TOML：{why}", mapping=name, why=e) from None
    return _Checker(name).mapping(str(path), raw)


class _Checker:
    """Checks one mapping file's tables, naming the key of any mistake."""

    def __init__(self, name: str) -> None:
        self.name = name

    def fail(self, key: str, message: str, **values: Any) -> Refused:
        """The refusal of ``key``'s value: ``message`` (marked ``N_``) with its values."""
        return Refused("映射文件 {mapping}：{key}：{problem}", mapping=self.name, key=key,
                       problem=Said(message, **values))

    def table(self, raw: dict[str, Any], key: str, allowed: tuple[str, ...] | None = None
              ) -> dict[str, Any]:
        value = raw.get(key, {})
        if not isinstance(value, dict):
            raise self.fail("[" + key + "]", N_("必须是一个表"))
        if allowed is not None:
            for unknown in sorted(set(value) - set(allowed)):
                raise self.fail("[" + key + "] " + unknown, N_("未知的键（可用的有：{known}）"),
                                known=", ".join(allowed))
        return value

    def text(self, table: dict[str, Any], section: str, key: str,
             default: str | None = None) -> str | None:
        value = table.get(key, default)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise self.fail("[" + section + "] " + key, N_("必须是非空文本，而不是 {value!r}"),
                            value=value)
        return value

    def choice(self, table: dict[str, Any], section: str, key: str, choices: tuple[str, ...],
               default: str) -> str:
        value = table.get(key, default)
        if value not in choices:
            raise self.fail("[" + section + "] " + key, N_("必须是 {choices} 之一，而不是 {value!r}"),
                            choices=", ".join(choices), value=value)
        return value

    def names(self, table: dict[str, Any], key: str, name: str = "down") -> list[str]:
        value = table.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip()
                                                  for v in value):
            raise self.fail(key, N_("必须是文本的列表，而不是 {value!r}"), value=value)
        return [v.strip() for v in value]

    def days(self, value: Any, key: str) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise self.fail(key, N_("必须是整数天数（0 或以上），而不是 {value!r}"), value=value)
        return value

    def spec(self, key: str, value: Any) -> Spec:
        parts = [value] if isinstance(value, str) else value
        if not isinstance(parts, list) or not parts or not all(
                isinstance(p, str) and p.strip() for p in parts):
            raise self.fail("[columns] " + key,
                            N_("必须是列名、形如 \"{{A}} {{B}}\" 的模板，或它们的列表，而不是 {value!r}"),
                            value=value)
        return Spec(tuple(parts))

    def mapping(self, path: str, raw: dict[str, Any]) -> Mapping:
        for unknown in sorted(set(raw) - set(SECTIONS)):
            raise self.fail("[" + unknown + "]", N_("未知的表（可用的有：{known}）"),
                            known=", ".join(SECTIONS))
        file = self.table(raw, "file", ("source", "format", "encoding", "sheet",
                                        "header_row", "key"))
        source = self.text(file, "file", "source")
        if source is None:
            raise self.fail("[file] source", N_("必须填写：各行来自的系统或台账的名称"
                                                "（行的编号在其中唯一）"))
        fmt = self.text(file, "file", "format")
        if fmt is not None and fmt not in ("csv", "xlsx"):
            raise self.fail("[file] format", N_("必须是 csv 或 xlsx，而不是 {value!r}"), value=fmt)
        encoding = self.text(file, "file", "encoding", "utf-8")
        check_encoding(encoding, Said("映射文件 {mapping}：[file] encoding", mapping=self.name))
        header_row = file.get("header_row")
        if header_row is not None and (not isinstance(header_row, int)
                                       or isinstance(header_row, bool) or header_row < 1):
            raise self.fail("[file] header_row", N_("必须是行号，而不是 {value!r}"),
                            value=header_row)

        columns_raw = self.table(raw, "columns", FIELDS)
        notes = columns_raw.get("notes", [])
        if isinstance(notes, str):
            notes = [notes]
        if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
            raise self.fail("[columns] notes", N_("必须是列名的列表，而不是 {value!r}"),
                            value=notes)
        columns = {key: self.spec(key, value) for key, value in columns_raw.items()
                   if key != "notes"}
        defaults = self.table(raw, "defaults", FIELDS)
        for key, value in defaults.items():
            self.text(defaults, "defaults", key)
        for key in REQUIRED:
            if key not in columns and key not in defaults:
                raise self.fail("[columns] " + key, N_("必须填写（或在 [defaults] 中给出值）"))

        values_raw = self.table(raw, "values", ("unit", "category", "source"))
        values: dict[str, dict[str, str]] = {}
        for key, table in values_raw.items():
            if not isinstance(table, dict) or not all(
                    isinstance(v, str) and v.strip() for v in table.values()):
                raise self.fail("[values." + key + "]", N_("必须把文件中的值对应到台账中的值（文本）"))
            values[key] = {str(k).strip(): v.strip() for k, v in table.items()}
        for raw_value, code in values.get("source", {}).items():
            try:
                parse_source(code)
            except Refused as e:
                raise self.fail("[values.source] " + repr(raw_value), N_("{reason}"),
                                reason=e) from None

        dates = self.table(raw, "dates", ("formats", "time_zone"))
        formats = dates.get("formats", [])
        if not isinstance(formats, list) or not all(isinstance(f, str) and "%" in f
                                                    for f in formats):
            raise self.fail("[dates] formats", N_("必须是 strptime 格式的列表，如 "
                                                  "\"%m/%d/%Y %I:%M:%S %p\"，而不是 {value!r}"),
                            value=formats)
        time_zone = self.text(dates, "dates", "time_zone")
        if time_zone is not None:
            try:
                check_zone(time_zone)
            except Refused as e:
                raise self.fail("[dates] time_zone", N_("{reason}"), reason=e) from None

        statuses = self.table(raw, "status")
        for value, action in statuses.items():
            if action not in ACTIONS:
                raise self.fail("[status] " + repr(value), N_("必须是 {choices} 之一，而不是 {value!r}"),
                                choices=", ".join(ACTIONS), value=action)
        if statuses and "status" not in columns:
            raise self.fail("[status]", N_("需要 [columns] status：它读取的列"))
        if "status" in columns and not statuses:
            raise self.fail("[columns] status", N_("需要一个 [status] 表，把每个值对应到 {choices} 之一"),
                            choices=", ".join(ACTIONS))

        if "rework" in statuses.values() and "status_date" not in columns:
            raise self.fail("[status]", N_("表示 rework（复查不合格）的状态需要 [columns] "
                                           "status_date：给出其日期的列"))
        deadline = self.table(raw, "deadline", ("missing", "days", "days_by_category",
                                                "working_days"))
        missing = self.choice(deadline, "deadline", "missing", ("default", "reject"),
                              "default")
        days = deadline.get("days")
        if days is not None:
            days = self.days(days, "[deadline] days")
        by_category = deadline.get("days_by_category", {})
        if not isinstance(by_category, dict):
            raise self.fail("[deadline] days_by_category", N_("必须是一个表"))
        by_category = {str(k): self.days(v, "[deadline.days_by_category] " + repr(k))
                       for k, v in by_category.items()}
        working_days = deadline.get("working_days")
        if working_days is not None:
            working_days = self.days(working_days, "[deadline] working_days")
            if working_days < 1 or days is not None:
                raise self.fail("[deadline] working_days", N_("必须为 1 或以上，且不能与 days 同时给出，"
                                                            "而不是 {value!r}"), value=working_days)
        if missing == "default" and days is None and working_days is None:
            raise self.fail("[deadline] days", N_("必须填写：未给出期限的行，其期限为交办后的天数"
                                                  "（或 working_days）（或者 missing = \"reject\"）"))

        units = self.table(raw, "units", ("unknown", "kind", "parent", "kinds"))
        unit_kind = self.text(units, "units", "kind", "部门")
        if unit_kind not in UNIT_KINDS:
            raise self.fail("[units] kind", N_("必须是 {choices} 之一，而不是 {value!r}"),
                            choices=", ".join(UNIT_KINDS), value=unit_kind)
        kinds = units.get("kinds", {})
        if not isinstance(kinds, dict):
            raise self.fail("[units.kinds]", N_("必须是名称模式与单位类型的表，如 \"*社区\" = \"社区\""))
        for pattern, kind in kinds.items():
            if kind not in UNIT_KINDS:
                raise self.fail("[units.kinds] " + repr(pattern),
                                N_("必须是 {choices} 之一，而不是 {value!r}"),
                                choices=", ".join(UNIT_KINDS), value=kind)
        categories = self.table(raw, "categories", ("unknown",))
        reassign = self.table(raw, "reassign", ("to",))
        reassign_to = self.text(reassign, "reassign", "to")
        if "reassign" in statuses.values() and reassign_to is None and \
                "reassign_to" not in columns:
            raise self.fail("[reassign] to", N_("有状态表示 reassign（改派）时必须填写"
                                                "（或给出 [columns] reassign_to）"))
        key = self.names(file, "[file] key", "key")
        if key and "id" in columns:
            raise self.fail("[file] key", N_("用于在没有编号列时指明识别一行的列；本映射文件已有 "
                                             "[columns] id"))
        fill = self.table(raw, "fill", ("down",))
        fill_down = self.names(fill, "[fill] down")
        skip = self.table(raw, "skip", tuple(SKIP_KINDS))
        skip_markers = {SKIP_KINDS[key]: tuple("".join(m.split()) for m in
                                               self.names(skip, "[skip] " + key, key))
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


def check_encoding(encoding: str | None, where: str | Said) -> None:
    import codecs

    try:
        codecs.lookup(encoding or "utf-8")
    except LookupError:
        raise Refused("{where}：未知的编码 {encoding!r}", where=where,
                      encoding=encoding) from None
