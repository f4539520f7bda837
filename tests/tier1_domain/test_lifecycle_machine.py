"""Random sequences of commands by random people on a few tasks, against a reference model.

The model below is written from docs/domain.md ("The task lifecycle", "Who may do what")
and the README's role table, independently of
``domain/task.py``: for each command it says whether the command must be accepted, and what
the task looks like afterwards. The ledger must accept or refuse exactly when the model says
so, write nothing when it refuses, and after every step the tasks reloaded from the store
(by a second application on the same store, without any cache) must equal the model's.

It runs on SQLite; ``TAIZHANG_MACHINE_BACKEND=postgres`` runs it on PostgreSQL instead.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from conftest import Clock, new_postgres_url, seed_campaign
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    multiple,
    precondition,
    rule,
)

from domain.base import DomainError
from domain.inspection import Inspection
from ledger.app import Ledger
from ledger.corrections import Corrections
from ledger.presenters import describe_task
from ledger.store import Store
from projections.evaluation import Evaluator
from projections.read import ReadSide

BACKEND = os.environ.get("TAIZHANG_MACHINE_BACKEND", "sqlite")
ZONE = ZoneInfo("Asia/Shanghai")
START = datetime(2024, 6, 1, 1, 0, tzinfo=ZoneInfo("UTC"))

# Who acts: (role, unit); the units are the seeded campaign's two 社区.
PEOPLE = {
    "admin": ("admin", None),
    "li": ("inspector", None),
    "zhou": ("inspector", None),
    "zhao": ("unit", "JS01"),
    "qian": ("unit", "JS02"),
    "sun": ("auditor", None),
}
UNITS = ("JS01", "JS02")
OPEN = ("assigned", "acknowledged", "rectifying", "reported", "verified")
# Whose events carry a deadline that a correction may change.
SETS_DEADLINE = ("Assigned", "NoticeIssued", "DeadlineExtended", "Reopened")

# Anyone at all, or (as often, so that the lifecycle gets somewhere) someone whose role
# fits the command: the member of the task's unit for a unit's command, else an inspector.
FIT = "fit"
people = st.sampled_from([*sorted(PEOPLE), *[FIT] * 6])
# When the command says it happened: mostly now; sometimes a few hours ago (refused when
# that is before the task's latest event), or in the future (always refused).
moments = st.sampled_from(["now", "now", "now", "now", "earlier", "future"])
day_offsets = st.integers(min_value=-1, max_value=6)
# How much time passes before each command.
hours = st.integers(min_value=0, max_value=30)
COMMANDS = ["acknowledge", "issue_notice", "report", "reinspect", "extend_deadline",
            "request_extension", "decide_extension", "escalate", "attach_evidence", "close",
            "reopen", "reassign", "correct_deadline", "correct_moment", "withdraw",
            "unknown_task"]
# The command that takes a task on along the lifecycle; "advance" picks it, so that random
# runs get to re-inspections, closures and reopenings as well.
ADVANCE = "advance"
NEXT = {"assigned": "acknowledge", "acknowledged": "issue_notice", "rectifying": "report",
        "reported": "reinspect", "verified": "close", "closed": "reopen"}
# The commands a unit does for itself (for these, a fitting person is the unit's member).
UNIT_COMMANDS = ("acknowledge", "report", "attach_evidence", "request_extension")


@dataclass
class ModelVisit:
    """What the model knows of one inspection visit."""

    unit: str
    author: str
    last: datetime  # its latest event
    at: datetime  # when it happened
    withdrawn: bool = False


@dataclass
class ModelTask:
    """What the model knows of one task."""

    unit: str
    deadline: date
    log: list[tuple[str, datetime, str]]  # (event, occurred_at, who)
    state: str = "assigned"
    closure: str | None = None
    acknowledged: bool = False
    cycle: int = 1
    rework: int = 0
    deadline_set_by: int = 1
    evidence: int = 0  # evidence items: one with each report and each attachment
    escalations: int = 0
    asked: tuple[date, int] | None = None  # an extension request: (deadline asked, cycle)

    @property
    def pending(self) -> date | None:
        """The deadline a request awaiting a decision asks for: one of this cycle, on a
        task neither verified nor closed."""
        if self.asked is None or self.asked[1] != self.cycle or \
                self.state in ("verified", "closed"):
            return None
        return self.asked[0]

    @property
    def last(self) -> datetime:
        return max(moment for _, moment, _ in self.log)

    def record(self, event: str, when: datetime, who: str) -> None:
        self.log.append((event, when, who))


def fitting(who: str, unit: str, unit_command: bool = False) -> str:
    """The person who acts: ``who``, or for FIT the one whose role fits the command."""
    if who != FIT:
        return who
    if unit_command:
        return next(p for p, (r, u) in PEOPLE.items() if r == "unit" and u == unit)
    return "li"


def role(person: str) -> str:
    return PEOPLE[person][0]


def acts_for(person: str, task: ModelTask) -> bool:
    """A unit member acts only for their own unit; others are not bound to a unit."""
    return role(person) != "unit" or PEOPLE[person][1] == task.unit


def day(moment: datetime) -> date:
    return moment.astimezone(ZONE).date()


class LifecycleMachine(RuleBasedStateMachine):
    """The ledger against the model, on a fresh store per example."""

    tasks = Bundle("tasks")
    visits = Bundle("visits")

    def __init__(self) -> None:
        super().__init__()
        if BACKEND == "postgres":
            self.folder, self.schema = None, new_postgres_url()
            self.url = next(self.schema)
        else:
            self.folder, self.schema = tempfile.mkdtemp(prefix="taizhang-machine-"), None
            self.url = f"sqlite:///{self.folder}/ledger.db"
        self.clock = Clock(START)
        self.store = Store(self.url, clock=self.clock)
        self.ledger = self.store.ledger
        seed_campaign(self.ledger)
        env = {**self.store.url.event_store_env(), "AGGREGATE_CACHE_MAXSIZE": ""}
        self.reader = Ledger(env, clock=self.clock)
        assert self.reader.repository.cache is None
        self.model: dict[str, ModelTask] = {}
        self.visits_model: dict[str, ModelVisit] = {}
        self.fix = Corrections(self.ledger)
        self.evaluator = Evaluator(ReadSide(self.store))

    def teardown(self) -> None:
        self.reader.close()
        self.store.close()
        if self.folder:
            shutil.rmtree(self.folder, ignore_errors=True)
        if self.schema:
            next(self.schema, None)  # drops the schema

    # --- helpers ----------------------------------------------------------------------

    def when(self, moment: str) -> datetime:
        now = self.clock()
        if moment == "earlier":
            return now - timedelta(hours=3)
        if moment == "future":
            return now + timedelta(minutes=1)
        return now

    def in_time(self, when: datetime, task: ModelTask | None = None) -> bool:
        """Not in the future, and not before the task's latest event."""
        return when <= self.clock() and (task is None or when >= task.last)

    def attempt(self, expected: bool, command, *args, **kwargs):  # type: ignore[no-untyped-def]
        """Run a ledger command; it must be accepted exactly when ``expected``, and write
        nothing when refused."""
        before = self.ledger.max_position()
        try:
            result = command(*args, **kwargs)
        except DomainError as refusal:
            assert not expected, f"refused, but the model accepts: {refusal}"
            assert self.ledger.max_position() == before, "a refused command wrote events"
            return None
        assert expected, f"accepted, but the model refuses: {command.__name__}{args}"
        assert self.ledger.max_position() > before
        return result

    # --- commands -----------------------------------------------------------------------

    @precondition(lambda self: len(self.model) < 2)
    @rule(target=tasks, hours=hours, who=people, unit=st.sampled_from(UNITS),
          offset=day_offsets, notice=st.booleans(), moment=moments)
    def assign(self, hours: int, who: str, unit: str, offset: int, notice: bool,
               moment: str):  # type: ignore[no-untyped-def]
        self.clock.advance(hours=hours)
        who = fitting(who, unit)
        when = self.when(moment)
        deadline = day(self.clock()) + timedelta(days=offset)
        ok = (role(who) in ("admin", "inspector") and self.in_time(when)
              and deadline >= day(when))
        result = self.attempt(
            ok, self.ledger.assign, actor_id=who, unit=unit, category="环境卫生",
            source="complaint",
            location="幸福路12号", description="乱堆乱放", deadline=deadline,
            notice_no="ZG-1" if notice else None, occurred_at=when)
        if result is None:
            return multiple()
        task = ModelTask(unit=unit, deadline=deadline, log=[("Assigned", when, who)])
        if notice:
            task.record("NoticeIssued", when, who)
            task.state = "rectifying"
        self.model[result["task"]] = task
        return result["task"]

    # One rule for every command on a task, and on no task (hypothesis switches whole rules
    # off at random for an example; one rule keeps every command in play, so tasks get far).
    @rule(task_id=tasks, hours=hours, command=st.sampled_from(
        [*COMMANDS, *[ADVANCE] * 8, *["request_extension"] * 2]),
          who=people, moment=moments, data=st.data())
    def act(self, task_id: str, hours: int, command: str, who: str, moment: str,
            data: st.DataObject) -> None:
        self.clock.advance(hours=hours)
        if command == "unknown_task":
            self.attempt(False, self.ledger.acknowledge, actor_id=fitting(who, "JS01", True),
                         task_id="T-999999")
            return
        task, when = self.model[task_id], self.when(moment)
        if command == ADVANCE:
            # A request awaiting a decision is decided first, as an office would.
            command = "decide_extension" if task.pending else NEXT[task.state]
        who = fitting(who, task.unit, unit_command=command in UNIT_COMMANDS)
        getattr(self, command)(task_id, task, who, when, data)

    def acknowledge(self, task_id: str, task: ModelTask, who: str, when: datetime,
                    data: st.DataObject) -> None:
        ok = (role(who) == "unit" and acts_for(who, task) and self.in_time(when, task)
              and not task.acknowledged and task.state in ("assigned", "rectifying"))
        if self.attempt(ok, self.ledger.acknowledge, actor_id=who, task_id=task_id,
                        occurred_at=when):
            task.acknowledged = True
            if task.state == "assigned":
                task.state = "acknowledged"
            task.record("Acknowledged", when, who)

    def issue_notice(self, task_id: str, task: ModelTask, who: str, when: datetime,
                     data: st.DataObject) -> None:
        offset = data.draw(st.none() | day_offsets, label="deadline offset")
        deadline = None if offset is None else day(self.clock()) + timedelta(days=offset)
        ok = (role(who) in ("admin", "inspector") and self.in_time(when, task)
              and task.state in ("assigned", "acknowledged")
              and (deadline is None or deadline >= day(when)))
        if self.attempt(ok, self.ledger.issue_notice, actor_id=who, task_id=task_id,
                        notice_no="ZG-2", requirements="清除",
                        deadline=deadline, occurred_at=when):
            task.state = "rectifying"
            task.record("NoticeIssued", when, who)
            if deadline is not None:
                task.deadline, task.deadline_set_by = deadline, len(task.log)

    def report(self, task_id: str, task: ModelTask, who: str, when: datetime,
               data: st.DataObject) -> None:
        ok = (role(who) == "unit" and acts_for(who, task) and self.in_time(when, task)
              and task.state == "rectifying")
        if self.attempt(ok, self.ledger.report_rectification, actor_id=who, task_id=task_id,
                        description="已整改",
                        evidence=[{"file": "after.jpg"}], occurred_at=when):
            task.state, task.evidence = "reported", task.evidence + 1
            task.record("RectificationReported", when, who)

    def reinspect(self, task_id: str, task: ModelTask, who: str, when: datetime,
                  data: st.DataObject) -> None:
        passed = data.draw(st.booleans(), label="passed")
        ok = (role(who) == "inspector" and self.in_time(when, task)
              and task.state == "reported")
        if self.attempt(ok, self.ledger.reinspect, actor_id=who, task_id=task_id,
                        passed=passed, note="仍有残留",
                        occurred_at=when):
            if passed:
                task.state = "verified"
            else:
                task.state, task.rework = "rectifying", task.rework + 1
            task.record("ReinspectionPassed" if passed else "ReinspectionFailed", when, who)

    def extend_deadline(self, task_id: str, task: ModelTask, who: str, when: datetime,
                        data: st.DataObject) -> None:
        days = data.draw(st.integers(min_value=-1, max_value=5), label="days later")
        deadline = task.deadline + timedelta(days=days)
        ok = (role(who) in ("admin", "inspector") and self.in_time(when, task)
              and task.state in ("assigned", "acknowledged", "rectifying", "reported")
              and deadline > task.deadline)
        if self.attempt(ok, self.ledger.extend_deadline, actor_id=who, task_id=task_id,
                        deadline=deadline, reason="工程量大",
                        occurred_at=when):
            task.record("DeadlineExtended", when, who)
            task.deadline, task.deadline_set_by = deadline, len(task.log)

    def request_extension(self, task_id: str, task: ModelTask, who: str, when: datetime,
                          data: st.DataObject) -> None:
        deadline = task.deadline + timedelta(days=data.draw(st.integers(-1, 5),
                                                            label="days asked"))
        ok = (role(who) == "unit" and acts_for(who, task) and self.in_time(when, task)
              and task.state not in ("verified", "closed") and task.pending is None
              and deadline > task.deadline)
        if self.attempt(ok, self.ledger.request_extension, actor_id=who, task_id=task_id,
                        deadline=deadline, reason="材料未到",
                        occurred_at=when):
            task.record("ExtensionRequested", when, who)
            task.asked = (deadline, task.cycle)

    def decide_extension(self, task_id: str, task: ModelTask, who: str, when: datetime,
                         data: st.DataObject) -> None:
        approve = data.draw(st.sampled_from([True, True, False]), label="approve")
        asked = task.pending
        ok = (role(who) in ("admin", "inspector") and self.in_time(when, task)
              and asked is not None and (not approve or asked > task.deadline))
        if self.attempt(ok, self.ledger.decide_extension, actor_id=who, task_id=task_id,
                        approve=approve, reason="工期",
                        occurred_at=when):
            task.asked = None
            if approve:
                assert asked is not None
                task.record("ExtensionApproved", when, who)
                task.record("DeadlineExtended", when, who)
                task.deadline, task.deadline_set_by = asked, len(task.log)
            else:
                task.record("ExtensionRefused", when, who)

    def escalate(self, task_id: str, task: ModelTask, who: str, when: datetime,
                 data: st.DataObject) -> None:
        ok = (role(who) in ("admin", "inspector") and self.in_time(when, task)
              and task.state in OPEN)
        if self.attempt(ok, self.ledger.escalate, actor_id=who, task_id=task_id, reason="超期督办",
                        occurred_at=when):
            task.escalations += 1
            task.record("Escalated", when, who)

    def attach_evidence(self, task_id: str, task: ModelTask, who: str, when: datetime,
                        data: st.DataObject) -> None:
        ok = (role(who) in ("admin", "inspector", "unit") and acts_for(who, task)
              and self.in_time(when, task) and task.state in OPEN)
        if self.attempt(ok, self.ledger.attach_evidence, actor_id=who, task_id=task_id,
                        evidence=[{"file": "photo.jpg", "description": "现场照片"}],
                        occurred_at=when):
            task.evidence += 1
            task.record("EvidenceAttached", when, who)

    def close(self, task_id: str, task: ModelTask, who: str, when: datetime,
              data: st.DataObject) -> None:
        closure = data.draw(st.sampled_from(
            ["verified"] * 4 + ["void", "duplicate", "not_responsible"]), label="closure")
        if closure == "verified":
            allowed = role(who) == "inspector" and task.state == "verified"
        else:
            allowed = role(who) in ("admin", "inspector") and task.state in OPEN
        ok = allowed and self.in_time(when, task)
        if self.attempt(ok, self.ledger.close_task, actor_id=who, task_id=task_id,
                        closure=closure, reason="销号",
                        occurred_at=when):
            task.state, task.closure = "closed", closure
            task.record("Closed", when, who)

    def reopen(self, task_id: str, task: ModelTask, who: str, when: datetime,
               data: st.DataObject) -> None:
        deadline = day(self.clock()) + timedelta(days=data.draw(day_offsets, label="offset"))
        ok = (role(who) in ("admin", "inspector") and self.in_time(when, task)
              and task.state == "closed" and task.closure == "verified"
              and deadline >= day(when))
        if self.attempt(ok, self.ledger.reopen, actor_id=who, task_id=task_id, reason="问题反弹",
                        deadline=deadline,
                        occurred_at=when):
            task.state, task.closure, task.cycle = "rectifying", None, task.cycle + 1
            task.record("Reopened", when, who)
            task.deadline, task.deadline_set_by = deadline, len(task.log)

    def reassign(self, task_id: str, task: ModelTask, who: str, when: datetime,
                 data: st.DataObject) -> None:
        unit = data.draw(st.sampled_from(UNITS), label="unit")
        ok = (role(who) in ("admin", "inspector") and self.in_time(when, task)
              and task.state in ("assigned", "acknowledged", "rectifying", "reported")
              and unit != task.unit)
        if self.attempt(ok, self.ledger.reassign, actor_id=who, task_id=task_id, unit=unit,
                        reason="属地调整",
                        occurred_at=when):
            task.unit, task.state, task.acknowledged = unit, "assigned", False
            task.record("Reassigned", when, who)

    def correct_deadline(self, task_id: str, task: ModelTask, who: str, when: datetime,
                         data: st.DataObject) -> None:
        """Correct the deadline of an event: mostly of the one that set the current one."""
        event = data.draw(st.sampled_from(["setter", "setter", 0, 1, 2, 3, 9]),
                          label="event")
        event = task.deadline_set_by if event == "setter" else event
        assert isinstance(event, int)
        deadline = day(self.clock()) + timedelta(days=data.draw(day_offsets, label="offset"))
        ok = (role(who) in ("admin", "inspector", "unit") and acts_for(who, task)
              and self.in_time(when, task) and 1 <= event <= len(task.log))
        if ok:
            name, at, author = task.log[event - 1]
            ok = (name != "Corrected" and (who == author or role(who) == "admin")
                  and name in SETS_DEADLINE and event == task.deadline_set_by
                  and deadline >= day(at) and deadline != task.deadline)
        if self.attempt(ok, self.ledger.correct, actor_id=who, task_id=task_id, event=event,
                        changes={"deadline": deadline.isoformat()}, reason="录入错误",
                        occurred_at=when):
            task.deadline = deadline
            task.record("Corrected", when, who)

    def correct_moment(self, task_id: str, task: ModelTask, who: str, when: datetime,
                       data: st.DataObject) -> None:
        """Correct when an event happened: an hour earlier or later."""
        event = data.draw(st.integers(min_value=0, max_value=len(task.log) + 1), label="event")
        shift = timedelta(hours=data.draw(st.sampled_from([-1, 1]), label="shift"))
        ok = (role(who) in ("admin", "inspector", "unit") and acts_for(who, task)
              and self.in_time(when, task) and 1 <= event <= len(task.log))
        moment = None
        if ok:
            name, at, author = task.log[event - 1]
            moment = at + shift
            others = [m for n, m, _ in task.log if n != "Corrected"]
            index = [i for i, (n, _, _) in enumerate(task.log, 1) if n != "Corrected"]
            before = [m for i, m in zip(index, others) if i < event]
            after = [m for i, m in zip(index, others) if i > event]
            ok = (name != "Corrected" and (who == author or role(who) == "admin")
                  and moment <= when and (not before or moment >= before[-1])
                  and (not after or moment <= after[0])
                  and (event != 1 or day(moment) <= task.deadline))
        if self.attempt(ok, self.ledger.correct, actor_id=who, task_id=task_id, event=event,
                        changes={"occurred_at": (moment or when).isoformat()}, reason="时间录错",
                        occurred_at=when):
            name, _, author = task.log[event - 1]
            task.log[event - 1] = (name, moment, author)
            task.record("Corrected", when, who)

    def withdraw(self, task_id: str, task: ModelTask, who: str, when: datetime,
                 data: st.DataObject) -> None:
        """A task is never withdrawn: it is closed as void or duplicate."""
        self.attempt(False, self.fix.withdraw, actor_id=who, record=task_id, reason="重复",
                     occurred_at=when)

    # --- inspection visits: recorded, corrected, withdrawn ---------------------------------

    @precondition(lambda self: len(self.visits_model) < 3)
    @rule(target=visits, hours=hours, who=people, unit=st.sampled_from(UNITS),
          moment=moments)
    def record_visit(self, hours: int, who: str, unit: str, moment: str):  # type: ignore[no-untyped-def]
        self.clock.advance(hours=hours)
        who, when = fitting(who, unit), self.when(moment)
        ok = role(who) == "inspector" and self.in_time(when)
        result = self.attempt(ok, self.ledger.inspect, actor_id=who, unit=unit, findings=[],
                              occurred_at=when)
        if result is None:
            return multiple()
        self.visits_model[result["inspection"]] = ModelVisit(unit, who, when, when)
        return result["inspection"]

    @rule(visit_id=visits, hours=hours, who=people, unit=st.sampled_from(UNITS),
          moment=moments)
    def correct_visit(self, visit_id: str, hours: int, who: str, unit: str,
                      moment: str) -> None:
        self.clock.advance(hours=hours)
        visit, when = self.visits_model[visit_id], self.when(moment)
        who = visit.author if who == FIT else who
        ok = (role(who) in ("admin", "inspector", "unit") and not visit.withdrawn
              and when <= self.clock() and when >= visit.last
              and (who == visit.author or role(who) == "admin") and unit != visit.unit)
        if self.attempt(ok, self.fix.correct, actor_id=who, record=visit_id, event=None,
                        changes={"unit": unit}, reason="记错",
                        occurred_at=when):
            visit.unit, visit.last = unit, when
            self.check_visit_figures()

    @rule(visit_id=visits, hours=hours, who=people, moment=moments)
    def withdraw_visit(self, visit_id: str, hours: int, who: str, moment: str) -> None:
        self.clock.advance(hours=hours)
        visit, when = self.visits_model[visit_id], self.when(moment)
        who = visit.author if who == FIT else who
        ok = (role(who) in ("admin", "inspector") and not visit.withdrawn
              and when <= self.clock() and when >= visit.last
              and (who == visit.author or role(who) == "admin"))
        if self.attempt(ok, self.fix.withdraw, actor_id=who, record=visit_id, reason="重复录入",
                        occurred_at=when):
            visit.withdrawn, visit.last = True, when
            self.check_visit_figures()

    def check_visit_figures(self) -> None:
        """The figures count the visits as corrected, and no withdrawn one."""
        months = {day(v.at).isoformat()[:7] for v in self.visits_model.values()}
        for month in months:
            counted = {f["unit"]: f["inspections"]
                       for f in self.evaluator.figures(self.evaluator.current(), month)}
            for unit in UNITS:
                assert counted[unit] == sum(
                    1 for v in self.visits_model.values()
                    if v.unit == unit and not v.withdrawn
                    and day(v.at).isoformat()[:7] == month), (month, unit)

    # --- what the store holds -----------------------------------------------------------

    @invariant()
    def visits_agree_with_the_model(self) -> None:
        for visit_id, expected in self.visits_model.items():
            stored = self.reader.load(Inspection, visit_id, "inspection")
            assert (stored.unit, stored.withdrawn is not None) == (expected.unit,
                                                                   expected.withdrawn)

    @invariant()
    def store_agrees_with_the_model(self) -> None:
        today = day(self.clock())
        for task_id, expected in self.model.items():
            stored = self.reader.task(task_id)
            assert (stored.state, stored.closure, stored.unit, stored.deadline,
                    stored.rework_count, stored.cycle, stored.acknowledged) == (
                expected.state, expected.closure, expected.unit, expected.deadline,
                expected.rework, expected.cycle, expected.acknowledged), task_id
            assert stored.version == len(expected.log)
            assert stored.escalations == expected.escalations
            pending = stored.pending_request
            assert (pending and pending["deadline"]) == expected.pending, task_id
            assert len(stored.evidence) == expected.evidence
            assert [name for name, _, _ in stored.log] == [n for n, _, _ in expected.log]
            overdue = expected.state not in ("verified", "closed") and \
                today > expected.deadline
            assert describe_task(stored, today)["overdue"] == overdue


LifecycleMachine.TestCase.settings = settings(max_examples=30, stateful_step_count=25,
                                              deadline=None)
test_lifecycle_follows_the_model = LifecycleMachine.TestCase
