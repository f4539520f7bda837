"""The work summary (工作总结): the figures of any period and unit, and a paragraph of them.

Computed from the stored events (all of them, or those recorded by an "as of" moment), by
valid time: an event belongs to the period when its ``occurred_at`` falls on one of its
days in the campaign's time zone. Whatever the long-term-mechanism metrics define — found
problems, due cycles and on-time rectification, re-inspections and rework, verification,
closure, reopening and recurrence, and which unit answers for each — is taken from
:mod:`projections.metrics` (``derive``), the one place that defines them; the summary only
counts those items over its own days. Visits (巡查) and person-visits (人次: each inspector
on a visit counts once), notices (整改通知书), target tasks and surveys are counted here, and
bulletins: a month's results and ranking published (``taizhang publish``) is the
supervision bulletin (督查通报) of that month, issued to every unit.

:func:`work_summary` is the definition, a fold of the facts given; :func:`summary_of`
computes the same from the read models (:mod:`projections.summary_rows`), reading only what
the period's days can count, so that its cost is the period's, not the ledger's history.

The paragraph states only figures of the summary (:mod:`projections.summary_text`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from domain.accounts import Account
from domain.audit import AuditLog
from domain.base import Refused
from domain.evaluation import Evaluation
from domain.indicators import IndicatorSystem
from domain.inspection import Inspection
from domain.kinds import aggregate_of
from domain.registry import Campaign, Person, Unit
from domain.survey import Survey
from domain.target import TargetTask
from domain.task import Task
from domain.task_fields import SOURCES
from projections.corrections import corrected, is_withdrawal
from projections.facts import Context, Fact
from projections.projection import events_of
from projections.indicators import one_decimal, weighted_rates
from projections.metrics import compact, derive
# The summary as words, re-exported: the summary's one entry point.
from projections.summary_text import (LABELS, chinese_day, document_title, number,
                                      paragraph, table)

__all__ = ["LABELS", "Period", "Summary", "chinese_day", "counted", "document_title",
           "number", "paragraph", "percent", "summary_of", "table", "work_summary"]

if TYPE_CHECKING:
    from projections.read import ReadSide

@dataclass
class Period:
    """The days of a summary, both included."""

    start: date
    end: date

    def __contains__(self, day: date) -> bool:
        return self.start <= day <= self.end

    @property
    def months(self) -> tuple[str, str]:
        return self.start.isoformat()[:7], self.end.isoformat()[:7]


@dataclass
class Summary:
    """The figures of one period and scope, with the breakdowns of what was found."""

    period: Period
    scope: str
    figures: dict[str, int | float | None]
    by_category: dict[str, int] = field(default_factory=dict)
    by_source: dict[str, int] = field(default_factory=dict)

    def as_data(self) -> dict[str, Any]:
        return {"from": self.period.start.isoformat(), "to": self.period.end.isoformat(),
                "scope": self.scope, "figures": dict(self.figures),
                "found_by_category": dict(self.by_category),
                "found_by_source": {SOURCES.get(s, s): n for s, n in self.by_source.items()}}


def percent(part: int, whole: int) -> float | None:
    """``part`` of ``whole`` in percent, to one decimal (None of nothing)."""
    if not whole:
        return None
    return one_decimal(Fraction(part, whole) * 100)


class _Book:
    """What the summary keeps of the log while reading it."""

    def __init__(self) -> None:
        self.tasks: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.visits: dict[str, dict[str, Any]] = {}
        self.notices: list[tuple[str, str]] = []  # (task, occurred_at)
        self.targets: dict[str, dict[str, Any]] = {}
        self.surveys: dict[str, dict[str, Any]] = {}
        self.bulletins: list[dict[str, Any]] = []
        self.window_days = 90

    def read(self, fact: Fact) -> None:
        handler = self.handlers.get(fact.event)  # type: ignore[arg-type]
        if handler is not None:
            handler(self, fact)

    def _task(self, fact: Fact) -> None:
        self.tasks[fact.originator_id].append(compact(fact))
        if fact.event is Task.NoticeIssued:
            self.notices.append((fact.originator_id, fact.occurred_at))

    def _visit(self, fact: Fact) -> None:
        self.visits[fact.originator_id] = {"unit": fact.data["unit"], "at": fact.occurred_at,
                                           "inspectors": len(fact.data["inspectors"])}

    def _target(self, fact: Fact) -> None:
        self.targets[fact.originator_id] = {
            "unit": fact.data["unit"], "due": fact.data["due"], "at": fact.occurred_at,
            "completed_at": None}

    def _completed(self, fact: Fact) -> None:
        self.targets[fact.originator_id]["completed_at"] = fact.occurred_at

    def _survey(self, fact: Fact) -> None:
        self.surveys[fact.originator_id] = dict(fact.data)

    def _reassigned(self, fact: Fact) -> None:
        self.targets[fact.originator_id]["unit"] = fact.data["unit"]

    def _due_extended(self, fact: Fact) -> None:
        self.targets[fact.originator_id]["due"] = fact.data["due"]

    def _published(self, fact: Fact) -> None:
        """A month's results and ranking published: the supervision bulletin (督查通报)."""
        self.bulletins.append({"month": fact.data["month"], "at": fact.occurred_at})

    def _started(self, fact: Fact) -> None:
        self.window_days = fact.data["recurrence_window_days"]

    def _correct(self, fact: Fact) -> None:
        """A visit, target or survey corrected (it counts as corrected) or withdrawn (it
        counts no more)."""
        kept = {Inspection: self.visits, TargetTask: self.targets,
                Survey: self.surveys}[aggregate_of(fact.event)]  # type: ignore[index]
        if fact.originator_id not in kept:
            return
        if is_withdrawal(fact):
            del kept[fact.originator_id]
            return
        record = kept[fact.originator_id]
        event, changes = corrected(fact)
        for name, value in changes.items():
            if name == "occurred_at":
                if kept is self.surveys:
                    record["occurred_at"] = value
                elif kept is self.visits or event == TargetTask.Assigned.__name__:
                    record["at"] = value
                elif event == TargetTask.Completed.__name__:
                    record["completed_at"] = value
            elif name == "inspectors":
                record["inspectors"] = len(value)
            elif name in record:
                record[name] = value


# What the summary reads of each event class (the contract test checks it as it checks the
# projections' tables).
_Book.handlers = {
    **dict.fromkeys(events_of(Task), _Book._task),
    Inspection.Recorded: _Book._visit, TargetTask.Assigned: _Book._target,
    TargetTask.Completed: _Book._completed, TargetTask.Reassigned: _Book._reassigned,
    TargetTask.DueExtended: _Book._due_extended, Survey.Recorded: _Book._survey,
    **dict.fromkeys((Inspection.Corrected, Inspection.Withdrawn, TargetTask.Corrected,
                     TargetTask.Withdrawn, Survey.Corrected, Survey.Withdrawn),
                    _Book._correct),
    Evaluation.MonthPublished: _Book._published, Campaign.Started: _Book._started,
}
# A target's progress counts once the target is completed; the rest of the campaign's
# settings and the evaluation's rules make no figure of the summary; the registries'
# corrections are the units' and people's, which it does not count.
_Book.ignored = frozenset({
    TargetTask.ProgressReported, TargetTask.ProgressVerified, TargetTask.ProgressRejected,
    Campaign.CategoryAdded, Campaign.SettingsChanged, Campaign.LocalHolidayAdded,
    Campaign.LocalWorkdayAdded, Evaluation.Opened, Evaluation.RulesAdopted,
    Evaluation.Corrected})
_Book.ignored_aggregates = (Account, AuditLog, IndicatorSystem, Person, Unit)


def work_summary(facts: Iterable[Fact], ctx: Context, period: Period,
                 units: Collection[str] | None = None, scope: str = "") -> Summary:
    """The figures of ``period`` for ``units`` (None: every unit) from ``facts``: the
    summary's definition, folding every fact given (:func:`summary_of` reads the same
    from the read models, only what the period's days can count)."""
    book = _Book()
    for fact in facts:
        book.read(fact)
    inside = (lambda unit: True) if units is None else set(units).__contains__
    # A task never held by a unit in scope has nothing to count (deriving is the dear part).
    items = [item for task, events in book.tasks.items()
             if units is None or any(inside(e["unit"]) for e in events if "unit" in e)
             for item in derive(task, events, ctx)[0] if inside(item["unit"])]
    return counted(book, items, _holders(book.tasks), ctx, period, units, scope)


def counted(book: _Book, items: list[dict[str, Any]], holders: dict[str, _Holder],
            ctx: Context, period: Period, units: Collection[str] | None = None,
            scope: str = "") -> Summary:
    """The figures of ``period`` for ``units`` from what a book kept of visits, notices,
    targets, surveys and bulletins, the tasks' metric items (those of units in scope), and
    which unit held each noticed task when."""
    inside = (lambda unit: True) if units is None else set(units).__contains__
    first, last = period.start.isoformat(), period.end.isoformat()

    def day(iso: str) -> date:
        return date.fromisoformat(ctx.local_date(iso))

    def during(iso: str | None) -> bool:
        # ISO dates compare as text; the context caches each moment's local date.
        return iso is not None and first <= ctx.local_date(iso) <= last

    kinds: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in items:
        kinds[item["kind"]].append(item)
    found = [i for i in kinds["assigned"] if during(i["at"])]
    reinspections = [i for i in kinds["reinspection"] if during(i["at"])]
    rework = sum(1 for i in reinspections if i["failed"])
    due = [i for i in kinds["due"] if date.fromisoformat(i["deadline"]) in period]
    on_time = sum(1 for i in due if i["on_time"])
    reopened = {i["task"] for i in kinds["reopened"] if during(i["at"])}
    recurring = _recurring(found, kinds["closed"], book.window_days)

    notices = sum(1 for task, at in book.notices
                  if during(at) and inside(holders[task].at(at)))
    visits = [v for v in book.visits.values() if inside(v["unit"]) and during(v["at"])]
    targets = [t for t in book.targets.values() if inside(t["unit"])]
    end = period.end.isoformat()
    targets_due = [t for t in targets if date.fromisoformat(t["due"]) in period]
    first_month, last_month = period.months
    surveys = [s for s in book.surveys.values()
               if inside(s["unit"]) and first_month <= s["month"] <= last_month]
    rates = weighted_rates(surveys)

    figures: dict[str, int | float | None] = {
        "visits": len(visits),
        "person_visits": sum(v["inspectors"] for v in visits),
        "found": len(found),
        "notices": notices,
        "reinspections": len(reinspections),
        "rectified": sum(1 for i in kinds["verified"] if during(i["at"])),
        "rework": rework,
        "rework_rate": percent(rework, len(reinspections)),
        "closed": sum(1 for i in kinds["closed"] if during(i["at"])),
        "due": len(due),
        "on_time": on_time,
        "on_time_rate": percent(on_time, len(due)),
        "overdue_open": sum(1 for i in kinds["due"] if _overdue_at(i, period.end, ctx)),
        "reopened": len(reopened),
        "recurrent_new": len(recurring),
        "recurrences": len(reopened | recurring),
        "bulletins": sum(1 for b in book.bulletins if during(b["at"])),
        "targets_assigned": sum(1 for t in targets if during(t["at"])),
        "targets_completed": sum(1 for t in targets if during(t["completed_at"])),
        "targets_due": len(targets_due),
        "targets_met": sum(1 for t in targets_due if t["completed_at"] is not None
                           and day(t["completed_at"]).isoformat() <= t["due"]),
        "targets_overdue": sum(1 for t in targets if day(t["at"]) <= period.end
                               and t["due"] < end
                               and not (t["completed_at"] is not None
                                        and day(t["completed_at"]) <= period.end)),
        "surveys": rates["surveys"],
        "survey_sample": rates["sample"],
        "awareness": rates["awareness"],
        "participation": rates["participation"],
        "satisfaction": rates["satisfaction"],
    }
    by_category = Counter(i["category"] for i in found)
    by_source = Counter(i["source"] for i in found)
    return Summary(period, scope, figures,
                   dict(sorted(by_category.items(), key=lambda kv: (-kv[1], kv[0]))),
                   {s: by_source[s] for s in SOURCES if by_source[s]})


def _recurring(found: list[dict[str, Any]], closed: list[dict[str, Any]],
               window_days: int) -> set[str]:
    """New tasks of the period for a unit, category and location where another task was
    closed as rectified within the window before (the metrics' rule, over these days)."""
    closures: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for item in closed:
        closures[(item["unit"], item["category"], item["location"])].append(item)
    window = timedelta(days=window_days)
    recurring = set()
    for item in found:
        arrived = datetime.fromisoformat(item["at"])
        for closure in closures.get((item["unit"], item["category"], item["location"]), []):
            closed_at = datetime.fromisoformat(closure["at"])
            if closure["task"] != item["task"] and closed_at < arrived <= closed_at + window:
                recurring.add(item["task"])
                break
    return recurring


def _overdue_at(due: dict[str, Any], end: date, ctx: Context) -> bool:
    """A cycle begun by ``end``, past its deadline then and not verified by then."""
    events = due["events"]
    started = ctx.local(events[0][2]).date()
    passed = [ctx.local(at).date() for _, kind, at in events if kind == "ReinspectionPassed"]
    return (started <= end and date.fromisoformat(due["deadline"]) < end
            and not (passed and passed[0] <= end))


class _Holder:
    """Which unit held a task from which moment (assignment, then each reassignment)."""

    def __init__(self) -> None:
        self.changes: list[tuple[datetime, str]] = []

    def at(self, iso: str) -> str:
        moment = datetime.fromisoformat(iso)
        unit = self.changes[0][1]
        for since, holder in self.changes:
            if since <= moment:
                unit = holder
        return unit


# The events (by the name a compacted event keeps) that hand a task to a unit.
HANDED = (Task.Assigned.__name__, Task.Reassigned.__name__)


def _holders(tasks: dict[str, list[dict[str, Any]]]) -> dict[str, _Holder]:
    holders: dict[str, _Holder] = defaultdict(_Holder)
    for task, events in tasks.items():
        for event in events:
            if event["k"] in HANDED:
                holders[task].changes.append((datetime.fromisoformat(event["at"]),
                                              event["unit"]))
    return holders


def summary_of(read: ReadSide, period: Period, unit: str | None = None) -> Summary:
    """The summary from the stored events the read side sees (all, or those recorded by
    its "as of" moment), for a unit and every unit below it, or for all: read from the
    read models, only what the period's days can count (:mod:`projections.summary_rows`)."""
    if period.start > period.end:
        raise Refused("时段的开始（{start}）晚于结束（{end}）", start=period.start.isoformat(),
                      end=period.end.isoformat())
    from projections.summary_rows import from_read_models

    return from_read_models(read, period, unit)
