"""The README is executable truth: every ``sh`` block runs as written, in order, in one fresh
folder holding the clone's ``examples/`` — the shell's exports carrying over from block to
block as they would in a terminal — and each command's output shows what the README says.

How the README says what a command shows: lines right under it of the form ``#   TEXT``.
Each is one line of the output, compared with whitespace runs made one space (a table's
padding is the terminal's business) and ``…`` standing for anything; ``#   Error: …`` says
the command is refused (a non-zero exit, that ``Error:`` line). Without them a command must
succeed. A block the test cannot run (it needs root, a network server, PostgreSQL, or is the
test suite itself) is preceded by ``<!-- not run: REASON -->``, and nothing else is skipped.

The command line runs in this process (``cli.main`` through click's runner: the venv's
``taizhang`` on PATH is the one under test); the set-up line's ``python3 -m venv`` and
``pip install`` are the environment this test already runs in."""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)
NOT_RUN = re.compile(r"<!-- not run: (.+?) -->\s*$")
SHOWN = "#   "


@dataclass
class Command:
    line: str
    shown: list[str] = field(default_factory=list)


@dataclass
class Block:
    number: int
    line: int
    commands: list[Command]
    not_run: str | None


def blocks(text: str) -> list[Block]:
    """The README's sh blocks, each with its commands and what they are said to show."""
    found = []
    for match in FENCE.finditer(text):
        if match[1] != "sh":
            continue
        before = text[:match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        reason = NOT_RUN.search(before)
        commands: list[Command] = []
        pending = ""
        for raw in match[2].splitlines():
            if raw.startswith(SHOWN) and commands and not pending:
                commands[-1].shown.append(raw[len(SHOWN):].strip())
                continue
            if raw.endswith("\\"):
                pending += raw[:-1] + " "
                continue
            line = (pending + raw).strip()
            pending = ""
            if line and not line.startswith("#"):
                commands.append(Command(line))
        found.append(Block(len(found) + 1, text[:match.start()].count("\n") + 1, commands,
                           reason[1] if reason else None))
    return found


def normal(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def shows(output: str, expected: str) -> bool:
    """Whether one line of ``output`` matches ``expected`` (``…`` standing for anything)."""
    pattern = ".*".join(re.escape(normal(part)) for part in expected.split("…"))
    return any(re.fullmatch(pattern, normal(line)) for line in output.splitlines())


class Shell:
    """Runs the README's command lines as a shell would, ``taizhang`` in this process."""

    def __init__(self) -> None:
        # as a shell's would be; output read as from a pipe (no terminal width to fit)
        self.env: dict[str, str | None] = {"TAIZHANG_DB": None, "TAIZHANG_AS": None,
                                           "TAIZHANG_LANG": None, "COLUMNS": None}
        self.runner = CliRunner()

    def run(self, line: str) -> tuple[int, str]:
        code, said = 0, ""
        for part in line.split(" && "):
            code, out = self.one(shlex.split(part, comments=True))
            said += out
            if code:
                break
        return code, said

    def one(self, words: list[str]) -> tuple[int, str]:
        if words[:3] == ["python3", "-m", "venv"] or words[0].endswith("/pip"):
            return 0, ""  # the environment this test runs in
        if words[0] == "export":
            name, _, value = words[1].partition("=")
            if name != "PATH":  # the venv's bin: here, the taizhang under test
                self.env[name] = value
            return 0, ""
        if words[0] == "unset":
            self.env[words[1]] = None
            return 0, ""
        if words[0] in ("taizhang", ".venv/bin/taizhang"):
            result = self.runner.invoke(main, words[1:], env=self.env)
            assert result.exception is None or isinstance(result.exception, SystemExit), (
                words, result.output, result.exc_info)
            return result.exit_code, result.output
        raise AssertionError(f"the README test does not know how to run {words}")


@pytest.mark.slow
def test_every_readme_block_runs_as_written_and_shows_what_it_says(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = blocks(README.read_text(encoding="utf-8"))
    assert len(found) > 15
    assert all(b.not_run.strip() for b in found if b.not_run is not None)
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    monkeypatch.chdir(tmp_path)
    shell = Shell()
    failures = []
    ran = 0
    log = os.environ.get("TAIZHANG_README_LOG")  # every command and its output, to read
    said = []
    for block in found:
        if block.not_run is not None:
            continue
        for command in block.commands:
            code, output = shell.run(command.line)
            ran += 1
            said.append(f"$ {command.line}\n[exit {code}]\n{output}")
            refused = any(s.startswith("Error:") for s in command.shown)
            if (code != 0) != refused:
                failures.append(f"README line {block.line}: {command.line}\n  exit {code}:\n"
                                f"{output}")
                continue
            for expected in command.shown:
                if not shows(output, expected):
                    failures.append(f"README line {block.line}: {command.line}\n  does not "
                                    f"show {expected!r}; it printed:\n{output}")
    if log:
        Path(log).write_text("\n".join(said), encoding="utf-8")
    assert not failures, "\n\n".join(failures)
    assert ran > 100


def test_the_blocks_not_run_still_name_commands_and_options_that_exist() -> None:
    """A block the test cannot run is parsed: each taizhang line's command and options
    exist (its --help is answered rather than refused)."""
    runner = CliRunner()
    checked = 0
    for block in blocks(README.read_text(encoding="utf-8")):
        for command in block.commands if block.not_run else ():
            words = shlex.split(command.line, comments=True)
            if words and words[0] == "taizhang":
                result = runner.invoke(main, [*words[1:], "--help"])
                assert result.exit_code == 0, (block.line, command.line, result.output)
                checked += 1
    assert checked >= 5


def test_the_readme_says_how_to_put_taizhang_on_the_path() -> None:
    first = blocks(README.read_text(encoding="utf-8"))
    assert any('export PATH="$PWD/.venv/bin:$PATH"' == c.line
               for b in first[:4] for c in b.commands)


def test_what_a_block_shows_is_read_and_compared_line_by_line() -> None:
    text = ("```sh\ntaizhang board --unit JS \\\n    --overdue\n#   T-000001 … 2d late\n"
            "# a comment\ntaizhang task show T-9\n#   Error: unknown task: T-9\n```\n"
            "<!-- not run: needs root -->\n```sh\nsudo true\n```\n")
    one, two = blocks(text)
    assert [c.line for c in one.commands] == ["taizhang board --unit JS      --overdue",
                                             "taizhang task show T-9"]
    assert one.commands[0].shown == ["T-000001 … 2d late"]
    assert (one.not_run, two.not_run) == (None, "needs root")
    assert shows("x\nT-000001  assigned    2d late\n", "T-000001 … 2d late")
    assert not shows("T-000001 assigned\n2d late\n", "T-000001 … 2d late")
