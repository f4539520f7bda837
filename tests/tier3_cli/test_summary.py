"""The work summary (工作总结): every figure is a direct count from the stored events, and
its paragraph states exactly those figures."""

from __future__ import annotations

import random
import re
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from fractions import Fraction
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from said_support import refused
from eventsourcing.persistence import StoredEvent
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.base import NotFound, Refused
from ledger.app import Ledger
from ledger.demo import Scale, Simulation
from ledger.evaluation import Evaluations
from ledger.indicators import Indicators
from ledger.store import Store
from ledger.tasks import Finding
from projections.evaluation import Evaluator
from projections.read import ReadSide
from projections.summary import Period, Summary, number, paragraph, summary_of
from tests.conftest import Clock, seed_campaign
from tests.tier3_cli.test_indicators import SYSTEM, half_up, position, taizhang

ZONE = ZoneInfo("Asia/Shanghai")
SMALL = Scale(streets=1, communities_per_street=3, departments=1, properties=1,
              inspectors=2, months=3, inspections_per_unit_month=3.0)
SCOPES = [None, "JD01", "JD01-SQ01", "JD01-SQ02", "WY01", "CGJ"]


def moment(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=ZONE)


def add_targets_and_surveys(ledger: Ledger, rng: random.Random) -> None:
    """Indicator targets, their progress and surveys in the simulated months."""
    indicators = Indicators(ledger)
    indicators.import_system(actor_id="admin", rows=SYSTEM,
                             occurred_at=moment(date(2024, 2, 25)))
    units = ["JD01-SQ01", "JD01-SQ02", "JD01-SQ03", "WY01"]
    for _ in range(rng.randint(0, 8)):
        unit = rng.choice(units)
        assigned = date(2024, 3, 1) + timedelta(days=rng.randrange(80))
        due = assigned + timedelta(days=rng.randrange(60))
        target = indicators.assign_target(
            actor_id="admin", code=rng.choice(["1.1", "1.2", "2.1"]), unit=unit,
            target=str(rng.randint(1, 10)), measure="块", due=due,
            occurred_at=moment(assigned))["target_task"]
        when = moment(assigned)
        for _ in range(rng.randint(0, 3)):
            when += timedelta(days=rng.randint(1, 20))
            indicators.report_progress(actor_id=f"u-{unit.lower()}", target_id=target,
                                       value=str(rng.randint(0, 12)),
                                       occurred_at=when)
            when += timedelta(hours=rng.randint(1, 100))
            if rng.random() < 0.8:
                done = indicators.verify_progress(actor_id="dc01", target_id=target,
                                                  occurred_at=when)
                if done["state"] == "completed":
                    break
            else:
                indicators.reject_progress(actor_id="dc01", target_id=target, reason="不实",
                                           occurred_at=when)
    for _ in range(rng.randint(0, 6)):
        month = rng.choice(["2024-02", "2024-03", "2024-04", "2024-05"])
        indicators.record_survey(
            actor_id="admin", unit=rng.choice(units), month=month,
            awareness=str(rng.randint(0, 1000) / 10), participation=str(rng.randint(0, 100)),
            satisfaction=str(rng.randint(500, 1000) / 10), sample=str(rng.randint(1, 300)),
            source="第三方测评机构", method="入户问卷",
            occurred_at=moment(date.fromisoformat(month + "-28")))


def publish_some_months(store: Store, rng: random.Random) -> None:
    """Publish some months' results (each a supervision bulletin), some days after."""
    evaluator = Evaluator(ReadSide(store))
    for month in ("2024-03", "2024-04"):
        if rng.random() < 0.6:
            Evaluations(store.ledger).publish(
                actor_id="admin", month=month,
                compute=lambda rules_for, m=month: evaluator.freeze(m, rules_for),
                occurred_at=moment(date.fromisoformat(month + "-01") + timedelta(
                    days=rng.randint(31, 45))))


# --- the direct count -----------------------------------------------------------------------


def stored_events(ledger: Ledger) -> list[Any]:
    """Every stored event as the domain's own event object."""
    return [ledger.mapper.to_domain_event(StoredEvent(r.originator_id, r.originator_version,
                                                      r.topic, r.state))
            for r in ledger.records()]


def kind(event: Any) -> str:
    return type(event).__qualname__


def day(event_or_moment: Any) -> date:
    at = getattr(event_or_moment, "occurred_at", event_or_moment)
    return at.astimezone(ZONE).date()


def pct(part: int, whole: int) -> float | None:
    return half_up(Fraction(part, whole) * 100) if whole else None



def direct(events: list[Any], start: date, end: date, scope: str | None
           ) -> tuple[dict[str, Any], Counter, Counter]:
    """The summary's figures counted straight from the events, as docs/domain.md ("The
    metrics") defines them
    (no reassignment or correction happens in these ledgers)."""
    assert not any(kind(e) in ("Task.Reassigned", "Task.Corrected") for e in events)
    parents = {e.code: e.parent for e in events if kind(e) == "Unit.Registered"}
    if scope is None:
        units = set(parents)
    else:
        units = {u for u in parents if u == scope or parents.get(u) == scope
                 or parents.get(parents.get(u) or "") == scope}
    period = lambda e: start <= day(e) <= end  # noqa: E731
    unit_of = {e.originator_id: e.unit for e in events if kind(e) == "Task.Assigned"}
    tasks = [e for e in events if kind(e).startswith("Task.")
             and unit_of[e.originator_id] in units]
    of = lambda name: [e for e in tasks if kind(e) == f"Task.{name}"]  # noqa: E731
    visits = [e for e in events if kind(e) == "Inspection.Recorded" and e.unit in units
              and period(e)]
    found = [e for e in of("Assigned") if period(e)]
    passed = [e for e in of("ReinspectionPassed") if period(e)]
    failed = [e for e in of("ReinspectionFailed") if period(e)]
    cycles: list[dict[str, Any]] = []
    current: dict[str, dict[str, Any]] = {}
    for e in tasks:
        name = kind(e).split(".")[1]
        if name in ("Assigned", "Reopened"):
            current[e.originator_id] = {"start": day(e), "deadline": e.deadline, "passed": None,
                                        "void": False}
            cycles.append(current[e.originator_id])
        cycle = current[e.originator_id]
        if name in ("NoticeIssued", "DeadlineExtended") and e.deadline is not None:
            cycle["deadline"] = e.deadline
        elif name == "ReinspectionPassed":
            cycle["passed"] = day(e)
        elif name == "Closed" and e.closure != "verified":
            cycle["void"] = True
    cycles = [c for c in cycles if not c["void"]]
    due = [c for c in cycles if start <= c["deadline"] <= end]
    on_time = [c for c in due if c["passed"] is not None and c["passed"] <= c["deadline"]]
    closures = [e for e in of("Closed") if e.closure == "verified"]
    assigned = {e.originator_id: e for e in of("Assigned")}
    reopened = {e.originator_id for e in of("Reopened") if period(e)}
    recurrent = {a.originator_id for a in found if any(
        c.originator_id != a.originator_id
        and (assigned[c.originator_id].unit, assigned[c.originator_id].category,
             assigned[c.originator_id].location) == (a.unit, a.category, a.location)
        and c.occurred_at < a.occurred_at <= c.occurred_at + timedelta(days=90)
        for c in closures)}
    targets = {e.originator_id: {"unit": e.unit, "due": e.due, "at": day(e), "done": None}
               for e in events if kind(e) == "TargetTask.Assigned" and e.unit in units}
    for e in events:
        if kind(e) == "TargetTask.Completed" and e.originator_id in targets:
            targets[e.originator_id]["done"] = day(e)
    targets_due = [t for t in targets.values() if start <= t["due"] <= end]
    surveys = [e for e in events if kind(e) == "Survey.Recorded" and e.unit in units
               and start.isoformat()[:7] <= e.month <= end.isoformat()[:7]]
    sample = sum(s.sample for s in surveys)

    def rate(name: str) -> float | None:
        if not sample:
            return None
        return half_up(sum(Fraction(getattr(s, name)) * s.sample for s in surveys)
                       / sample)

    figures = {
        "visits": len(visits), "person_visits": sum(len(v.inspectors) for v in visits),
        "found": len(found), "notices": sum(1 for e in of("NoticeIssued") if period(e)),
        "reinspections": len(passed) + len(failed), "rectified": len(passed),
        "rework": len(failed), "rework_rate": pct(len(failed), len(passed) + len(failed)),
        "closed": sum(1 for e in closures if period(e)),
        "due": len(due), "on_time": len(on_time), "on_time_rate": pct(len(on_time), len(due)),
        "overdue_open": sum(1 for c in cycles if c["start"] <= end and c["deadline"] < end
                            and not (c["passed"] is not None and c["passed"] <= end)),
        "reopened": len(reopened), "recurrent_new": len(recurrent),
        "recurrences": len(reopened | recurrent),
        "bulletins": sum(1 for e in events if kind(e) == "Evaluation.MonthPublished"
                         and period(e)),
        "targets_assigned": sum(1 for t in targets.values() if start <= t["at"] <= end),
        "targets_completed": sum(1 for t in targets.values()
                                 if t["done"] is not None and start <= t["done"] <= end),
        "targets_due": len(targets_due),
        "targets_met": sum(1 for t in targets_due if t["done"] is not None
                           and t["done"] <= t["due"]),
        "targets_overdue": sum(1 for t in targets.values() if t["at"] <= end and t["due"] < end
                               and not (t["done"] is not None and t["done"] <= end)),
        "surveys": len(surveys), "survey_sample": sample, "awareness": rate("awareness"),
        "participation": rate("participation"), "satisfaction": rate("satisfaction"),
    }
    return (figures, Counter(e.source for e in found), Counter(e.category for e in found))


NUMBER = re.compile(r"\d+(?:\.\d+)?")


def check_paragraph(summary: Summary, figures: dict[str, Any], sources: Counter,
                    categories: Counter) -> None:
    """The paragraph's numbers are the period's dates and then, in order, exactly the
    figures it says it cites — and it cites every figure that has a value."""
    text, cited = paragraph(summary)
    values = {**{k: v for k, v in figures.items()},
              **{f"found_by_source.{k}": v for k, v in sources.items()},
              **{f"found_by_category.{k}": v for k, v in categories.items()}}
    start, end = summary.period.start, summary.period.end
    dates = [str(x) for d in (start, end) for x in (d.year, d.month, d.day)]
    body = text.replace(summary.scope, "", 1) if summary.scope else text
    assert NUMBER.findall(body) == dates + [number(values[name]) for name in cited]
    expected = {k for k, v in values.items() if v is not None}
    if not figures["surveys"]:
        expected -= {"surveys", "survey_sample"}
    if not figures["due"]:
        expected -= {"due", "on_time"}
    assert set(cited) == expected
    assert len(cited) == len(set(cited))


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10 ** 6), offset=st.integers(0, 95), length=st.integers(0, 70),
       scope=st.sampled_from(SCOPES))
def test_every_figure_is_a_direct_count_from_the_stored_events(
        tmp_path_factory: pytest.TempPathFactory, seed: int, offset: int, length: int,
        scope: str | None) -> None:
    clock = Clock(datetime(2024, 12, 1, 9, 0, tzinfo=timezone.utc))
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('s') / 'ledger.db'}", clock=clock)
    try:
        Simulation(store.ledger, seed=seed, until="2024-05", scale=SMALL).run()
        add_targets_and_surveys(store.ledger, random.Random(seed))
        publish_some_months(store, random.Random(seed))
        start = date(2024, 2, 20) + timedelta(days=offset)
        end = start + timedelta(days=length)
        summary = summary_of(ReadSide(store), Period(start, end), scope)
        figures, sources, categories = direct(stored_events(store.ledger), start, end, scope)
        assert summary.figures == figures
        assert summary.by_source == dict(sources)
        assert summary.by_category == dict(categories)
        check_paragraph(summary, figures, sources, categories)
    finally:
        store.close()


# --- corrections, reassignment, "as of" -----------------------------------------------------


def test_a_corrected_time_moves_a_finding_out_of_the_period(seeded: Ledger,
                                                            store: Store) -> None:
    task = seeded.assign(actor_id="admin", unit="JS01", category="环境卫生", source="complaint",
                         location="和平街3号", description="乱堆乱放", deadline=date(2024, 6, 5),
                         occurred_at=moment(date(2024, 5, 3)))["task"]
    may = Period(date(2024, 5, 1), date(2024, 5, 31))
    assert summary_of(ReadSide(store), may).figures["found"] == 1
    seeded.correct(actor_id="admin", task_id=task, event=1,
                   changes={"occurred_at": moment(date(2024, 4, 28)).isoformat()},
                   reason="录入日期有误")
    summary = summary_of(ReadSide(store), may)
    assert (summary.figures["found"], summary.by_source) == (0, {})
    assert summary_of(ReadSide(store), Period(date(2024, 4, 1), date(2024, 4, 30))
                      ).by_category == {"环境卫生": 1}


def test_notices_count_for_the_unit_holding_the_task_then(seeded: Ledger,
                                                          store: Store) -> None:
    task = seeded.assign(actor_id="admin", unit="JS01", category="环境卫生", source="complaint",
                         location="和平街3号", description="乱堆乱放", deadline=date(2024, 6, 5),
                         notice_no="ZG-1", occurred_at=moment(date(2024, 5, 3)))["task"]
    seeded.reassign(actor_id="admin", task_id=task, unit="JS02", reason="属地调整",
                    occurred_at=moment(date(2024, 5, 4)))
    seeded.issue_notice(actor_id="li", task_id=task, notice_no="ZG-2",
                        occurred_at=moment(date(2024, 5, 5)))
    may = Period(date(2024, 5, 1), date(2024, 5, 31))
    js01 = summary_of(ReadSide(store), may, "JS01").figures
    js02 = summary_of(ReadSide(store), may, "JS02").figures
    assert (js01["notices"], js02["notices"]) == (1, 1)
    # the found task is answered for by the unit holding it at its cycle's end
    assert (js01["found"], js02["found"]) == (0, 1)


def test_as_of_sees_only_what_was_recorded_by_then(seeded: Ledger, store: Store,
                                                   clock: Clock) -> None:
    seeded.inspect(actor_id="li", unit="JS01", companions=["zhou"], findings=[
        Finding("环境卫生", "幸福路1号", "牛皮癣", date(2024, 6, 8))],
        occurred_at=moment(date(2024, 5, 20)))
    # Transaction time is the ledger's clock (the test's).
    learned = max(datetime.fromisoformat(r.recorded_at) for r in seeded.records())
    clock.advance(minutes=1)
    seeded.inspect(actor_id="zhou", unit="JS02", findings=[],
                   occurred_at=moment(date(2024, 5, 21)))
    may = Period(date(2024, 5, 1), date(2024, 5, 31))
    now = summary_of(ReadSide(store), may).figures
    then = summary_of(ReadSide(store).at(learned, only=("registry",)), may).figures
    assert (now["visits"], now["person_visits"], now["found"]) == (2, 3, 1)
    assert (then["visits"], then["person_visits"], then["found"]) == (1, 2, 1)


def test_a_period_that_ends_before_it_starts_or_an_unknown_unit_is_refused(
        seeded: Ledger, store: Store) -> None:
    with refused(Refused, match=r"the period starts \(2024-05-02\) after it ends "
                                      r"\(2024-05-01\)"):
        summary_of(ReadSide(store), Period(date(2024, 5, 2), date(2024, 5, 1)))
    with refused(NotFound, match="unknown unit: XX"):
        summary_of(ReadSide(store), Period(date(2024, 5, 1), date(2024, 5, 2)), "XX")


# --- the command line -----------------------------------------------------------------------


@pytest.fixture
def cli_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    store = Store(url, clock=lambda: datetime(2024, 6, 1, 9, 0, tzinfo=timezone.utc))
    seed_campaign(store.ledger)
    visit = store.ledger.inspect(actor_id="li", unit="JS01", companions=["zhou"], findings=[
        Finding("环境卫生", "幸福路1号", "牛皮癣", date(2024, 5, 25), notice_no="ZG-1")],
        occurred_at=moment(date(2024, 5, 20)))
    task = visit["tasks"][0]
    store.ledger.acknowledge(actor_id="zhao", task_id=task,
                             occurred_at=moment(date(2024, 5, 21)))
    store.ledger.report_rectification(actor_id="zhao", task_id=task, description="已清除",
                                      occurred_at=moment(date(2024, 5, 22)))
    store.ledger.reinspect(actor_id="li", task_id=task, passed=True,
                           occurred_at=moment(date(2024, 5, 23)))
    Indicators(store.ledger).record_survey(
        actor_id="admin", unit="JS01", month="2024-05", awareness="80", participation="50.5",
        satisfaction="91.25", sample="120", source="第三方", method="入户问卷",
        occurred_at=moment(date(2024, 5, 30)))
    store.close()
    return url


def test_cli_prints_the_summary_as_markdown(cli_url: str) -> None:
    code, out, _ = taizhang(cli_url, "summary", "--from", "2024-05-01", "--to", "2024-05-31",
                            "--unit", "JS")
    lines = out.splitlines()
    assert code == 0
    assert lines[:3] == ["# 工作总结 2024-05-01 至 2024-05-31 · 建设街道", "", (
        "2024年5月1日至2024年5月31日，建设街道共开展巡查1次、2人次，发现问题1个，其中巡查发现1个；"
        "按类别分，环境卫生1个。发出整改通知书1份，复查1次，整改到位1个，返工0次，返工率0.0%，"
        "整改销号0个。本期到期整改1个，按期整改1个，按期整改率100.0%；期末超期未整改0个。"
        "问题反弹0个（销号后反弹复开0个，同址同类复发0个）。发布督查通报0期。下达指标任务0项，"
        "完成0项；本期到期0项，按期完成0项；期末逾期未完成0项。开展群众测评1次，样本120人，"
        "知晓率80.0%，参与率50.5%，满意度91.3%。")]
    assert lines[6].split("|")[1:3] == [" 巡查（次）                   ", "      1 "]
    assert "| 满意度（%）                  |   91.3 |" in lines


@pytest.mark.parametrize("args, error", [
    (["--from", "2024-05-31", "--to", "2024-05-01"],
     "the period starts (2024-05-31) after it ends (2024-05-01)"),
    (["--from", "2024-05-01", "--to", "2024-05-31", "--unit", "XX"], "unknown unit: XX"),
    (["--from", "2024-05-01", "--to", "31/05/2024"],
     "Invalid value for '--to': '31/05/2024' is not a date (YYYY-MM-DD)"),
    (["--from", "2024-05-01", "--to", "2024-05-31", "--format", "xls"],
     "Invalid value for '--format': 'xls' is not one of 'md', 'docx', 'json'."),
])
def test_cli_summary_refusals_are_one_line_and_write_nothing(cli_url: str, args: list[str],
                                                             error: str) -> None:
    before = position(cli_url)
    code, out, err = taizhang(cli_url, "summary", *args)
    assert (code != 0, out, err) == (True, "", f"Error: {error}\n")
    assert position(cli_url) == before
