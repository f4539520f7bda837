"""``taizhang demo``: a small city entered as it happened; the same seed and --until give
the same ledger; only in an empty store; every command it suggests, and every README example
on it, returns rows."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from cli_support import Cli

from ledger.audit import verify

ROOT = Path(__file__).resolve().parents[2]
SMALL = ("demo", "--until", "2024-06", "--months", "4")
ZONE = ZoneInfo("Asia/Shanghai")


def run_demo(folder: Path, name: str, *args: str) -> tuple[Cli, str]:
    cli = Cli(f"sqlite:///{folder / name}")
    return cli, cli.ok(*args)


def content(cli: Cli) -> list[tuple[object, ...]]:
    """The stored events with their transaction time. The library stamps each event object
    with the wall-clock moment it was made (``timestamp``); that is not ledger content, so
    it is left out — and so are the chain hashes quoted by publications and checkpoints
    (and a checkpoint's signature), which cover it."""
    rows = []
    for record in cli.store.ledger.records():
        state = json.loads(record.state)
        for hashed in ("timestamp", "head", "hash", "signature"):
            state.pop(hashed, None)
        rows.append((record.originator_id, record.originator_version, record.topic, state,
                     record.recorded_at))
    return rows


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cli, str]]:
    """A four-month demo ending in June 2024 (one month published)."""
    cli, said = run_demo(tmp_path_factory.mktemp("small"), "demo.db", *SMALL)
    yield cli, said
    cli.close()


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cli, str, Path]]:
    """The demo as the README runs it: seven months up to now."""
    folder = tmp_path_factory.mktemp("full")
    cli, said = run_demo(folder, "demo.db", "demo")
    yield cli, said, folder
    cli.close()


def test_the_same_seed_and_month_give_the_same_ledger(small: tuple[Cli, str],
                                                      tmp_path: Path) -> None:
    first, said_first = small
    second, said_second = run_demo(tmp_path, "demo.db", *SMALL)
    assert content(first) == content(second)
    assert said_first.splitlines()[:2] == [
        line.replace(str(tmp_path), str(Path(first.url[10:]).parent))
        for line in said_second.splitlines()[:2]]
    second.close()


def test_another_seed_gives_another_ledger(small: tuple[Cli, str], tmp_path: Path) -> None:
    other, _ = run_demo(tmp_path, "demo.db", *SMALL, "--seed", "12")
    assert content(small[0]) != content(other)
    other.close()


def test_the_demo_says_what_it_built(small: tuple[Cli, str]) -> None:
    cli, said = small
    lines = said.splitlines()
    built = re.fullmatch(r"demo ledger: 27 units, (\d+) inspections, (\d+) tasks, 33 targets, "
                         r"(\d+) surveys, (\d+) events \(2024-03-01 … 2024-06-30\) in "
                         r"sqlite:///(.+)", lines[0])
    assert built, lines[0]
    assert int(built.group(4)) == cli.max_position()
    assert lines[1] == ("each act entered minutes to weeks after it happened; rules v1 from "
                        "2024-05; published: 2024-05; signed checkpoint "
                        f"{Path(built.group(5)).with_name('demo-checkpoint.json')} (public key "
                        f"{Path(built.group(5)).with_name('demo-auditor.pub')})")
    assert lines[3].split()[:3] == ["Task", "Unit", "Category"]
    assert any(line.startswith("2024-06 communities ranking") for line in lines)
    assert "try next:" in lines


def test_every_event_is_entered_after_it_happened_some_weeks_late(small: tuple[Cli, str]
                                                                  ) -> None:
    """Transaction time is the moment of entry: never before the event, in log order, most
    within the day, a few weeks late; all within the demo's months."""
    records = list(small[0].store.ledger.records())
    lateness = []
    for record in records:
        state = json.loads(record.state)
        happened = datetime.fromisoformat(state["occurred_at"]["_data_"])
        entered = datetime.fromisoformat(record.recorded_at)
        assert entered >= happened, record
        assert datetime(2024, 3, 1, tzinfo=ZONE) <= happened < datetime(2024, 7, 1, tzinfo=ZONE)
        assert entered < datetime(2024, 7, 1, tzinfo=ZONE)
        lateness.append(entered - happened)
    assert [r.recorded_at for r in records] == sorted(r.recorded_at for r in records)
    same_day = sum(1 for late in lateness if late < timedelta(days=1))
    assert same_day > 0.7 * len(lateness)
    assert sum(1 for late in lateness if late > timedelta(days=7)) >= 10


def test_as_of_a_mid_campaign_moment_gives_fewer_tasks_than_now(small: tuple[Cli, str]
                                                                 ) -> None:
    cli, _ = small
    now = json.loads(cli.ok("board", "--format", "json"))
    then = json.loads(cli.ok("board", "--format", "json", "--as-of", "2024-04-15 18:00"))
    assert 0 < len(then) < len(now)
    assert json.loads(cli.ok("board", "--format", "json", "--as-of", "2024-02-20")) == []


def test_the_demo_holds_every_kind_of_act(small: tuple[Cli, str]) -> None:
    cli, _ = small
    topics = {record.topic.rsplit(".", 1)[-1] for record in cli.store.ledger.records()}
    assert {"Reassigned", "Corrected", "DeadlineExtended", "Reopened", "Escalated",
            "ProgressVerified", "ProgressRejected", "Recorded", "RulesAdopted",
            "MonthPublished", "CheckpointRecorded", "VersionAdopted"} <= topics, topics
    revisions = json.loads(cli.ok("revisions", "--month", "2024-05", "--format", "json"))
    assert revisions["causes"], "a late entry after the publication"
    assert "digest matches" in cli.ok("rank", "--month", "2024-05", "--level", "社区",
                                      "--published")
    assert verify(cli.store.ledger).ok


def test_the_demos_checkpoint_statement_verifies(small: tuple[Cli, str]) -> None:
    cli, said = small
    folder = Path(cli.url[len("sqlite:///"):]).parent
    statement, public = folder / "demo-checkpoint.json", folder / "demo-auditor.pub"
    assert "signature" in json.loads(statement.read_text(encoding="utf-8"))
    checked = cli.ok("audit", "verify-checkpoint", str(statement), "--public-key", str(public))
    assert checked.startswith("good signature by key "), checked


def suggested(said: str) -> list[list[str]]:
    """The commands after "try next:", without the program and the store."""
    lines = said.split("try next:\n", 1)[1].splitlines()
    found = []
    for line in lines:
        words = shlex.split(line, comments=True)
        assert words[0].endswith("taizhang") and words[1] == "--db", line
        found.append(words[3:])
    return found


def check_returns_rows(cli: Cli, args: list[str]) -> None:
    """The command succeeds and says something: a file written, a table with rows under
    its header, or a statement (a verification)."""
    said = cli.ok(*args)
    if "-o" in args:
        written = Path(args[args.index("-o") + 1])
        assert written.stat().st_size > 1000, args
        return
    lines = [line for line in said.splitlines() if line.strip()]
    assert lines and "(none)" not in said, (args, said)
    rules = [i for i, line in enumerate(lines) if re.fullmatch(r"[-\s]+", line)]
    if rules:
        assert len(lines) > rules[0] + 1, (args, said)  # rows under the header


@pytest.mark.parametrize("fixture", ["small", "full"])
def test_every_command_the_demo_suggests_returns_rows(
        fixture: str, request: pytest.FixtureRequest, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    cli, said = request.getfixturevalue(fixture)[:2]
    monkeypatch.chdir(tmp_path)  # the bulletin is written here
    commands = suggested(said)
    assert len(commands) >= 9
    for args in commands:
        check_returns_rows(cli, args)


def readme_demo_examples() -> list[list[str]]:
    """The README's examples that name the demo's store."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if "--db" in words and words[words.index("--db") + 1] == "demo.db" \
                    and "demo" not in words[words.index("--db") + 2:][:1]:
                found.append(words[words.index("--db") + 2:])
    return found


def test_every_readme_example_on_the_demo_returns_rows(full: tuple[Cli, str, Path],
                                                       monkeypatch: pytest.MonkeyPatch
                                                       ) -> None:
    cli, _, folder = full
    monkeypatch.chdir(folder)  # where the demo wrote its checkpoint statement
    examples = readme_demo_examples()
    assert len(examples) >= 5
    for args in examples:
        check_returns_rows(cli, args)


def test_the_demo_refuses_a_store_that_is_not_empty(small: tuple[Cli, str]) -> None:
    small[0].refused(*SMALL, message="the demo needs an empty store: this one already has "
                                     "a campaign")


def test_the_demo_refuses_a_store_with_a_campaign_of_its_own(tmp_path: Path) -> None:
    cli = Cli(f"sqlite:///{tmp_path / 'ledger.db'}")
    cli.ok("campaign", "start", "--name", "x", "--admin", "wang", "--admin-name", "王")
    cli.refused(*SMALL, message="the demo needs an empty store: this one already has a "
                                "campaign")
    cli.close()


def test_the_demo_refuses_a_malformed_month(tmp_path: Path) -> None:
    cli = Cli(f"sqlite:///{tmp_path / 'ledger.db'}")
    cli.usage_refused("demo", "--until", "2024-6",
                      message="Invalid value for '--until': '2024-6' is not a month "
                              "(YYYY-MM)")
    cli.close()


def test_the_demo_on_both_backends_verifies_and_replays(
        store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On both backends: the chain verifies, and as-of replays the ledger as it grew."""
    monkeypatch.chdir(tmp_path)  # a PostgreSQL demo writes its statement here
    cli = Cli(store_url)
    cli.ok("demo", "--until", "2024-04", "--months", "2")
    assert verify(cli.store.ledger).ok
    now = json.loads(cli.ok("timeline", "--format", "json"))
    then = json.loads(cli.ok("timeline", "--format", "json", "--as-of", "2024-03-20"))
    assert 0 < len(then) < len(now)
    cli.close()
