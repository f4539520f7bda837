"""One vocabulary over every command: the shared options are named, typed and described the
same wherever they appear (in Chinese, as written, and in English), old spellings are hidden
aliases that still work, and help is aligned by display width in both languages. Walks the
whole click tree, so a new command is checked too."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import cli
from commands.help import width
from commands.params import PARENT_HELP, Aliased
from i18n import translation
from tests.cli_support import commands

DATA = ("table", "csv", "json", "jsonl")
DOCUMENTS = ("md", "html", "xlsx", "docx")


def shown_options(command: click.Command) -> Iterator[tuple[list[str], click.Option]]:
    """Each option as help shows it: its names without hidden aliases."""
    for param in command.params:
        if isinstance(param, click.Option) and not param.hidden:
            aliases = param.aliases if isinstance(param, Aliased) else ()
            yield [o for o in param.opts + param.secondary_opts if o not in aliases], param


def english(text: str | None) -> str:
    """A help text (Chinese, as written) in English, from the catalogue."""
    return translation("en").gettext(text or "")


# The headings of help, as each language says them.
HEADINGS = {"en": ("Options:\n", "Commands:\n"), "zh": ("选项：\n", "命令：\n")}

ALL = list(commands())
NAMES = [" ".join(path) for path, _ in ALL]


def test_the_walk_sees_every_command() -> None:
    assert {"board", "rank", "metrics", "metrics explain", "audit checkpoint",
            "export board", "survey figures", "rules adopt", "task close"} <= set(NAMES)


@pytest.mark.parametrize("path, command", ALL, ids=NAMES)
def test_shared_options_are_named_and_described_the_same(path: tuple[str, ...],
                                                         command: click.Command) -> None:
    where = " ".join(path)
    every = {n for names, _ in shown_options(command) for n in names}
    for names, option in shown_options(command):
        long = [n for n in names if n.startswith("--")]
        assert "--out" not in names, f"{where}: a file written is -o/--output"
        if "--output" in names:
            assert names == ["-o", "--output"], f"{where}: {names}"
            assert option.metavar == "FILE", where
            assert option.help and "写入" in option.help, (where, option.help)
            assert english(option.help).startswith("Write"), (where, option.help)
        if "--format" in long:
            choices = tuple(option.type.choices)  # type: ignore[attr-defined]
            canonical = [c for c in (*DATA, *DOCUMENTS) if c in choices]
            assert set(choices) <= {*DATA, *DOCUMENTS}, (where, choices)
            # the same order everywhere, and the same default: the first of them
            assert list(choices) in (canonical, [c for c in (*DOCUMENTS, *DATA)
                                                 if c in choices]), (where, choices)
            expected = "table" if "table" in choices else "md" if "md" in choices else \
                choices[0]
            assert option.default == expected, (where, option.default)
            if set(choices) <= set(DATA):
                assert option.help == "结果的输出格式。", (where, option.help)
                assert english(option.help) == "How to print the result.", where
        if "--month" in long:
            assert option.type.name == "YYYY-MM", (where, option.type.name)
        if option.type.name == "YYYY-MM" and path != ("demo",):  # demo --until: its end
            assert long == ["--month"], f"{where}: a month is given as --month, not {long}"
        if "--from" in long or ("--to" in long and "--from" in every):
            assert option.type.name == "YYYY-MM-DD", (where, long, option.type.name)
        if "--parent" in long:
            assert option.metavar == "UNIT", where
            if path[0] != "unit":  # `unit add --parent`: the parent it is registered under
                assert option.help == PARENT_HELP, (where, option.help)
        if "--unit" in long and not option.required and path not in (("metrics",),
                                                                      ("person", "add")):
            assert option.help == "一个单位，连同其下所有单位。", (where, option.help)
            assert english(option.help) == "A unit, with all units below it.", where
        if "--as-of" in long:
            assert option.type.name == "DATE[ TIME]" and "（记录时间）" in (
                option.help or "") and "(transaction time)" in english(option.help), \
                (where, option.help)
        if "--at" in long:
            assert option.type.name == "DATE[ TIME]" and "（发生时间）" in (
                option.help or "") and "(valid time)" in english(option.help), \
                (where, option.help)
        if isinstance(option.type, click.Choice):
            assert not any("-" in str(c) and "_" not in str(c) and c != "not-responsible"
                           for c in option.type.choices if str(c).startswith("not")), where
            assert "not-responsible" not in option.type.choices, \
                f"{where}: one spelling per closure kind (not_responsible)"


@pytest.mark.parametrize("path, command", [(p, c) for p, c in ALL if not c.hidden],
                         ids=[n for n, (_, c) in zip(NAMES, ALL) if not c.hidden])
def test_no_command_takes_a_month_as_a_positional_argument(path: tuple[str, ...],
                                                          command: click.Command) -> None:
    usage = CliRunner().invoke(cli.main, [*path, "--help"]).output.splitlines()[0]
    assert "MONTH" not in usage, usage


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("path", [("rank",), ("metrics",), ("task", "close"), ("board",),
                                  ("audit", "checkpoint"), ("bulletin",)])
def test_help_columns_line_up_by_display_width(path: tuple[str, ...], lang: str) -> None:
    """The help text of every option starts in the same terminal column, Chinese choices
    (--level [社区|街道|部门|物业]) and Chinese help counted two columns a character."""
    out = CliRunner().invoke(cli.main, [*path, "--help"], terminal_width=100,
                             env={"TAIZHANG_LANG": lang}).output
    options = out.split(HEADINGS[lang][0], 1)[1].splitlines()
    starts = set()
    for line in options:
        match = re.match(r"^(  \S.*?)  +(\S.*)$", line)
        if match and match[1].lstrip().startswith("-"):
            starts.add(width(match[1]) + (len(line) - len(match[1]) - len(match[2])))
    assert len(starts) == 1, (starts, out)
    if path == ("rank",):
        assert "[社区|街道|部门|物业]" in out


def test_old_spellings_still_work_hidden(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every renamed option keeps its old spelling for a release, out of sight."""
    helps = {" ".join(p): CliRunner().invoke(cli.main, [*p, "--help"]).output
             for p in [("task", "reinspect"), ("rules", "adopt"), ("audit", "checkpoint"),
                       ("task", "close"), ("task",)]}
    assert "--note" not in helps["task reinspect"] and "--reason" in helps["task reinspect"]
    assert "--from" not in helps["rules adopt"] and "--month" in helps["rules adopt"]
    assert "--out " not in helps["audit checkpoint"]
    assert "not-responsible" not in helps["task close"]
    assert "  list " not in helps["task"]  # `task list`: the board, by its old name
    from cli_support import Cli

    monkeypatch.chdir(tmp_path)
    run = Cli("sqlite:///taizhang.db")
    run.ok("campaign", "start", "--name", "创建2024", "--admin", "wang", "--admin-name", "王")
    run.ok("unit", "add", "JS", "--name", "建设街道", "--kind", "街道")
    run.ok("unit", "add", "JS01", "--name", "幸福社区", "--kind", "社区", "--parent", "JS")
    run.ok("task", "assign", "--unit", "JS01", "--category", "环境卫生", "--source",
           "inspection", "--location", "幸福路", "--description", "牛皮癣",
           "--deadline", "2024-05-10", "--at", "2024-05-03 10:00")
    (tmp_path / "rules.toml").write_text('name = "细则"\nbase = 85\n', encoding="utf-8")
    assert "adopted from 2024-05" in run.ok("rules", "adopt", "rules.toml", "--from", "2024-05")
    assert "closed" in run.ok("task", "close", "T-000001", "--closure", "not-responsible",
                              "--reason", "非本单位")
    assert run.ok("task", "list", "--format", "csv") == run.ok("board", "--format", "csv")
    assert run.ok("survey", "figures", "2024-05") == run.ok("survey", "figures", "--month",
                                                            "2024-05")
    run.ok("audit", "checkpoint", "--out", "cp.json")
    assert (tmp_path / "cp.json").exists()
    run.close()


@pytest.mark.parametrize("args", [
    ("audit", "witness", "-o", "no-such-folder/mine.json"),
    ("export", "board", "--format", "xlsx", "-o", "no-such-folder/台账.xlsx"),
    ("bulletin", "--month", "2024-05", "-o", "no-such-folder/b.md"),
    ("audit", "checkpoint", "-o", "no-such-folder/cp.json"),
])
def test_a_file_to_write_in_a_missing_folder_is_one_error_line(
        args: tuple[str, ...], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cli_support import Cli

    monkeypatch.chdir(tmp_path)
    run = Cli("sqlite:///taizhang.db")
    run.ok("campaign", "start", "--name", "创建2024", "--admin", "wang", "--admin-name", "王")
    run.usage_refused(*args, message=f"Invalid value for '-o' / '--output': folder "
                      f"'no-such-folder' of '{args[-1]}' does not exist")
    assert not (tmp_path / "no-such-folder").exists()
    run.close()


def test_audit_witness_copies_the_witness_to_hand_over(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cli_support import Cli

    monkeypatch.chdir(tmp_path)
    run = Cli("sqlite:///taizhang.db")
    run.ok("campaign", "start", "--name", "创建2024", "--admin", "wang", "--admin-name", "王")
    said = run.ok("audit", "witness", "-o", "mine.json")
    assert said.endswith("copied to mine.json\n")
    assert run.ok("audit", "verify", "--witness", "mine.json").startswith("chain verified")
    run.close()


def test_metrics_parent_is_rank_parent(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`metrics --parent` keeps the units below one unit, as `rank --parent` does."""
    import json

    from cli_support import Cli

    monkeypatch.chdir(tmp_path)
    run = Cli("sqlite:///taizhang.db")
    run.ok("campaign", "start", "--name", "创建2024", "--admin", "wang", "--admin-name", "王")
    for code, kind, parent in [("JS", "街道", None), ("JS01", "社区", "JS"),
                               ("JS02", "社区", "JS"), ("HP", "街道", None),
                               ("HP01", "社区", "HP")]:
        run.ok("unit", "add", code, "--name", code, "--kind", kind, "--at", "2024-04-01",
               *(["--parent", parent] if parent else []))

    def units(*args: str) -> list[str]:
        return [r["unit"] for r in json.loads(run.ok("metrics", "--month", "2024-05", *args,
                                                     "--format", "json"))]

    assert units("--level", "社区") == ["HP01", "JS01", "JS02"]
    assert units("--level", "社区", "--parent", "JS") == ["JS01", "JS02"]
    assert units("--parent", "HP") == ["HP01"]
    ranked = json.loads(run.ok("rank", "--month", "2024-05", "--level", "社区", "--parent",
                               "JS", "--format", "json"))
    assert sorted(r["unit"] for r in ranked) == units("--level", "社区", "--parent", "JS")
    run.usage_refused("metrics", "--month", "2024-05", "--unit", "JS01", "--parent", "JS",
                      message="--unit names one unit; --level and --parent choose several: "
                              "give one or the other")
    run.refused("metrics", "--month", "2024-05", "--parent", "NOPE",
                message="unknown unit: NOPE")
    run.close()


def test_projections_verify_speaks_json_too(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from cli_support import Cli

    monkeypatch.chdir(tmp_path)
    run = Cli("sqlite:///taizhang.db")
    run.ok("campaign", "start", "--name", "创建2024", "--admin", "wang", "--admin-name", "王")
    found = json.loads(run.ok("projections", "verify", "--format", "json"))
    assert found["equal"] is True and found["differences"] == []
    assert {p["name"] for p in found["projections"]} >= {"registry", "board", "events"}
    assert all(p["rows_differing"] == 0 for p in found["projections"])
    run.usage_refused("projections", "verify", "--format", "csv",
                      message="Invalid value for '--format': 'csv' is not one of 'table', "
                              "'json'.")
    run.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_option_help_wraps_by_display_width(lang: str) -> None:
    """No help line of any command is wider than the terminal, Chinese counted double."""
    for path, command in ALL:
        out = CliRunner().invoke(cli.main, [*path, "--help"], terminal_width=80,
                                 env={"TAIZHANG_LANG": lang}).output
        options = out.split(HEADINGS[lang][0], 1)[-1].split(HEADINGS[lang][1], 1)[0]
        for line in options.splitlines():
            spec = line.strip().split("  ")[0]
            if line.lstrip().startswith("-") and width(spec) > 30:
                continue  # an option too wide for the column has its help on the next line
            assert width(line) <= 80, (" ".join(path), line)


def test_survey_figures_needs_a_month(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cli_support import Cli

    monkeypatch.chdir(tmp_path)
    run = Cli("sqlite:///taizhang.db")
    run.ok("campaign", "start", "--name", "创建2024", "--admin", "wang", "--admin-name", "王")
    run.usage_refused("survey", "figures", message="Missing option '--month'.")
    run.usage_refused("survey", "figures", "--month", "2024-13",
                      message="Invalid value for '--month': '2024-13' is not a month (YYYY-MM)")
    run.usage_refused("survey", "figures", "May",
                      message="Invalid value for 'MONTH': 'May' is not a month "
                              "(YYYY-MM)")
    run.close()
