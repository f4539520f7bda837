"""A task (任务 / 问题): one line of the 台账, from assignment to closure and beyond.

The lifecycle (see DOMAIN.md)::

    assigned ─acknowledge→ acknowledged ─notice→ rectifying ─report→ reported
    reported ─reinspect pass→ verified ─close→ closed ─reopen→ rectifying
    reported ─reinspect fail→ rectifying (rework)
    any open state ─void/duplicate/not responsible→ closed
    assigned/acknowledged/rectifying/reported ─reassign→ assigned

Every method checks the state, the actor's role and the data before it triggers an event;
a refused command raises :class:`Refused` and changes nothing.
"""

from __future__ import annotations

import re
from datetime import date, datetime, tzinfo
from typing import Any

from domain.base import (
    Actor,
    LedgerAggregate,
    LedgerCreated,
    LedgerEvent,
    Refused,
    check_moment,
    local_date,
    require_aware,
    require_text,
)
from domain.roles import ADMIN, authorize

ASSIGNED = "assigned"
ACKNOWLEDGED = "acknowledged"
RECTIFYING = "rectifying"
REPORTED = "reported"
VERIFIED = "verified"
CLOSED = "closed"
STATES = (ASSIGNED, ACKNOWLEDGED, RECTIFYING, REPORTED, VERIFIED, CLOSED)
STATE_LABELS = {
    ASSIGNED: "已交办", ACKNOWLEDGED: "已签收", RECTIFYING: "整改中", REPORTED: "待复查",
    VERIFIED: "已验收", CLOSED: "已销号",
}

SOURCES = {
    "decomposition": "指标分解",
    "inspection": "巡查发现",
    "complaint": "群众反映",
    "media": "媒体曝光",
    "unannounced": "上级暗访",
}

CLOSURES = {
    "verified": "整改到位",
    "void": "作废",
    "duplicate": "重复",
    "not_responsible": "非责任单位",
}

SHA256 = re.compile(r"^[0-9a-f]{64}$")


def parse_source(value: str) -> str:
    """Accept a source by its code or its Chinese name."""
    for code, label in SOURCES.items():
        if value in (code, label):
            return code
    raise Refused(
        f"source must be one of {', '.join(f'{c} ({l})' for c, l in SOURCES.items())}, "
        f"got {value!r}"
    )


def parse_closure(value: str) -> str:
    for code, label in CLOSURES.items():
        if value in (code, label, code.replace("_", "-")):
            return code
    raise Refused(f"closure must be one of {', '.join(CLOSURES)}, got {value!r}")


def check_evidence(items: list[dict[str, str]]) -> list[dict[str, str]]:
    """Evidence references: a file name, optionally its sha256 and a description."""
    checked = []
    for item in items:
        name = require_text("evidence file", item.get("file"))
        digest = (item.get("sha256") or "").lower()
        if digest and not SHA256.match(digest):
            raise Refused(f"evidence sha256 must be 64 hex digits, got {item.get('sha256')!r}")
        checked.append({"file": name, "sha256": digest,
                        "description": (item.get("description") or "").strip()})
    return checked


def check_origin(origin: dict[str, Any] | None) -> dict[str, Any] | None:
    """An imported task's origin names at least the file (its sha256) and the row."""
    if origin is None:
        return None
    digest = str(origin.get("file") or "").lower()
    if not SHA256.match(digest):
        raise Refused(f"origin file must be a sha256 (64 hex digits), "
                      f"got {origin.get('file')!r}")
    row = origin.get("row")
    if not isinstance(row, int) or isinstance(row, bool) or row < 1:
        raise Refused(f"origin row must be a row number (1 or more), got {row!r}")
    return {**origin, "file": digest}


def check_rule(deadline: date | None, rule: str | None) -> str | None:
    """A deadline's rule ("7个工作日") goes with the date it resolved to, or is absent."""
    if rule is None:
        return None
    if deadline is None:
        raise Refused(f"deadline rule {rule!r} needs the date it resolves to")
    return require_text("deadline rule", rule)


class TaskEvent(LedgerEvent):
    """An event after the assignment; keeps the task's log of what happened when."""

    def apply(self, task: Task) -> None:
        task.log.append([type(self).__name__, self.occurred_at, self.actor])
        task.last_occurred_at = self.occurred_at
        self.change(task)

    def change(self, task: Task) -> None:
        """How this event changes the task (nothing, for events that only record)."""


class Task(LedgerAggregate):
    """One problem or assignment to a responsible unit, and its rectification cycles."""

    class Assigned(LedgerCreated):
        task_id: str
        unit: str
        category: str
        source: str
        location: str
        description: str
        deadline: date
        inspection: str | None
        note: str
        # Where an imported task came from: {source, file (sha256), name, row, id}.
        origin: dict[str, Any] | None = None
        # The deadline as it was given, where that was not a date ("7个工作日"); the
        # deadline field holds the date it resolved to when the event was recorded.
        deadline_rule: str | None = None

        def apply(self, task: Task) -> None:
            task.task_id = self.task_id
            task.unit = self.unit
            task.category = self.category
            task.source = self.source
            task.location = self.location
            task.description = self.description
            task.deadline = self.deadline
            task.deadline_set_by = 1
            task.inspection = self.inspection
            task.state = ASSIGNED
            task.acknowledged = False
            task.notice_no = None
            task.cycle = 1
            task.rework_count = 0
            task.escalations = 0
            task.closure = None
            task.evidence = []
            task.assigned_at = self.occurred_at
            task.last_occurred_at = self.occurred_at
            task.log = [["Assigned", self.occurred_at, self.actor]]

    class Acknowledged(TaskEvent):
        note: str

        def change(self, task: Task) -> None:
            task.acknowledged = True
            if task.state == ASSIGNED:
                task.state = ACKNOWLEDGED

    class NoticeIssued(TaskEvent):
        notice_no: str
        requirements: str
        deadline: date | None
        deadline_rule: str | None = None

        def change(self, task: Task) -> None:
            task.notice_no = self.notice_no
            task.state = RECTIFYING
            if self.deadline is not None:
                task.deadline = self.deadline
                task.deadline_set_by = self.originator_version

    class RectificationReported(TaskEvent):
        description: str
        evidence: list[dict[str, str]]

        def change(self, task: Task) -> None:
            task.state = REPORTED
            task.evidence.extend(self.evidence)

    class ReinspectionPassed(TaskEvent):
        note: str
        evidence: list[dict[str, str]]

        def change(self, task: Task) -> None:
            task.state = VERIFIED
            task.evidence.extend(self.evidence)

    class ReinspectionFailed(TaskEvent):
        reason: str
        evidence: list[dict[str, str]]

        def change(self, task: Task) -> None:
            task.state = RECTIFYING
            task.rework_count += 1
            task.evidence.extend(self.evidence)

    class DeadlineExtended(TaskEvent):
        deadline: date
        previous_deadline: date
        reason: str
        deadline_rule: str | None = None

        def change(self, task: Task) -> None:
            task.deadline = self.deadline
            task.deadline_set_by = self.originator_version

    class Escalated(TaskEvent):
        reason: str

        def change(self, task: Task) -> None:
            task.escalations += 1

    class EvidenceAttached(TaskEvent):
        evidence: list[dict[str, str]]

        def change(self, task: Task) -> None:
            task.evidence.extend(self.evidence)

    class Closed(TaskEvent):
        closure: str
        reason: str

        def change(self, task: Task) -> None:
            task.state = CLOSED
            task.closure = self.closure

    class Reopened(TaskEvent):
        reason: str
        deadline: date
        deadline_rule: str | None = None

        def change(self, task: Task) -> None:
            task.state = RECTIFYING
            task.closure = None
            task.cycle += 1
            task.deadline = self.deadline
            task.deadline_set_by = self.originator_version

    class Reassigned(TaskEvent):
        unit: str
        previous_unit: str
        reason: str

        def change(self, task: Task) -> None:
            task.unit = self.unit
            task.state = ASSIGNED
            task.acknowledged = False

    class Corrected(TaskEvent):
        corrects: int
        reason: str
        changes: dict[str, Any]

        def change(self, task: Task) -> None:
            for field, value in self.changes.items():
                if field == "occurred_at":
                    task.log[self.corrects - 1][1] = datetime.fromisoformat(value)
                elif field == "deadline":
                    task.deadline = date.fromisoformat(value)
                else:
                    setattr(task, field, value)
            if self.corrects == 1 and "occurred_at" in self.changes:
                task.assigned_at = datetime.fromisoformat(self.changes["occurred_at"])

    # --- creation -------------------------------------------------------------------

    @classmethod
    def assign(cls, *, task_id: str, unit: str, category: str, source: str, location: str,
               description: str, deadline: date, actor: Actor, occurred_at: datetime,
               zone: tzinfo, now: datetime, inspection: str | None = None,
               note: str = "", origin: dict[str, Any] | None = None,
               deadline_rule: str | None = None) -> Task:
        """Assign a problem or target to a unit. The unit and category are checked by the
        caller against the registries; here the task's own data is checked. An imported
        task carries its ``origin``: the file's sha256, the row, and the source's own id.
        A deadline given as working days comes as its ``deadline_rule`` with the date the
        caller resolved it to by the holiday calendar."""
        authorize(actor, "assign")
        check_moment(occurred_at, now)
        source = parse_source(source)
        if deadline < local_date(occurred_at, zone):
            raise Refused(
                f"deadline {deadline.isoformat()} is before the assignment on "
                f"{local_date(occurred_at, zone).isoformat()}"
            )
        return cls._create(
            cls.Assigned, id=task_id, task_id=task_id, unit=unit, category=category,
            source=source, location=require_text("location", location),
            description=require_text("description", description), deadline=deadline,
            inspection=inspection, note=note.strip(), origin=check_origin(origin),
            deadline_rule=check_rule(deadline, deadline_rule),
            occurred_at=occurred_at, **actor.stamp(),
        )

    # --- the lifecycle --------------------------------------------------------------

    def acknowledge(self, *, actor: Actor, occurred_at: datetime, now: datetime,
                    note: str = "") -> None:
        """The responsible unit signs for the task (签收)."""
        authorize(actor, "acknowledge", self.unit)
        self._check_when(occurred_at, now)
        if self.acknowledged or self.state not in (ASSIGNED, RECTIFYING):
            raise Refused(f"task {self.id} cannot be acknowledged: it is {self.state}"
                          + (" and already acknowledged" if self.acknowledged else ""))
        self._stamp(self.Acknowledged, actor, occurred_at, note=note.strip())

    def issue_notice(self, *, notice_no: str, requirements: str, actor: Actor,
                     occurred_at: datetime, now: datetime, zone: tzinfo,
                     deadline: date | None = None, deadline_rule: str | None = None) -> None:
        """Issue a numbered rectification notice (整改通知书), optionally with a deadline."""
        authorize(actor, "issue_notice")
        self._check_when(occurred_at, now)
        if self.state not in (ASSIGNED, ACKNOWLEDGED):
            detail = f" (notice {self.notice_no})" if self.notice_no else ""
            raise Refused(f"task {self.id} cannot get a notice: it is {self.state}{detail}")
        if deadline is not None:
            self._check_deadline(deadline, occurred_at, zone)
        self._stamp(self.NoticeIssued, actor, occurred_at,
                    notice_no=require_text("notice number", notice_no),
                    requirements=requirements.strip(), deadline=deadline,
                    deadline_rule=check_rule(deadline, deadline_rule))

    def report_rectification(self, *, description: str, evidence: list[dict[str, str]],
                             actor: Actor, occurred_at: datetime, now: datetime) -> None:
        """The unit reports that it has rectified the problem, with its evidence."""
        authorize(actor, "report_rectification", self.unit)
        self._check_when(occurred_at, now)
        if self.state != RECTIFYING:
            raise Refused(f"task {self.id} cannot be reported as rectified: it is {self.state}"
                          + (" (no rectification notice yet)"
                             if self.state in (ASSIGNED, ACKNOWLEDGED) else ""))
        self._stamp(self.RectificationReported, actor, occurred_at,
                    description=require_text("rectification description", description),
                    evidence=check_evidence(evidence))

    def reinspect(self, *, passed: bool, note: str, evidence: list[dict[str, str]],
                  actor: Actor, occurred_at: datetime, now: datetime) -> None:
        """Re-inspect (复查) a reported rectification: it passes (整改到位) or fails (返工)."""
        authorize(actor, "reinspect")
        self._check_when(occurred_at, now)
        if self.state != REPORTED:
            raise Refused(f"task {self.id} cannot be re-inspected: it is {self.state}, "
                          "and only a reported rectification is re-inspected")
        if passed:
            self._stamp(self.ReinspectionPassed, actor, occurred_at, note=note.strip(),
                        evidence=check_evidence(evidence))
        else:
            self._stamp(self.ReinspectionFailed, actor, occurred_at,
                        reason=require_text("reason for failing", note),
                        evidence=check_evidence(evidence))

    def extend_deadline(self, *, deadline: date, reason: str, actor: Actor,
                        occurred_at: datetime, now: datetime,
                        deadline_rule: str | None = None) -> None:
        """Move the current cycle's deadline later; the approver is the actor."""
        authorize(actor, "extend_deadline")
        self._check_when(occurred_at, now)
        if self.state in (VERIFIED, CLOSED):
            raise Refused(f"task {self.id} cannot be extended: it is {self.state}")
        if deadline <= self.deadline:
            raise Refused(f"new deadline {deadline.isoformat()} is not after the current "
                          f"deadline {self.deadline.isoformat()}")
        self._stamp(self.DeadlineExtended, actor, occurred_at, deadline=deadline,
                    previous_deadline=self.deadline, reason=require_text("reason", reason),
                    deadline_rule=check_rule(deadline, deadline_rule))

    def escalate(self, *, reason: str, actor: Actor, occurred_at: datetime,
                 now: datetime) -> None:
        """Put the task under supervision (督办), e.g. overdue or named in a bulletin."""
        authorize(actor, "escalate")
        self._check_when(occurred_at, now)
        self._check_open("escalated")
        self._stamp(self.Escalated, actor, occurred_at, reason=require_text("reason", reason))

    def attach_evidence(self, *, evidence: list[dict[str, str]], actor: Actor,
                        occurred_at: datetime, now: datetime) -> None:
        """Attach evidence (photos, documents) to an open task."""
        authorize(actor, "attach_evidence", self.unit)
        self._check_when(occurred_at, now)
        self._check_open("given evidence")
        if not evidence:
            raise Refused("evidence must name at least one file")
        self._stamp(self.EvidenceAttached, actor, occurred_at,
                    evidence=check_evidence(evidence))

    def close(self, *, closure: str, reason: str, actor: Actor, occurred_at: datetime,
              now: datetime) -> None:
        """Close the task (销号): as verified after a passed re-inspection, or as void,
        duplicate or not the unit's responsibility from any open state."""
        closure = parse_closure(closure)
        if closure == "verified":
            authorize(actor, "close_verified")
        else:
            authorize(actor, "close_other")
        self._check_when(occurred_at, now)
        self._check_open("closed")
        if closure == "verified" and self.state != VERIFIED:
            raise Refused(f"task {self.id} cannot be closed as verified: it is {self.state} "
                          "and has no passed re-inspection")
        self._stamp(self.Closed, actor, occurred_at, closure=closure,
                    reason=require_text("reason", reason))

    def reopen(self, *, reason: str, deadline: date, actor: Actor, occurred_at: datetime,
               now: datetime, zone: tzinfo, deadline_rule: str | None = None) -> None:
        """The problem is back (反弹): a new rectification cycle with its own deadline."""
        authorize(actor, "reopen")
        self._check_when(occurred_at, now)
        if self.state != CLOSED:
            raise Refused(f"task {self.id} cannot be reopened: it is {self.state}, not closed")
        if self.closure != "verified":
            raise Refused(f"task {self.id} was closed as {self.closure}, not as rectified; "
                          "assign a new task instead")
        self._check_deadline(deadline, occurred_at, zone)
        self._stamp(self.Reopened, actor, occurred_at, reason=require_text("reason", reason),
                    deadline=deadline, deadline_rule=check_rule(deadline, deadline_rule))

    def close_imported_as_verified(self, *, rectification: str, reinspection: str,
                                   reason: str, actor: Actor, occurred_at: datetime,
                                   now: datetime) -> None:
        """Close as verified a task whose closure an imported record proves (an old 台账's
        销号, another system's "Closed"). The record does not say who reported, re-inspected
        and closed; so the administrator importing it records, as themself and at the
        recorded moment, the steps a closure as verified needs — the rectification report
        and the passed re-inspection — then the closure. Only for ``import_records``;
        everyone else closes through :meth:`close`."""
        authorize(actor, "import_records")
        self._check_when(occurred_at, now)
        self._check_open("closed")
        reason = require_text("reason", reason)
        rectification = require_text("rectification description", rectification)
        reinspection = require_text("re-inspection note", reinspection)
        if self.state not in (REPORTED, VERIFIED):
            self._stamp(self.RectificationReported, actor, occurred_at,
                        description=rectification, evidence=[])
        if self.state != VERIFIED:
            self._stamp(self.ReinspectionPassed, actor, occurred_at, note=reinspection,
                        evidence=[])
        self._stamp(self.Closed, actor, occurred_at, closure="verified", reason=reason)

    def reassign(self, *, unit: str, reason: str, actor: Actor, occurred_at: datetime,
                 now: datetime) -> None:
        """Hand the task to another unit, which must acknowledge it afresh."""
        authorize(actor, "reassign")
        self._check_when(occurred_at, now)
        if self.state in (VERIFIED, CLOSED):
            raise Refused(f"task {self.id} cannot be reassigned: it is {self.state}")
        if unit == self.unit:
            raise Refused(f"task {self.id} is already assigned to unit {unit}")
        self._stamp(self.Reassigned, actor, occurred_at, unit=unit, previous_unit=self.unit,
                    reason=require_text("reason", reason))

    CORRECTABLE = {
        "Assigned": ("occurred_at", "category", "location", "description", "source",
                     "deadline"),
        "NoticeIssued": ("occurred_at", "deadline"),
        "DeadlineExtended": ("occurred_at", "deadline"),
        "Reopened": ("occurred_at", "deadline"),
    }

    def correct(self, *, corrects: int, changes: dict[str, str], reason: str, actor: Actor,
                occurred_at: datetime, now: datetime, zone: tzinfo,
                categories: list[str]) -> None:
        """Record a correction of an earlier event; the original stays as it was.

        ``changes`` maps field names to new values (ISO text for times and dates). The
        author of the event or an administrator may correct it."""
        authorize(actor, "correct", self.unit)
        self._check_when(occurred_at, now)
        reason = require_text("reason", reason)
        if not 1 <= corrects <= len(self.log):
            raise Refused(f"task {self.id} has no event {corrects} (it has {len(self.log)})")
        name, _, author = self.log[corrects - 1]
        if name == "Corrected":
            raise Refused(f"event {corrects} of task {self.id} is itself a correction; "
                          "correct the original event instead")
        if actor.id != author and actor.role != ADMIN:
            raise Refused(f"event {corrects} of task {self.id} was recorded by {author}; "
                          f"only they or an admin may correct it, not {actor.id}")
        if not changes:
            raise Refused("a correction must change at least one field")
        allowed = self.CORRECTABLE.get(name, ("occurred_at",))
        checked: dict[str, str] = {}
        for field, value in changes.items():
            if field not in allowed:
                raise Refused(f"field {field!r} of event {corrects} ({name}) cannot be "
                              "corrected "
                              f"(correctable: {', '.join(allowed)})")
            checked[field] = self._check_correction(corrects, field, value, occurred_at,
                                                    zone, categories)
        self._stamp(self.Corrected, actor, occurred_at, corrects=corrects, reason=reason,
                    changes=checked)

    # --- derived facts -----------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self.state != CLOSED

    def is_overdue(self, on: date) -> bool:
        """Overdue from the day after the deadline until verified; derived, never stored."""
        return self.state not in (VERIFIED, CLOSED) and on > self.deadline

    # --- checks ----------------------------------------------------------------------

    def _check_open(self, verb: str) -> None:
        if self.state == CLOSED:
            raise Refused(f"task {self.id} cannot be {verb}: it is closed ({self.closure})")

    def _check_when(self, occurred_at: datetime, now: datetime) -> None:
        check_moment(occurred_at, now)
        if occurred_at < self.last_occurred_at:
            raise Refused(
                f"occurred_at {occurred_at.isoformat()} is before the task's latest event "
                f"({self.last_occurred_at.isoformat()})"
            )

    def _check_deadline(self, deadline: date, occurred_at: datetime, zone: tzinfo) -> None:
        if deadline < local_date(occurred_at, zone):
            raise Refused(f"deadline {deadline.isoformat()} is before "
                          f"{local_date(occurred_at, zone).isoformat()}")

    def _check_correction(self, version: int, field: str, value: str,
                          corrected_at: datetime, zone: tzinfo, categories: list[str]) -> str:
        if field == "occurred_at":
            try:
                moment = require_aware("occurred_at", datetime.fromisoformat(value))
            except ValueError:
                raise Refused(f"occurred_at must be an ISO date-time, got {value!r}") from None
            # An event cannot have happened after the correction that says when it did.
            if moment > corrected_at:
                raise Refused(f"corrected occurred_at {value} is after the correction itself "
                              f"({corrected_at.isoformat()})")
            before = self.log[version - 2][1] if version > 1 else None
            after = self.log[version][1] if version < len(self.log) else None
            if (before and moment < before) or (after and moment > after):
                raise Refused(f"corrected occurred_at {value} would put event {version} out "
                              "of order with the task's other events")
            if version == 1 and local_date(moment, zone) > self.deadline:
                raise Refused(f"corrected occurred_at {value} is after the deadline "
                              f"{self.deadline.isoformat()}")
            return moment.isoformat()
        if field == "deadline":
            try:
                new = date.fromisoformat(value)
            except ValueError:
                raise Refused(f"deadline must be a date YYYY-MM-DD, got {value!r}") from None
            if version != self.deadline_set_by:
                raise Refused(f"only the event that set the current deadline (event "
                              f"{self.deadline_set_by}) can have its deadline corrected")
            if new < local_date(self.log[version - 1][1], zone):
                raise Refused(f"deadline {value} is before the event it belongs to")
            return new.isoformat()
        if field == "category":
            if value not in categories:
                raise Refused(f"category {value!r} is not one of this campaign's categories")
            return value
        if field == "source":
            return parse_source(value)
        return require_text(field, value)
