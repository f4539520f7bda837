"""A hand-worked month: a small ledger whose every figure and score is written out here.

建设街道 JS has two 社区, JS01 and JS02; the campaign requires 2 inspections a unit-month.
Times are Asia/Shanghai. The month worked is May 2024 (and April, for the change).

JS01's tasks:
- T1 (环境卫生, 幸福路1号): assigned 04-20 10:00, deadline 05-05, passed 05-05 09:00 (on the
  deadline day: on time), closed 05-06. Verified in May after 14 d 23 h.
- T2 (public complaint, 交通秩序, 幸福路2号): assigned 05-02 09:00, acknowledged 15:00 (6 h),
  deadline 05-10; re-inspection fails 05-10 (rework), passes 05-16 09:00: late, 14 d.
- T3 (media exposure, 环境卫生, 幸福路1号): assigned 05-20 — the place T1 was closed at 14
  days before: a recurrence. Deadline 05-25, never rectified: late, and overdue at the end
  of May. Escalated 05-28.
- T4 (交通秩序, 幸福路4号): rectified and closed in March (closed 03-20), reopened 05-12
  (a recurrence) with deadline 05-31, passed 06-02: late, but not overdue at the end of May
  (overdue from 06-01).
- T6: assigned 05-15, closed as void 05-18: neither due nor overdue.
- T7: assigned 05-06, deadline 05-08 extended to 05-12, and that extension corrected to
  06-10: due in June, not in May.
- T8: assigned "04-30 23:00", corrected to 05-01 08:00 (so assigned in May), deadline 05-15,
  never rectified: late and overdue.
- Two visits in May.
JS02:
- T5 (上级暗访, unannounced): assigned to JS01 04-25 09:00 with deadline 04-28, reassigned to
  JS02 05-03 — the whole cycle is JS02's: assigned, due (late) and overdue at the end of
  April; passed 05-08 16:00 (13 d 7 h).
- One visit in May.
"""

from __future__ import annotations

from datetime import date, datetime
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from cli_support import Cli

from ledger.app import Ledger
from ledger.evaluation import Evaluations
from ledger.store import Store
from projections.evaluation import Evaluator
from projections.read import ReadSide

SH = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    return datetime.fromisoformat(f"2024-{text}").replace(tzinfo=SH)


def d(text: str) -> date:
    return date.fromisoformat(f"2024-{text}")


def built(url: str) -> Cli:
    """The worked example built in the store at ``url`` (as of July 1st), and the command
    line on it."""
    store = Store(url, clock=lambda: at("07-01 09:00"))
    build(store.ledger)
    store.close()
    return Cli(url)


def build(ledger: Ledger) -> dict[str, str]:
    ledger.start_campaign(name="创建全国文明城市 2024", time_zone="Asia/Shanghai", categories=[],
                          required_inspections=2, admin_id="admin", admin_name="王主任",
                          occurred_at=at("01-02 09:00"))
    ledger.register_unit(actor_id="admin", code="JS", name="建设街道", kind="街道",
                         occurred_at=at("01-02 09:00"))
    for code, name in (("JS01", "幸福社区"), ("JS02", "和平社区")):
        ledger.register_unit(actor_id="admin", code=code, name=name, kind="社区", parent="JS",
                             occurred_at=at("01-02 09:00"))
    for person, role, unit in (("li", "inspector", None), ("zhao", "unit", "JS01"),
                               ("qian", "unit", "JS02")):
        ledger.register_person(actor_id="admin", person_id=person, name=person, role=role,
                               unit=unit,
                               occurred_at=at("01-02 09:00"))

    def assign(unit: str, when: str, deadline: str, source: str, category: str,
               location: str) -> str:
        return ledger.assign(actor_id="admin", unit=unit, category=category, source=source,
                             location=location, description="问题", deadline=d(deadline),
                             occurred_at=at(when))["task"]

    def rectify(task: str, member: str, reported: str, passed: str) -> None:
        ledger.report_rectification(actor_id=member, task_id=task, description="已整改",
                                    occurred_at=at(reported))
        ledger.reinspect(actor_id="li", task_id=task, passed=True, occurred_at=at(passed))

    t = {}
    t["T4"] = assign("JS01", "03-10 09:00", "03-20", "inspection", "交通秩序", "幸福路4号")
    ledger.acknowledge(actor_id="zhao", task_id=t["T4"], occurred_at=at("03-10 10:00"))
    ledger.issue_notice(actor_id="li", task_id=t["T4"], notice_no="ZG-4",
                        occurred_at=at("03-10 11:00"))
    rectify(t["T4"], "zhao", "03-15 09:00", "03-16 09:00")
    ledger.close_task(actor_id="li", task_id=t["T4"], closure="verified", reason="整改到位",
                      occurred_at=at("03-20 09:00"))

    t["T1"] = assign("JS01", "04-20 10:00", "05-05", "inspection", "环境卫生", "幸福路1号")
    ledger.acknowledge(actor_id="zhao", task_id=t["T1"], occurred_at=at("04-21 09:00"))
    ledger.issue_notice(actor_id="li", task_id=t["T1"], notice_no="ZG-1",
                        occurred_at=at("04-21 10:00"))
    rectify(t["T1"], "zhao", "05-03 09:00", "05-05 09:00")
    ledger.close_task(actor_id="li", task_id=t["T1"], closure="verified", reason="整改到位",
                      occurred_at=at("05-06 09:00"))

    t["T5"] = assign("JS01", "04-25 09:00", "04-28", "unannounced", "环境卫生", "和平街5号")
    ledger.reassign(actor_id="admin", task_id=t["T5"], unit="JS02", reason="非本单位职责",
                    occurred_at=at("05-03 09:00"))
    ledger.acknowledge(actor_id="qian", task_id=t["T5"], occurred_at=at("05-04 09:00"))
    ledger.issue_notice(actor_id="li", task_id=t["T5"], notice_no="ZG-5",
                        occurred_at=at("05-04 10:00"))
    rectify(t["T5"], "qian", "05-08 09:00", "05-08 16:00")

    t["T8"] = assign("JS01", "04-30 23:00", "05-15", "inspection", "环境卫生", "幸福路8号")
    ledger.correct(actor_id="admin", task_id=t["T8"], event=1,
                   changes={"occurred_at": at("05-01 08:00").isoformat()},
                   reason="录入时间有误", occurred_at=at("05-02 09:00"))

    t["T2"] = assign("JS01", "05-02 09:00", "05-10", "complaint", "交通秩序", "幸福路2号")
    ledger.acknowledge(actor_id="zhao", task_id=t["T2"], occurred_at=at("05-02 15:00"))
    ledger.issue_notice(actor_id="li", task_id=t["T2"], notice_no="ZG-2",
                        occurred_at=at("05-03 09:00"))
    ledger.report_rectification(actor_id="zhao", task_id=t["T2"], description="已整改",
                                occurred_at=at("05-09 09:00"))
    ledger.reinspect(actor_id="li", task_id=t["T2"], passed=False, note="仍有残留",
                     occurred_at=at("05-10 10:00"))
    rectify(t["T2"], "zhao", "05-15 09:00", "05-16 09:00")

    t["T7"] = assign("JS01", "05-06 09:00", "05-08", "inspection", "环境卫生", "幸福路7号")
    ledger.extend_deadline(actor_id="admin", task_id=t["T7"], deadline=d("05-12"),
                           reason="工程量大",
                           occurred_at=at("05-08 10:00"))
    ledger.correct(actor_id="admin", task_id=t["T7"], event=2,
                   changes={"deadline": "2024-06-10"}, reason="批准的是六月十日",
                   occurred_at=at("05-20 09:00"))

    ledger.inspect(actor_id="li", unit="JS01", findings=[], occurred_at=at("05-10 09:00"))
    ledger.inspect(actor_id="li", unit="JS02", findings=[], occurred_at=at("05-11 09:00"))
    ledger.reopen(actor_id="admin", task_id=t["T4"], reason="问题反弹", deadline=d("05-31"),
                  occurred_at=at("05-12 09:00"))

    t["T6"] = assign("JS01", "05-15 09:00", "05-20", "inspection", "环境卫生", "和平街6号")
    ledger.close_task(actor_id="admin", task_id=t["T6"], closure="void", reason="误报",
                      occurred_at=at("05-18 09:00"))

    t["T3"] = assign("JS01", "05-20 09:00", "05-25", "media", "环境卫生", "幸福路1号")
    ledger.acknowledge(actor_id="zhao", task_id=t["T3"], occurred_at=at("05-21 09:00"))
    ledger.inspect(actor_id="li", unit="JS01", findings=[], occurred_at=at("05-22 09:00"))
    ledger.escalate(actor_id="li", task_id=t["T3"], reason="超期未整改",
                    occurred_at=at("05-28 09:00"))
    rectify(t["T4"], "zhao", "06-01 09:00", "06-02 09:00")
    return t


MAY_JS01 = {
    "assigned": 5, "complaints": 1, "media": 1, "unannounced": 0,
    "due": 5, "on_time": 1, "late": 4, "on_time_rate": Fraction(1, 5),
    "reinspections": 3, "rework": 1, "rework_rate": Fraction(1, 3),
    "verified": 2, "mean_days": (14 + 23 / 24 + 14) / 2,
    "overdue_open": 2,
    "recurrences": 2, "closed_before": 1, "recurrence_rate": Fraction(2),
    "inspections": 2, "required_inspections": 2, "inspection_coverage": Fraction(1),
    "escalated": 1, "complaints_acknowledged": 1, "complaint_response_hours": 6.0,
}
MAY_JS02 = {
    "assigned": 0, "complaints": 0, "media": 0, "unannounced": 0,
    "due": 0, "on_time": 0, "late": 0, "on_time_rate": None,
    "reinspections": 1, "rework": 0, "rework_rate": Fraction(0),
    "verified": 1, "mean_days": 13 + 7 / 24,
    "overdue_open": 0,
    "recurrences": 0, "closed_before": 0, "recurrence_rate": None,
    "inspections": 1, "required_inspections": 2, "inspection_coverage": Fraction(1, 2),
    "escalated": 0, "complaints_acknowledged": 0, "complaint_response_hours": None,
}
MAY_JS = {
    "assigned": 5, "complaints": 1, "media": 1, "unannounced": 0,
    "due": 5, "on_time": 1, "late": 4, "on_time_rate": Fraction(1, 5),
    "reinspections": 4, "rework": 1, "rework_rate": Fraction(1, 4),
    "verified": 3, "mean_days": (14 + 23 / 24 + 14 + 13 + 7 / 24) / 3,
    "overdue_open": 2,
    "recurrences": 2, "closed_before": 1, "recurrence_rate": Fraction(2),
    "inspections": 3, "required_inspections": 4, "inspection_coverage": Fraction(3, 4),
    "escalated": 1, "complaints_acknowledged": 1, "complaint_response_hours": 6.0,
}
APRIL = {
    "JS01": {"assigned": 1, "due": 0, "overdue_open": 0, "unannounced": 0},
    "JS02": {"assigned": 1, "unannounced": 1, "due": 1, "on_time": 0, "overdue_open": 1},
}


@pytest.fixture
def example(store_url: str):  # type: ignore[no-untyped-def]
    store = Store(store_url, clock=lambda: at("07-01 09:00"))
    tasks = build(store.ledger)
    yield store, tasks
    store.close()


def figures(store: Store, month: str) -> dict[str, dict[str, object]]:
    evaluator = Evaluator(ReadSide(store))
    return {r["unit"]: r for r in evaluator.figures(evaluator.current(), month)}


def test_every_figure_of_the_worked_month(example) -> None:  # type: ignore[no-untyped-def]
    store, _ = example
    may = figures(store, "2024-05")
    for unit, expected in (("JS01", MAY_JS01), ("JS02", MAY_JS02), ("JS", MAY_JS)):
        for name, value in expected.items():
            if isinstance(value, float):
                assert may[unit][name] == pytest.approx(value, abs=1e-5), (unit, name)
            else:
                assert may[unit][name] == value, (unit, name)
    april = figures(store, "2024-04")
    for unit, expected in APRIL.items():
        assert {k: april[unit][k] for k in expected} == expected, unit
    june = figures(store, "2024-06")
    assert june["JS01"]["due"] == 1  # T7, whose extension was corrected to 06-10


def test_explain_lists_the_tasks_behind_a_figure(example) -> None:  # type: ignore[no-untyped-def]
    store, t = example
    evaluator = Evaluator(ReadSide(store))
    value, _, parts = evaluator.explain(evaluator.current(), "2024-05", "JS01",
                                        "recurrence_rate")
    assert value == 2
    assert sorted((role, item["task"]) for role, item in parts) == sorted([
        ("reopened", t["T4"]), ("recurring", t["T3"]), ("closed before", t["T4"])])
    recurring = next(item for role, item in parts if role == "recurring")
    assert recurring["after"]["task"] == t["T1"]
    _, _, overdue = evaluator.explain(evaluator.current(), "2024-05", "JS01", "overdue_open")
    assert sorted(item["task"] for _, item in overdue) == sorted([t["T3"], t["T8"]])


def test_scores_and_ranking_of_the_worked_month(example) -> None:  # type: ignore[no-untyped-def]
    store, _ = example
    evaluator = Evaluator(ReadSide(store))
    evaluations = Evaluations(store.ledger)
    ranking = evaluator.ranking(evaluator.current(), "2024-05", "社区", evaluations.rules_for)
    # JS01: 85 − (2 overdue × 2 + 4 late × 1 + 1 rework × 1 + 2 recurrences × 3 + 1 media × 5)
    #       + on-time 1/5 × 10 + coverage 1 × 5 = 72
    # JS02: 85 + on-time undefined → 1 × 10 + coverage 1/2 × 5 = 97.5
    # April: JS01 85 + 10 + 0 = 95; JS02 85 − 4 unannounced − 1 late − 2 overdue + 0 + 0 = 78
    got = [(p.unit, p.placed.score, p.placed.rank, p.placed.previous_rank,
            p.placed.score_change, p.placed.listed) for p in ranking.placements]
    assert got == [("JS02", Fraction("97.5"), 1, 2, Fraction("19.5"), "red"),
                   ("JS01", Fraction(72), 2, 1, Fraction(-23), "black")]
    js01 = {line.figure: line.points for line in ranking.placements[1].lines}
    assert js01 == {"overdue_open": -4, "late": -4, "rework": -1, "recurrences": -6,
                    "media": -5, "unannounced": 0, "on_time_rate": 2,
                    "inspection_coverage": 5}
    text = evaluations.rules_for("2024-05").text
    evaluations.adopt_rules(actor_id="admin", text=text.replace("red = 3", "red = 0"),
                            source="no-red.toml", from_month="2024-05")
    ranking = evaluator.ranking(evaluator.current(), "2024-05", "社区", evaluations.rules_for)
    assert [(p.unit, p.placed.listed) for p in ranking.placements] == [("JS02", None),
                                                                       ("JS01", "black")]
