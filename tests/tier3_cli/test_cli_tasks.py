"""The task commands from the user's side: inspect, task …, board, and the README's tour.

Each command works (exact output where it does not depend on today), and each refuses
bad input with exactly one line ``Error: …`` naming the problem and the value, a non-zero
exit, no traceback and no event written. Deadlines lie in 2024, so every open task is
overdue whenever these tests run.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from cli_support import Cli
from conftest import Clock, seed_campaign

from cli import main
from ledger.store import Store

ZONE = ZoneInfo("Asia/Shanghai")
SEEDED_AT = datetime(2024, 5, 1, 0, 0, tzinfo=timezone.utc)
MEMBERS = {"JS01": "zhao", "JS02": "qian"}
README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture
def cli(sqlite_url: str) -> Iterator[Cli]:
    """The seeded campaign (conftest): admin, inspectors li and zhou, zhao of JS01, qian of
    JS02, auditor sun; registered on 2024-05-01."""
    store = Store(sqlite_url, clock=Clock(SEEDED_AT))
    seed_campaign(store.ledger)
    store.close()
    runner = Cli(sqlite_url)
    yield runner
    runner.close()


def make_task(cli: Cli, state: str, unit: str = "JS01") -> str:
    """A task of ``unit`` taken (through the application) to ``state``; its events lie in
    May 2024, an hour apart, and its deadline is 2024-05-10."""
    ledger = cli.store.ledger
    moments = (datetime(2024, 5, 3, 10, 0, tzinfo=ZONE) + timedelta(hours=h)
               for h in range(20))
    task_id = ledger.assign(actor_id="li", unit=unit, category="环境卫生", source="inspection",
                            location="幸福路12号", description="电线杆牛皮癣",
                            deadline=date(2024, 5, 10), occurred_at=next(moments))["task"]
    member = MEMBERS[unit]
    # Each step takes the task one state further along the lifecycle.
    steps: list[Callable[[], object]] = [
        lambda: ledger.acknowledge(actor_id=member, task_id=task_id, occurred_at=next(moments)),
        lambda: ledger.issue_notice(actor_id="li", task_id=task_id, notice_no="ZG-001",
                                    requirements="清除", occurred_at=next(moments)),
        lambda: ledger.report_rectification(actor_id=member, task_id=task_id, description="已清除",
                                            occurred_at=next(moments)),
        lambda: ledger.reinspect(actor_id="li", task_id=task_id, passed=True,
                                 occurred_at=next(moments)),
        lambda: ledger.close_task(actor_id="li", task_id=task_id, closure="verified",
                                  reason="整改到位",
                                  occurred_at=next(moments)),
    ]
    if state == "void":
        ledger.close_task(actor_id="admin", task_id=task_id, closure="void", reason="误报",
                          occurred_at=next(moments))
        return task_id
    for step in steps:
        if ledger.task(task_id).state == state:
            break
        step()
    assert ledger.task(task_id).state == state
    return task_id


def said(task_id: str, state: str, deadline: str = "2024-05-10", unit: str = "JS01",
         closure: str = "", overdue: bool = True) -> str:
    """The one line a lifecycle command prints (in English)."""
    closure = closure.replace("_", " ")
    return (f"{task_id} {state}" + (f" ({closure})" if closure else "")
            + f" · unit {unit} · deadline {deadline}" + (" · OVERDUE" if overdue else "")
            + "\n")


# --- inspect ---------------------------------------------------------------------------


def test_an_inspection_with_findings_makes_a_task_of_each(cli: Cli) -> None:
    assert cli.ok("inspect", "JS01", "--at", "2024-05-03 10:00", "--with", "zhou",
                  "--note", "夜查", "--finding", "环境卫生|幸福路12号|电线杆牛皮癣",
                  "--finding", "交通秩序|幸福路口|占道经营|2024-05-06|ZG-2024-017",
                  as_="li") == "I-000001 JS01 inspected by li, zhou: T-000001, T-000002\n"
    first = json.loads(cli.ok("task", "show", "T-000001", "--format", "json"))
    assert (first["state"], first["deadline"], first["inspection"], first["source"]) == (
        "assigned", "2024-05-10", "I-000001", "inspection")
    second = json.loads(cli.ok("task", "show", "T-000002", "--format", "json"))
    assert (second["state"], second["deadline"], second["notice_no"]) == (
        "rectifying", "2024-05-06", "ZG-2024-017")


def test_a_clean_visit_is_recorded_too(cli: Cli) -> None:
    assert cli.ok("inspect", "JS02", "--at", "2024-05-03 15:00", as_="zhou") == \
        "I-000001 JS02 inspected by zhou: no problem found\n"
    assert cli.max_position() > 0


def test_findings_without_a_deadline_get_the_given_one_or_days(cli: Cli) -> None:
    cli.ok("inspect", "JS01", "--at", "2024-05-03 10:00", "--days", "3",
           "--finding", "环境卫生|a|b", as_="li")
    cli.ok("inspect", "JS01", "--at", "2024-05-03 11:00", "--deadline", "2024-05-20",
           "--finding", "环境卫生|a|b", as_="li")
    deadlines = [json.loads(cli.ok("task", "show", t, "--format", "json"))["deadline"]
                 for t in ("T-000001", "T-000002")]
    assert deadlines == ["2024-05-06", "2024-05-20"]


def test_inspect_refuses_an_unknown_unit(cli: Cli) -> None:
    cli.refused("inspect", "JS99", "--finding", "环境卫生|a|b", as_="li",
                message="unknown unit: JS99")


def test_only_inspectors_inspect(cli: Cli) -> None:
    cli.refused("inspect", "JS01", "--finding", "环境卫生|a|b", as_="admin",
                message="admin (admin) may not inspect: that is for inspector")


def test_inspect_refuses_a_malformed_finding(cli: Cli) -> None:
    cli.refused("inspect", "JS01", "--finding", "环境卫生|幸福路", as_="li",
                message="finding must be CATEGORY|LOCATION|DESCRIPTION[|DEADLINE[|NOTICE]], "
                        "got '环境卫生|幸福路'")


def test_inspect_refuses_a_malformed_finding_deadline(cli: Cli) -> None:
    cli.refused("inspect", "JS01", "--finding", "环境卫生|a|b|5月10日", as_="li",
                message="finding deadline must be YYYY-MM-DD, or working days: 7工作日, "
                        "7个工作日, 7wd, got '5月10日'")


def test_inspect_refuses_an_unknown_category(cli: Cli) -> None:
    cli.refused("inspect", "JS01", "--finding", "卫生|a|b", as_="li",
                message="category '卫生' is not one of this campaign's categories (社会治安, "
                        "环境卫生, 交通秩序, 集贸市场, 建筑工地, 文化环境, 大众传媒)")


def test_inspect_refuses_a_companion_who_is_not_an_inspector(cli: Cli) -> None:
    cli.refused("inspect", "JS01", "--with", "zhao", as_="li",
                message="companion zhao is not an inspector")


def test_inspect_refuses_a_finding_deadline_before_the_visit(cli: Cli) -> None:
    cli.refused("inspect", "JS01", "--at", "2024-05-03 10:00", "--finding",
                "环境卫生|a|b|2024-05-02", as_="li",
                message="deadline 2024-05-02 is before the assignment on 2024-05-03")


def test_inspect_refuses_a_visit_in_the_future(cli: Cli) -> None:
    cli.refused("inspect", "JS01", "--at", "2999-05-03 10:00", as_="li",
                message="occurred_at 2999-05-03T10:00:00+08:00 is in the future")


def test_inspect_refuses_a_malformed_moment(cli: Cli) -> None:
    cli.usage_refused("inspect", "JS01", "--at", "2024-05-32", as_="li",
                      message="Invalid value for '--at': '2024-05-32' is not a date or "
                              "date-time (YYYY-MM-DD[ HH:MM[:SS]])")


# --- task assign -----------------------------------------------------------------------


ASSIGN = ("task", "assign", "--unit", "JS02", "--category", "环境卫生", "--source",
          "complaint", "--location", "和平街3号", "--description", "乱堆乱放")


def test_a_task_is_assigned(cli: Cli) -> None:
    assert cli.ok(*ASSIGN, "--deadline", "2024-05-08", "--at", "2024-05-04 09:00",
                  as_="admin") == said("T-000001", "assigned", "2024-05-08", "JS02")


def test_a_task_is_assigned_with_a_notice(cli: Cli) -> None:
    assert cli.ok(*ASSIGN, "--deadline", "2024-05-08", "--at", "2024-05-04 09:00",
                  "--notice", "ZG-9", "--requirements", "清理", as_="li") == \
        said("T-000001", "rectifying", "2024-05-08", "JS02")


def test_assign_refuses_a_deadline_before_the_assignment(cli: Cli) -> None:
    cli.refused(*ASSIGN, "--deadline", "2024-05-03", "--at", "2024-05-04 09:00", as_="admin",
                message="deadline 2024-05-03 is before the assignment on 2024-05-04")


def test_assign_refuses_an_empty_location(cli: Cli) -> None:
    cli.refused("task", "assign", "--unit", "JS02", "--category", "环境卫生", "--source",
                "complaint", "--location", "", "--description", "乱堆乱放", "--deadline",
                "2099-01-01", as_="admin", message="location must not be empty (got '')")


def test_assign_refuses_an_unknown_unit(cli: Cli) -> None:
    cli.refused("task", "assign", "--unit", "JS99", "--category", "环境卫生", "--source",
                "complaint", "--location", "x", "--description", "y", "--deadline",
                "2099-01-01", as_="admin", message="unknown unit: JS99")


def test_assign_refuses_an_unknown_source(cli: Cli) -> None:
    cli.refused("task", "assign", "--unit", "JS02", "--category", "环境卫生", "--source",
                "rumour", "--location", "x", "--description", "y", "--deadline",
                "2099-01-01", as_="admin",
                message="source must be one of decomposition (指标分解), inspection (巡查发现), "
                        "complaint (群众反映), media (媒体曝光), unannounced (上级暗访), "
                        "got 'rumour'")


def test_a_unit_member_may_not_assign(cli: Cli) -> None:
    cli.refused(*ASSIGN, "--deadline", "2099-01-01", as_="qian",
                message="qian (unit) may not assign: that is for admin, inspector")


def test_assign_to_a_retired_unit_is_refused(cli: Cli) -> None:
    cli.ok("unit", "retire", "JS02", "--reason", "撤并", as_="admin")
    cli.refused(*ASSIGN, "--deadline", "2099-01-01", as_="admin",
                message="unit JS02 is retired")


def test_assign_refuses_a_malformed_deadline(cli: Cli) -> None:
    cli.usage_refused(*ASSIGN, "--deadline", "2024-02-30", as_="admin",
                      message="Invalid value for '--deadline': must be YYYY-MM-DD, or "
                              "working days: 7工作日, 7个工作日, 7wd, got '2024-02-30'")


def test_assign_requires_a_deadline(cli: Cli) -> None:
    cli.usage_refused(*ASSIGN, as_="admin", message="Missing option '--deadline'.")


# --- task ack --------------------------------------------------------------------------


def test_the_unit_acknowledges(cli: Cli) -> None:
    task = make_task(cli, "assigned")
    assert cli.ok("task", "ack", task, "--note", "收到", as_="zhao") == \
        said(task, "acknowledged")


def test_task_ids_are_read_in_any_case(cli: Cli) -> None:
    task = make_task(cli, "assigned")
    assert cli.ok("task", "ack", task.lower(), as_="zhao") == said(task, "acknowledged")


def test_ack_for_another_unit_is_refused(cli: Cli) -> None:
    task = make_task(cli, "assigned")
    cli.refused("task", "ack", task, as_="qian",
                message="qian acts for unit JS02, not for unit JS01")


def test_ack_of_an_unknown_task_is_refused(cli: Cli) -> None:
    cli.refused("task", "ack", "T-999999", as_="zhao", message="unknown task: T-999999")


def test_an_empty_task_id_is_refused(cli: Cli) -> None:
    cli.refused("task", "ack", " ", as_="zhao", message="task must not be empty (got '')")


def test_ack_twice_is_refused(cli: Cli) -> None:
    task = make_task(cli, "acknowledged")
    cli.refused("task", "ack", task, as_="zhao",
                message=f"task {task} cannot be acknowledged: it is acknowledged and "
                        "already acknowledged")


def test_an_auditor_may_not_acknowledge(cli: Cli) -> None:
    task = make_task(cli, "assigned")
    cli.refused("task", "ack", task, as_="sun",
                message="sun (auditor) may not acknowledge: that is for unit")


def test_ack_before_the_latest_event_is_refused(cli: Cli) -> None:
    task = make_task(cli, "assigned")
    cli.refused("task", "ack", task, "--at", "2024-05-03 09:00", as_="zhao",
                message="occurred_at 2024-05-03T09:00:00+08:00 is before the task's latest "
                        "event (2024-05-03T10:00:00+08:00)")


# --- task notice -----------------------------------------------------------------------


def test_a_notice_starts_the_rectification(cli: Cli) -> None:
    task = make_task(cli, "acknowledged")
    assert cli.ok("task", "notice", task, "--number", "ZG-2024-018", "--requirements",
                  "清除小广告", "--deadline", "2024-05-12", "--at", "2024-05-04 09:00",
                  as_="li") == said(task, "rectifying", "2024-05-12")


def test_a_second_notice_is_refused(cli: Cli) -> None:
    task = make_task(cli, "rectifying")
    cli.refused("task", "notice", task, "--number", "ZG-2", as_="li",
                message=f"task {task} cannot get a notice: it is rectifying (notice ZG-001)")


def test_a_unit_may_not_issue_a_notice(cli: Cli) -> None:
    task = make_task(cli, "acknowledged")
    cli.refused("task", "notice", task, "--number", "ZG-2", as_="zhao",
                message="zhao (unit) may not issue notice: that is for admin, inspector")


def test_a_notice_needs_a_number(cli: Cli) -> None:
    task = make_task(cli, "acknowledged")
    cli.refused("task", "notice", task, "--number", " ", as_="li",
                message="notice number must not be empty (got ' ')")


def test_a_notice_deadline_before_the_notice_is_refused(cli: Cli) -> None:
    task = make_task(cli, "acknowledged")
    cli.refused("task", "notice", task, "--number", "ZG-2", "--deadline", "2024-05-01",
                "--at", "2024-05-04 09:00", as_="li",
                message="deadline 2024-05-01 is before 2024-05-04")


# --- task report -----------------------------------------------------------------------


def test_the_unit_reports_with_evidence_hashed(cli: Cli, tmp_path: Path) -> None:
    task = make_task(cli, "rectifying")
    photo = tmp_path / "after.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0jpeg")  # a JPEG's first bytes: it is kept
    assert cli.ok("task", "report", task, "--description", "已清除", "--evidence",
                  f"{photo}:整改后照片", "--evidence-ref", "archive/missing.jpg",
                  as_="zhao") == \
        said(task, "reported")
    shown = json.loads(cli.ok("task", "show", task, "--format", "json"))
    assert shown["events"][-1]["evidence"] == [
        {"file": str(photo), "sha256": hashlib.sha256(b"\xff\xd8\xff\xe0jpeg").hexdigest(),
         "description": "整改后照片"},
        {"file": "archive/missing.jpg", "sha256": "", "description": "", "elsewhere": True}]


def test_report_before_a_notice_is_refused(cli: Cli) -> None:
    task = make_task(cli, "acknowledged")
    cli.refused("task", "report", task, "--description", "已清除", as_="zhao",
                message=f"task {task} cannot be reported as rectified: it is acknowledged "
                        "(no rectification notice yet)")


def test_report_for_another_unit_is_refused(cli: Cli) -> None:
    task = make_task(cli, "rectifying")
    cli.refused("task", "report", task, "--description", "已清除", as_="qian",
                message="qian acts for unit JS02, not for unit JS01")


def test_report_needs_a_description(cli: Cli) -> None:
    task = make_task(cli, "rectifying")
    cli.refused("task", "report", task, "--description", "", as_="zhao",
                message="rectification description must not be empty (got '')")


# --- task reinspect --------------------------------------------------------------------


def test_a_reinspection_fails_then_passes(cli: Cli) -> None:
    task = make_task(cli, "reported")
    assert cli.ok("task", "reinspect", task, "--fail", "--reason", "仍有残留", as_="li") == \
        said(task, "rectifying")
    cli.ok("task", "report", task, "--description", "再次清除", as_="zhao")
    assert cli.ok("task", "reinspect", task, "--pass", as_="zhou") == \
        said(task, "verified", overdue=False)
    assert json.loads(cli.ok("task", "show", task, "--format", "json"))["rework_count"] == 1


def test_reinspecting_something_never_reported_is_refused(cli: Cli) -> None:
    task = make_task(cli, "rectifying")
    cli.refused("task", "reinspect", task, "--pass", as_="li",
                message=f"task {task} cannot be re-inspected: it is rectifying, and only a "
                        "reported rectification is re-inspected")


def test_an_admin_may_not_reinspect(cli: Cli) -> None:
    task = make_task(cli, "reported")
    cli.refused("task", "reinspect", task, "--pass", as_="admin",
                message="admin (admin) may not reinspect: that is for inspector")


def test_a_failed_reinspection_needs_a_reason(cli: Cli) -> None:
    task = make_task(cli, "reported")
    cli.refused("task", "reinspect", task, "--fail", as_="li",
                message="reason for failing must not be empty (got '')")


def test_reinspect_requires_pass_or_fail(cli: Cli) -> None:
    task = make_task(cli, "reported")
    cli.usage_refused("task", "reinspect", task, as_="li",
                      message="Missing option '--pass' / '--fail'.")


# --- task extend -----------------------------------------------------------------------


def test_an_extension_moves_the_deadline(cli: Cli) -> None:
    task = make_task(cli, "rectifying")
    assert cli.ok("task", "extend", task, "--deadline", "2024-05-15", "--reason", "工程量大",
                  as_="admin") == said(task, "rectifying", "2024-05-15")


def test_an_extension_not_later_is_refused(cli: Cli) -> None:
    task = make_task(cli, "rectifying")
    cli.refused("task", "extend", task, "--deadline", "2024-05-09", "--reason", "x",
                as_="li", message="new deadline 2024-05-09 is not after the current deadline "
                                  "2024-05-10")


def test_a_unit_may_not_extend_its_own_deadline(cli: Cli) -> None:
    task = make_task(cli, "rectifying")
    cli.refused("task", "extend", task, "--deadline", "2024-06-01", "--reason", "x",
                as_="zhao", message="zhao (unit) may not extend deadline: that is for admin, "
                                    "inspector")


def test_a_verified_task_is_not_extended(cli: Cli) -> None:
    task = make_task(cli, "verified")
    cli.refused("task", "extend", task, "--deadline", "2024-06-01", "--reason", "x",
                as_="li", message=f"task {task} cannot be extended: it is verified")


def test_extend_refuses_a_malformed_deadline(cli: Cli) -> None:
    task = make_task(cli, "rectifying")
    cli.usage_refused("task", "extend", task, "--deadline", "next week", "--reason", "x",
                      as_="li", message="Invalid value for '--deadline': must be "
                                        "YYYY-MM-DD, or working days: 7工作日, 7个工作日, "
                                        "7wd, got 'next week'")


# --- task escalate ---------------------------------------------------------------------


def test_a_task_is_escalated(cli: Cli) -> None:
    task = make_task(cli, "rectifying")
    assert cli.ok("task", "escalate", task, "--reason", "超期未整改", as_="admin") == \
        said(task, "rectifying")
    assert json.loads(cli.ok("task", "show", task, "--format", "json"))["escalations"] == 1


def test_a_closed_task_is_not_escalated(cli: Cli) -> None:
    task = make_task(cli, "closed")
    cli.refused("task", "escalate", task, "--reason", "x", as_="admin",
                message=f"task {task} cannot be escalated: it is closed (verified)")


def test_escalation_needs_a_reason(cli: Cli) -> None:
    task = make_task(cli, "rectifying")
    cli.refused("task", "escalate", task, "--reason", "", as_="admin",
                message="reason must not be empty (got '')")


# --- task evidence ---------------------------------------------------------------------


def test_evidence_is_attached(cli: Cli) -> None:
    task = make_task(cli, "rectifying")
    assert cli.ok("task", "evidence", task, "--evidence-ref", "before.jpg:整改前",
                  as_="zhao") == \
        said(task, "rectifying")


def test_evidence_without_a_file_is_refused(cli: Cli) -> None:
    task = make_task(cli, "rectifying")
    cli.refused("task", "evidence", task, as_="li",
                message="evidence must name at least one file")


def test_an_auditor_may_not_attach_evidence(cli: Cli) -> None:
    task = make_task(cli, "rectifying")
    cli.refused("task", "evidence", task, "--evidence-ref", "x.jpg", as_="sun",
                message="sun (auditor) may not attach evidence: that is for admin, "
                        "inspector, unit")


def test_evidence_on_a_closed_task_is_refused(cli: Cli) -> None:
    task = make_task(cli, "closed")
    cli.refused("task", "evidence", task, "--evidence-ref", "x.jpg", as_="li",
                message=f"task {task} cannot be given evidence: it is closed (verified)")


# --- task close ------------------------------------------------------------------------


def test_a_verified_task_is_closed(cli: Cli) -> None:
    task = make_task(cli, "verified")
    assert cli.ok("task", "close", task, "--reason", "整改到位", as_="li") == \
        said(task, "closed", closure="verified", overdue=False)


def test_an_open_task_is_closed_as_not_responsible(cli: Cli) -> None:
    task = make_task(cli, "acknowledged")
    assert cli.ok("task", "close", task, "--closure", "not_responsible", "--reason",
                  "非本单位职责", as_="admin") == \
        said(task, "closed", closure="not_responsible", overdue=False)


def test_unit_cannot_close_its_own_task(cli: Cli) -> None:
    task = make_task(cli, "verified")
    cli.refused("task", "close", task, "--reason", "整改到位", as_="zhao",
                message="zhao (unit) may not close a task as verified: that is for inspector")


def test_close_before_a_passed_reinspection_is_refused(cli: Cli) -> None:
    task = make_task(cli, "reported")
    cli.refused("task", "close", task, "--reason", "整改到位", as_="li",
                message=f"task {task} cannot be closed as verified: it is reported and has "
                        "no passed re-inspection")


def test_close_refuses_an_unknown_closure(cli: Cli) -> None:
    task = make_task(cli, "verified")
    cli.usage_refused("task", "close", task, "--closure", "fixed", "--reason", "x", as_="li",
                      message="Invalid value for '--closure': 'fixed' is not one of "
                              "'verified', 'void', 'duplicate', 'not_responsible'.")


# --- task reopen -----------------------------------------------------------------------


def test_a_closed_task_is_reopened_for_a_new_cycle(cli: Cli) -> None:
    task = make_task(cli, "closed")
    assert cli.ok("task", "reopen", task, "--reason", "问题反弹", "--deadline", "2024-06-10",
                  "--at", "2024-06-01 09:00", as_="li") == \
        said(task, "rectifying", "2024-06-10")
    assert json.loads(cli.ok("task", "show", task, "--format", "json"))["cycle"] == 2


def test_a_voided_task_is_not_reopened(cli: Cli) -> None:
    task = make_task(cli, "void")
    cli.refused("task", "reopen", task, "--reason", "反弹", "--deadline", "2099-01-01",
                as_="li", message=f"task {task} was closed as void, not as rectified; assign "
                                  "a new task instead")


def test_an_open_task_is_not_reopened(cli: Cli) -> None:
    task = make_task(cli, "rectifying")
    cli.refused("task", "reopen", task, "--reason", "反弹", "--deadline", "2099-01-01",
                as_="li", message=f"task {task} cannot be reopened: it is rectifying, not "
                                  "closed")


def test_a_reopening_deadline_before_the_reopening_is_refused(cli: Cli) -> None:
    task = make_task(cli, "closed")
    cli.refused("task", "reopen", task, "--reason", "反弹", "--deadline", "2024-05-31",
                "--at", "2024-06-01 09:00", as_="li",
                message="deadline 2024-05-31 is before 2024-06-01")


# --- task reassign ---------------------------------------------------------------------


def test_a_task_is_reassigned(cli: Cli) -> None:
    task = make_task(cli, "rectifying")
    assert cli.ok("task", "reassign", task, "--unit", "JS02", "--reason", "属地调整",
                  as_="admin") == said(task, "assigned", unit="JS02")
    assert cli.ok("task", "ack", task, as_="qian") == said(task, "acknowledged", unit="JS02")


def test_reassign_to_an_unknown_unit_is_refused(cli: Cli) -> None:
    task = make_task(cli, "rectifying")
    cli.refused("task", "reassign", task, "--unit", "JS99", "--reason", "x", as_="admin",
                message="unknown unit: JS99")


def test_reassign_to_the_same_unit_is_refused(cli: Cli) -> None:
    task = make_task(cli, "rectifying")
    cli.refused("task", "reassign", task, "--unit", "JS01", "--reason", "x", as_="admin",
                message=f"task {task} is already assigned to unit JS01")


def test_a_unit_may_not_pass_its_task_on(cli: Cli) -> None:
    task = make_task(cli, "rectifying")
    cli.refused("task", "reassign", task, "--unit", "JS02", "--reason", "x", as_="zhao",
                message="zhao (unit) may not reassign: that is for admin, inspector")


# --- task correct ----------------------------------------------------------------------


def test_a_correction_is_shown_beside_the_original(cli: Cli) -> None:
    task = make_task(cli, "rectifying")
    assert cli.ok("task", "correct", task, "--event", "1", "--set",
                  "occurred_at=2024-05-03 09:30", "--set", "location=幸福路14号",
                  "--reason", "录入错误", as_="li") == said(task, "rectifying")
    shown = json.loads(cli.ok("task", "show", task, "--format", "json"))
    assert (shown["location"], shown["assigned_at"]) == ("幸福路14号",
                                                         "2024-05-03T09:30:00+08:00")
    assert shown["events"][0]["location"] == "幸福路12号"
    assert shown["events"][-1]["event"] == "Corrected"
    assert shown["events"][-1]["changes"] == {"occurred_at": "2024-05-03T09:30:00+08:00",
                                              "location": "幸福路14号"}


def test_a_correction_of_an_unknown_event_is_refused(cli: Cli) -> None:
    task = make_task(cli, "rectifying")
    cli.refused("task", "correct", task, "--event", "9", "--set", "location=x", "--reason",
                "x", as_="admin", message=f"task {task} has no event 9 (it has 3)")


def test_only_the_author_or_an_admin_corrects(cli: Cli) -> None:
    task = make_task(cli, "rectifying")
    cli.refused("task", "correct", task, "--event", "1", "--set", "location=x", "--reason",
                "x", as_="zhou", message=f"event 1 of task {task} was recorded by li; only "
                                         "they or an admin may correct it, not zhou")


def test_a_malformed_change_is_refused(cli: Cli) -> None:
    task = make_task(cli, "rectifying")
    cli.refused("task", "correct", task, "--event", "1", "--set", "location", "--reason",
                "x", as_="li", message="--set must be FIELD=VALUE, got 'location'")


def test_a_malformed_corrected_time_is_refused(cli: Cli) -> None:
    task = make_task(cli, "rectifying")
    cli.refused("task", "correct", task, "--event", "1", "--set", "occurred_at=yesterday",
                "--reason", "x", as_="li",
                message="occurred_at must be a date-time, got 'yesterday'")


def test_an_event_number_below_one_is_one_error_line(cli: Cli) -> None:
    task = make_task(cli, "rectifying")
    cli.usage_refused("task", "correct", task, "--event", "0", "--set", "location=x",
                      "--reason", "x", as_="li",
                      message="Invalid value for '--event': 0 is not in the range x>=1.")


# --- task show, task list, board -------------------------------------------------------


def test_task_show_lists_the_state_and_every_event_in_the_campaign_zone(cli: Cli) -> None:
    task = make_task(cli, "acknowledged")
    cli.ok("task", "escalate", task, "--reason", "督办", "--at", "2024-05-04T01:00:00Z",
           as_="admin")
    lines = cli.ok("task", "show", task).splitlines()
    assert lines[:4] == ["field         value",
                         "------------  ----------------",
                         f"Task          {task}",
                         "Unit          JS01"]
    assert "State         acknowledged" in lines
    assert "Assigned at   2024-05-03 10:00" in lines  # for people: the zone, the minute
    # Each event on a line, what it says in labelled lines below it.
    events = lines[lines.index("") + 1:]
    assert [e for e in events if not e.startswith(" ")] == [
        "#1 Assigned · 2024-05-03 10:00 · li (inspector)",
        "#2 Acknowledged · 2024-05-03 11:00 · zhao (unit)",
        "#3 Escalated · 2024-05-04 09:00 · admin (admin)",
    ]
    assert events[1:4] == ["    Entered by: admin", "    Unit: JS01", "    Category: 环境卫生"]
    assert events[-1] == "    Reason: 督办"
    # In Chinese: the same, every label Chinese.
    chinese = cli.ok("task", "show", task, env={"TAIZHANG_LANG": "zh"}).splitlines()
    assert chinese[:3] == ["字段      值", "--------  ----------------",
                           f"任务      {task}"]
    assert "状态      已签收" in chinese and "来源      巡查发现" in chinese
    assert "#3 督办 · 2024-05-04 09:00 · admin (管理员)" in chinese
    assert "    理由：督办" in chinese


def test_task_show_refuses_an_unknown_task(cli: Cli) -> None:
    cli.refused("task", "show", "T-000404", message="unknown task: T-000404")


def test_task_list_and_the_board_show_the_tasks(cli: Cli) -> None:
    closed = make_task(cli, "closed")
    verified = make_task(cli, "verified", unit="JS02")
    expected = (
        "task,unit,category,source,location,state,deadline,days_overdue,rework_count,"
        "extension_requested,last_action,last_action_at\n"
        f"{closed},JS01,环境卫生,inspection,幸福路12号,closed,2024-05-10,0,0,,Closed,"
        "2024-05-03T15:00:00+08:00\n"
        f"{verified},JS02,环境卫生,inspection,幸福路12号,verified,2024-05-10,0,0,,"
        "ReinspectionPassed,2024-05-03T14:00:00+08:00\n")
    assert cli.ok("task", "list", "--format", "csv") == expected
    assert cli.ok("board", "--unit", "JS", "--format", "csv") == expected
    only_js02 = json.loads(cli.ok("board", "--unit", "JS02", "--format", "json"))
    assert [row["task"] for row in only_js02] == [verified]


def test_the_board_shows_overdue_tasks(cli: Cli) -> None:
    make_task(cli, "closed")
    overdue = make_task(cli, "rectifying")
    rows = json.loads(cli.ok("board", "--overdue", "--format", "json"))
    assert [row["task"] for row in rows] == [overdue]
    assert rows[0]["days_overdue"] > 0
    assert cli.ok("board", "--overdue", "--open", "--state", "closed") == "(none)\n"


def test_the_board_refuses_an_unknown_unit(cli: Cli) -> None:
    cli.refused("board", "--unit", "JS99", message="unknown unit: JS99")


def test_task_list_refuses_a_malformed_month(cli: Cli) -> None:
    cli.usage_refused("task", "list", "--month", "2024-5",
                      message="Invalid value for '--month': '2024-5' is not a month "
                              "(YYYY-MM)")


# --- the README's tour -----------------------------------------------------------------


def tour_commands(heading: str = "## A tour") -> list[list[str]]:
    """The shell lines of README.md's first sh block under ``heading``, joined where they
    continue."""
    text = README.read_text(encoding="utf-8")
    section = text.split(heading, 1)[1]
    block = section.split("```sh", 1)[1].split("```", 1)[0]
    joined = block.replace("\\\n", " ")
    lines = joined.splitlines()
    # a command the README shows refused (its next line "#   Error: …") is not part of it
    return [shlex.split(line, comments=True) for line, after in zip(lines, [*lines[1:], ""])
            if line.strip() and not line.strip().startswith("#")
            and not after.startswith("#   Error:")]


def run_section(heading: str, url: str) -> dict[str, str]:
    """Run the sh block under ``heading`` in the current folder, as written: each line's
    output by the line (without ``taizhang``); every line must succeed."""
    env: dict[str, str | None] = {}
    said: dict[str, str] = {}
    runner = Cli(url)
    for words in tour_commands(heading):
        if words[0] == "export":
            name, _, value = words[1].partition("=")
            env[name] = value
            continue
        if words[0] == "unset":  # back to the tour's store
            env[words[1]] = None
            continue
        assert words[0] == "taizhang", words
        result = runner.runner.invoke(main, words[1:], env={"TAIZHANG_DB": None,
                                                            "TAIZHANG_AS": None,
                                                            "TAIZHANG_LANG": "en", **env})
        assert result.exit_code == 0, (words, result.output)
        said[" ".join(words[1:])] = result.output
    runner.close()
    return said


def test_the_readme_tour_runs_as_written(tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Every line of the tour succeeds, in a fresh folder with the default store."""
    monkeypatch.chdir(tmp_path)
    cli = Cli("sqlite:///taizhang.db")
    env: dict[str, str | None] = {}
    outputs = []
    for words in tour_commands():
        if words[0] == "export":
            name, _, value = words[1].partition("=")
            env[name] = value
            continue
        assert words[0] == "taizhang", words
        result = cli.runner.invoke(main, words[1:],
                                   env={"TAIZHANG_DB": None, "TAIZHANG_AS": None,
                                        "TAIZHANG_LANG": "en", **env})
        assert result.exit_code == 0, (words, result.output)
        outputs.append(result.output)
    assert (tmp_path / "taizhang.db").exists()
    assert "I-000001 JS01 inspected by li: T-000001, T-000002\n" in outputs
    shown = json.loads(cli("task", "show", "T-000001", "--format", "json").output)
    assert (shown["state"], shown["closure"], shown["rework_count"]) == (
        "closed", "verified", 1)
    cli.close()
