"""Extension requests (申请延期): a unit asks, an inspector or administrator approves or
refuses; the figures count the deadline in force; the board and history show them.

Storage tests run on both backends (``store_url``); the command line on SQLite.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from said_support import english, refused, speaking
from cli_support import Cli
from conftest import Clock, seed_campaign

from domain.base import Refused
from ledger.app import Ledger
from ledger.store import Store
from ledger.workdays import WorkingDays
from projections.evaluation import Evaluator
from projections.read import ReadSide

SH = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    return datetime.fromisoformat(f"2024-{text}").replace(tzinfo=SH)


def assigned(ledger: Ledger, deadline: str = "05-10") -> str:
    task = ledger.assign(actor_id="li", unit="JS01", category="环境卫生", source="inspection",
                         location="幸福路12号", description="电线杆牛皮癣",
                         deadline=date.fromisoformat(f"2024-{deadline}"),
                         occurred_at=at("05-03 10:00"))["task"]
    ledger.acknowledge(actor_id="zhao", task_id=task, occurred_at=at("05-03 11:00"))
    ledger.issue_notice(actor_id="li", task_id=task, notice_no="ZG-1", requirements="清除",
                        occurred_at=at("05-03 12:00"))
    return task


def figures(store: Store, month: str) -> dict[str, object]:
    evaluator = Evaluator(ReadSide(store))
    [row] = evaluator.figures(evaluator.current(), month, unit="JS01")
    return row


def test_request_then_approval_moves_the_deadline_and_the_figures_follow(
        seeded: Ledger, store: Store) -> None:
    task = assigned(seeded)
    seeded.request_extension(actor_id="zhao", task_id=task, deadline=date(2024, 5, 20),
                             reason="材料未到货",
                             occurred_at=at("05-08 09:00"))
    # The request does not stop the clock: rectified on 05-15, after the deadline in
    # force (05-10), the cycle is late in May while the request awaits a decision.
    seeded.report_rectification(actor_id="zhao", task_id=task, description="已清除",
                                occurred_at=at("05-14 09:00"))
    seeded.reinspect(actor_id="li", task_id=task, passed=True, occurred_at=at("05-15 09:00"))
    may = figures(store, "2024-05")
    assert (may["due"], may["late"], may["on_time"]) == (1, 1, 0)
    # Verified, the request has lapsed: nothing pending, nothing to decide.
    assert seeded.task(task).pending_request is None
    with refused(Refused, match="no extension request pending"):
        seeded.decide_extension(actor_id="li", task_id=task, approve=True, reason="同意",
                                occurred_at=at("05-16 09:00"))
    assert ReadSide(store).extension_requests() == {}


def test_an_approved_request_is_the_deadline_in_force(seeded: Ledger, store: Store) -> None:
    task = assigned(seeded)
    seeded.request_extension(actor_id="zhao", task_id=task, deadline=date(2024, 5, 20),
                             reason="材料未到货",
                             occurred_at=at("05-08 09:00"))
    read = ReadSide(store)
    [row] = read.board(extension_requested=True)
    assert (row["task"], row["deadline"], row["extension_requested"]) == (
        task, "2024-05-10", "2024-05-20")
    seeded.decide_extension(actor_id="li", task_id=task, approve=True, reason="同意",
                            occurred_at=at("05-09 09:00"))
    assert seeded.task(task).deadline == date(2024, 5, 20)
    assert read.board(extension_requested=True) == []
    [row] = read.board()
    assert (row["deadline"], row["extension_requested"]) == ("2024-05-20", None)
    seeded.report_rectification(actor_id="zhao", task_id=task, description="已清除",
                                occurred_at=at("05-14 09:00"))
    seeded.reinspect(actor_id="li", task_id=task, passed=True, occurred_at=at("05-15 09:00"))
    may = figures(store, "2024-05")
    assert (may["due"], may["late"], may["on_time"]) == (1, 0, 1)
    events = [(e["event"], e["actor"]) for e in seeded.describe(task)["events"]]
    assert events[3:6] == [("ExtensionRequested", "zhao"), ("ExtensionApproved", "li"),
                           ("DeadlineExtended", "li")]
    extended = seeded.describe(task)["events"][5]
    assert extended["reason"] == "extension request (event 4) approved"


def test_a_refused_request_leaves_the_deadline(seeded: Ledger, store: Store) -> None:
    task = assigned(seeded)
    seeded.request_extension(actor_id="zhao", task_id=task, deadline=date(2024, 5, 20),
                             reason="材料未到货",
                             occurred_at=at("05-08 09:00"))
    seeded.decide_extension(actor_id="admin", task_id=task, approve=False, reason="工程量不大，按期完成",
                            occurred_at=at("05-09 09:00"))
    assert seeded.task(task).deadline == date(2024, 5, 10)
    assert ReadSide(store).extension_requests() == {}
    with speaking("en"):  # the summary's words in English
        history = ReadSide(store).history(task)
    refused = history["events"][-1]
    assert (refused["event"], refused["actor"], refused["role"], refused["reason"]) == (
        "ExtensionRefused", "admin", "admin", "工程量不大，按期完成")
    assert refused["summary"] == "extension request (event 4) refused"
    # Refused, the unit may ask again.
    seeded.request_extension(actor_id="zhao", task_id=task, deadline=date(2024, 5, 15),
                             reason="再申请",
                             occurred_at=at("05-09 10:00"))
    assert seeded.task(task).pending_request["deadline"] == date(2024, 5, 15)


def test_working_days_count_after_the_current_deadline(seeded: Ledger) -> None:
    task = assigned(seeded, deadline="09-27")
    # 2024-09-27 is a Friday; 3 working days more: Sun 09-29 (调休), Mon 09-30, Tue 10-08.
    seeded.request_extension(actor_id="zhao", task_id=task, deadline=WorkingDays(3, "3个工作日"),
                             reason="国庆",
                             occurred_at=at("05-08 09:00"))
    request = seeded.task(task).pending_request
    assert (request["deadline"], request["rule"]) == (date(2024, 10, 8), "3个工作日")
    seeded.decide_extension(actor_id="li", task_id=task, approve=True, reason="",
                            occurred_at=at("05-09 09:00"))
    extended = seeded.describe(task)["events"][-1]
    assert (extended["deadline"], extended["deadline_rule"]) == ("2024-10-08", "3个工作日")


def test_an_approval_after_the_deadline_moved_keeps_no_stale_rule(seeded: Ledger) -> None:
    task = assigned(seeded)
    # Ten working days after Fri 05-10 (Sat 05-11 is a make-up working day): 05-23.
    seeded.request_extension(actor_id="zhao", task_id=task, deadline=WorkingDays(10, "10wd"),
                             reason="材料",
                             occurred_at=at("05-08 09:00"))
    seeded.extend_deadline(actor_id="admin", task_id=task, deadline=date(2024, 5, 13),
                           reason="先延三天",
                           occurred_at=at("05-08 10:00"))
    seeded.decide_extension(actor_id="li", task_id=task, approve=True, reason="",
                            occurred_at=at("05-09 09:00"))
    extended = seeded.describe(task)["events"][-1]
    assert (extended["previous_deadline"], extended["deadline"],
            extended["deadline_rule"]) == ("2024-05-13", "2024-05-23", None)


@pytest.mark.parametrize(("who", "what", "message"), [
    ("li", "request", "li (inspector) may not request an extension: that is for unit"),
    ("qian", "request", "qian acts for unit JS02, not for unit JS01"),
    ("zhao", "approve", "zhao (unit) may not approve or refuse an extension request: that "
     "is for admin, inspector"),
    ("sun", "refuse", "sun (auditor) may not approve or refuse an extension request: that "
     "is for admin, inspector"),
])
def test_who_may_ask_and_who_may_decide(seeded: Ledger, who: str, what: str,
                                        message: str) -> None:
    task = assigned(seeded)
    if what != "request":
        seeded.request_extension(actor_id="zhao", task_id=task, deadline=date(2024, 5, 20),
                                 reason="材料",
                                 occurred_at=at("05-08 09:00"))
    with pytest.raises(Refused) as refused:
        if what == "request":
            seeded.request_extension(actor_id=who, task_id=task, deadline=date(2024, 5, 20),
                                     reason="材料",
                                     occurred_at=at("05-08 09:00"))
        else:
            seeded.decide_extension(actor_id=who, task_id=task, approve=what == "approve",
                                    reason="理由",
                                    occurred_at=at("05-09 09:00"))
    assert english(refused.value) == message


# --- the command line ----------------------------------------------------------------


@pytest.fixture
def cli(sqlite_url: str) -> Iterator[Cli]:
    store = Store(sqlite_url, clock=Clock(datetime(2024, 5, 6, tzinfo=timezone.utc)))
    seed_campaign(store.ledger)
    assigned(store.ledger)
    store.close()
    runner = Cli(sqlite_url)
    yield runner
    runner.close()


def test_the_commands_ask_approve_and_show(cli: Cli) -> None:
    assert cli.ok("task", "request-extension", "T-000001", "--to", "2024-05-20",
                  "--reason", "材料未到货", "--at", "2024-05-08 09:00", as_="zhao") == (
        "T-000001 rectifying · unit JS01 · deadline 2024-05-10 · OVERDUE\n")
    board = json.loads(cli.ok("board", "--extension-requested", "--format", "json"))
    assert [(r["task"], r["extension_requested"]) for r in board] == [
        ("T-000001", "2024-05-20")]
    assert "Extension asked" in cli.ok("board")
    assert cli.ok("task", "approve-extension", "T-000001", "--note", "同意",
                  "--at", "2024-05-09 09:00", as_="li") == (
        "T-000001 rectifying · unit JS01 · deadline 2024-05-20 · OVERDUE\n")
    assert "Extension asked" not in cli.ok("board")
    history = cli.ok("history", "T-000001")
    assert "extension requested 申请延期 2024-05-10 → 2024-05-20" in history
    assert "extension request (event 4) approved" in history
    assert "deadline extended 2024-05-10 → 2024-05-20" in history


def test_the_commands_refuse_bad_input_with_one_line(cli: Cli) -> None:
    ask = ("task", "request-extension", "T-000001", "--reason", "材料", "--at",
           "2024-05-08 09:00")
    cli.refused(*ask, "--to", "2024-05-09",
                message="requested deadline 2024-05-09 is not after the current deadline "
                "2024-05-10", as_="zhao")
    cli.refused(*ask, "--to", "2099-05-09", "--reason", " ",
                message="reason must not be empty (got ' ')", as_="zhao")
    cli.refused("task", "request-extension", "T-000404", "--to", "2024-05-20", "--reason",
                "x", message="unknown task: T-000404", as_="zhao")
    cli.refused("task", "approve-extension", "T-000001", "--at", "2024-05-08 09:00",
                message="task T-000001 has no extension request pending", as_="li")
    cli.ok(*ask, "--to", "2024-05-20", as_="zhao")
    cli.refused(*ask, "--to", "2024-05-21",
                message="task T-000001 already has an extension request pending (event 4, "
                "to 2024-05-20): it must be approved or refused first", as_="zhao")
    cli.refused("task", "refuse-extension", "T-000001", "--reason", "", "--at",
                "2024-05-09 09:00", message="reason must not be empty (got '')", as_="li")
    cli.usage_refused("task", "request-extension", "T-000001", "--to", "下周", "--reason",
                      "x", message="Invalid value for '--to': must be YYYY-MM-DD, or working "
                      "days: 7工作日, 7个工作日, 7wd, got '下周'", as_="zhao")


def test_a_corrected_moment_of_the_request_moves_its_pending_row(seeded: Ledger,
                                                                 store: Store) -> None:
    task = assigned(seeded)
    seeded.request_extension(actor_id="zhao", task_id=task, deadline=date(2024, 5, 20),
                             reason="材料未到货",
                             occurred_at=at("05-08 09:00"))
    read = ReadSide(store)
    assert read.extension_requests()[task]["requested_at"].startswith("2024-05-08T01:00")
    # Another event's moment corrected: the request's row stays as it was.
    seeded.correct(actor_id="li", task_id=task, event=3,
                   changes={"occurred_at": at("05-03 11:30").isoformat()}, reason="时间录错",
                   occurred_at=at("05-08 09:30"))
    assert read.extension_requests()[task]["requested_at"].startswith("2024-05-08T01:00")
    # The request's own moment corrected (by whom asked): the row follows, as a rebuild does.
    seeded.correct(actor_id="zhao", task_id=task, event=4,
                   changes={"occurred_at": at("05-08 08:00").isoformat()}, reason="时间录错",
                   occurred_at=at("05-08 10:00"))
    [row] = read.extension_requests().values()
    assert (row["request"], row["requested_at"][:16]) == (4, "2024-05-08T00:00")
    read.rebuild()
    assert read.extension_requests() == {task: row}
