"""Stores survive an upgrade: a ledger written by an earlier release (tests/fixtures/, see its
README) opens with this release, its audit chain verifies against the checkpoint that
release signed, every stored event reads as an event of today's classes (old versions
upcast), and each ranking is the one that release computed."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from cli_support import Cli
from eventsourcing.persistence import StoredEvent

from ledger.store import Store

FIXTURES = Path(__file__).parents[1] / "fixtures"
RELEASES = sorted(p for p in FIXTURES.iterdir() if (p / "ledger.sqlite.gz").exists())
LEVELS = ("社区", "街道", "部门", "物业")


def brief(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What a ranking says: each unit's rank, score and list, in order."""
    return [{"rank": r["rank"], "unit": r["unit"], "score": r["score"], "list": r["list"]}
            for r in rows]


@pytest.fixture(params=RELEASES, ids=[p.name for p in RELEASES])
def release(request: pytest.FixtureRequest) -> Path:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def written(release: Path, tmp_path: Path) -> str:
    """The release's store, as that release left it (a copy: opening it may fold the read
    models)."""
    path = tmp_path / "ledger.sqlite"
    with gzip.open(release / "ledger.sqlite.gz", "rb") as packed, path.open("wb") as out:
        shutil.copyfileobj(packed, out)
    return f"sqlite:///{path}"


def run(cli: Cli, *args: str) -> str:
    """A command that must succeed; its stdout. (Not ``Cli.ok``: opening an older store
    may say on stderr what it does to bring the store up to date.)"""
    result = cli(*args)
    assert result.exit_code == 0, result.output
    return result.stdout


def answer(cli: Cli, *args: str) -> Any:
    """A command's JSON answer."""
    return json.loads(run(cli, *args))


def same_as_recorded(cli: Cli, release: Path) -> None:
    recorded = json.loads((release / "ranking.json").read_text(encoding="utf-8"))
    verified = answer(cli, "audit", "verify",
                      "--since", str(release / "ledger-checkpoint.json"),
                      "--public-key", str(release / "ledger-auditor.pub"), "--format", "json")
    assert verified["ok"] is True and verified["broken"] is None
    assert verified["head"] == recorded["head"]
    assert verified["checkpoints_matched"] >= 1
    for month, levels in recorded["rankings"].items():
        for level in LEVELS:
            ranked = answer(cli, "rank", "--month", month, "--level", level,
                            "--format", "json")
            assert brief(ranked) == levels[level], (month, level)
    for level in LEVELS:
        published = answer(cli, "rank", "--month", "2026-10", "--level", level,
                           "--published", "--format", "json")
        assert brief(published) == recorded["published"][level], level


def test_a_ledger_of_an_earlier_release_verifies_and_ranks_as_it_did(written: str,
                                                                     release: Path) -> None:
    same_as_recorded(Cli(written), release)


def test_every_event_of_an_earlier_release_reads_as_todays_event(written: str) -> None:
    store = Store(written)
    try:
        ledger = store.ledger
        count = 0
        for record in ledger.records():
            event = ledger.mapper.to_domain_event(StoredEvent(
                record.originator_id, record.originator_version, record.topic,
                record.state))
            assert event.originator_version == record.originator_version
            assert "class_version" not in vars(event)  # read, and upcast, to today's
            count += 1
        assert count == ledger.max_position() > 2000
        # Every aggregate replays: each task's story as today's code tells it.
        for task_id in ledger.recorder.ids_with_prefix("T-"):  # type: ignore[attr-defined]
            assert ledger.describe(task_id)["events"]
    finally:
        store.close()


def test_a_ledger_of_an_earlier_release_restored_into_a_new_store_ranks_as_it_did(
        written: str, release: Path, store_url: str, tmp_path: Path) -> None:
    exported = tmp_path / "export.jsonl"
    run(Cli(written), "audit", "export", str(exported))
    restored = Cli(store_url)
    run(restored, "audit", "import", str(exported))
    same_as_recorded(restored, release)
