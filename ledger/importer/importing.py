"""The import itself: rows built into tasks, batch by batch, and saved."""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any

from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import get_topic

from domain.base import Actor, Refused
from domain.registry import Campaign, Unit
from domain.roles import authorize
from domain.task import Task
from i18n import N_
from ledger.app import Ledger
from ledger.importer.batch import ID_PREFIX, _Batch, _Known, task_id_for
from ledger.importer.mapping import Mapping
from ledger.importer.report import ImportReport, Reject
from ledger.importer.row import Row, RowError, in_english
from ledger.importer.rows import RowReader
from ledger.importer.tables import Table, _blank
from ledger.importer.units import UnitBook
from ledger.importer.update import Updater, check_unique_keys, progressed
from ledger.unit_of_work import Conflict, UnitOfWork

class Importer:
    """Imports one table into the ledger as the mapping says, acting as ``actor_id``."""

    SCAN_PAGE = 5000

    def __init__(self, ledger: Ledger, *, actor_id: str | None, mapping: Mapping,
                 table: Table, batch_size: int = 1000, update: bool = False) -> None:
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
        self.book = UnitBook()
        self.seen: dict[str, int] = {}
        # When each unit and category the file names first appears in it (valid time):
        # what the import registers is registered as of then, so its months rank.
        self.first_seen: dict[str, datetime] = {}
        self.first_category: dict[str, datetime] = {}
        self._refresh()
        # --update: rows whose tasks the ledger holds are compared with them (update.py).
        self.updater: Updater | None = Updater(self) if update else None
        self.parent: str | None = None
        if mapping.unit_parent is not None:
            try:
                self.parent = self.book.find(mapping.unit_parent, "[units] parent", {})
            except RowError as e:
                raise Refused("映射文件 {mapping}：{reason}", mapping=mapping.name,
                              reason=e) from None

    def run(self, *, dry_run: bool = False, strict: bool = False,
            progress: Callable[[int], None] | None = None) -> ImportReport:
        """Import every row; a dry run, or a strict run that meets a bad row, writes
        nothing. ``progress`` is told how many rows each batch took. Returns the report."""
        self.progress = progress
        report = ImportReport(self.table.name, self.table.digest, self.mapping.name,
                              self.mapping.source, dry_run=dry_run, strict=strict)
        save_each = not (dry_run or strict)
        if self.mapping.key:
            check_unique_keys(self)
        if "register" in (self.mapping.unknown_units, self.mapping.unknown_categories):
            self._first_seen()
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
        report.skipped = Counter(self.table.skipped)
        if self.updater is not None:
            self.updater.missing()
        report.written = (not dry_run and not (strict and report.rejects)
                          and bool(report.events or report.units_registered
                                   or report.categories_added))
        return report

    def _first_seen(self) -> None:
        """A pass over the rows not yet imported: the earliest valid time at which each
        unit and category appears (a reassignment's target at its reassignment)."""
        known: dict[str, bool] = {}  # a unit's name or code → whether the ledger has it
        categories = set(self.campaign.categories)

        def new(unit: str, category: str) -> bool:
            if unit not in known:
                try:
                    known[unit] = bool(self.book.find(unit, "", {}))
                except RowError:
                    known[unit] = False
            return not known[unit] or category not in categories

        for number, cells in self.table.rows():
            if _blank(cells):
                continue
            if self.imported:
                key = self.reader.key(number, cells)
                if key is not None and task_id_for(key) in self.imported:
                    continue
            try:
                unit, category, assigned, target = self.reader.names(
                    cells, lambda u, c: new(self._unit_value(u), c))
            except RowError:
                continue  # the full read rejects it
            if assigned is None:
                continue  # names only units and categories the ledger has
            named = [(self.first_seen, self._unit_value(unit), assigned),
                     (self.first_category, category, assigned)]
            if target is not None:
                named.append((self.first_seen, self._unit_value(target[0]), target[1]))
            for earliest, name, moment in named:
                if name not in earliest or moment < earliest[name]:
                    earliest[name] = moment

    def _unit_value(self, value: str) -> str:
        return self.mapping.values.get("unit", {}).get(value, value)

    # --- batches ---

    def _batch(self, rows: list[tuple[int, list[Any]]], report: ImportReport,
               save: bool) -> _Batch:
        read: list[Row | Reject | _Known] = []
        for number, cells in rows:
            # A row imported before is known by its identity alone: no need to read it all.
            key = self.reader.key(number, cells)
            if key is not None and task_id_for(key) in self.imported and not self.updater:
                read.append(_Known(number, key, cells))
                continue
            try:
                read.append(self.reader.read(number, cells))
            except RowError as e:
                read.append(Reject.of(number, e, cells, self.table.filled.get(number)))
        def build(work: UnitOfWork) -> _Batch:
            batch = self._build(read)
            if save:
                work.save(self.campaign, *batch.units.values(), *batch.tasks,
                          *batch.changed)
            return batch
        # Someone wrote meanwhile (perhaps these very rows): look again, build again.
        batch = self.ledger.write(build, on_conflict=self._refresh,
                                  gives_up=N_("其他人一直在写入同样的记录；已保存的批次保留，"
                                              "再次运行导入即可继续"))
        self._merge(batch, report)
        if self.progress:
            self.progress(len(rows))
        return batch

    def _save_all(self, held: list[_Batch]) -> None:
        """A strict run's batches, all in one transaction: all rows or none."""
        units = [u for batch in held for u in batch.units.values()]
        tasks = [t for batch in held for t in (*batch.tasks, *batch.changed)]
        try:
            self.ledger.save(self.campaign, *units, *tasks)
        except IntegrityError:
            raise Conflict("导入期间有其他人写入了账本；未写入任何内容，请再运行一次") from None

    def _merge(self, batch: _Batch, report: ImportReport) -> None:
        report.tasks_created += len(batch.tasks)
        report.events += batch.events
        report.already_imported += batch.already
        report.rejects.extend(batch.rejects)
        report.units_registered.extend(batch.units)
        for code, unit in batch.units.items():
            report.unit_names[code] = (f"{unit.name} ({unit.kind}"
                                       + (f" under {unit.parent})" if unit.parent else ")"))
        report.categories_added.extend(batch.categories)
        report.filled.update(batch.filled)
        report.statuses.update(batch.statuses)
        self.seen.update(batch.keys)
        if self.updater is not None:
            self.updater.merged(batch)
        for code, unit in batch.units.items():
            self.book.know(code, unit)

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
                batch.rejects.append(Reject.of(row.number, e, row.cells,
                                               self.table.filled.get(row.number)))
        return batch

    def _known(self, row: _Known, batch: _Batch) -> None:
        self._check_first(row.key, row.number, batch)
        batch.already += 1
        batch.keys[row.key] = row.number

    def _check_first(self, key: str, number: int, batch: _Batch) -> None:
        first = batch.keys.get(key, self.seen.get(key))
        if first is not None:
            external_id = key.split("\n", 1)[1]
            column = self.reader.labels["id"]
            raise RowError("{column} {value!r} 与第 {first} 行重复", column=column,
                           value=external_id, kind="repeated id", first=first)

    def _build_row(self, row: Row, batch: _Batch, categories: set[str],
                   now: datetime) -> None:
        self._check_first(row.key, row.number, batch)
        task_id = task_id_for(row.key)
        if task_id in self.imported and self.updater is not None:
            self.updater.build(row, task_id, batch, now)
            return
        if task_id in self.imported:
            batch.already += 1
            batch.keys[row.key] = row.number
            return
        for column, moment in ((row.labels["assigned"], row.assigned),
                               (row.acted_column, row.acted_at)):
            if moment is not None and moment > now:
                raise RowError("{column} {at} 是将来的时间", column=column,
                               value=self.reader.cell(row, column), kind="date in the future",
                               at=format(moment, "%Y-%m-%d %H:%M"))
        pending = batch.units  # the batch's new units (and this row's, for its target)
        unit, new_unit = self._resolve_unit(row.unit, row.labels["unit"], pending,
                                            row.assigned)
        if new_unit is not None:
            pending = {**pending, new_unit.code: new_unit}
        new_category = row.category not in categories
        if new_category and self.mapping.unknown_categories == "refuse":
            raise RowError("{column} {value!r} 不是本次专项行动的问题类别之一（映射文件规定拒收未知类别）",
                           column=row.labels["category"], value=row.category,
                           kind="unknown category")
        origin = {"source": self.mapping.source, "file": self.table.digest,
                  "name": self.table.name, "row": row.number, "id": row.external_id}
        if self.table.sheet:
            origin["sheet"] = self.table.sheet
        came = self.table.filled.get(row.number)
        if came:  # values not in their own cell: a merged cell's, or filled down
            origin["filled"] = came
        where = f"{self.table.name} row {row.number}"
        try:
            task = Task.assign(
                task_id=task_id, unit=unit, category=row.category, source=row.source,
                location=row.location, description=row.description, deadline=row.deadline,
                actor=self.actor, occurred_at=row.assigned, zone=self.campaign.zone, now=now,
                note=row.note, origin=origin, latitude=row.latitude,
                longitude=row.longitude, deadline_rule=row.deadline_rule)
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
                    if "reassign_to" in self.mapping.columns else "[reassign] to", pending,
                    row.acted_at)  # type: ignore[arg-type]
                task.reassign(unit=target, reason=self._reason(row, where), actor=self.actor,
                              occurred_at=row.acted_at, now=now)  # type: ignore[arg-type]
            elif row.action in ("open", "rework"):
                progressed(task, row, where, self.actor, now)
            else:
                task.close(closure=row.action, reason=self._reason(row, where),
                           actor=self.actor, now=now,
                           occurred_at=row.acted_at)  # type: ignore[arg-type]
        except Refused as e:
            raise self._refusal(row, e, "closed") from None
        if new_category:
            try:
                self.campaign.add_category(
                    row.category, actor=self.actor,
                    occurred_at=self.first_category.get(row.category, row.assigned))
            except Refused as e:
                raise RowError("{reason}", column=row.labels["category"], value=row.category,
                               kind="refused by the ledger", reason=e) from None
            categories.add(row.category)
            batch.categories.append(row.category)
        for new in (new_unit, new_target):
            if new is not None:
                batch.units[new.code] = new
        batch.tasks.append(task)
        batch.keys[row.key] = row.number
        batch.events += len(task.log)
        batch.filled.update(row.filled)
        for column, how in (came or {}).items():
            batch.filled[f"{column}: from a merged cell" if how.startswith("from merged")
                         else f"{column}: filled down"] += 1
        batch.statuses[f"{row.status or '(no status)'} → {row.action}"] += 1

    def _reason(self, row: Row, where: str) -> str:
        said = f"{row.labels['status']} {row.status}" if row.status else \
            f"{row.labels['closed']} {row.acted_at:%Y-%m-%d}"
        return f"imported: {where} ({said})"

    def _refusal(self, row: Row, error: Refused, step: str) -> RowError:
        """A domain refusal, put on the column it is about."""
        message = in_english(error)  # the domain's refusals are known by their English
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
            column = row.acted_column
        value = self.reader.cell(row, column)
        return RowError("{column} {value!r}：{reason}", column=column, value=value,
                        kind="refused by the ledger", reason=error)

    # --- units ---

    def _resolve_unit(self, value: str, column: str, pending: dict[str, Unit],
                      at: datetime) -> tuple[str, Unit | None]:
        """A unit named by name or code (or through [values.unit]); an unknown one is
        registered (returned, to save with the row) or refused as the mapping says."""
        value = self._unit_value(value)
        refusing = self.mapping.unknown_units == "refuse"
        try:
            return self.book.find(value, column, pending, refusing), None
        except RowError as e:
            if refusing or e.kind != "unknown unit":
                raise
        code = self.book.new_code(value, column, pending)
        kind = self.mapping.kind_for(value)
        parent = self.book.units[self.parent] if self.parent is not None else None
        try:
            unit = Unit.register(code=code, name=value, kind=kind, parent=parent,
                                 actor=self.actor, occurred_at=self.first_seen.get(value, at))
        except Refused as e:
            raise RowError("{column} {value!r}：{reason}", column=column, value=value,
                           kind="refused by the ledger", reason=e) from None
        return code, unit

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
            self.book.know(code, self.ledger.unit(code))
        # A copy: the ledger may cache the campaign, and a dry run changes it unsaved.
        self.campaign = copy.deepcopy(self.ledger.campaign())
