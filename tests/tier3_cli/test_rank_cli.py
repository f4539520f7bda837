"""The evaluation's commands on the hand-worked month: output, and refusals as one line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_support import Cli

from domain.figures import COUNT, FIGURES
from ledger.store import Store
from tests.tier3_cli.test_metrics_example import at, build


@pytest.fixture
def cli(store_url: str) -> Iterator[Cli]:
    store = Store(store_url, clock=lambda: at("07-01 09:00"))
    build(store.ledger)
    store.close()
    runner = Cli(store_url)
    yield runner
    runner.close()


def test_rank_prints_scores_ranks_changes_and_deductions(cli: Cli) -> None:
    assert cli.ok("rank", "--month", "2024-05", "--level", "社区", "--format", "csv") == (
        "rank,unit,name,score,previous_rank,rank_change,previous_score,score_change,list,"
        "terms\n"
        '1,JS02,和平社区,97.5,2,1,78.0,19.5,red,"overdue open at month end 0×2=+0.00; due, '
        "not rectified on time 0×1=+0.00; failed re-inspections (rework) 0×1=+0.00; "
        "recurrences 0×3=+0.00; media exposures 0×5=+0.00; unannounced-check findings "
        "0×4=+0.00; on-time rectification rate —→100.0%×10=+10.00; inspection coverage "
        '50.0%×5=+2.50"\n'
        '2,JS01,幸福社区,72.0,1,-1,95.0,-23.0,black,"overdue open at month end 2×2=-4.00; due, '
        "not rectified on time 4×1=-4.00; failed re-inspections (rework) 1×1=-1.00; "
        "recurrences 2×3=-6.00; media exposures 1×5=-5.00; unannounced-check findings "
        "0×4=+0.00; on-time rectification rate 20.0%×10=+2.00; inspection coverage "
        '100.0%×5=+5.00"\n')
    table = cli.ok("rank", "--month", "2024-05", "--level", "社区")
    assert "red list: 和平社区 JS02 (97.50)" in table
    assert "black list: 幸福社区 JS01 (72.00)" in table
    chinese = cli.ok("rank", "--month", "2024-05", "--level", "社区", env={"TAIZHANG_LANG": "zh"})
    assert chinese.splitlines()[1].split() == [
        "名次", "单位", "名称", "得分", "升降", "Δ得分", "红黑榜", "扣分与加分"]
    assert "红榜：和平社区 JS02 (97.50)" in chinese and "黑榜：幸福社区 JS01 (72.00)" in chinese


def test_metrics_and_their_explanation(cli: Cli) -> None:
    rows = json.loads(cli.ok("metrics", "--month", "2024-05", "--level", "社区",
                             "--format", "json"))
    assert [(r["unit"], r["due"], r["on_time_rate"], r["overdue_open"]) for r in rows] == [
        ("JS01", 5, 0.2, 2), ("JS02", 0, None, 0)]
    explained = cli.ok("metrics", "explain", "--month", "2024-05", "--unit", "JS01",
                       "--metric", "overdue_open")
    assert explained.splitlines()[0] == \
        "JS01 2024-05 overdue_open (overdue open at month end) = 2"
    assert cli.ok("metrics", "explain", "--month", "2024-05", "--unit", "JS01", "--metric",
                  "overdue_open", env={"TAIZHANG_LANG": "zh"}).splitlines()[0] == \
        "JS01 2024-05 overdue_open (超期未整改) = 2"
    assert "deadline 2024-05-15, overdue still open" in explained
    assert "deadline 2024-05-25, overdue still open" in explained


def test_publish_then_rank_published_and_revisions(cli: Cli) -> None:
    said = cli.ok("publish", "--month", "2024-05", as_="admin")
    assert said.startswith("2024-05 published: rules v1, position ")
    published = cli.ok("rank", "--month", "2024-05", "--level", "社区", "--published",
                       "--format", "csv")
    assert published == cli.ok("rank", "--month", "2024-05", "--level", "社区",
                               "--format", "csv")
    # A late entry: a visit of JS02 on 30 May, entered in July.
    cli.ok("inspect", "JS02", "--at", "2024-05-30 10:00", as_="li")
    assert cli.ok("rank", "--month", "2024-05", "--level", "社区", "--published",
                  "--format", "csv") == published
    now = json.loads(cli.ok("revisions", "--month", "2024-05", "--format", "json"))
    # JS02's coverage goes from 1/2 to 2/2, and its 街道's from 3/4 to 4/4.
    assert [(c["unit"], c["published_score"], c["score"]) for c in now["changes"]] == [
        ("JS02", 97.5, 100.0), ("JS", 80.75, 82.0)]
    assert [(c["event"], c["unit"]) for c in now["causes"]] == [("Inspection.Recorded",
                                                                "JS02")]


def test_rules_adopt_and_show(cli: Cli, tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text('name = "严格细则"\nbase = 100\n[deductions]\noverdue_open = 5\n',
                     encoding="utf-8")
    said = cli.ok("rules", "adopt", str(rules), "--month", "2024-06", "--reason", "加严",
                  as_="admin")
    assert said.startswith("rules version 1 (严格细则) adopted from 2024-06; sha256 ")
    assert cli.ok("rules", "show", "--month", "2024-05").startswith(
        "# rules version 0: 每月评比默认评分细则 (shipped with the program, never adopted)")
    shown = cli.ok("rules", "show", "--month", "2024-06")
    assert shown.splitlines()[0].startswith("# rules version 1: 严格细则 (adopted ")
    assert shown.endswith('name = "严格细则"\nbase = 100\n[deductions]\noverdue_open = 5\n')


def test_refusals_are_one_line_and_write_nothing(cli: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\nbase = 100\n\n[deductions]\noverdue = 2\n', encoding="utf-8")
    cli.refused("rules", "adopt", str(bad), "--month", "2024-06", as_="admin",
                message="bad.toml:5 deductions.overdue: unknown figure 'overdue' here "
                f"(one of: {', '.join(sorted(f.name for f in FIGURES.values() if f.nature == COUNT))})")
    bad.write_text('name = "x"\nbase = 100\n[deductions\nlate = 1\n', encoding="utf-8")
    cli.refused("rules", "adopt", str(bad), "--month", "2024-06", as_="admin",
                message="bad.toml:3:12: not valid TOML: Expected ']' at the end of a table "
                "declaration")
    bad.write_text('name = "x"\nbase = [1,\n', encoding="utf-8")
    cli.refused("rules", "adopt", str(bad), "--month", "2024-06", as_="admin",
                message="bad.toml:2: not valid TOML: Invalid value (at end of document)")
    cli.refused("rules", "adopt", str(tmp_path / "none.toml"), "--month", "2024-06",
                as_="admin", message=f"rules file {str(tmp_path / 'none.toml')!r} does not "
                "exist")
    cli.refused("rank", "--month", "2024-05", "--level", "社区", "--parent", "NOPE",
                message="unknown unit: NOPE")
    cli.refused("metrics", "--month", "2024-05", "--unit", "NOPE",
                message="unknown unit: NOPE")
    cli.refused("metrics", "explain", "--month", "2024-05", "--unit", "NOPE", "--metric",
                "due", message="unknown unit: NOPE")
    cli.usage_refused("rank", "--month", "2024-13", "--level", "社区",
                      message="Invalid value for '--month': '2024-13' is not a month "
                      "(YYYY-MM)")
    cli.usage_refused("metrics", message="Missing option '--month'.")
    cli.refused("rank", "--month", "2024-05", "--level", "社区", "--published",
                message="month 2024-05 has not been published")
    cli.refused("publish", "--month", "2024-05", as_="li",
                message="li (inspector) may not publish a monthly ranking: that is for admin")
    cli.refused("publish", "--month", "2099-01", as_="admin",
                message="month 2099-01 has not ended yet (today is "
                f"{cli.store.ledger.today(cli.store.ledger.campaign()).isoformat()}); only a "
                "complete month is published")
    cli.ok("publish", "--month", "2024-05", as_="admin")
    publication = cli.store.ledger.max_position()
    assert publication > 0
    refused = cli("publish", "--month", "2024-05", as_="admin")
    assert refused.exit_code == 1 and refused.output.startswith(
        "Error: month 2024-05 is already published (position ")
    assert refused.output.count("\n") == 1
    assert cli.store.ledger.max_position() == publication
    rules = tmp_path / "rules.toml"
    rules.write_text('name = "x"\nbase = 100\n', encoding="utf-8")
    cli.refused("rules", "adopt", str(rules), "--month", "2024-05", as_="admin",
                message="rules cannot be adopted from 2024-05: 2024-05 is published and "
                "frozen; adopt from 2024-06 or later")
