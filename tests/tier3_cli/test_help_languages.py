"""Help and click's own words in the language asked for: every command's and option's help is
written in Chinese and has its English in the catalogue; ``--help`` and usage errors speak
Chinese by default and English on request (``--lang en``, ``TAIZHANG_LANG=en``)."""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner

import cli
from commands.help import short_help, width, wrap
from i18n import translation
from tests.cli_support import commands

CJK = re.compile(r"[\u4e00-\u9fff]")


def help_texts() -> Iterator[tuple[str, str]]:
    """(where, text) of every help a person reads in ``--help``."""
    yield "taizhang", inspect.cleandoc(cli.main.help or "")
    for name, (_, short) in cli.COMMANDS.items():
        yield f"COMMANDS[{name}]", short
    for path, command in [((), cli.main), *commands()]:
        where = " ".join(("taizhang", *path))
        if command.help:
            yield where, inspect.cleandoc(command.help)
        for param in command.params:
            if isinstance(param, click.Option) and param.help:
                yield f"{where} {param.opts[-1]}", param.help


HELP = list(help_texts())


def test_every_help_is_chinese_with_its_english_in_the_catalogue() -> None:
    english = translation("en")
    untranslated = [(where, text) for where, text in HELP
                    if not CJK.search(text) or english.gettext(text) == text]
    assert untranslated == [], "write it in Chinese; python -m i18n.catalogue; translate"
    assert len(HELP) > 300


def help_of(*args: str, lang: str | None, width_: int = 100) -> str:
    env = {"TAIZHANG_LANG": lang} if lang else {"TAIZHANG_LANG": None}
    result = CliRunner().invoke(cli.main, [*args, "--help"], env=env, terminal_width=width_)
    assert result.exit_code == 0, result.output
    return result.output


# (command, what its Chinese help says, what its English help says)
SAMPLES = [
    ((), ["用法：", "选项：", "命令：", "显示本帮助并退出。", "审计回放", "[默认：zh]"],
     ["Usage:", "Options:", "Commands:", "Show this message and exit.", "auditors' replay",
      "[default: zh]"]),
    (("board",), ["只看已超期的任务。", "结果的输出格式。", "（记录时间）"],
     ["Only tasks past their deadline.", "How to print the result.", "(transaction time)"]),
    (("task",), ["把任务交办给一个单位。", "复查已上报的整改。"],
     ["Assign a task to a unit (交办).", "Re-inspect (复查) a reported rectification."]),
    (("task", "close"), ["销号。", "必填"], ["Close the task (销号).", "required"]),
    (("audit", "verify"), ["从第一个事件起重新计算哈希链", "退出码为 1"],
     ["Recompute the hash chain from the first event", "Exits 1"]),
    (("rank",), ["一起排名的单位", "[社区|街道|部门|物业]"],
     ["The units ranked together", "[社区|街道|部门|物业]"]),
    (("import",), ["映射文件（TOML）", "只要有一行有误就不写入任何内容。"],
     ["The mapping file (TOML)", "Write nothing if any row is bad."]),
]
ENGLISH_HELP = re.compile(r"\b(Usage|Options|Commands|Show this message|the|Only|Write)\b")


@pytest.mark.parametrize(("command", "chinese", "english"), SAMPLES,
                         ids=lambda v: " ".join(v) if isinstance(v, tuple) else "")
def test_help_speaks_the_language_asked_for(command: tuple[str, ...], chinese: list[str],
                                            english: list[str]) -> None:
    zh, en = help_of(*command, lang=None), help_of(*command, lang="en")
    assert [w for w in chinese if w not in zh] == [], zh
    assert [w for w in english if w not in en] == [], en
    assert ENGLISH_HELP.findall(zh) == [], zh
    assert help_of(*command, lang="zh") == zh
    assert CliRunner().invoke(cli.main, ["--lang", "en", *command, "--help"],
                              terminal_width=100).output == en


def test_the_language_is_known_before_help_is_shown() -> None:
    """``--help`` acts before ``--lang`` is read (click runs eager options in the order
    given): the language is known from the start all the same."""
    en = help_of(lang="en")
    assert CliRunner().invoke(cli.main, ["--help", "--lang", "en"], terminal_width=100,
                              env={"TAIZHANG_LANG": None}).output == en
    assert CliRunner().invoke(cli.main, ["--lang", "zh", "--help"], terminal_width=100,
                              env={"TAIZHANG_LANG": "en"}).output == help_of(lang="zh")


def test_help_is_restored_after_it_is_shown() -> None:
    """Help put in English for one run is Chinese again in the code (and the next run)."""
    help_of("task", lang="en")
    task = cli.main.get_command(click.Context(cli.main), "task")
    assert task is not None and task.help and CJK.search(task.help)
    assert all(CJK.search(c.help or "") and not c.short_help
               for c in task.commands.values())  # type: ignore[attr-defined]


@pytest.mark.parametrize(("args", "chinese", "english"), [
    (("board", "--bogus"), "没有选项 '--bogus'。", "No such option '--bogus'."),
    (("rank", "--month", "2024-05", "--level", "X"),
     "'--level' 的值无效：'X' 不是 '社区', '街道', '部门', '物业' 之一。",
     "Invalid value for '--level': 'X' is not one of '社区', '街道', '部门', '物业'."),
    (("task", "close"), "缺少参数 'TASK_ID'.", "Missing argument 'TASK_ID'."),
    (("rank", "--level", "社区"), "缺少选项 '--month'.", "Missing option '--month'."),
    (("no-such-thing",), "没有命令 'no-such-thing'。", "No such command 'no-such-thing'."),
    (("board", "--unit"), "选项 '--unit' 需要 1 个值。", "Option '--unit' requires an argument."),
])
def test_click_says_its_words_in_the_language_asked_for(args: tuple[str, ...], chinese: str,
                                                        english: str) -> None:
    zh = CliRunner().invoke(cli.main, list(args), env={"TAIZHANG_LANG": None})
    en = CliRunner().invoke(cli.main, list(args), env={"TAIZHANG_LANG": "en"})
    assert zh.exit_code == en.exit_code == 2
    assert f"Error: {chinese}\n" in zh.output, zh.output
    assert f"Error: {english}\n" in en.output, en.output
    if zh.output.startswith("用法："):  # an error of a command: with its usage
        assert "查看帮助。" in zh.output and "Usage:" not in zh.output, zh.output
        assert en.output.startswith("Usage:") and "for help." in en.output, en.output
    else:
        assert not en.output.startswith("Usage:")


def test_the_click_catalogue_has_every_message_of_the_installed_click() -> None:
    pytest.importorskip("babel")
    from i18n import catalogue

    extracted = {m.id for m in catalogue.extract_click() if m.id}
    for lang in catalogue.CLICK_LANGS:
        kept = catalogue.read(lang, catalogue.CLICK)
        assert extracted <= {m.id for m in kept if m.id}, "run python -m i18n.catalogue"
        assert catalogue._untranslated(kept) == []
        assert catalogue.mo_path(lang, catalogue.CLICK).read_bytes() == catalogue.compiled(kept)


def test_chinese_wraps_between_characters_and_keeps_its_punctuation() -> None:
    text = ("只看从今天起 N 天内到期的未完成任务：3d（自然日）或 3wd、3个工作日（工作日）。"
            "Latin words stay whole.")
    for columns in range(12, 60):
        lines = wrap(text, columns)
        assert all(width(line) <= columns for line in lines), lines
        assert not any(line[0] in "，。、：；）" for line in lines), lines
        assert "".join(lines).replace(" ", "") == text.replace(" ", "")
        assert "Latin words stay whole." in " ".join(lines) or "whole." in lines[-1]
    # A line break in the code's Chinese text is no space.
    assert wrap("台账：每项\n任务一行", 80) == ["台账：每项任务一行"]
    assert short_help("第一句。第二句。\n\n另一段。") == "第一句。"
    assert short_help("First sentence. Second.") == "First sentence."
