"""A row's cells read as the mapping says (into a :class:`ledger.importer.row.Row`); pure: no
store, no clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from domain.base import EARLIEST_DAY, LATEST_DAY, Refused, check_day, local_date
from domain.task_fields import parse_source
from ledger.importer.dates import strptime
from ledger.importer.mapping import (FIELDS, RELATIVE_DEADLINE, TEMPLATE_FIELD,
                                     TIME_DIRECTIVES, Mapping, Spec)
from ledger.importer.row import Row, RowError, half_width
from ledger.importer.tables import Table, cell_text
from ledger.workdays import Calendar, UnknownYear, WorkingDays, parse_working_days


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
        for name in [*wanted, *mapping.notes, *mapping.key]:
            if name not in self.index:
                known = ", ".join(h for h in table.header if h)
                raise Refused("映射文件 {mapping}：列 {column!r} 不在 {table} 的表头中（表头有：{known}）",
                              mapping=mapping.name, column=name, table=table.name,
                              known=known)
        repeated = sorted({n for n in wanted if table.header.count(n) > 1})
        if repeated:
            raise Refused("{table}：列 {column!r} 在表头中出现两次，映射文件无法判断读哪一列",
                          table=table.name, column=repeated[0])
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
        if self.mapping.key:
            self._raw, self._memo = raw, {}
            return self.named_key()
        if "id" not in self.mapping.columns:
            return f"{self.table.digest}\n{number}"
        self._raw, self._memo = raw, {}
        external_id = self.optional_text("id")
        return f"{self.mapping.source}\n{external_id}" if external_id else None

    def names(self, raw: list[Any], new: Callable[[str, str], bool]
              ) -> tuple[str, str, datetime | None, tuple[str, datetime] | None]:
        """What a row names and when, read cheaply: its unit, category, assignment, and a
        reassignment's target and moment (a RowError where one of these is bad). The
        dates are read only where ``new(unit, category)`` or a reassignment asks."""
        self._raw, self._filled, self._memo = raw, [], {}
        unit, category = self.text("unit"), self._mapped("category", self.text("category"))
        target = None
        if "reassign" in self.mapping.statuses.values() and self.status()[1] == "reassign":
            name = "closed" if self.optional_text("closed") else "status_date"
            target = (self.text("reassign_to") if "reassign_to" in self.mapping.columns
                      else self.mapping.reassign_to or "", self.moment(name))
        elif not new(unit, category):
            return unit, category, None, None
        return unit, category, self.moment("assigned"), target

    def read(self, number: int, raw: list[Any]) -> Row:
        width = len(self.table.header)
        if len(raw) > width and any(cell_text(c) for c in raw[width:]):
            extra = [cell_text(c) for c in raw[width:] if cell_text(c)]
            raise RowError("该行有 {values} 个值，表头只有 {width} 列（超出表头的：{extra}）",
                           column="", value=extra[0], kind="bad row", values=len(raw),
                           width=width, extra=", ".join(map(repr, extra[:3])))
        self._raw, self._filled, self._memo = raw, [], {}
        mapping = self.mapping
        external_id = self.text("id") if "id" in mapping.columns else None
        key = (f"{mapping.source}\n{external_id}" if external_id is not None
               else self.named_key() if mapping.key else f"{self.table.digest}\n{number}")
        if key is None:
            raise RowError("键列（{key}）全为空，无法确定这一行对应哪条记录",
                           column=mapping.key[0], value="", kind="empty key",
                           key=", ".join(mapping.key))
        category = self._mapped("category", self.text("category"))
        assigned = self.moment("assigned")
        deadline, deadline_rule = self.deadline(assigned, category)
        status, action = self.status()
        acted_at = None
        closed_value = self.optional_text("closed")
        acted_column = self.label("closed") if "closed" in mapping.columns else \
            self.label("status_date") if "status_date" in mapping.columns else \
            self.label("status")
        reported_at = None
        if action in ("open", "rework"):
            if closed_value:
                raise RowError("{column} 为 {value!r}，但 {status_column} {status!r} 对应的是 {action}",
                               column=self.label("closed"), value=closed_value,
                               kind="inconsistent status", status_column=self.label("status"),
                               status=status, action=action)
            if action == "open" and self.optional_text("rectification") and \
                    self.optional_text("status_date"):
                try:
                    reported_at = self.moment("status_date")
                except RowError:
                    reported_at = None  # a first import never read it; an update says so
        if action == "rework":  # a failed re-inspection: dated by status_date only
            acted_column = self.label("status_date")
        if action != "open":
            if closed_value and action != "rework":
                acted_at = self.moment("closed")
            elif self.optional_text("status_date"):
                acted_column = self.label("status_date")
                acted_at = self.moment("status_date")
            if acted_at is None:
                raise RowError("{status_column} {status!r}（{action}）需要发生日期，但 {column} 为空",
                               column=acted_column, value="", kind="missing date",
                               status_column=self.label("status"), status=status,
                               action=action)
            if acted_at < assigned:
                raise RowError("{column} {at} 早于 {assigned_column} {assigned}",
                               column=acted_column, value=self.cell_of(acted_column),
                               kind="date out of order", at=format(acted_at, "%Y-%m-%d %H:%M"),
                               assigned_column=self.label("assigned"),
                               assigned=format(assigned, "%Y-%m-%d %H:%M"))
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
            deadline_rule=deadline_rule, action=action, status=status, acted_at=acted_at, acted_column=acted_column,
            reassign_to=reassign_to,
            rectification=self.optional_text("rectification"),
            reinspection=self.optional_text("reinspection"), note=notes,
            filled=self._filled, labels=self.labels, reported_at=reported_at, **self.place())

    def named_key(self) -> str | None:
        """The row's identity by the mapping's [file] key columns (None when all are
        empty): the same values give the same task, whatever the row's place in the file."""
        values = [" ".join(half_width(self._cell(c)).split()) for c in self.mapping.key]
        return f"{self.mapping.source}\n" + "\x1f".join(values) if any(values) else None

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

    def cell_of(self, column: str) -> str:
        """The text of the current row's cell in ``column`` ("" for a [defaults] label)."""
        return self._cell(column) if column in self.index else ""

    def cell(self, row: Row, column: str) -> str:
        """The text of ``row``'s cell in ``column``."""
        position = self.index.get(column, len(row.cells))
        return cell_text(row.cells[position]) if position < len(row.cells) else ""

    def place(self) -> dict[str, float | None]:
        """The row's latitude and longitude (both or neither), checked."""
        found: dict[str, float | None] = {}
        for name, bound in (("latitude", 90), ("longitude", 180)):
            text = self.optional_text(name)
            if not text:
                found[name] = None
                continue
            try:
                value = float(half_width(text))
            except ValueError:
                value = float("nan")
            if not -bound <= value <= bound:
                raise RowError("{column} {value!r} 不是有效的{name}（应为 -{bound} 到 {bound} 之间的度数）",
                               column=self.label(name), value=text, kind="bad " + name,
                               name=name, bound=bound)
            found[name] = value
        if (found["latitude"] is None) != (found["longitude"] is None):
            given, empty = ("latitude", "longitude") if found["latitude"] is not None \
                else ("longitude", "latitude")
            raise RowError("{column} 为空，但 {given_column} 为 {given!r}：位置需要经纬度两者",
                           column=self.label(empty), value="", kind="empty " + empty,
                           given_column=self.label(given), given=self.optional_text(given))
        return found

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
        raise RowError("{column} 为空", column=self.label(name), value="", kind="empty " + name)

    def _mapped(self, name: str, value: str) -> str:
        return self.mapping.values.get(name, {}).get(value, value)

    def _source(self) -> str:
        value = self._mapped("source", self.text("source"))
        try:
            return parse_source(value)
        except Refused as e:
            raise RowError("{column} {value!r}：{reason}", column=self.label("source"),
                           value=value, kind="unknown source", reason=e) from None

    def status(self) -> tuple[str, str]:
        if "status" not in self.mapping.columns:
            return ("", "verified" if self.optional_text("closed") else "open")
        status = self.optional_text("status")
        action = self.mapping.statuses.get(status)
        if action is None:
            kind = "unknown status" if status else "empty status"
            raise RowError("{column} {value!r} 不在映射文件的 [status] 表中（{known}）",
                           column=self.label("status"), value=status, kind=kind,
                           known=", ".join(repr(s) for s in self.mapping.statuses))
        return status, action

    def _parse(self, name: str) -> tuple[datetime | date, str]:
        """A date field's value: a datetime (aware) or a date (a day, no time)."""
        spec = self.mapping.columns[name]
        text = self.optional_text(name)
        written, text = text, half_width(text)
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
            raise RowError("{column} {value!r} 不是日期（{formats}）", column=spec.label,
                           value=written, kind="malformed date", formats=formats) from None
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=self.file_zone)), text

    def _in_range(self, name: str, value: datetime | date) -> datetime | date:
        try:
            return check_day(self.label(name), value)
        except Refused:
            text = self.optional_text(name)
            raise RowError("{column} {value!r} 超出台账接受的日期范围（{earliest} 至 {latest}）",
                           column=self.label(name), value=text, kind="date out of range",
                           earliest=EARLIEST_DAY, latest=LATEST_DAY) from None

    def moment(self, name: str) -> datetime:
        if name not in self.mapping.columns:
            raise RowError("没有哪一列给出 {name}", column=self.label(name), value="",
                           kind="empty " + name, name=name)
        if not self.optional_text(name):
            raise RowError("{column} 为空", column=self.label(name), value="",
                           kind="empty " + name)
        value = self._in_range(name, self._parse(name)[0])
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
                raise RowError("{reason}", column=column, value=text,
                               kind="malformed deadline", reason=e) from None
            if working is not None:
                return self._working(assigned, working, column, text)
            relative = RELATIVE_DEADLINE.match(half_width(text))
            if relative:
                return local_date(assigned, self.zone) + timedelta(days=int(relative[1])), None
            value = self._in_range("deadline", self._parse("deadline")[0])
            day = value.astimezone(self.zone).date() if isinstance(value, datetime) else value
            if day < local_date(assigned, self.zone):
                raise RowError("{column} {day} 早于 {assigned_column} {assigned}",
                               column=column, value=text, kind="deadline before assignment",
                               day=day.isoformat(), assigned_column=self.label("assigned"),
                               assigned=local_date(assigned, self.zone).isoformat())
            return day, None
        if self.mapping.deadline_missing == "reject":
            raise RowError("{column} 为空", column=column, value="", kind="empty deadline")
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
            raise RowError("{reason}", column=column, value=text,
                           kind="unknown calendar year", reason=e) from None
