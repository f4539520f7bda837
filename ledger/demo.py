"""A realistic, deterministic ledger: a subdistrict's (or a city's) months of campaigning.

The same simulation serves ``taizhang demo`` (:mod:`ledger.demo_city`: a small city, each
act entered some while after it happened) and the benchmarks' city-sized ledgers. Everything
goes through the domain's own commands — roles, states and deadlines are checked as for any
user. Here it is saved in batches through the application's bulk path, in time order, as
the store's clock stands; the demo's city enters each event at its own moment instead.
"""

from __future__ import annotations

import heapq
import random
from time import perf_counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from domain.accounts import Account
from domain.base import Actor, LedgerAggregate, Refused
from domain.inspection import Inspection
from domain.registry import Campaign, Person, Unit
from domain.task import Task
from ledger.app import Ledger
from ledger.tasks import INSPECTION_PREFIX, TASK_PREFIX
from ledger.unit_of_work import sequence_id

PROBLEMS = [
    ("环境卫生", "牛皮癣小广告", "电线杆、墙面张贴小广告"),
    ("环境卫生", "乱堆乱放", "楼道、路边堆放杂物"),
    ("环境卫生", "卫生死角", "背街小巷垃圾未清运"),
    ("交通秩序", "占道经营", "流动摊贩占道经营"),
    ("交通秩序", "非机动车乱停放", "共享单车、电动车乱停放"),
    ("交通秩序", "窨井盖破损", "人行道窨井盖破损"),
    ("建筑工地", "违章搭建", "屋顶、院内违章搭建"),
    ("建筑工地", "工地围挡破损", "施工围挡破损，扬尘未覆盖"),
    ("集贸市场", "市场秩序混乱", "农贸市场摊位出店经营"),
    ("文化环境", "公益广告破损", "公益广告牌破损褪色"),
    ("社会治安", "消防通道堵塞", "小区消防通道被占用"),
]
STREET_NAMES = ["幸福路", "和平街", "建设路", "人民路", "解放路", "光明巷", "文化路", "新华街"]
COMMUNITY_NAMES = ["幸福", "和平", "建设", "光明", "朝阳", "新华", "文化", "东风", "红星",
                   "团结", "胜利", "长青", "春晖", "金桥", "银杏", "翠柳"]
DEPARTMENTS = [("CGJ", "城管局"), ("SJJ", "市场监管局"), ("JTJ", "交警大队"),
               ("ZJJ", "住建局"), ("WLJ", "文旅局"), ("HBJ", "生态环境局")]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"


@dataclass(frozen=True)
class Scale:
    """How big a ledger to simulate."""

    streets: int = 1
    communities_per_street: int = 10
    departments: int = 3
    properties: int = 3
    inspectors: int = 3
    months: int = 7
    inspections_per_unit_month: float = 4.0


DEMO = Scale()  # one 街道's worth: the benchmarks' unit of density (the demo: demo_city.CITY)


@dataclass(order=True)
class _Step:
    when: datetime
    seq: int
    action: str
    task_id: str = ""


class Simulation:
    """Drives the domain through months of inspections, rectifications and recurrences."""

    def __init__(self, ledger: Ledger, *, seed: int, until: str, scale: Scale = DEMO,
                 batch: int = 500, progress: Callable[[int], None] | None = None) -> None:
        self.ledger = ledger
        self.rng = random.Random(seed)
        self.scale = scale
        self.zone = ZoneInfo("Asia/Shanghai")
        year, month = (int(x) for x in until.split("-"))
        self.end = _month_start(year, month, 1, self.zone)
        self.start = _month_start(year, month, 1 - scale.months, self.zone)
        self.cutoff = min(self.end, ledger.clock())
        self.batch = batch
        self.progress = progress
        self.pending: dict[str, LedgerAggregate] = {}
        self.tasks: dict[str, Task] = {}
        self.queue: list[_Step] = []
        self.seq = 0
        self.task_no = 0
        self.inspection_no = 0
        self.saved_events = 0
        self.write_seconds = 0.0  # spent in the bulk path's saves
        self.scheduled: dict[str, int] = {}

    # --- setting up -------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        """Build the ledger and return a summary of what was written."""
        try:
            self.ledger.campaign()
        except Exception:  # noqa: BLE001 - any failure to load means: no campaign yet
            pass
        else:
            raise Refused("演示需要一个空的存储：这个存储已经有专项行动了")
        self._registries()
        self._plan()
        while self.queue:
            step = heapq.heappop(self.queue)
            if step.when > self.cutoff:
                break
            self._before(step)
            getattr(self, f"_do_{step.action}")(step)
            self._done(step.task_id)
            if len(self.pending) >= self.batch:
                self._flush()
        self._finish()
        return {"events": self.saved_events, "write_seconds": self.write_seconds,
                "tasks": self.task_no,
                "inspections": self.inspection_no, "units": len(self.units),
                "from": self.start.date().isoformat(),
                "until": (self.end - timedelta(days=1)).date().isoformat()}

    def _before(self, step: _Step) -> None:
        """Called before each step is done (for what runs beside the simulation)."""

    def _finish(self) -> None:
        self._flush()

    def _registries(self) -> None:
        # The campaign starts on the first morning of its first month, before any visit.
        at = self.start + timedelta(hours=8)
        admin = Person.found(person_id="admin", name="王主任", occurred_at=at)
        self.admin = admin.as_actor()
        campaign = Campaign.start(name="创建全国文明城市", time_zone="Asia/Shanghai",
                                  categories=[], required_inspections=4, actor=self.admin,
                                  occurred_at=at)
        # The administrator is bound to the account running the demo; every other person's
        # events are entered by them, as proxy entries (代录) — one account cannot be
        # everyone, and binding the others' own accounts is 'taizhang person bind'.
        self._keep(admin, campaign, Account.bind_new(self.ledger.account, admin,
                                                     actor=self.admin, occurred_at=at))
        self.units: dict[str, Unit] = {}
        self.communities: list[str] = []
        self.members: dict[str, Any] = {}
        for s in range(self.scale.streets):
            street = self._unit(f"JD{s + 1:02d}", f"{COMMUNITY_NAMES[s % 16]}街道{_n(s // 16)}",
                                "街道", None, at)
            for c in range(self.scale.communities_per_street):
                index = s * self.scale.communities_per_street + c
                code = f"{street.code}-SQ{c + 1:02d}"
                self._unit(code, f"{COMMUNITY_NAMES[index % 16]}社区{_n(index // 16)}",
                           "社区", street, at)
                self.communities.append(code)
        for d in range(self.scale.departments):
            code, name = DEPARTMENTS[d % len(DEPARTMENTS)]
            self._unit(f"{code}{_n(d // len(DEPARTMENTS))}",
                       f"{name}{_n(d // len(DEPARTMENTS))}", "部门", None, at)
        for p in range(self.scale.properties):
            # Property companies are spread over the 街道, so each 街道's share of the city
            # stays the same at every size.
            street = self.units[f"JD{p % self.scale.streets + 1:02d}"]
            self._unit(f"WY{p + 1:02d}", f"{COMMUNITY_NAMES[(p + 5) % 16]}物业公司{_n(p // 16)}",
                       "物业", street, at)
        for code, unit in self.units.items():
            if unit.kind != "街道":
                person = Person.register(person_id=f"u-{code.lower()}",
                                         name=self._name(), role="unit", unit=unit,
                                         actor=self.admin, occurred_at=at)
                self.members[code] = _entered_by_admin(person)
                self._keep(person)
        self.inspectors = []
        for i in range(self.scale.inspectors):
            person = Person.register(person_id=f"dc{i + 1:02d}", name=self._name(),
                                     role="inspector", unit=None, actor=self.admin,
                                     occurred_at=at)
            self.inspectors.append(_entered_by_admin(person))
            self._keep(person)
        self._flush()

    def _unit(self, code: str, name: str, kind: str, parent: Unit | None,
              at: datetime) -> Unit:
        unit = Unit.register(code=code, name=name, kind=kind, parent=parent,
                             actor=self.admin, occurred_at=at)
        self.units[code] = unit
        self._keep(unit)
        return unit

    def _name(self) -> str:
        return self.rng.choice(SURNAMES) + self.rng.choice("建国明华丽红军平伟芳静强磊洋")

    def _plan(self) -> None:
        """Schedule every inspection visit, complaint and exposure of the period."""
        days = (self.end - self.start).days
        targets = self.communities + [c for c, u in self.units.items()
                                      if u.kind == "物业"]
        for code in targets:
            diligence = self.rng.uniform(0.6, 1.2)
            visits = int(self.scale.inspections_per_unit_month * self.scale.months * diligence)
            for _ in range(visits):
                self._at(self._office_day(days), "inspect", code)
        other_units = [c for c, u in self.units.items() if u.kind in ("社区", "部门")]
        for _ in range(len(self.communities) * self.scale.months * 2):
            self._at(self._office_day(days), "outside", self.rng.choice(other_units))

    def _office_day(self, days: int) -> datetime:
        """A random moment in office hours within the period."""
        day = (self.start + timedelta(days=self.rng.randrange(days))).date()
        return datetime.combine(day, time(8, 30), self.zone) + timedelta(
            minutes=self.rng.randint(0, 9 * 60))

    # --- the simulation ---------------------------------------------------------------

    def _at(self, when: datetime, action: str, task_id: str) -> None:
        """Schedule a follow-up of a task (or, for visits, of a unit)."""
        self.seq += 1
        self.scheduled[task_id] = self.scheduled.get(task_id, 0) + 1
        heapq.heappush(self.queue, _Step(when.replace(microsecond=0), self.seq, action,
                                         task_id))

    def _do_inspect(self, step: _Step) -> None:
        unit = step.task_id
        inspector = self.rng.choice(self.inspectors)
        companions = [i.id for i in self.rng.sample(self.inspectors, k=self.rng.randint(0, 1))
                      if i.id != inspector.id]
        findings = self.rng.choices([0, 1, 2, 3], weights=[35, 40, 18, 7])[0]
        self.inspection_no += 1
        inspection_id = sequence_id(INSPECTION_PREFIX, self.inspection_no)
        task_ids = [self._new_task(unit, "inspection", inspector, step.when, inspection_id)
                    for _ in range(findings)]
        visit = Inspection.record(inspection_id=inspection_id, unit=unit,
                                  companions=companions, findings=task_ids, note="",
                                  actor=inspector, occurred_at=step.when, now=step.when)
        self._keep(visit)

    def _do_outside(self, step: _Step) -> None:
        source = self.rng.choices(["complaint", "media", "unannounced", "decomposition"],
                                  weights=[60, 12, 13, 15])[0]
        self._new_task(step.task_id, source, self.admin, step.when, None)

    def _new_task(self, unit: str, source: str, actor: Any, when: datetime,
                  inspection: str | None, problem: tuple[str, str, str] | None = None,
                  location: str | None = None) -> str:
        self.task_no += 1
        task_id = sequence_id(TASK_PREFIX, self.task_no)
        category, title, detail = problem or self.rng.choice(PROBLEMS)
        location = location or (f"{self.rng.choice(STREET_NAMES)}"
                                f"{self.rng.randint(1, 40)}号")
        deadline = (when + timedelta(days=self.rng.choice([3, 5, 7, 7, 10, 15]))).date()
        task = Task.assign(task_id=task_id, unit=unit, category=category, source=source,
                           location=location, description=f"{title}：{detail}",
                           deadline=deadline, actor=actor, occurred_at=when, zone=self.zone,
                           now=when, inspection=inspection)
        if self.rng.random() < 0.5:
            task.issue_notice(notice_no=f"ZG{when:%Y%m}-{self.task_no:05d}",
                              requirements="限期整改到位", actor=actor, occurred_at=when,
                              now=when, zone=self.zone)
        self.tasks[task_id] = task
        self._keep(task)
        self._at(when + timedelta(hours=self.rng.uniform(1, 60)), "acknowledge", task_id)
        return task_id

    def _member(self, task: Task) -> Any:
        return self.members[task.unit]

    def _do_acknowledge(self, step: _Step) -> None:
        task = self.tasks[step.task_id]
        if self.rng.random() < 0.04 and task.state != "closed":
            reason = self.rng.choice(["重复交办", "非本单位职责范围"])
            closure = "duplicate" if reason == "重复交办" else "not_responsible"
            task.close(closure=closure, reason=reason, actor=self.admin, occurred_at=step.when,
                       now=step.when)
            self._keep(task)
            return
        task.acknowledge(actor=self._member(task), occurred_at=step.when, now=step.when)
        if task.state == "acknowledged":
            task.issue_notice(notice_no=f"ZG{step.when:%Y%m}-{step.task_id[2:]}",
                              requirements="限期整改到位", actor=self.admin,
                              occurred_at=step.when, now=step.when, zone=self.zone)
        self._keep(task)
        self._schedule_report(task, step.when)

    def _schedule_report(self, task: Task, after: datetime) -> None:
        slack = (task.deadline - after.astimezone(self.zone).date()).days
        # Most units report in time; some drag on well past the deadline.
        delay = self.rng.uniform(0.5, max(1.0, slack)) if self.rng.random() < 0.8 \
            else max(slack, 0) + self.rng.uniform(1, 20)
        self._at(after + timedelta(days=delay), "report", task.id)

    def _do_report(self, step: _Step) -> None:
        task = self.tasks[step.task_id]
        if task.is_overdue(step.when.astimezone(self.zone).date()):
            if self.rng.random() < 0.3:
                task.escalate(reason="超期未整改，列入督办", actor=self.admin,
                              occurred_at=step.when, now=step.when)
            elif self.rng.random() < 0.2:
                task.extend_deadline(deadline=step.when.date() + timedelta(days=5),
                                     reason="整改工程量大，申请延期", actor=self.admin,
                                     occurred_at=step.when, now=step.when)
        task.report_rectification(
            description="已按要求整改完毕", actor=self._member(task),
            evidence=[{"file": f"{task.id}-after.jpg", "description": "整改后照片"}],
            occurred_at=step.when, now=step.when)
        self._keep(task)
        self._at(step.when + timedelta(days=self.rng.uniform(0.3, 3)), "reinspect", task.id)

    def _do_reinspect(self, step: _Step) -> None:
        task = self.tasks[step.task_id]
        inspector = self.rng.choice(self.inspectors)
        passed = self.rng.random() > 0.18
        task.reinspect(passed=passed, note="" if passed else "整改不彻底，返工",
                       evidence=[], actor=inspector, occurred_at=step.when, now=step.when)
        self._keep(task)
        if passed:
            self._at(step.when + timedelta(hours=self.rng.uniform(1, 48)), "close", task.id)
        else:
            self._schedule_report(task, step.when)

    def _do_close(self, step: _Step) -> None:
        task = self.tasks[step.task_id]
        inspector = self.rng.choice(self.inspectors)
        task.close(closure="verified", reason="整改到位，予以销号", actor=inspector,
                   occurred_at=step.when, now=step.when)
        self._keep(task)
        roll = self.rng.random()
        if roll < 0.07:
            self._at(step.when + timedelta(days=self.rng.uniform(10, 80)), "reopen", task.id)
        elif roll < 0.12:
            self._at(step.when + timedelta(days=self.rng.uniform(10, 80)), "recur", task.id)

    def _do_reopen(self, step: _Step) -> None:
        task = self.tasks[step.task_id]
        task.reopen(reason="问题反弹", deadline=(step.when + timedelta(days=5)).date(),
                    actor=self.admin, occurred_at=step.when, now=step.when, zone=self.zone)
        self._keep(task)
        self._schedule_report(task, step.when)

    def _do_recur(self, step: _Step) -> None:
        old = self.tasks[step.task_id]
        inspector = self.rng.choice(self.inspectors)
        problem = next(p for p in PROBLEMS if old.description.startswith(p[1]))
        self._new_task(old.unit, "inspection", inspector, step.when, None, problem=problem,
                       location=old.location)

    def _done(self, key: str) -> None:
        # A task with nothing more scheduled needs no more room in memory.
        left = self.scheduled.pop(key) - 1
        if left:
            self.scheduled[key] = left
        elif key in self.tasks and self.tasks[key].state == "closed":
            del self.tasks[key]

    # --- saving -----------------------------------------------------------------------

    def _keep(self, *aggregates: LedgerAggregate) -> None:
        for aggregate in aggregates:
            self.pending[aggregate.id] = aggregate

    def _flush(self) -> None:
        if not self.pending:
            return
        written = sum(len(a.pending_events) for a in self.pending.values())
        started = perf_counter()
        self.ledger.save(*self.pending.values())
        self.write_seconds += perf_counter() - started
        self.pending.clear()
        self.saved_events += written
        if self.progress:
            self.progress(written)


def _month_start(year: int, month: int, offset: int, zone: ZoneInfo) -> datetime:
    index = year * 12 + (month - 1) + offset
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=zone)


def _n(i: int) -> str:
    return "" if i == 0 else str(i + 1)


def _entered_by_admin(person: Person) -> Actor:
    """A person of the demo, whose events the administrator enters for them (代录)."""
    actor = person.as_actor()
    actor.entered_by = "admin"
    return actor
