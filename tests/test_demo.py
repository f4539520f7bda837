"""``taizhang demo``: the same seed and --until give the same ledger; only in an empty store."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from cli_support import Cli

DEMO = ("demo", "--until", "2024-06", "--months", "2")


def run_demo(folder: Path, name: str, *args: str) -> tuple[Cli, str]:
    cli = Cli(f"sqlite:///{folder / name}")
    return cli, cli.ok(*args)


def content(cli: Cli) -> list[tuple[str, int, str, dict[str, object]]]:
    """The stored events as (originator, version, topic, state). The library stamps each
    event object with the wall-clock moment it was made (``timestamp``); that is not ledger
    content — transaction time is the store's own ``recorded_at`` — so it is left out."""
    rows = []
    for record in cli.store.ledger.records():
        state = json.loads(record.state)
        state.pop("timestamp")
        rows.append((record.originator_id, record.originator_version, record.topic, state))
    return rows


def test_the_same_seed_and_month_give_the_same_ledger(tmp_path: Path) -> None:
    first, said_first = run_demo(tmp_path, "a.db", *DEMO, "--seed", "11")
    second, said_second = run_demo(tmp_path, "b.db", *DEMO, "--seed", "11")
    assert content(first) == content(second)
    assert said_first.splitlines()[0].replace("a.db", "b.db") == said_second.splitlines()[0]
    first.close()
    second.close()


def test_another_seed_gives_another_ledger(tmp_path: Path) -> None:
    first, _ = run_demo(tmp_path, "a.db", *DEMO, "--seed", "11")
    second, _ = run_demo(tmp_path, "b.db", *DEMO, "--seed", "12")
    assert content(first) != content(second)
    first.close()
    second.close()


def test_the_demo_says_what_it_built_and_shows_the_board(tmp_path: Path) -> None:
    cli, said = run_demo(tmp_path, "demo.db", *DEMO, "--seed", "11")
    lines = said.splitlines()
    summary = re.fullmatch(r"demo ledger: 17 units, (\d+) inspections, (\d+) tasks, (\d+) "
                           r"events \(2024-05-01 … 2024-06-30\) in sqlite:///(.+)", lines[0])
    assert summary, lines[0]
    assert summary.group(4) == str(tmp_path / "demo.db")
    assert int(summary.group(3)) == cli.max_position()
    assert lines[1] == ("open tasks on the 台账, most overdue first (all acts as admin: "
                        "--as admin):")
    assert lines[2].split() == ["task", "unit", "category", "source", "location", "state",
                                "deadline", "overdue", "days", "rework", "last", "action",
                                "at"]
    cli.close()


def test_the_demo_happens_within_its_months(tmp_path: Path) -> None:
    cli, _ = run_demo(tmp_path, "demo.db", *DEMO, "--seed", "11")
    zone = ZoneInfo("Asia/Shanghai")
    moments = [datetime.fromisoformat(json.loads(r.state)["occurred_at"]["_data_"])
               for r in cli.store.ledger.records()]
    assert min(moments) >= datetime(2024, 4, 24, tzinfo=zone)  # registries: a week before
    assert max(moments) < datetime(2024, 7, 1, tzinfo=zone)
    cli.close()


def test_the_demo_refuses_a_store_that_is_not_empty(tmp_path: Path) -> None:
    cli, _ = run_demo(tmp_path, "demo.db", *DEMO, "--seed", "11")
    cli.refused(*DEMO, message="the demo needs an empty store: this one already has a "
                               "campaign")
    cli.close()


def test_the_demo_refuses_a_store_with_a_campaign_of_its_own(tmp_path: Path) -> None:
    cli = Cli(f"sqlite:///{tmp_path / 'ledger.db'}")
    cli.ok("campaign", "start", "--name", "x", "--admin", "wang", "--admin-name", "王")
    cli.refused(*DEMO, message="the demo needs an empty store: this one already has a "
                               "campaign")
    cli.close()


def test_the_demo_refuses_a_malformed_month(tmp_path: Path) -> None:
    cli = Cli(f"sqlite:///{tmp_path / 'ledger.db'}")
    cli.usage_refused("demo", "--until", "2024-6",
                      message="Invalid value for '--until': '2024-6' is not a month "
                              "(YYYY-MM)")
    cli.close()
