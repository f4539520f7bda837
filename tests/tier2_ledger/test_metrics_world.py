"""Random ledgers for the metrics tests, and the metrics recomputed by brute force.

``World`` drives a ledger through the application — assignments, visits, acknowledgements,
notices, reports, re-inspections that pass or fail, extensions, escalations, closures
(verified or void), reopenings, reassignments and corrections — at random moments over a
few months, each task's events in time order, some entered late.

``brute_force`` answers each figure of docs/domain.md's table ("The figures (per unit U
and month M)") for a unit and month straight
from the stored events, by questions put to every task's replayed history — written
without the projection's items, spans, indexes or month windows.
"""

from __future__ import annotations

import json
import random
import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from domain.base import DomainError
from domain.task_fields import SOURCES
from ledger.app import Ledger
from ledger.tasks import Finding

ZONE = ZoneInfo("Asia/Shanghai")
START = datetime(2024, 3, 1, 9, 0, tzinfo=ZONE)
END = datetime(2024, 8, 25, 18, 0, tzinfo=ZONE)
MONTHS = ["2024-02", "2024-03", "2024-04", "2024-05", "2024-06", "2024-07", "2024-08"]
MEMBERS = {"JS01": "zhao", "JS02": "qian", "CGJ": "wu", "WY1": "feng"}
CATEGORIES = ["环境卫生", "交通秩序"]
LOCATIONS = ["幸福路1号", "幸福路2号", "和平街3号"]


def seed_world(ledger: Ledger) -> None:
    """The campaign of the metrics tests: a 街道 with two 社区 and a 物业, a 部门."""
    ledger.start_campaign(name="创建全国文明城市 2024", time_zone="Asia/Shanghai",
                          categories=[], required_inspections=2, admin_id="admin",
                          admin_name="王主任", occurred_at=START - timedelta(days=40))
    at = START - timedelta(days=30)
    ledger.register_unit(actor_id="admin", code="JS", name="建设街道", kind="街道", occurred_at=at)
    ledger.register_unit(actor_id="admin", code="JS01", name="幸福社区", kind="社区", parent="JS",
                         occurred_at=at)
    ledger.register_unit(actor_id="admin", code="JS02", name="和平社区", kind="社区", parent="JS",
                         occurred_at=at)
    ledger.register_unit(actor_id="admin", code="WY1", name="幸福物业", kind="物业", parent="JS",
                         occurred_at=at)
    ledger.register_unit(actor_id="admin", code="CGJ", name="城管局", kind="部门", occurred_at=at)
    for person, name, role in (("li", "李督查", "inspector"), ("zhou", "周督查", "inspector")):
        ledger.register_person(actor_id="admin", person_id=person, name=name, role=role,
                               occurred_at=at)
    for unit, person in MEMBERS.items():
        ledger.register_person(actor_id="admin", person_id=person, name=person, role="unit",
                               unit=unit, occurred_at=at)


@dataclass
class World:
    """Random, valid activity on a seeded ledger."""

    ledger: Ledger
    rng: random.Random
    tasks: dict[str, datetime] = field(default_factory=dict)  # task → its latest moment

    def run(self, steps: int) -> None:
        for _ in range(steps):
            self.step()

    def step(self) -> None:
        roll = self.rng.random()
        try:
            if roll < 0.16 or not self.tasks:
                self.new_task()
            elif roll < 0.22:
                self.visit()
            elif roll < 0.28:
                self.correct()
            else:
                self.advance(self.rng.choice(sorted(self.tasks)))
        except DomainError:
            pass  # the domain refused a random step: nothing was written

    def moment(self, after: datetime, hours: float = 96) -> datetime:
        # Often within hours, so that deadlines and month ends are met on the day.
        if self.rng.random() < 0.4:
            hours = 8
        return after + timedelta(hours=self.rng.uniform(0.5, hours))

    def new_task(self) -> None:
        when = START + timedelta(hours=self.rng.uniform(0, (END - START).total_seconds()
                                                         / 3600 - 400))
        unit = self.rng.choice(sorted(MEMBERS))
        deadline = (when + timedelta(days=self.rng.choice([0, 2, 5, 10, 30]))).date()
        done = self.ledger.assign(
            actor_id=self.rng.choice(["admin", "li"]), unit=unit,
            category=self.rng.choice(CATEGORIES), source=self.rng.choice(list(SOURCES)),
            location=self.rng.choice(LOCATIONS), description="问题", deadline=deadline,
            notice_no="ZG-1" if self.rng.random() < 0.3 else None, occurred_at=when)
        self.tasks[done["task"]] = when

    def visit(self) -> None:
        when = START + timedelta(hours=self.rng.uniform(0, (END - START).total_seconds()
                                                         / 3600 - 400))
        findings = [Finding(self.rng.choice(CATEGORIES), self.rng.choice(LOCATIONS), "发现",
                            (when + timedelta(days=self.rng.choice([1, 7]))).date())
                    for _ in range(self.rng.choice([0, 0, 1, 2]))]
        done = self.ledger.inspect(actor_id=self.rng.choice(["li", "zhou"]),
                                   unit=self.rng.choice(sorted(MEMBERS)), findings=findings,
                                   occurred_at=when)
        for task in done["tasks"]:
            self.tasks[task] = when

    def advance(self, task_id: str) -> None:
        task = self.ledger.task(task_id)
        when = self.moment(self.tasks[task_id])
        if when > END:
            return
        member = MEMBERS[task.unit]
        state, roll = task.state, self.rng.random()
        ledger = self.ledger
        if roll < 0.06 and state not in ("verified", "closed"):
            others = sorted(u for u in MEMBERS if u != task.unit)
            ledger.reassign(actor_id="admin", task_id=task_id, unit=self.rng.choice(others),
                            reason="非本单位职责",
                            occurred_at=when)
        elif roll < 0.12 and state not in ("verified", "closed"):
            ledger.extend_deadline(actor_id="admin", task_id=task_id,
                                   deadline=task.deadline + timedelta(days=self.rng.choice([1, 7, 20])),
                                   reason="申请延期", occurred_at=when)
        elif roll < 0.16 and state != "closed":
            ledger.escalate(actor_id="li", task_id=task_id, reason="督办", occurred_at=when)
        elif roll < 0.19 and state != "closed":
            ledger.close_task(actor_id="admin", task_id=task_id,
                              closure=self.rng.choice(["void", "duplicate"]),
                              reason="作废", occurred_at=when)
        elif state == "assigned":
            ledger.acknowledge(actor_id=member, task_id=task_id, occurred_at=when)
        elif state == "acknowledged":
            deadline = None if self.rng.random() < 0.5 else (
                when + timedelta(days=self.rng.choice([1, 3, 12]))).date()
            ledger.issue_notice(actor_id="li", task_id=task_id, notice_no="ZG-2",
                                deadline=deadline, occurred_at=when)
        elif state == "rectifying":
            if not task.acknowledged and self.rng.random() < 0.5:
                ledger.acknowledge(actor_id=member, task_id=task_id, occurred_at=when)
            else:
                ledger.report_rectification(actor_id=member, task_id=task_id,
                                            description="已整改", occurred_at=when)
        elif state == "reported":
            ledger.reinspect(actor_id="zhou", task_id=task_id, passed=self.rng.random() < 0.7,
                             note="返工", occurred_at=when)
        elif state == "verified":
            ledger.close_task(actor_id="li", task_id=task_id, closure="verified",
                              reason="整改到位", occurred_at=when)
        elif state == "closed" and task.closure == "verified" and roll < 0.5:
            ledger.reopen(actor_id="admin", task_id=task_id, reason="反弹",
                          deadline=(when + timedelta(days=self.rng.choice([2, 9]))).date(),
                          occurred_at=when)
        else:
            return
        self.tasks[task_id] = when

    def correct(self) -> None:
        task_id = self.rng.choice(sorted(self.tasks))
        task = self.ledger.task(task_id)
        when = self.moment(self.tasks[task_id], 48)
        if when > END:
            return
        kind = self.rng.choice(["occurred_at", "deadline", "attribute"])
        versions = [i + 1 for i, e in enumerate(task.log) if e[0] != "Corrected"]
        if kind == "occurred_at":
            version = self.rng.choice(versions)
            low = task.log[version - 2][1] if version > 1 else START - timedelta(days=5)
            high = task.log[version][1] if version < len(task.log) else when
            moment = low + (high - low) * self.rng.random()
            changes = {"occurred_at": moment.isoformat()}
        elif kind == "deadline":
            version = task.deadline_set_by
            base = task.log[version - 1][1].astimezone(ZONE).date()
            changes = {"deadline": (base + timedelta(days=self.rng.choice([0, 3, 15, 40])))
                       .isoformat()}
        else:
            version = 1
            field_name = self.rng.choice(["category", "location", "source"])
            value = self.rng.choice({"category": CATEGORIES, "location": LOCATIONS,
                                     "source": list(SOURCES)}[field_name])
            changes = {field_name: value}
        self.ledger.correct(actor_id="admin", task_id=task_id, event=version, changes=changes,
                            reason="更正", occurred_at=when)
        self.tasks[task_id] = when


def change_required_inspections(ledger: Ledger, required: int, at: datetime) -> None:
    campaign = ledger.campaign()
    campaign.change_required_inspections(required, "加密巡查", actor=ledger.actor("admin"),
                                         occurred_at=at)
    ledger.save(campaign)


# --- brute force ------------------------------------------------------------------------

def stored_events(ledger: Ledger, upto: int | None = None) -> list[dict[str, Any]]:
    """Every stored event as a dict: kind, aggregate, version and its own fields."""
    found = []
    for record in ledger.records(0, upto):
        data = json.loads(record.state)
        data = {k: (v["_data_"] if isinstance(v, dict) and "_type_" in v else v)
                for k, v in data.items()}
        data.update(kind=record.topic.rsplit(":", 1)[-1], aggregate=record.originator_id,
                    version=record.originator_version)
        found.append(data)
    return found


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _local_day(moment: datetime) -> date:
    return moment.astimezone(ZONE).date()


def _month(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _last_day(month: str) -> date:
    year, number = int(month[:4]), int(month[5:])
    following = date(year + number // 12, number % 12 + 1, 1)
    return following - timedelta(days=1)


def _month_shift(month: str, by: int) -> str:
    index = int(month[:4]) * 12 + int(month[5:]) - 1 + by
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


@dataclass
class History:
    """One task as its events, corrected, tell it."""

    task: str
    source: str
    category: str
    location: str
    assigned_at: datetime
    first_unit: str
    cycles: list[dict[str, Any]]
    acks: list[tuple[datetime, datetime, str]]  # (received, acknowledged, unit)


def histories(events: list[dict[str, Any]]) -> list[History]:
    by_task: dict[str, list[dict[str, Any]]] = {}
    for e in events:
        if e["kind"].startswith("Task."):
            by_task.setdefault(e["aggregate"], []).append(dict(e))
    found = []
    for task, evs in by_task.items():
        plain = {e["version"]: e for e in evs if e["kind"] != "Task.Corrected"}
        for c in (e for e in evs if e["kind"] == "Task.Corrected"):
            for name, value in c["changes"].items():
                plain[c["corrects"]][name] = value
        ordered = [plain[v] for v in sorted(plain)]
        first = ordered[0]
        unit = first["unit"]
        received = _moment(first["occurred_at"])
        cycles: list[dict[str, Any]] = []
        acks = []
        for e in ordered:
            name, at = e["kind"].split(".")[1], _moment(e["occurred_at"])
            if name in ("Assigned", "Reopened"):
                cycles.append({"start": at, "unit": unit, "deadline":
                               date.fromisoformat(e["deadline"]), "passed": None,
                               "closed": None, "reinspections": [], "escalations": [],
                               "reopened": name == "Reopened"})
                continue
            cycle = cycles[-1]
            if name in ("NoticeIssued", "DeadlineExtended") and e.get("deadline"):
                cycle["deadline"] = date.fromisoformat(e["deadline"])
            elif name == "ReinspectionPassed":
                cycle["passed"] = at
                cycle["reinspections"].append((at, False))
            elif name == "ReinspectionFailed":
                cycle["reinspections"].append((at, True))
            elif name == "Escalated":
                cycle["escalations"].append(at)
            elif name == "Closed":
                cycle["closed"] = (at, e["closure"])
            elif name == "Reassigned":
                unit = e["unit"]
                cycle["unit"] = unit
                received = at
            elif name == "Acknowledged":
                acks.append((received, at, unit))
        found.append(History(task, first["source"], first["category"], first["location"],
                             _moment(first["occurred_at"]), cycles[0]["unit"], cycles, acks))
    return found


def brute_force(events: list[dict[str, Any]], unit: str, month: str) -> dict[str, Any]:
    """Every figure of ``unit`` (with the units below it) for ``month``, from the events."""
    parents: dict[str, str | None] = {}
    registered: dict[str, date] = {}
    settings: list[tuple[datetime, int]] = []
    window, lookback = 90, 3
    visits = []
    surveys: list[dict[str, Any]] = []
    for e in events:
        if e["kind"] == "Unit.Registered":
            parents[e["code"]] = e["parent"]
            registered[e["code"]] = _local_day(_moment(e["occurred_at"]))
        elif e["kind"] == "Campaign.Started":
            settings.append((_moment(e["occurred_at"]), e["required_inspections"]))
            window, lookback = e["recurrence_window_days"], e["recurrence_lookback_months"]
        elif e["kind"] == "Campaign.SettingsChanged":
            settings.append((_moment(e["occurred_at"]), e["required_inspections"]))
        elif e["kind"] == "Inspection.Recorded":
            visits.append((e["unit"], _moment(e["occurred_at"])))
        elif e["kind"] == "Survey.Recorded":
            surveys.append(e)

    def within(code: str) -> bool:
        while code is not None:
            if code == unit:
                return True
            code = parents.get(code)  # type: ignore[assignment]
        return False

    def in_month(moment: datetime) -> bool:
        return _month(_local_day(moment)) == month

    last = _last_day(month)
    tasks = histories(events)
    counted: dict[str, Any] = {k: 0 for k in (
        "assigned", "complaints", "media", "unannounced", "due", "on_time", "reinspections",
        "rework", "verified", "overdue_open", "escalated")}
    days, hours = [], []
    recurrent, closed_before = set(), set()
    earliest = _month_shift(month, -lookback)
    for h in tasks:
        if in_month(h.assigned_at) and within(h.first_unit):
            counted["assigned"] += 1
            for name, source in (("complaints", "complaint"), ("media", "media"),
                                 ("unannounced", "unannounced")):
                counted[name] += h.source == source
        for received, acked, who in h.acks:
            if h.source == "complaint" and in_month(acked) and within(who):
                hours.append((acked - received).total_seconds() / 3600)
        for index, c in enumerate(h.cycles):
            if c["reopened"] and in_month(c["start"]) and within(h.cycles[index - 1]["unit"]):
                recurrent.add(h.task)
            if not within(c["unit"]):
                continue
            for at, failed in c["reinspections"]:
                if in_month(at):
                    counted["reinspections"] += 1
                    counted["rework"] += failed
            counted["escalated"] += sum(1 for at in c["escalations"] if in_month(at))
            closed = c["closed"]
            if closed and closed[1] == "verified" and \
                    earliest <= _month(_local_day(closed[0])) < month:
                closed_before.add(h.task)
            if closed and closed[1] != "verified":
                continue
            passed_on = _local_day(c["passed"]) if c["passed"] else None
            if _month(c["deadline"]) == month:
                counted["due"] += 1
                counted["on_time"] += passed_on is not None and passed_on <= c["deadline"]
            if c["passed"] and in_month(c["passed"]):
                counted["verified"] += 1
                days.append((c["passed"] - c["start"]).total_seconds() / 86400)
            if c["deadline"] < last and (passed_on is None or passed_on > last):
                counted["overdue_open"] += 1
    # New tasks at a place closed as rectified within the window before.
    for h in tasks:
        if not (in_month(h.assigned_at) and within(h.first_unit)):
            continue
        for other in tasks:
            if other.task == h.task or other.category != h.category or \
                    other.location != h.location:
                continue
            for c in other.cycles:
                closed = c["closed"]
                if closed and closed[1] == "verified" and c["unit"] == h.first_unit and \
                        closed[0] < h.assigned_at <= closed[0] + timedelta(days=window):
                    recurrent.add(h.task)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), ZONE)
    in_force = [r for at, r in sorted(settings) if at < end] or [settings[0][1]]
    leaves = [u for u in parents if within(u) and u not in parents.values()
              and _month(registered[u]) <= month]
    required = in_force[-1] * len(leaves)
    inspections = sum(1 for who, at in visits if within(who) and in_month(at))

    def ratio(top: int, bottom: int) -> Fraction | None:
        return Fraction(top, bottom) if bottom else None

    surveyed = [s for s in surveys if s["month"] == month and within(s["unit"])]
    sample = sum(s["sample"] for s in surveyed)

    def survey_rate(rate: str) -> Fraction | None:
        if not sample:
            return None
        return sum(Fraction(s[rate]) * s["sample"] for s in surveyed) / sample / 100

    return {
        **counted,
        "late": counted["due"] - counted["on_time"],
        "on_time_rate": ratio(counted["on_time"], counted["due"]),
        "rework_rate": ratio(counted["rework"], counted["reinspections"]),
        "mean_days": statistics.fmean(days) if days else None,
        "recurrences": len(recurrent),
        "closed_before": len(closed_before),
        "recurrence_rate": ratio(len(recurrent), len(closed_before)),
        "inspections": inspections,
        "required_inspections": required,
        "inspection_coverage": ratio(inspections, required),
        "complaints_acknowledged": len(hours),
        "complaint_response_hours": statistics.median(hours) if hours else None,
        **{rate: survey_rate(rate) for rate in ("awareness", "participation", "satisfaction")},
        "surveyed": sample,
    }
