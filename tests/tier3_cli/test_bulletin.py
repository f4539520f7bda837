"""The supervision bulletin (督查通报) of the hand-worked month, in md, html and xlsx."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_support import Cli
from openpyxl import load_workbook

from ledger.store import Store
from tests.tier3_cli.test_metrics_example import at, build


@pytest.fixture
def worked(store_url: str) -> Iterator[tuple[Cli, dict[str, str]]]:
    store = Store(store_url, clock=lambda: at("07-01 09:00"))
    tasks = build(store.ledger)
    store.close()
    runner = Cli(store_url)
    yield runner, tasks
    runner.close()


def test_markdown_bulletin_quotes_the_head_and_names_the_problems(worked) -> None:  # type: ignore[no-untyped-def]
    cli, t = worked
    position, head = cli.store.ledger.head()
    text = cli.ok("bulletin", "--lang", "zh", "--month", "2024-05")
    lines = text.splitlines()
    assert lines[0] == "# 创建全国文明城市 2024督查通报（2024年5月）"
    assert lines[2] == (f"依据台账第 {position} 条记录（审计链哈希 {head}）计算；评分细则第 0 版"
                        "《每月评比默认评分细则》。")
    assert lines[3] == "本月评比尚未发布，以下按台账当前记录计算。"
    assert "| 按期整改率 | 20.0% |" in lines
    assert "| 1 | 和平社区（JS02） | 97.50 | ↑1 | 按期整改率 +10.00；巡查覆盖率 +2.50 |" in lines
    assert "| 社区 | 和平社区（97.50） | 幸福社区（72.00） |" in lines
    # Overdue at the end of May: T8 (deadline 05-15) and T3 (05-25).
    assert f"| 幸福社区（JS01） | {t['T8']} | 环境卫生 | 幸福路8号 | 2024-05-15 | 16 |" in lines
    assert f"| 幸福社区（JS01） | {t['T3']} | 环境卫生 | 幸福路1号 | 2024-05-25 | 6 |" in lines
    assert f"| 幸福社区（JS01） | {t['T4']} | 交通秩序 | 幸福路4号 | 销号后反弹重开 |" in lines
    assert (f"| 幸福社区（JS01） | {t['T3']} | 环境卫生 | 幸福路1号 | {t['T1']} 销号后 14 天内"
            "同一地点再现 |") in lines
    assert "| 社区 | 2024-05 | 2 | 84.75 | 20.0% |" in lines


def test_a_published_bulletin_shows_what_was_frozen(worked) -> None:  # type: ignore[no-untyped-def]
    cli, _ = worked
    cli.ok("publish", "--month", "2024-05", as_="admin")
    before = cli.ok("bulletin", "--month", "2024-05", "--lang", "en")
    assert "This month's ranking was published" in before
    cli.ok("inspect", "JS02", "--at", "2024-05-30 10:00", as_="li")  # a late entry
    assert cli.ok("bulletin", "--month", "2024-05", "--lang", "en") == before
    assert cli.ok("bulletin", "--month", "2024-05", "--lang", "en").startswith(
        "# 创建全国文明城市 2024 supervision bulletin, 2024-05")


def test_html_bulletin_carries_the_chart_as_a_picture(worked, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli, _ = worked
    target = tmp_path / "bulletin.html"
    assert cli.ok("bulletin", "--lang", "zh", "--month", "2024-05", "--format", "html", "--output",
                  str(target)) == f"bulletin of 2024-05 written to {target}\n"
    page = target.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("<svg") == 1 and "各层级平均得分" in page and "各层级按期整改率" in page
    assert "<td>和平社区（JS02）</td><td>97.50</td>" in page


def test_xlsx_bulletin_is_a_workbook_with_a_chart(worked, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli, _ = worked
    target = tmp_path / "bulletin.xlsx"
    cli.ok("bulletin", "--lang", "zh", "--month", "2024-05", "--format", "xlsx", "-o", str(target))
    book = load_workbook(target)
    assert book.sheetnames[0] == "通报"
    ranking = book["二、各层级评比排名 · 社区"]
    assert [c.value for c in ranking[3]][:3] == [1, "和平社区（JS02）", 97.5]
    trend = book["各层级平均得分"]
    assert trend["A1"].value == "月份" and trend._charts  # the line charts
    # The campaign started in January; its work (the first task) in March: the months
    # before, with nothing to score, are left out of the trend.
    assert [row[0].value for row in trend.iter_rows(min_row=2)] == [
        "2024-03", "2024-04", "2024-05"]
    assert [c.value for c in trend[4]][:2] == ["2024-05", 84.75]


def test_xlsx_needs_an_output_file(worked) -> None:  # type: ignore[no-untyped-def]
    cli, _ = worked
    cli.usage_refused("bulletin", "--lang", "zh", "--month", "2024-05", "--format", "xlsx",
                      message="--format xlsx writes a workbook: give --output FILE.")
    cli.usage_refused("bulletin", "--lang", "zh", "--month", "May",
                      message="Invalid value for '--month': 'May' is not a month (YYYY-MM)")
