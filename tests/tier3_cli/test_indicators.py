"""The indicator system as versioned data, its decomposition into target tasks, progress
and its verification, and completion rolled up the indicator tree."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from fractions import Fraction
from pathlib import Path

import pytest
from said_support import refused
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.base import NotFound, Refused
from domain.indicators import check_indicators
from cli_support import taizhang
from ledger.app import Ledger
from ledger.indicators import Indicators, read_indicator_file
from ledger.store import Store
from projections.indicators import Completion, IndicatorQueries, is_overdue, roll_up
from projections.read import ReadSide
from tests.conftest import Clock, seed_campaign
from said_support import english

SYSTEM = [
    {"code": "1", "parent": "", "title": "公共环境", "category": "环境卫生", "points": "30",
     "method": "实地考察"},
    {"code": "1.1", "parent": "1", "title": "公益广告", "category": "公益广告",
     "points": "10", "method": "实地考察"},
    {"code": "1.2", "parent": "1", "title": "环境卫生整洁", "category": "环境卫生",
     "points": "20", "method": "实地考察"},
    {"code": "2", "parent": "", "title": "志愿服务", "category": "志愿服务", "points": "20",
     "method": "材料审核"},
    {"code": "2.1", "parent": "2", "title": "志愿者注册率", "category": "志愿服务",
     "points": "20", "method": "网上申报"},
]
AT = datetime(2024, 5, 6, 9, 0, tzinfo=timezone.utc)


def with_system(ledger: Ledger) -> Indicators:
    indicators = Indicators(ledger)
    indicators.import_system(actor_id="admin", rows=SYSTEM, name="2024版", source="test",
                             occurred_at=AT)
    return indicators


def half_up(value: Fraction) -> float:
    """Reports round halves up, to one decimal: 91.25 → 91.3."""
    tenths = value * 10
    whole = tenths.numerator // tenths.denominator
    return (whole + (tenths - whole >= Fraction(1, 2))) / 10


# --- the tree's checks ----------------------------------------------------------------------


def test_import_refuses_a_cycle_naming_it(seeded: Ledger) -> None:
    rows = SYSTEM + [{"code": "3", "parent": "3.2", "title": "甲"},
                     {"code": "3.1", "parent": "3", "title": "乙"},
                     {"code": "3.2", "parent": "3.1", "title": "丙"}]
    before = seeded.max_position()
    with refused(Refused, match="indicator parents form a cycle: 3 → 3.2 → 3.1 → 3$"):
        Indicators(seeded).import_system(actor_id="admin", rows=rows)
    assert seeded.max_position() == before


def test_an_indicator_that_is_its_own_parent_is_a_cycle() -> None:
    with refused(Refused, match="cycle: 9 → 9$"):
        check_indicators([{"code": "9", "parent": "9", "title": "自己"}])


def test_import_refuses_duplicate_codes_naming_them(seeded: Ledger) -> None:
    rows = SYSTEM + [{"code": "1.2", "parent": "1", "title": "重复"},
                     {"code": "2", "title": "又一个"}]
    before = seeded.max_position()
    with refused(Refused, match="indicator code listed more than once: 1.2, 2$"):
        Indicators(seeded).import_system(actor_id="admin", rows=rows)
    assert seeded.max_position() == before


def test_import_refuses_unknown_parents_naming_them(seeded: Ledger) -> None:
    rows = SYSTEM + [{"code": "4.1", "parent": "4", "title": "孤儿"}]
    before = seeded.max_position()
    with refused(Refused, match=r"unknown parent indicator: 4 \(parent of 4.1\)$"):
        Indicators(seeded).import_system(actor_id="admin", rows=rows)
    assert seeded.max_position() == before


@pytest.mark.parametrize("row, message", [
    ({"code": "", "title": "无编码"}, "indicator code .row 6. must not be empty"),
    ({"code": "5", "title": " "}, "title of indicator 5 must not be empty"),
    ({"code": "5", "title": "负分", "points": "-1"}, "points of indicator 5 must be 0 or more"),
    ({"code": "5", "title": "分值", "points": "十"}, "points of indicator 5 must be a number"),
    ({"code": "5 5", "title": "空格"}, "indicator code .row 6. must be letters"),
])
def test_bad_rows_are_refused_by_field(row: dict[str, str], message: str) -> None:
    with refused(Refused, match=message):
        check_indicators(SYSTEM + [row])


def test_only_the_office_adopts_an_indicator_system(seeded: Ledger) -> None:
    with refused(Refused, match=r"li \(inspector\) may not adopt an indicator system"):
        Indicators(seeded).import_system(actor_id="li", rows=SYSTEM)


# --- files and versions ---------------------------------------------------------------------


def write_files(folder: Path) -> list[Path]:
    header = ["编码", "上级编码", "指标名称", "类别", "分值", "测评方法"]
    keys = ["code", "parent", "title", "category", "points", "method"]
    csv_file = folder / "system.csv"
    csv_file.write_text("\ufeff" + ",".join(header) + "\n" + "".join(
        ",".join(row[k] for k in keys) + "\n" for row in SYSTEM), encoding="utf-8")
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(keys)
    for row in SYSTEM:
        sheet.append([row[k] if k != "points" else int(row[k]) for k in keys])
    xlsx_file = folder / "system.xlsx"
    book.save(xlsx_file)
    toml_file = folder / "system.toml"
    toml_file.write_text("".join(
        "[[indicator]]\n" + "".join(
            f'{k} = {row[k] if k == "points" else chr(34) + row[k] + chr(34)}\n'
            for k in keys if row[k]) + "\n" for row in SYSTEM), encoding="utf-8")
    return [csv_file, xlsx_file, toml_file]


def test_csv_xlsx_and_toml_files_give_the_same_indicators(tmp_path: Path) -> None:
    checked = [check_indicators(read_indicator_file(f)) for f in write_files(tmp_path)]
    assert checked[0] == checked[1] == checked[2] == check_indicators(SYSTEM)
    assert checked[0][1].parent == "1" and checked[0][1].points == 10.0


def test_an_unknown_file_kind_or_heading_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(Refused, match="指标文件必须是 .csv、.xlsx 或 .toml，而不是 'a.txt'") as e:
        read_indicator_file(tmp_path / "a.txt")
    assert english(e.value) == "indicator file must be .csv, .xlsx or .toml, got 'a.txt'"
    (tmp_path / "b.csv").write_text("编号x,名称x\n1,甲\n")
    with pytest.raises(Refused) as e:
        read_indicator_file(tmp_path / "b.csv")
    assert "b.csv has no code or title column" in english(e.value)


def test_each_import_is_a_new_version_and_old_ones_stay_readable(seeded: Ledger,
                                                                 store: Store) -> None:
    indicators = with_system(seeded)
    changed = [dict(r) for r in SYSTEM] + [{"code": "2.2", "parent": "2",
                                            "title": "志愿服务站点", "points": "5"}]
    changed[1]["points"] = "12"
    adopted = indicators.import_system(actor_id="admin", rows=changed, name="2025版",
                                       note="新测评体系")
    assert adopted["version"] == 2 and adopted["count"] == 6
    with refused(Refused, match="the same as version 2; nothing to adopt"):
        indicators.import_system(actor_id="admin", rows=changed)
    queries = IndicatorQueries(ReadSide(store))
    first = queries.indicators(1)[1]
    assert [(i["code"], i["points"]) for i in first] == [
        ("1", 30.0), ("1.1", 10.0), ("1.2", 20.0), ("2", 20.0), ("2.1", 20.0)]
    number, latest = queries.indicators()
    assert number == 2 and [i["code"] for i in latest][-1] == "2.2"
    assert latest[1]["points"] == 12.0
    with refused(NotFound, match="unknown indicator system version: 3 .versions 1 to 2."):
        queries.indicators(3)


# --- target tasks ---------------------------------------------------------------------------


def test_a_target_task_is_done_when_verified_progress_reaches_its_target(
        seeded: Ledger, clock: Clock) -> None:
    indicators = with_system(seeded)
    task = indicators.assign_target(actor_id="admin", code="1.1", unit="JS01", target="20",
                                    measure="块", due=date(2024, 6, 30))
    target_id = task["target_task"]
    assert target_id == "ZB-000001" and task["state"] == "open" and task["target"] == 20.0
    indicators.report_progress(actor_id="zhao", target_id=target_id, value="12",
                               evidence=[{"file": "boards.jpg"}])
    assert indicators.verify_progress(actor_id="li", target_id=target_id)["verified"] == 12.0
    indicators.report_progress(actor_id="zhao", target_id=target_id, value="20")
    rejected = indicators.reject_progress(actor_id="li", target_id=target_id, reason="照片与现场不符")
    assert rejected["verified"] == 12.0 and rejected["state"] == "open"
    indicators.report_progress(actor_id="zhao", target_id=target_id, value="21")
    done = indicators.verify_progress(actor_id="li", target_id=target_id, note="现场核实")
    assert done["state"] == "completed" and done["verified"] == 21.0
    kinds = [type(e).__name__ for e in seeded.events.get(target_id)]
    assert kinds == ["Assigned", "ProgressReported", "ProgressVerified", "ProgressReported",
                     "ProgressRejected", "ProgressReported", "ProgressVerified", "Completed"]
    with refused(Refused, match="target task ZB-000001 is already completed"):
        indicators.report_progress(actor_id="zhao", target_id=target_id, value="22")


def test_overdue_is_derived_from_the_due_date(seeded: Ledger, clock: Clock) -> None:
    indicators = with_system(seeded)
    task = indicators.assign_target(actor_id="admin", code="2.1", unit="JS02", target="15",
                                    measure="%", due=date(2024, 6, 1))
    assert task["overdue"] is False
    clock.advance(days=1)
    assert indicators.report_progress(actor_id="qian", target_id=task["target_task"],
                                      value="9.5")["overdue"] is True


@pytest.mark.parametrize("field, value, message", [
    ("target", "0", "target must be more than 0, got '0'"),
    ("target", "-3", "target must be 0 or more, got '-3'"),
    ("target", "三", "target must be a number, got '三'"),
    ("target", "2.5", "target counts 块 and must be a whole number, got '2.5'"),
    ("measure", "米", "unit of measure must be one of 期, 块, 人, %, got '米'"),
    ("code", "9.9", "unknown indicator code: 9.9 .in version 1."),
    ("unit", "XX", "unknown unit: XX"),
    ("due", date(2024, 5, 1), "due date 2024-05-01 is before the assignment on 2024-06-01"),
])
def test_bad_assignments_are_refused_and_nothing_is_written(
        seeded: Ledger, field: str, value: object, message: str) -> None:
    indicators = with_system(seeded)
    args = {"code": "1.1", "unit": "JS01", "target": "20", "measure": "块",
            "due": date(2024, 6, 30), field: value}
    before = seeded.max_position()
    with pytest.raises((Refused, NotFound)) as refused:
        indicators.assign_target(actor_id="admin", **args)  # type: ignore[arg-type]
    assert re.search(message, english(refused.value)), english(refused.value)
    assert seeded.max_position() == before


@pytest.mark.parametrize("actor, value, message", [
    ("zhao", "-1", "progress value must be 0 or more, got '-1'"),
    ("zhao", "很多", "progress value must be a number, got '很多'"),
    ("zhao", "nan", "progress value must be 0 or more, got 'nan'"),
    ("zhao", "101", "progress value is a rate and must be at most 100, got '101'"),
    ("qian", "5", "qian acts for unit JS02, not for unit JS01"),
    ("li", "5", r"li \(inspector\) may not report progress"),
])
def test_bad_progress_reports_are_refused_and_nothing_is_written(
        seeded: Ledger, actor: str, value: str, message: str) -> None:
    indicators = with_system(seeded)
    task = indicators.assign_target(actor_id="admin", code="2.1", unit="JS01", target="15",
                                    measure="%", due=date(2024, 6, 30))
    before = seeded.max_position()
    with refused(Refused, match=message):
        indicators.report_progress(actor_id=actor, target_id=task["target_task"], value=value)
    assert seeded.max_position() == before


def test_one_report_at_a_time_and_only_inspectors_judge_it(seeded: Ledger) -> None:
    indicators = with_system(seeded)
    target_id = indicators.assign_target(actor_id="admin", code="1.1", unit="JS01", target="3",
                                         measure="期", due=date(2024, 6, 30))["target_task"]
    with refused(Refused, match="ZB-000001 has no progress report to be verified"):
        indicators.verify_progress(actor_id="li", target_id=target_id)
    indicators.report_progress(actor_id="zhao", target_id=target_id, value="1")
    before = seeded.max_position()
    with refused(Refused, match="report 1 of target task ZB-000001 still awaits"):
        indicators.report_progress(actor_id="zhao", target_id=target_id, value="2")
    with refused(Refused, match=r"admin \(admin\) may not verify or reject"):
        indicators.verify_progress(actor_id="admin", target_id=target_id)
    with refused(Refused, match="reason must not be empty"):
        indicators.reject_progress(actor_id="li", target_id=target_id, reason=" ")
    with pytest.raises(NotFound, match="未知的指标任务：ZB-000009"):
        indicators.verify_progress(actor_id="li", target_id="ZB-000009")
    assert seeded.max_position() == before


# --- completion over the tree ---------------------------------------------------------------


@st.composite
def trees_and_targets(draw: st.DrawFn) -> tuple[dict[str, str | None], list[dict], date]:
    size = draw(st.integers(1, 12))
    parents: dict[str, str | None] = {}
    for index in range(size):
        parent = draw(st.none() | st.integers(0, index - 1)) if index else None
        parents[f"c{index}"] = None if parent is None else f"c{parent}"
    codes = sorted(parents) + ["elsewhere"]
    targets = []
    for number in range(draw(st.integers(0, 15))):
        goal = draw(st.integers(1, 50))
        done = draw(st.integers(0, 60))
        due = date(2024, 6, 1) + timedelta(days=draw(st.integers(-20, 20)))
        completed = done >= goal and draw(st.booleans())
        targets.append({"target_task": f"ZB-{number}", "indicator": draw(st.sampled_from(codes)),
                        "target": float(goal), "verified": float(done),
                        "measure": draw(st.sampled_from(["块", "人", "%"])), "due": due.isoformat(),
                        "state": "completed" if completed else "open",
                        "completed_on": (due + timedelta(days=draw(st.integers(-5, 5))))
                        .isoformat() if completed else None})
    return parents, targets, date(2024, 6, 1) + timedelta(days=draw(st.integers(-10, 10)))


@settings(max_examples=60, deadline=None)
@given(trees_and_targets())
def test_roll_up_over_the_tree_equals_a_direct_computation(
        case: tuple[dict[str, str | None], list[dict], date]) -> None:
    parents, targets, on = case
    rolled, outside = roll_up(parents, targets, on)
    children: dict[str | None, list[str]] = {}
    for code, parent in parents.items():
        children.setdefault(parent, []).append(code)
    for code in parents:
        below, frontier = set(), [code]
        while frontier:
            current = frontier.pop()
            below.add(current)
            frontier.extend(children.get(current, []))
        mine = [t for t in targets if t["indicator"] in below]
        done = rolled[code]
        assert done.targets == len(mine)
        assert done.met == sum(t["state"] == "completed" for t in mine)
        assert done.overdue == sum(
            (t["completed_on"] is None or t["completed_on"] > on.isoformat())
            and t["due"] < on.isoformat() for t in mine)
        capped = [min(Fraction(t["verified"]) / Fraction(t["target"]), Fraction(1))
                  for t in mine]
        expected = half_up(sum(capped) * 100 / len(mine)) if mine else None
        assert done.percent == expected
    assert outside == [t for t in targets if t["indicator"] == "elsewhere"]


def test_completion_percent_caps_each_target_at_its_goal() -> None:
    done = Completion()
    on = date(2024, 6, 1)
    done.add({"target": 10.0, "verified": 30.0, "state": "completed", "measure": "块",
              "due": "2024-06-30", "completed_on": "2024-05-30"}, on)
    done.add({"target": 10.0, "verified": 0.0, "state": "open", "measure": "块",
              "due": "2024-05-30", "completed_on": None}, on)
    assert (done.percent, done.met, done.overdue, done.amount()) == (50.0, 1, 1, "30/20 块")
    assert not is_overdue({"due": "2024-05-30", "completed_on": "2024-05-31"}, on)


def test_status_rolls_up_by_indicator_and_by_unit(seeded: Ledger, store: Store,
                                                  clock: Clock) -> None:
    indicators = with_system(seeded)
    first = indicators.assign_target(actor_id="admin", code="1.1", unit="JS01", target="20",
                                     measure="块", due=date(2024, 6, 30))["target_task"]
    indicators.assign_target(actor_id="admin", code="1.2", unit="JS02", target="4", measure="期",
                             due=date(2024, 6, 2))
    indicators.assign_target(actor_id="admin", code="2.1", unit="JS01", target="15",
                             measure="%",
                             due=date(2024, 6, 30))
    indicators.report_progress(actor_id="zhao", target_id=first, value="5")
    indicators.verify_progress(actor_id="li", target_id=first)
    clock.advance(days=3)
    queries = IndicatorQueries(ReadSide(store))
    rows = {r["code"]: (r["targets"], r["met"], r["overdue"], r["percent"], r["amount"])
            for r in queries.status()}
    assert rows == {"1": (2, 0, 1, 12.5, ""), "1.1": (1, 0, 0, 25.0, "5/20 块"),
                    "1.2": (1, 0, 1, 0.0, "0/4 期"), "2": (1, 0, 0, 0.0, "0/15 %"),
                    "2.1": (1, 0, 0, 0.0, "0/15 %")}
    by_unit = queries.status(by="unit", code="1")
    assert [(r["unit"], r["targets"], r["percent"]) for r in by_unit] == [
        ("JS01", 1, 25.0), ("JS02", 1, 0.0)]
    assert [r["code"] for r in queries.status(unit="JS02", code="1")] == ["1", "1.1", "1.2"]
    assert [r["target_task"] for r in queries.targets(overdue=True)] == ["ZB-000002"]
    with refused(NotFound, match="unknown indicator code: 7"):
        queries.status(code="7")


# --- the projection -------------------------------------------------------------------------


OPS = st.lists(st.tuples(st.sampled_from(["assign", "report", "verify", "reject", "survey",
                                          "catch up"]),
                         st.integers(0, 4), st.integers(0, 25)), max_size=25)


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_the_indicators_projection_rebuilt_equals_the_one_kept_current(
        tmp_path_factory: pytest.TempPathFactory, ops: list[tuple[str, int, int]]) -> None:
    clock = Clock(datetime(2024, 6, 1, 9, 0, tzinfo=timezone.utc))
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('p') / 'ledger.db'}", clock=clock)
    try:
        seed_campaign(store.ledger)
        indicators = with_system(store.ledger)
        read = ReadSide(store)
        codes = ["1", "1.1", "1.2", "2", "2.1"]
        for op, pick, amount in ops:
            clock.advance(hours=1)
            targets = [f"ZB-{n:06d}" for n in range(1, 9)]
            try:
                if op == "assign":
                    indicators.assign_target(actor_id="admin", code=codes[pick],
                                             unit=["JS01", "JS02"][
                        pick % 2], target=str(amount + 1), measure="人",
                        due=date(2024, 6, 1 + amount))
                elif op == "report":
                    indicators.report_progress(actor_id=["zhao", "qian"][pick % 2],
                                               target_id=targets[pick],
                                               value=str(amount))
                elif op == "verify":
                    indicators.verify_progress(actor_id="li", target_id=targets[pick])
                elif op == "reject":
                    indicators.reject_progress(actor_id="li", target_id=targets[pick],
                                               reason="不实")
                elif op == "survey":
                    indicators.record_survey(actor_id="admin", unit="JS01", month="2024-05",
                                             awareness=amount * 4, participation=50,
                                             satisfaction=amount, sample=pick + 1,
                                             source="文明办", method="入户问卷")
                else:
                    read.current()
            except (Refused, NotFound):
                pass
        read.current()
        assert read.verify().equal
    finally:
        store.close()


# --- the command line -----------------------------------------------------------------------


@pytest.fixture
def cli_store(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    store = Store(url, clock=lambda: datetime(2024, 6, 1, 9, 0, tzinfo=timezone.utc))
    seed_campaign(store.ledger)
    store.close()
    write_files(tmp_path)
    yield url, tmp_path


def position(url: str) -> int:
    store = Store(url)
    try:
        return store.ledger.max_position()
    finally:
        store.close()


def test_cli_imports_and_shows_the_tree(cli_store: tuple[str, Path]) -> None:
    url, folder = cli_store
    code, out, _ = taizhang(url, "indicators", "import", str(folder / "system.xlsx"),
                            "--name", "2024版", "--at", "2024-05-06 09:00")
    assert (code, out) == (0, "indicator system version 1 (2024版) adopted: 5 indicators "
                              "from system.xlsx\n")
    code, out, _ = taizhang(url, "indicators", "show")
    assert out.splitlines() == [
        "indicator system version 1",
        "Code    Title           Category    Points    Checked by    Parent",
        "------  --------------  ----------  --------  ------------  --------",
        "1       公共环境        环境卫生    30        实地考察",
        "1.1     · 公益广告      公益广告    10        实地考察      1",
        "1.2     · 环境卫生整洁  环境卫生    20        实地考察      1",
        "2       志愿服务        志愿服务    20        材料审核",
        "2.1     · 志愿者注册率  志愿服务    20        网上申报      2",
    ]
    code, out, _ = taizhang(url, "indicators", "assign", "1.1", "--unit", "JS01", "--target",
                            "20", "--unit-of-measure", "块", "--due", "2099-06-30")
    assert out == "ZB-000001 open · indicator 1.1 · unit JS01 · verified 0/20 块 · " \
                  "due 2099-06-30\n"
    code, out, _ = taizhang(url, "task", "progress", "ZB-000001", "--value", "8",
                            "--evidence-ref", "boards.jpg:新设公益广告", actor="zhao")
    assert out == "ZB-000001 open · indicator 1.1 · unit JS01 · verified 0/20 块 · " \
                  "due 2099-06-30 · report awaiting verification: 8\n"
    code, out, _ = taizhang(url, "task", "verify-progress", "ZB-000001", actor="li")
    assert out == "ZB-000001 open · indicator 1.1 · unit JS01 · verified 8/20 块 · " \
                  "due 2099-06-30\n"
    code, out, _ = taizhang(url, "indicators", "status", "--code", "1", "--format", "csv")
    assert out.splitlines() == [
        "code,title,targets,met,overdue,percent,amount",
        "1,公共环境,1,0,0,40.0,8/20 块",
        "1.1,公益广告,1,0,0,40.0,8/20 块",
        "1.2,环境卫生整洁,0,0,0,,",
    ]


@pytest.mark.parametrize("args, actor, error", [
    (["indicators", "assign", "9", "--unit", "JS01", "--target", "3", "--unit-of-measure",
      "块", "--due", "2099-01-01"], "admin", "unknown indicator code: 9 (in version 1)"),
    (["indicators", "assign", "1.1", "--unit", "JS01", "--target", "0", "--unit-of-measure",
      "块", "--due", "2099-01-01"], "admin", "target must be more than 0, got '0'"),
    (["indicators", "assign", "1.1", "--unit", "JS01", "--target", "3", "--unit-of-measure",
      "块", "--due", "2099-13-01"], "admin",
     "Invalid value for '--due': '2099-13-01' is not a date (YYYY-MM-DD)"),
    (["task", "progress", "ZB-000001", "--value", "-2"], "zhao",
     "progress value must be 0 or more, got '-2'"),
    (["task", "progress", "ZB-000001", "--value", "x"], "zhao",
     "progress value must be a number, got 'x'"),
    (["task", "verify-progress", "ZB-000001"], "li",
     "target task ZB-000001 has no progress report to be verified"),
    (["task", "reject-progress", "ZB-000007", "--reason", "假"], "li",
     "unknown target task: ZB-000007"),
    (["indicators", "show", "--version", "2"], "admin",
     "unknown indicator system version: 2 (versions 1 to 1)"),
])
def test_cli_refusals_are_one_line_and_write_nothing(
        cli_store: tuple[str, Path], args: list[str], actor: str, error: str) -> None:
    url, folder = cli_store
    taizhang(url, "indicators", "import", str(folder / "system.csv"), "--at", "2024-05-06")
    taizhang(url, "indicators", "assign", "1.1", "--unit", "JS01", "--target", "20",
             "--unit-of-measure", "块", "--due", "2099-06-30")
    before = position(url)
    code, out, err = taizhang(url, *args, actor=actor)
    assert (code != 0, out, err) == (True, "", f"Error: {error}\n")
    assert position(url) == before


@pytest.mark.parametrize("content, error", [
    ("code,parent,title\n1,,甲\n2,1,乙\n2,1,丙\n", "indicator code listed more than once: 2"),
    ("code,parent,title\n1,3,甲\n", "unknown parent indicator: 3 (parent of 1)"),
    ("code,parent,title\n1,2,甲\n2,1,乙\n", "indicator parents form a cycle: 1 → 2 → 1"),
])
def test_cli_import_refuses_a_bad_tree_in_one_line(cli_store: tuple[str, Path], content: str,
                                                   error: str) -> None:
    url, folder = cli_store
    (folder / "bad.csv").write_text(content, encoding="utf-8")
    before = position(url)
    code, out, err = taizhang(url, "indicators", "import", str(folder / "bad.csv"))
    assert (code, out, err) == (1, "", f"Error: {error}\n")
    assert position(url) == before
