"""The demo's small city: the simulation of :mod:`ledger.demo`, entered as people enter it,
with everything an office does besides inspections.

Three 街道 with their 社区 and property companies, six departments, a supervision group and
an auditor, over months. Every act is entered some minutes to some weeks after it happened
(:mod:`ledger.demo_entries`), with the moment of entry as its transaction time, so that
``--as-of`` replays the ledger as it grew. Beside the inspections and rectifications of the
simulation: tasks reassigned to the department responsible, deadlines corrected, an
indicator system with targets for every 社区 and 街道 and their verified progress, monthly
surveys, scoring rules adopted half-way through, months published (each followed by an
auditor's signed checkpoint) and, after each publication, an unannounced check's findings
entered late — which the revisions report then finds.

The office's own acts (adopting the indicator system and the rules, publishing, recording
checkpoints) go through the ledger's commands, on a clock set to the moment they are
entered; everything else through the domain's commands, as in the simulation.
"""

from __future__ import annotations

import hashlib
import heapq
import random
from collections.abc import Callable
from functools import partial
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from domain.months import first_day, last_day, month_add
from domain.registry import Person
from domain.survey import Survey
from domain.target import TargetTask
from ledger.app import Ledger
from ledger.audit_checkpoints import record_checkpoint
from ledger.demo import Scale, Simulation, _Step
from ledger.demo_entries import NOTIFIED, Entries
from ledger.evaluation import Evaluations, Frozen, RulesVersion
from ledger.indicators import SURVEY_PREFIX, TARGET_PREFIX, Indicators
from ledger.unit_of_work import sequence_id

CITY = Scale(streets=3, communities_per_street=5, departments=6, properties=3,
             inspectors=4, months=7, inspections_per_unit_month=4.0)
AUDITOR = "sj01"
# Which department a 社区 hands a problem to when it is not its own (改派).
RESPONSIBLE = {"交通秩序": "JTJ", "建筑工地": "ZJJ", "集贸市场": "SJJ", "文化环境": "WLJ",
               "环境卫生": "CGJ", "社会治安": "CGJ"}
INDICATORS = [
    {"code": "1", "title": "公共文化环境", "points": 30, "method": "实地考察"},
    {"code": "1.1", "parent": "1", "title": "公益广告设置", "points": 15,
     "method": "实地考察：主次干道、社区公益广告数量与质量"},
    {"code": "1.2", "parent": "1", "title": "新时代文明实践站活动", "points": 15,
     "method": "材料审核：活动记录、照片"},
    {"code": "2", "title": "志愿服务", "points": 20, "method": "网上申报"},
    {"code": "2.1", "parent": "2", "title": "注册志愿者占常住人口比例", "points": 20,
     "method": "网上申报：全国志愿服务信息系统数据"},
    {"code": "3", "title": "群众满意度", "points": 20, "method": "问卷调查"},
]
# (indicator, target, unit of measure, month of the campaign it is due at the end of)
COMMUNITY_TARGETS = [("1.1", 20, "块", 3), ("2.1", 13, "%", 6)]
STREET_TARGETS = [("1.2", 6, "期", 5)]
RULES_V1 = """\
# 每月评比考核细则（试行）: stricter than the shipped rules, and the people's
# satisfaction (the month's surveys) counts.
name = "每月评比考核细则（试行）"
base = 80
floor = 0
counts_per_unit = true

[deductions]
overdue_open = 3
late = 1
rework = 2
recurrences = 3
media = 5
unannounced = 5

[rates]
on_time_rate = { weight = 10, if_none = 1 }
inspection_coverage = { weight = 5, cap = 1, if_none = 1 }
satisfaction = { weight = 5, if_none = 0.8 }

[ranking]
ties = "share"
tie_breakers = ["on_time_rate desc", "overdue_open asc"]
red = 3
black = 3
"""
RULES_FILE = "每月评比考核细则（试行）.toml"
# A survey's figures reach the office with the third party's report, some days later; the
# late unannounced findings, some days after the month's publication.
REPORTED = ((1.0, timedelta(days=2), timedelta(days=9)),)
LATE_NOTICE = ((1.0, timedelta(days=3), timedelta(days=8)),)

Freeze = Callable[[str, Callable[[str], RulesVersion]], Frozen]


class SimulatedClock:
    """The ledger's clock while the demo enters the office's acts: set to each act's
    moment of entry (which becomes its transaction time)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass(order=True)
class _Act:
    entered: datetime
    seq: int
    what: Callable[[], None]


class City(Simulation):
    """The demo: a small city, entered as it happened."""

    def __init__(self, ledger: Ledger, *, seed: int, until: str, clock: SimulatedClock,
                 freeze: Freeze, key: Ed25519PrivateKey, scale: Scale = CITY,
                 batch: int = 500) -> None:
        super().__init__(ledger, seed=seed, until=until, scale=scale, batch=batch)
        self.clock = clock
        self.freeze = freeze
        self.key = key
        self.entries = Entries(ledger, random.Random(seed * 7919 + 1), batch)
        self.entry_at = self.start
        self.acts: list[_Act] = []
        self.targets: dict[str, TargetTask] = {}
        self.reached: dict[str, list[float]] = {}
        self.target_no = 0
        self.survey_no = 0
        self.surveys: dict[str, str] = {}  # survey: month
        self.published: list[str] = []
        self.statement: dict[str, Any] | None = None
        self.corrected: list[str] = []
        months = [month_add(f"{self.start:%Y-%m}", i) for i in range(scale.months)]
        self.months = months
        # Half-way, the office adopts its own rules and starts publishing (a demo of one
        # month has neither).
        self.rules_from: str | None = months[max(1, len(months) // 2)] \
            if len(months) > 1 else None

    # --- the simulation, entered ----------------------------------------------------------

    def _keep(self, *aggregates: Any) -> None:
        for aggregate in aggregates:
            self.entries.enter(aggregate, self.entry_at)

    def _flush(self) -> None:
        """Nothing is saved at once: entries are written in order of entry."""

    def _before(self, step: _Step) -> None:
        self._act_until(step.when)
        if self.entries.full():
            self.entries.write(step.when)
        self.entry_at = self.entries.moment(step.when)

    def _finish(self) -> None:
        self._act_until(self.cutoff)
        self.entries.write(self.cutoff)

    def _registries(self) -> None:
        self.entry_at = self.start + timedelta(hours=8, minutes=20)
        super()._registries()
        at = self.start + timedelta(hours=8)
        auditor = Person.register(person_id=AUDITOR, name="孙审计", role="auditor", unit=None,
                                  actor=self.admin, occurred_at=at)
        self._keep(auditor)
        for code, unit in self.units.items():
            if unit.kind == "街道":  # someone at each 街道 reports its targets
                person = Person.register(person_id=f"u-{code.lower()}", name=self._name(),
                                         role="unit", unit=unit, actor=self.admin,
                                         occurred_at=at)
                self.members[code] = person.as_actor()
                self._keep(person)
        self.entries.write(self.entry_at)
        self._calendar()

    def _new_task(self, unit: str, source: str, actor: Any, when: datetime,
                  inspection: str | None, problem: tuple[str, str, str] | None = None,
                  location: str | None = None) -> str:
        if source == "unannounced":
            self.entry_at = max(self.entry_at, self.entries.moment(when, NOTIFIED))
        task_id = super()._new_task(unit, source, actor, when, inspection, problem, location)
        if source == "inspection" and self.rng.random() < 0.05:
            self._at(when + timedelta(days=self.rng.uniform(2, 25)), "correct", task_id)
        return task_id

    def _do_acknowledge(self, step: _Step) -> None:
        task = self.tasks[step.task_id]
        responsible = self._department(task.category)
        if (task.state == "assigned" and self.units[task.unit].kind == "社区"
                and responsible and self.rng.random() < 0.06):
            task.reassign(unit=responsible, reason=f"属{self.units[responsible].name}职责，改派",
                          actor=self.admin, occurred_at=step.when, now=step.when)
            self._keep(task)
            self._at(step.when + timedelta(hours=self.rng.uniform(1, 30)), "acknowledge",
                     task.id)
            return
        super()._do_acknowledge(step)

    def _department(self, category: str) -> str | None:
        code = RESPONSIBLE.get(category)
        return code if code in self.units else None

    def _do_correct(self, step: _Step) -> None:
        """The deadline on the assignment was typed wrong: corrected from the paper copy."""
        task = self.tasks[step.task_id]
        if task.deadline_set_by != 1:
            return  # a notice or an extension has set the deadline since
        task.correct(corrects=1, changes={"deadline": (task.deadline + timedelta(days=3))
                                          .isoformat()},
                     reason="交办单整改期限录入有误，按交办单原件更正", actor=self.admin,
                     occurred_at=step.when, now=step.when, zone=self.zone,
                     categories=list(self.categories))
        self.corrected.append(task.id)
        self._keep(task)

    # --- the office's calendar -----------------------------------------------------------

    def _calendar(self) -> None:
        """Plan the office's acts over the months."""
        self.categories = self.ledger.campaign().categories
        self._office(self._day(self.months[0], 1, 9), timedelta(minutes=40),
                     self._import_indicators)
        for code, unit in self.units.items():
            targets = {"社区": COMMUNITY_TARGETS, "街道": STREET_TARGETS}.get(unit.kind, [])
            for indicator, target, measure, due_month in targets:
                when = self._day(self.months[0], 2, 10) + timedelta(
                    minutes=self.rng.randint(0, 240))
                self._at(when, "target", f"{code}|{indicator}|{target}|{measure}|{due_month}")
        for month in self.months[1:]:
            for code in self.communities:
                day = self.rng.randint(20, 27)
                self._at(self._day(month, day, 9) + timedelta(minutes=self.rng.randint(0, 480)),
                         "survey", f"{code}|{month}")
        if self.rules_from is None:
            return
        adopt = self._day(month_add(self.rules_from, -1), 18, 10)
        self._office(adopt, timedelta(minutes=25), self._adopt_rules)
        for month in self.months[self.months.index(self.rules_from):]:
            published = self._day(month_add(month, 1), 4, 15)
            self._office(published, timedelta(minutes=10), partial(self._publish, month))
            self._office(published, timedelta(hours=1), partial(self._checkpoint, month))
            # An unannounced check at the month's end whose findings arrive after the
            # publication: a late entry the revisions report finds.
            self._at(self._day(month, 27, 10), "late_finding", published.isoformat())

    def _day(self, month: str, day: int, hour: int) -> datetime:
        found = min(first_day(month) + timedelta(days=day - 1), last_day(month))
        return datetime.combine(found, time(hour), self.zone)

    def _office(self, when: datetime, after: timedelta,
                act: Callable[[datetime], None]) -> None:
        self.seq += 1
        entered = when + after
        heapq.heappush(self.acts, _Act(entered, self.seq, lambda: act(when)))

    def _act_until(self, moment: datetime) -> None:
        while self.acts and self.acts[0].entered <= moment:
            act = heapq.heappop(self.acts)
            self.entries.write(act.entered)
            self.clock.now = act.entered
            act.what()

    def _import_indicators(self, when: datetime) -> None:
        Indicators(self.ledger).import_system(actor_id="admin", rows=INDICATORS,
                                              name="2024年版测评体系",
                                              source="全国文明城市测评体系（节选）",
                                              occurred_at=when)

    def _adopt_rules(self, when: datetime) -> None:
        Evaluations(self.ledger).adopt_rules(
            actor_id="admin", text=RULES_V1, source=RULES_FILE, from_month=self.rules_from,
            reason="试运行期结束，加严考核并纳入群众满意度", occurred_at=when)

    def _publish(self, month: str, when: datetime) -> None:
        Evaluations(self.ledger).publish(
            actor_id="admin", month=month,
            compute=lambda rules_for: self.freeze(month, rules_for), occurred_at=when)
        self.published.append(month)

    def _checkpoint(self, month: str, _: datetime) -> None:
        if month in self.published:
            _, self.statement = record_checkpoint(self.ledger, actor_id=AUDITOR,
                                                  note=f"{month}评比发布后存证", key=self.key)

    # --- targets, surveys and late findings (steps of the simulation) ----------------------

    def _do_target(self, step: _Step) -> None:
        code, indicator, target, measure, due_month = step.task_id.split("|")
        self.target_no += 1
        task = TargetTask.assign(
            target_id=sequence_id(TARGET_PREFIX, self.target_no), indicator=indicator,
            indicator_version=1, unit=code, target=target, measure=measure,
            due=last_day(self.months[min(int(due_month), len(self.months)) - 1]),
            note="", actor=self.admin, occurred_at=step.when, now=step.when, zone=self.zone)
        self.targets[task.id] = task
        # Most units get there in three reports; some lag behind and miss the due date.
        steps = [0.4, 0.75, 1.0] if self.rng.random() < 0.7 else [0.3, 0.5, 0.7, 0.85]
        self.reached[task.id] = [self._amount(float(target) * s, measure) for s in steps]
        self._keep(task)
        self._at(step.when + timedelta(days=self.rng.uniform(15, 30)), "progress", task.id)

    @staticmethod
    def _amount(value: float, measure: str) -> float:
        return round(value, 1) if measure == "%" else float(round(value))

    def _do_progress(self, step: _Step) -> None:
        task = self.targets[step.task_id]
        value = self.reached[task.id][0]
        task.report_progress(value=value, evidence=[{"file": f"{task.id}-{task.version}.jpg",
                                                     "description": "佐证材料"}],
                             note="", actor=self.members[task.unit], occurred_at=step.when,
                             now=step.when)
        self._keep(task)
        self._at(step.when + timedelta(days=self.rng.uniform(1, 4)), "verify", task.id)

    def _do_verify(self, step: _Step) -> None:
        task = self.targets[step.task_id]
        inspector = self.rng.choice(self.inspectors)
        if self.rng.random() < 0.12:
            task.reject_progress(reason="佐证材料不全，请补充现场照片", actor=inspector,
                                 occurred_at=step.when, now=step.when)
            self._at(step.when + timedelta(days=self.rng.uniform(2, 6)), "progress", task.id)
        else:
            task.verify_progress(note="经实地核查属实", actor=inspector, occurred_at=step.when,
                                 now=step.when)
            self.reached[task.id].pop(0)
            if self.reached[task.id] and task.state != "completed":
                self._at(step.when + timedelta(days=self.rng.uniform(18, 40)), "progress",
                         task.id)
        self._keep(task)

    def _do_survey(self, step: _Step) -> None:
        code, month = step.task_id.split("|")
        # The third party's report reaches the office some days after the survey.
        self.entry_at = self.entries.moment(step.when, REPORTED)
        lift = self.months.index(month) * 0.8
        self.survey_no += 1
        self.surveys[sequence_id(SURVEY_PREFIX, self.survey_no)] = month
        survey = Survey.record(
            survey_id=sequence_id(SURVEY_PREFIX, self.survey_no), unit=code, month=month,
            rates={"awareness": f"{min(99.0, self.rng.uniform(78, 92) + lift):.1f}",
                   "participation": f"{min(95.0, self.rng.uniform(48, 70) + lift):.1f}",
                   "satisfaction": f"{min(99.0, self.rng.uniform(76, 90) + lift):.1f}"},
            sample=self.rng.randint(120, 300), source="第三方测评机构", method="入户问卷",
            note="", actor=self.admin, occurred_at=step.when, now=step.when, zone=self.zone)
        self._keep(survey)

    def _do_late_finding(self, step: _Step) -> None:
        published = datetime.fromisoformat(step.task_id)
        self.entry_at = self.entries.moment(published, LATE_NOTICE)
        unit = self.rng.choice(self.communities)
        self._new_task(unit, "unannounced", self.admin, step.when, None)

    # --- what was written ---------------------------------------------------------------

    def written(self) -> dict[str, Any]:
        ids = self.entries.written_ids
        return {"units": len(self.units),
                "inspections": sum(1 for i in ids if i.startswith("I-")),
                "tasks": sum(1 for i in ids if i.startswith("T-")),
                "targets": sum(1 for i in ids if i.startswith(TARGET_PREFIX)),
                "surveys": sum(1 for i in ids if i.startswith(SURVEY_PREFIX)),
                "events": self.ledger.max_position(), "published": list(self.published),
                "surveyed": sorted({m for i, m in self.surveys.items() if i in ids}),
                "rules_from": self.rules_from,
                "from": self.start.date().isoformat(),
                "until": (self.end - timedelta(days=1)).date().isoformat()}


def demo_key(seed: int) -> Ed25519PrivateKey:
    """The demo auditor's signing key, derived from the seed so that the same seed gives
    the same ledger (a demo's key, not a secret)."""
    return Ed25519PrivateKey.from_private_bytes(
        hashlib.sha256(f"taizhang demo auditor {seed}".encode()).digest())
