"""Re-importing an office's updated 台账 (``import --update``): what changed in a row whose
task the ledger holds becomes events; what contradicts the ledger becomes a conflict.

The ledger is the system of record. Each row is compared with its task as it is now and
proves, in lifecycle order and at the dates the row gives, entered by the importing
administrator with a reason naming the file and the row:

- a later deadline (整改时限) → an extension, dated with the row's first new step (the
  import itself where the row dates none);
- a rectification (整改情况) dated by ``status_date``, not yet re-inspected → the report;
- a failed re-inspection (a status mapped to ``rework``, dated by ``status_date``) → the
  report where none is pending, and the failure (返工);
- a closure (``verified``, ``void`` …, at the closing date) → as a first import enters it;
- a reassignment (``reassign``) to a unit that does not hold the task → the reassignment;
- a category, location or description unlike the task's → a correction of the Assigned
  event (``domain/corrections.py``), as of the import.

A row that contradicts the ledger is not applied at all and is listed with both values: the
file says open, failed or closed otherwise where the ledger has the task closed or passed;
a new step dated before the ledger's last event; a unit that is not the task's; a deadline
earlier than the ledger's; another assignment time. Every step is appended only where the
task is not there yet, so the same update run twice appends nothing the second time. Rows
of the source missing from the file are listed, never closed.
"""

from __future__ import annotations

import copy
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from eventsourcing.utils import get_topic

from domain.base import Refused
from domain.corrections import OWN_EVENTS
from domain.task import Task
from domain.task_states import CLOSED, REPORTED, VERIFIED
from i18n import refusal
from ledger.importer.batch import ID_PREFIX, _Batch, task_id_for
from ledger.importer.row import Row, RowError
from ledger.importer.tables import _blank

if TYPE_CHECKING:
    from ledger.importer.importing import Importer

# The events that move a task along its lifecycle (the rest only record beside it).
STEPS = frozenset({"Assigned", "NoticeIssued", "RectificationReported", "ReinspectionPassed",
                   "ReinspectionFailed", "Closed", "Reopened", "Reassigned"})
DESCRIBED = ("category", "location", "description")


def check_unique_keys(importer: Importer) -> None:
    """Refuse a file in which two rows have the same [file] key: neither could be matched."""
    mapping, reader = importer.mapping, importer.reader
    first: dict[str, int] = {}
    for number, cells in importer.table.rows():
        if _blank(cells):
            continue
        key = reader.key(number, cells)
        if key is None:
            continue  # the row's full read rejects it
        if key in first:
            value = " / ".join(key.split("\n", 1)[1].split("\x1f"))
            raise Refused("[file] key（{key}）{value!r} 在 {table} 中不唯一：第 {first} 行和第 "
                          "{row} 行；请在 key 中加入更多列",
                          key=", ".join(mapping.key), value=value, table=importer.table.name,
                          first=first[key], row=number)
        first[key] = number


@dataclass
class Compared:
    """One row compared with its task: the events it appended (or, in a dry run, would
    append) and what it contradicts."""

    row: int
    task: str
    events: list[dict[str, str]] = field(default_factory=list)
    conflicts: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "task": self.task, "events": self.events,
                "conflicts": self.conflicts}


@dataclass
class UpdateReport:
    """What an update found: rows unchanged, updated (events by kind), conflicting; and
    the tasks of the source that the file no longer has."""

    unchanged: int = 0
    events: Counter[str] = field(default_factory=Counter)
    rows: list[Compared] = field(default_factory=list)  # rows updated or conflicting
    missing: list[dict[str, Any]] = field(default_factory=list)

    @property
    def updated(self) -> int:
        return sum(1 for r in self.rows if r.events)

    @property
    def conflicting(self) -> int:
        return sum(1 for r in self.rows if r.conflicts)

    def as_dict(self) -> dict[str, Any]:
        return {"rows_unchanged": self.unchanged, "rows_updated": self.updated,
                "events_by_kind": dict(sorted(self.events.items())),
                "rows_conflicting": self.conflicting,
                "rows": [r.as_dict() for r in self.rows],
                "missing_from_file": self.missing}


class Updater:
    """Compares the importer's rows of tasks it holds with the ledger, and plans or makes
    the events they prove."""

    def __init__(self, importer: Importer) -> None:
        mapping = importer.mapping
        if "id" not in mapping.columns and not mapping.key:
            raise Refused("--update：映射文件 {mapping} 既没有 [columns] id，也没有 [file] "
                          "key，修改后文件中的行无法与其任务对应（见 README：选择键）",
                          mapping=mapping.name)
        self.importer = importer
        self.report = UpdateReport()
        # What the step being entered is about (column, file's value, ledger's value): a
        # refusal by the ledger's own checks is a conflict over it.
        self._doing: tuple[str, str, str] = ("", "", "")

    # --- one row ---

    def build(self, row: Row, task_id: str, batch: _Batch, now: datetime) -> None:
        """Compare ``row`` with its task; what it proves goes into ``batch``."""
        imp = self.importer
        for column, moment in ((row.acted_column, row.acted_at),
                               (row.labels["status_date"], row.reported_at)):
            if moment is not None and moment > now:
                raise RowError("{column} {at} 是将来的时间", column=column,
                               value=imp.reader.cell(row, column), kind="date in the future",
                               at=format(moment, "%Y-%m-%d %H:%M"))
        # A copy: the ledger's cached aggregate must not hold what a dry run only plans.
        task = copy.deepcopy(imp.ledger.task(task_id))
        compared = Compared(row.number, task_id)
        conflicts = self._conflicts(row, task)
        if conflicts:
            compared.conflicts = conflicts
        else:
            start = len(task.log)
            try:
                self._apply(row, task, now)
            except Refused as e:  # what the ledger's own checks refuse: not applied
                column, file, ledger = self._doing
                compared.conflicts = [{"column": column, "file": file, "ledger": ledger,
                                       "reason": refusal(e)}]
            else:
                zone = imp.campaign.zone
                compared.events = [{"event": name, "at": moment.astimezone(zone).isoformat()}
                                   for name, moment, _ in task.log[start:]]
        batch.keys[row.key] = row.number
        batch.compared.append(compared)
        if compared.events:
            batch.changed.append(task)
            batch.events += len(compared.events)

    def merged(self, batch: _Batch) -> None:
        """A batch's comparisons, once it is saved (or, in a dry run, planned)."""
        for compared in batch.compared:
            if compared.events or compared.conflicts:
                self.report.rows.append(compared)
                self.report.events.update(e["event"] for e in compared.events)
            else:
                self.report.unchanged += 1

    # --- what the row contradicts ---

    def _conflicts(self, row: Row, task: Task) -> list[dict[str, str]]:
        imp = self.importer
        zone = imp.campaign.zone
        found: list[dict[str, str]] = []

        def conflict(column: str, file: str, ledger: str, reason: str) -> None:
            found.append({"column": column, "file": file, "ledger": ledger, "reason": reason})

        unit = self._unit(row.unit, row.labels["unit"])
        if row.action == "reassign":
            target = self._unit(row.reassign_to or "", row.labels["reassign_to"])
            if task.unit not in (unit, target):
                conflict(row.labels["unit"], row.unit, task.unit,
                         "the task is held by another unit")
        elif unit != task.unit:
            conflict(row.labels["unit"], row.unit, task.unit,
                     "the task is held by another unit (a reassignment is a status "
                     "meaning reassign)")
        if local(row.assigned, zone) != local(task.assigned_at, zone):
            conflict(row.labels["assigned"], local(row.assigned, zone),
                     local(task.assigned_at, zone),
                     "another assignment time (correct it by hand: taizhang correct)")
        column = row.labels["deadline"]
        if imp.reader.cell(row, column) and row.deadline != task.deadline:
            if row.deadline < task.deadline:
                conflict(column, row.deadline.isoformat(), task.deadline.isoformat(),
                         "earlier than the ledger's deadline, which is only ever extended")
            elif task.state in (VERIFIED, CLOSED):
                conflict(column, row.deadline.isoformat(), task.deadline.isoformat(),
                         f"the task is {task.state}: its deadline is no longer extended")
        state, said = task.state, self._said(row)
        if state == CLOSED:
            closed_at = last_of(task, "Closed")
            if row.action != task.closure:
                conflict(said[0], said[1], f"closed ({task.closure}) on "
                         f"{local(closed_at, zone)[:10]}", "the ledger has the task closed")
            elif local(row.acted_at, zone)[:10] != local(closed_at, zone)[:10]:
                conflict(row.acted_column, local(row.acted_at, zone)[:10],
                         local(closed_at, zone)[:10], "another closing date")
        elif state == VERIFIED and row.action in ("rework", "reassign"):
            conflict(said[0], said[1], f"re-inspection passed on "
                     f"{local(last_of(task, 'ReinspectionPassed'), zone)[:10]}",
                     "the ledger has the rectification passed")
        elif state != CLOSED:
            moment = self._first_new(row, task)
            if moment is not None and moment < task.last_occurred_at:
                conflict(row.acted_column if row.acted_at else row.labels["status_date"],
                         local(moment, zone), local(task.last_occurred_at, zone),
                         "before the ledger's last event of the task")
        return found

    def _said(self, row: Row) -> tuple[str, str]:
        """The column and value that say the row's status."""
        if row.status:
            return row.labels["status"], row.status
        if row.acted_at is not None:
            return row.acted_column, f"{row.acted_at:%Y-%m-%d}"
        return row.labels["status"], "(open)"

    def _unit(self, value: str, column: str) -> str | None:
        try:
            return self.importer.book.find(self.importer._unit_value(value), column, {})
        except RowError:
            return None  # not a unit of the ledger: not the task's either

    # --- the steps the row proves ---

    def _steps(self, row: Row, task: Task) -> list[str]:
        """The lifecycle steps the row proves and the task has not taken, in order."""
        state, action = task.state, row.action
        if state == CLOSED:
            return []
        if action in ("verified", "void", "duplicate", "not_responsible"):
            return ["close"]
        if action == "reassign":
            target = self._unit(row.reassign_to or "", row.labels["reassign_to"])
            return [] if target == task.unit else ["reassign"]
        rework = last_step(task) == "ReinspectionFailed"
        if action == "rework":
            if state == REPORTED:
                return ["fail"]
            if rework and row.acted_at <= last_of(task, "ReinspectionFailed"):
                return []  # this very failure is in the ledger
            return ["report", "fail"] if state != VERIFIED else []
        if row.reported_at is not None and state not in (REPORTED, VERIFIED):
            if not rework or row.reported_at > last_of(task, "ReinspectionFailed"):
                return ["report"]
        return []

    def _first_new(self, row: Row, task: Task) -> datetime | None:
        steps = self._steps(row, task)
        if not steps:
            return None
        return row.reported_at if steps == ["report"] else row.acted_at

    def _apply(self, row: Row, task: Task, now: datetime) -> None:
        imp = self.importer
        actor, zone = imp.actor, imp.campaign.zone
        where = f"{imp.table.name} row {row.number}"
        if imp.table.sheet:
            where = f"{imp.table.name} ({imp.table.sheet}) row {row.number}"
        column, value = self._said(row)
        reason = f"updated from {where} ({column} {value})"
        steps = self._steps(row, task)
        first = self._first_new(row, task) or now
        if imp.reader.cell(row, row.labels["deadline"]) and row.deadline > task.deadline:
            self._doing = (row.labels["deadline"], row.deadline.isoformat(),
                           task.deadline.isoformat())
            task.extend_deadline(deadline=row.deadline, actor=actor, occurred_at=first,
                                 now=now, reason=f"updated from {where} "
                                 f"({row.labels['deadline']} {row.deadline.isoformat()})")
        self._doing = (column, value, task.state)
        for step in steps:
            if step == "report":
                at = row.reported_at if steps == ["report"] else row.acted_at
                task.report_imported_rectification(
                    description=f"{row.rectification or '(no text)'} ({reason})",
                    actor=actor, occurred_at=at, now=now)  # type: ignore[arg-type]
            elif step == "fail":
                task.reinspect_imported(passed=False, note=f"{row.reinspection or row.status}"
                                        f" ({reason})", actor=actor,
                                        occurred_at=row.acted_at, now=now)  # type: ignore[arg-type]
            elif step == "reassign":
                target = imp.book.find(imp._unit_value(row.reassign_to or ""),
                                       row.labels["reassign_to"], {})
                imp.ledger.unit(target).check_active()
                task.reassign(unit=target, reason=reason, actor=actor,
                              occurred_at=row.acted_at, now=now)  # type: ignore[arg-type]
            elif row.action == "verified":
                task.close_imported_as_verified(
                    rectification=f"{row.rectification or '(no text)'} ({reason})",
                    reinspection=f"{row.reinspection or row.status or '(no text)'} ({reason})",
                    reason=reason, actor=actor, occurred_at=row.acted_at,  # type: ignore[arg-type]
                    now=now)
            else:
                task.close(closure=row.action, reason=reason, actor=actor,
                           occurred_at=row.acted_at, now=now)  # type: ignore[arg-type]
        changes = {name: getattr(row, name) for name in DESCRIBED
                   if getattr(row, name) != getattr(task, name)}
        if changes:
            name, new = next(iter(changes.items()))
            self._doing = (row.labels[name], new, getattr(task, name))
            said = ", ".join(f"{row.labels[n]} {v!r}" for n, v in changes.items())
            task.correct(corrects=1, changes=changes, reason=f"updated from {where} ({said})",
                         actor=actor, occurred_at=now, now=now, zone=zone,
                         categories=list(imp.campaign.categories))

    # --- after the last row ---

    def missing(self) -> list[dict[str, Any]]:
        """The tasks imported from this source whose rows the file no longer has."""
        imp = self.importer
        present = {task_id_for(key) for key in imp.seen}
        recorder = imp.ledger.recorder
        topic = [get_topic(Task.Assigned)]
        found: list[dict[str, Any]] = []
        after = 0
        while True:
            page = recorder.select_notifications(after + 1, imp.SCAN_PAGE, topics=topic)
            for notification in page:
                task_id = notification.originator_id
                if not task_id.startswith(ID_PREFIX) or task_id in present:
                    continue
                event = imp.ledger.mapper.to_domain_event(notification)
                origin = event.origin or {}
                if origin.get("source") != imp.mapping.source:
                    continue
                found.append({"task": task_id, "file": origin.get("name"),
                              "row": origin.get("row"), "id": origin.get("id")})
            if page:
                after = page[-1].id
            if len(page) < imp.SCAN_PAGE:
                break
        for item in found:
            item["state"] = imp.ledger.task(item["task"]).state
        self.report.missing = found
        return found


def progressed(task: Task, row: Row, where: str, actor: Any, now: datetime) -> None:
    """A new row's steps short of a closure: the rectification it reports (dated by
    status_date), or the failed re-inspection (返工) its status says, with the report."""
    if row.action == "rework":
        reason = f"imported: {where} ({row.labels['status']} {row.status})"
        task.report_imported_rectification(
            description=f"{row.rectification or '(no text)'} ({reason})", actor=actor,
            occurred_at=row.acted_at, now=now)  # type: ignore[arg-type]
        task.reinspect_imported(passed=False, note=f"{row.reinspection or row.status} "
                                f"({reason})", actor=actor, occurred_at=row.acted_at,
                                now=now)  # type: ignore[arg-type]
    elif row.reported_at is not None:
        reason = f"imported: {where} ({row.labels['rectification']})"
        task.report_imported_rectification(
            description=f"{row.rectification} ({reason})", actor=actor,
            occurred_at=row.reported_at, now=now)


def local(moment: datetime | None, zone: Any) -> str:
    """A moment as the report shows it: local, to the minute."""
    return "" if moment is None else f"{moment.astimezone(zone):%Y-%m-%d %H:%M}"


def last_of(task: Task, name: str) -> datetime:
    """When the task's latest event ``name`` happened (as corrected)."""
    return next(moment for event, moment, _ in reversed(task.log) if event == name)


def last_step(task: Task) -> str:
    """The latest lifecycle step of the task (corrections and records beside it left out)."""
    return next(name for name, _, _ in reversed(task.log)
                if name in STEPS and name not in OWN_EVENTS)


__all__ = ["Compared", "UpdateReport", "Updater", "check_unique_keys", "progressed"]
