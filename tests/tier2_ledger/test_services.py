"""The services layer, called directly (not through the command line): the composition root,
localising moments, the evaluation's use cases, bulletins, the board, inspections and the
records as of a moment."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from said_support import english, refused
from cli_support import Cli
from conftest import Clock, seed_campaign
from tests.tier3_cli.test_cli_tasks import cli, make_task  # noqa: F401 (the fixture)

from domain.base import NotFound, Refused
from ledger.app import Ledger
from ledger.store import Store
from ledger.workdays import WorkingDays
from projections import bulletin
from projections.evaluation import Evaluator
from projections.read import ReadSide
from services import board, bulletins, evaluation, inspections, records
from services.bootstrap import Services

SH = ZoneInfo("Asia/Shanghai")


def assign(services: Services, unit: str, at: datetime, deadline: date) -> str:
    return services.ledger.assign(actor_id="admin", unit=unit, category="环境卫生",
                                  source="complaint", location="幸福路",
                                  description="垃圾堆放", deadline=deadline,
                                  occurred_at=at)["task"]


@pytest.fixture
def services(store: Store) -> Services:
    seed_campaign(store.ledger)
    return Services(store)


# --- the composition root -----------------------------------------------------------------

def test_the_root_builds_each_part_once_over_one_read_side(services: Services) -> None:
    assert services.indicators is services.indicators
    assert services.evaluations is services.evaluations
    assert services.corrections.ledger is services.ledger
    assert services.evaluator.read is services.read
    assert services.indicator_queries.read is services.read
    shared = ReadSide(services.store)
    given = Services(services.store, shared)
    assert given.read is shared and given.evaluator.read is shared


def test_a_moment_without_an_offset_is_in_the_campaigns_zone(services: Services) -> None:
    assert services.localize(datetime(2024, 5, 1, 9, 0)) == datetime(2024, 5, 1, 9, 0,
                                                                      tzinfo=SH)
    aware = datetime(2024, 5, 1, 9, 0, tzinfo=ZoneInfo("UTC"))
    assert services.localize(aware) is aware
    assert services.localize(None) is None
    assert services.today() == date(2024, 6, 1)  # 09:00 UTC is 17:00 in Shanghai


def test_a_task_command_loads_the_campaign_once(store_url: str, clock: Clock,
                                                services: Services) -> None:
    task = assign(services, "JS01", datetime(2024, 5, 20, 9, 0, tzinfo=SH), date(2024, 5, 30))
    fresh = Store(store_url, clock=clock)  # a new command: nothing cached
    try:
        again = Services(fresh)
        ledger = again.ledger
        with mock.patch.object(ledger, "campaign", wraps=ledger.campaign) as loads:
            done = ledger.acknowledge(
                actor_id="zhao", task_id=task, note="收到",
                occurred_at=again.localize(datetime(2024, 5, 21, 10, 0)))
        assert done["state"] == "acknowledged"
        assert loads.call_count == 1
        history = again.read.history(task)
        assert history["events"][-1]["occurred_at"] == "2024-05-21T10:00:00+08:00"
    finally:
        fresh.close()


def test_a_task_command_on_the_command_line_loads_the_campaign_once(
        cli: Cli) -> None:  # noqa: F811
    task = make_task(cli, "assigned")
    with mock.patch("ledger.app.Ledger.campaign", autospec=True,
                    side_effect=Ledger.campaign) as loads:
        cli.ok("task", "ack", task, "--at", "2024-05-04 09:00", as_="zhao")
    assert loads.call_count == 1
    assert cli.store.ledger.describe(task)["events"][-1]["occurred_at"] == \
        "2024-05-04T09:00:00+08:00"


# --- months ---------------------------------------------------------------------------------

def test_the_last_complete_month_and_the_month_shown_by_default(services: Services) -> None:
    assert evaluation.this_month(services) == "2024-06"
    assert evaluation.last_complete_month(services) == "2024-05"
    assert evaluation.last_complete_month(services, until="2024-03") == "2024-03"
    assert evaluation.last_complete_month(services, until="2024-06") == "2024-05"
    assert evaluation.default_month(services) == "2024-05"  # no task yet
    assign(services, "JS01", datetime(2024, 3, 5, 9, 0, tzinfo=SH), date(2024, 3, 20))
    assert evaluation.default_month(services) == "2024-03"  # the ledger's own last month


# --- rankings and publication ---------------------------------------------------------------

def in_july(clock: Clock) -> None:
    """On to July (the units were registered on 06-01): June is complete, theirs to rank."""
    clock.now = datetime(2024, 7, 6, 9, 0, tzinfo=SH)


def placed(shown: evaluation.Shown) -> list[tuple[str, object, int]]:
    return [(p.unit, p.placed.score, p.placed.rank) for p in shown.ranking.placements]


def test_publish_freezes_what_the_read_side_ranks_and_the_published_ranking_reproduces(
        services: Services, clock: Clock) -> None:
    in_july(clock)
    for unit in ("JS01", "JS02", "JS01"):
        assign(services, unit, datetime(2024, 6, 6, 9, 0, tzinfo=SH), date(2024, 6, 10))
    now = evaluation.ranking(services, "2024-06", "社区")
    assert {p.unit for p in now.ranking.placements} == {"JS01", "JS02"}
    assert (now.position, now.head) == services.ledger.head()
    done = evaluation.publish(services, actor="admin", month="2024-06")
    assert done["position"] == now.position
    assert evaluation.published_months(services) == ["2024-06"]

    clock.advance(minutes=5)  # a late entry for June, after the publication
    for _ in range(3):
        assign(services, "JS02", datetime(2024, 6, 7, 9, 0, tzinfo=SH), date(2024, 6, 9))
    shown = evaluation.published_ranking(services, "2024-06", "社区")
    assert shown.publication is not None and shown.publication["digest"] == done["digest"]
    assert shown.position == done["position"]
    # (publishing adopted the shipped rules as version 1: the same rules as version 0)
    assert placed(shown) == placed(now)
    assert placed(evaluation.ranking(services, "2024-06", "社区")) != placed(now)
    publication, changes, causes = evaluation.revisions(services, "2024-06")
    assert publication["digest"] == done["digest"]
    assert "JS02" in {c["unit"] for c in changes}
    assert len(causes) == 3 and all(c["position"] > done["position"] for c in causes)


def test_a_published_ranking_that_does_not_reproduce_is_refused(services: Services,
                                                                clock: Clock) -> None:
    in_july(clock)
    assign(services, "JS01", datetime(2024, 6, 6, 9, 0, tzinfo=SH), date(2024, 6, 10))
    done = evaluation.publish(services, actor="admin", month="2024-06")
    with mock.patch.object(evaluation, "digest_of", return_value="0" * 64):
        with refused(Refused, match=f"the published ranking of 2024-06 does not "
                                          f"reproduce: digest 0{{64}} recomputed, "
                                          f"{done['digest']} published"):
            evaluation.published_ranking(services, "2024-06", "社区")
    with pytest.raises(NotFound, match="2024-05 的评比结果尚未发布"):
        evaluation.published_ranking(services, "2024-05", "社区")


def test_the_evaluation_as_of_a_position_is_the_ledger_as_it_stood_then(
        services: Services, clock: Clock) -> None:
    assign(services, "JS01", datetime(2024, 5, 6, 9, 0, tzinfo=SH), date(2024, 5, 10))
    position, _ = services.ledger.head()
    before = evaluation.figures(services, "2024-05", "JS01")
    clock.advance(minutes=1)
    assign(services, "JS01", datetime(2024, 5, 7, 9, 0, tzinfo=SH), date(2024, 5, 10))
    assert evaluation.figures(services, "2024-05", "JS01")[0]["assigned"] == 2
    then = services.evaluator_at(position=position)
    assert then.figures(then.current(), "2024-05", "JS01") == before
    moment = services.evaluator_at(clock.now - timedelta(seconds=30))
    assert moment.figures(moment.current(), "2024-05", "JS01") == before


# --- bulletins --------------------------------------------------------------------------------

def test_a_bulletin_in_each_format_is_the_months_bulletin(services: Services,
                                                          clock: Clock) -> None:
    in_july(clock)
    assign(services, "JS01", datetime(2024, 6, 6, 9, 0, tzinfo=SH), date(2024, 6, 10))
    found = bulletins.of_month(services, "2024-06", "zh")
    assert found.published_at is None and found.position == services.ledger.head()[0]
    assert bulletins.document(services, "2024-06", "md", "zh") == bulletin.markdown(found)
    assert bulletins.document(services, "2024-06", "html", "zh") == bulletin.to_html(found)
    workbook = bulletins.document(services, "2024-06", "xlsx", "en")
    assert isinstance(workbook, bytes) and zipfile.ZipFile(io.BytesIO(workbook)).namelist()
    with pytest.raises(ValueError, match="no bulletin format 'pdf'"):
        bulletins.document(services, "2024-06", "pdf", "zh")
    done = evaluation.publish(services, actor="admin", month="2024-06")
    clock.advance(minutes=5)
    assign(services, "JS01", datetime(2024, 6, 7, 9, 0, tzinfo=SH), date(2024, 6, 10))
    published = bulletins.of_month(services, "2024-06", "zh")
    assert (published.position, published.head) == (done["position"], done["head"])
    assert published.published_at == done["published_at"][:10]


# --- the board --------------------------------------------------------------------------------

def test_the_board_as_of_a_moment_typed_without_an_offset(services: Services,
                                                          clock: Clock) -> None:
    first = assign(services, "JS01", datetime(2024, 5, 6, 9, 0, tzinfo=SH), date(2024, 5, 10))
    typed = clock.now.astimezone(SH).replace(tzinfo=None) + timedelta(minutes=1)
    clock.advance(minutes=10)
    assign(services, "JS02", datetime(2024, 5, 7, 9, 0, tzinfo=SH), date(2024, 6, 5))
    then = board.board(services, as_of=typed)
    assert [row["task"] for row in then.rows] == [first]
    assert then.today == date(2024, 6, 1)
    assert len(board.board(services).rows) == 2


def test_the_board_due_within_working_days_with_working_days_left(services: Services) -> None:
    soon = assign(services, "JS01", datetime(2024, 5, 30, 9, 0, tzinfo=SH), date(2024, 6, 4))
    assign(services, "JS02", datetime(2024, 5, 30, 9, 0, tzinfo=SH), date(2024, 6, 20))
    # Saturday 2024-06-01: three working days on are 06-03, 06-04, 06-05.
    found = board.board(services, within=WorkingDays(3, "3wd"), working_days=True)
    assert [(row["task"], row["working_days_left"]) for row in found.rows] == [(soon, 2)]
    assert found.unknown_years == set()


def test_reminders_group_each_units_tasks_overdue_and_due_soon(services: Services) -> None:
    late = assign(services, "JS01", datetime(2024, 5, 20, 9, 0, tzinfo=SH), date(2024, 5, 30))
    soon = assign(services, "JS02", datetime(2024, 5, 30, 9, 0, tzinfo=SH), date(2024, 6, 3))
    assign(services, "JS02", datetime(2024, 5, 30, 9, 0, tzinfo=SH), date(2024, 6, 20))
    found = board.reminders(services, within=timedelta(days=3))
    assert found.today == date(2024, 6, 1) and found.unknown_years == set()
    assert [(u["unit"], [r["task"] for r in u["overdue"]], [r["task"] for r in u["due"]])
            for u in found.units] == [("JS01", [late], []), ("JS02", [], [soon])]
    assert found.units[1]["due"][0]["working_days_left"] == 1  # Monday 06-03


def test_the_rules_in_force_default_to_this_months(services: Services) -> None:
    assert evaluation.rules_in_force(services).version == 0  # the shipped rules
    assert evaluation.rules_in_force(services, "2024-01") == \
        services.evaluations.rules_for("2024-01")


# --- inspections --------------------------------------------------------------------------------

def test_a_finding_is_parsed_with_its_deadline_and_notice() -> None:
    found = inspections.parse_finding(" 市容 | 幸福路 | 占道经营 | 2024-06-10 | 通知1 ",
                                      date(2024, 6, 8))
    assert (found.category, found.location, found.description, found.deadline,
            found.notice_no) == ("市容", "幸福路", "占道经营", date(2024, 6, 10), "通知1")
    assert inspections.parse_finding("市容|幸福路|占道经营", date(2024, 6, 8)).deadline == \
        date(2024, 6, 8)
    with refused(Refused, match=r"finding must be CATEGORY\|LOCATION\|DESCRIPTION"
                                      r"\[\|DEADLINE\[\|NOTICE\]\], got '市容\|幸福路'"):
        inspections.parse_finding("市容|幸福路", date(2024, 6, 8))


def test_an_inspection_gets_the_default_deadline_in_the_campaigns_zone(
        services: Services) -> None:
    # 23:30 on 05-31 in Shanghai is still 05-31 there (15:30 UTC): seven days on, 06-07.
    done = inspections.inspect(services, actor="li", unit="JS01",
                               findings=["环境卫生|幸福路|垃圾堆放", "环境卫生|和平路|积水|2024-06-03"],
                               occurred_at=datetime(2024, 5, 31, 23, 30))
    deadlines = [services.ledger.task(t).deadline for t in done["tasks"]]
    assert deadlines == [date(2024, 6, 7), date(2024, 6, 3)]
    assert done["inspectors"] == ["li"]


# --- records as of a moment ---------------------------------------------------------------------

def test_history_and_timeline_as_of_a_moment_typed_without_an_offset(
        services: Services, clock: Clock) -> None:
    task = assign(services, "JS01", datetime(2024, 5, 20, 9, 0, tzinfo=SH), date(2024, 5, 30))
    typed = clock.now.astimezone(SH).replace(tzinfo=None)
    clock.advance(minutes=5)
    services.ledger.acknowledge(actor_id="zhao", task_id=task, note="收到")
    then = records.history(services, task, as_of=typed)
    assert [e["event"] for e in then["events"]] == ["Assigned"]
    assert [e["event"] for e in records.history(services, task)["events"]] == \
        ["Assigned", "Acknowledged"]
    kinds = [r["kind"] for r in records.timeline(services, as_of=typed, unit="JS01")]
    assert kinds[-1] == "Task.Assigned" and "Task.Acknowledged" not in kinds
    assert records.timeline(services, unit="JS01")[-1]["kind"] == "Task.Acknowledged"
    with refused(Refused, match="--valid-at gives a task's state on a day; unit:JS01 "
                                      "is a unit"):
        records.history(services, "unit:JS01", valid_at=date(2024, 5, 1))


def test_history_and_timeline_as_of_a_position(services: Services) -> None:
    task = assign(services, "JS01", datetime(2024, 5, 20, 9, 0, tzinfo=SH), date(2024, 5, 30))
    position, _ = services.ledger.head()
    services.ledger.acknowledge(actor_id="zhao", task_id=task, note="收到")
    then = services.read.at(position=position)
    assert [e["event"] for e in then.history(task)["events"]] == ["Assigned"]
    assert then.timeline()[-1]["position"] == position
    with pytest.raises(NotFound, match=f"任务 T-000002 在位置 {position} 时尚未记录"):
        assign(services, "JS02", datetime(2024, 5, 21, 9, 0, tzinfo=SH), date(2024, 5, 30))
        then.history("T-000002")
    with pytest.raises(ValueError):
        services.read.at(datetime(2024, 6, 1, tzinfo=SH), position=position)


def test_the_summary_as_of_a_moment(services: Services, clock: Clock) -> None:
    assign(services, "JS01", datetime(2024, 5, 20, 9, 0, tzinfo=SH), date(2024, 5, 30))
    typed = clock.now.astimezone(SH).replace(tzinfo=None)
    clock.advance(minutes=5)
    assign(services, "JS01", datetime(2024, 5, 21, 9, 0, tzinfo=SH), date(2024, 5, 30))
    start, end = date(2024, 5, 1), date(2024, 5, 31)
    then = records.summary(services, start, end, "JS", as_of=typed)
    now = records.summary(services, start, end, "JS")
    assert (then.scope, then.figures["found"], now.figures["found"]) == \
        ("建设街道", 1, 2)


# --- audit ------------------------------------------------------------------------------------

def test_the_baseline_an_audit_verifies_against(services: Services) -> None:
    from ledger.audit import Head
    from ledger.witness import Seen
    from services import audit as auditing

    def said(b: auditing.Baseline) -> tuple[object, str, str, bool]:
        return b.since, english(b.what), str(b.what), b.witnessed

    assert said(auditing.baseline(services)) == (None, "checkpoint", "所给检查点", False)
    checkpoint = Head(3, "ab" * 32)
    assert auditing.baseline(services, since=checkpoint).since == checkpoint
    identity = services.ledger.recorder.identity()  # type: ignore[attr-defined]
    own = Seen(identity, "here", "me", 5, "cd" * 32, "2024-06-01T09:00:00+00:00")
    assert said(auditing.baseline(services, own=own)) == \
        (Head(5, "cd" * 32), "this account's witness", "本账户的见证", True)
    assert auditing.baseline(services, since=checkpoint, own=own).since == checkpoint
    handed = Seen(identity, "there", "sun", 4, "ef" * 32, "2024-06-01T09:00:00+00:00")
    assert said(auditing.baseline(services, handed=handed, handed_from="w.json")) == \
        (Head(4, "ef" * 32), "the witness of sun", "sun 的见证", True)
    elsewhere = Seen("another-store", "there", "sun", 4, "ef" * 32, "2024-06-01")
    with refused(Refused, match="witness file 'w.json' is of store another-store, "
                                      f"not of this one \\({identity}\\)"):
        auditing.baseline(services, handed=elsewhere, handed_from="w.json")
    verified = auditing.verify(services, auditing.baseline(services), with_evidence=True)
    assert verified.ok and verified.evidence == (0, [])
    assert verified.result.head.position == services.ledger.max_position()


def test_an_export_is_written_whole_or_not_at_all(services: Services, tmp_path: Path) -> None:
    from ledger import audit, audit_transfer
    from services import audit as auditing

    file = tmp_path / "ledger.jsonl"
    done = auditing.export(services, file, with_evidence=True)
    assert done.head == audit.head(services.ledger) and (done.copied, done.missing) == (0, [])
    assert len(file.read_text(encoding="utf-8").splitlines()) == done.head.position + 1
    failing = tmp_path / "failing.jsonl"
    with mock.patch.object(audit_transfer, "export", side_effect=OSError("disk full")):
        with pytest.raises(OSError, match="disk full"):
            auditing.export(services, failing)
    assert not failing.exists() and not failing.with_name("failing.jsonl.partial").exists()


def test_a_reproduced_publication_is_not_recomputed_whole_until_the_computation_changes(
        services: Services, clock: Clock) -> None:
    from projections import reproductions

    in_july(clock)
    for unit in ("JS01", "JS02", "JS01"):
        assign(services, unit, datetime(2024, 6, 6, 9, 0, tzinfo=SH), date(2024, 6, 10))
    evaluation.publish(services, actor="admin", month="2024-06")
    first = evaluation.published_ranking(services, "2024-06", "社区", parent="JS")
    clock.advance(minutes=5)  # a late entry for June, after the publication
    assign(services, "JS02", datetime(2024, 6, 7, 9, 0, tzinfo=SH), date(2024, 6, 9))
    # Reproduced once: what is shown is computed as of the publication, the whole is not.
    with mock.patch.object(evaluation, "digest_of", return_value="0" * 64):
        again = evaluation.published_ranking(services, "2024-06", "社区", parent="JS")
        assert placed(again) == placed(first)
        assert placed(evaluation.published_ranking(services, "2024-06", "社区")) == \
            placed(first)
        # Another computation: the publication is reproduced whole again before it is shown.
        with mock.patch.object(reproductions, "RANKING_COMPUTATION",
                               reproductions.RANKING_COMPUTATION + 1):
            with refused(Refused, match="does not reproduce"):
                evaluation.published_ranking(services, "2024-06", "社区", parent="JS")
