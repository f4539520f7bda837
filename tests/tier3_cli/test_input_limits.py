"""The limits on input the README lists: text length, control characters, days from 1900
to 2099, evidence files that exist (hashed) or named as kept elsewhere. Each refused value
gives one ``Error:`` line naming the field, a non-zero exit, and no row in any table."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from domain.base import LONG_TEXT, SHORT_TEXT
from ledger.store import Store
from tests.cli_support import Cli
from tests.conftest import Clock, seed_campaign

ASSIGN = ["task", "assign", "--unit", "JS01", "--category", "环境卫生", "--source",
          "inspection", "--deadline", "2024-05-20", "--at", "2024-05-03 10:00"]


@pytest.fixture
def cli(sqlite_url: str) -> Iterator[Cli]:
    store = Store(sqlite_url, clock=Clock(datetime(2024, 5, 1, tzinfo=timezone.utc)))
    seed_campaign(store.ledger)
    store.close()
    runner = Cli(sqlite_url)
    yield runner
    runner.close()


def table_rows(cli: Cli) -> dict[str, int]:
    """How many rows each table of the store holds (events, read models, positions)."""
    cli.store.ledger  # noqa: B018 — the store's tables exist once it is opened
    engine = cli.store.engine
    with engine.connect() as conn:
        return {name: conn.execute(sa.text(f'SELECT count(*) FROM "{name}"')).scalar_one()
                for name in sa.inspect(conn).get_table_names()}


def refused(cli: Cli, *args: str, message: str, as_: str = "admin") -> None:
    """Refused with exactly ``Error: message``, and every table as it was."""
    cli.ok("board", "--format", "json")  # the read models caught up, so they count too
    before = table_rows(cli)
    cli.refused(*args, message=message, as_=as_)
    assert table_rows(cli) == before


def assign(location: str = "幸福路12号", description: str = "电线杆牛皮癣") -> list[str]:
    return [*ASSIGN, "--location", location, "--description", description]


def test_a_description_past_its_limit_is_refused(cli: Cli) -> None:
    refused(cli, *assign(description="牛" * 10_000),
            message=f"description is 10,000 characters long; at most {LONG_TEXT:,} are "
            "accepted")
    cli.ok(*assign(description="牛" * LONG_TEXT), as_="admin")


def test_a_location_past_its_limit_is_refused(cli: Cli) -> None:
    refused(cli, *assign(location="路" * (SHORT_TEXT + 1)),
            message=f"location is {SHORT_TEXT + 1} characters long; at most {SHORT_TEXT} are "
            "accepted")


@pytest.mark.parametrize(("text", "code", "position"), [
    ("幸福路\a12号", "0007", 4), ("幸福路\r12号", "000D", 4), ("\x01幸福路", "0001", 1)],
    ids=["BEL", "CR", "SOH"])
def test_a_control_character_in_a_location_is_refused(cli: Cli, text: str, code: str,
                                                       position: int) -> None:
    refused(cli, *assign(location=text),
            message=f"location holds a control character (U+{code}) at position {position}")


def test_a_description_may_hold_line_breaks_but_not_a_bare_cr(cli: Cli) -> None:
    cli.ok(*assign(description="电线杆牛皮癣\n\t两处"), as_="admin")
    refused(cli, *assign(description="电线杆\r牛皮癣"),
            message="description holds a control character (U+000D) at position 4")


def test_a_control_character_in_a_unit_name_is_refused(cli: Cli) -> None:
    refused(cli, "unit", "add", "JS03", "--name", "友谊\x07社区", "--kind", "社区",
            "--parent", "JS", message="unit name holds a control character (U+0007) at "
            "position 3")


def test_a_moment_in_the_year_99_is_refused(cli: Cli) -> None:
    refused(cli, *[a if a != "2024-05-03 10:00" else "0099-01-01" for a in assign()],
            message="occurred_at 0099-01-01 is outside the days the ledger takes "
            "(1900-01-01 to 2099-12-31)")


def test_a_deadline_in_the_year_9999_is_refused(cli: Cli) -> None:
    refused(cli, *[a if a != "2024-05-20" else "9999-12-31" for a in assign()],
            message="deadline 9999-12-31 is outside the days the ledger takes "
            "(1900-01-01 to 2099-12-31)")


def rectifying(cli: Cli) -> str:
    task = cli.ok(*assign(), as_="li").split()[0]
    cli.ok("task", "notice", task, "--number", "ZG-1", "--at", "2024-05-03 11:00", as_="li")
    return task


def test_evidence_naming_a_missing_file_is_refused(cli: Cli) -> None:
    task = rectifying(cli)
    refused(cli, "task", "evidence", task, "--evidence", "typo.jpg:描述", "--at",
            "2024-05-03 12:00", as_="zhao",
            message="evidence file 'typo.jpg' does not exist; name evidence kept elsewhere "
            "with --evidence-ref NAME:DESCRIPTION")


def test_evidence_is_hashed_or_recorded_as_kept_elsewhere(cli: Cli, tmp_path: Path) -> None:
    task = rectifying(cli)
    photo = tmp_path / "after.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0jpeg")  # a JPEG's first bytes: it is kept
    cli.ok("task", "evidence", task, "--evidence", f"{photo}:整改后", "--evidence-ref",
           "档案室/2024-017.pdf:纸质记录", "--at", "2024-05-03 12:00", as_="zhao")
    shown = json.loads(cli.ok("task", "show", task, "--format", "json"))
    assert shown["events"][-1]["evidence"] == [
        {"file": str(photo), "sha256": hashlib.sha256(b"\xff\xd8\xff\xe0jpeg").hexdigest(),
         "description": "整改后"},
        {"file": "档案室/2024-017.pdf", "sha256": "", "description": "纸质记录",
         "elsewhere": True}]
    assert "档案室/2024-017.pdf (纸质记录) [kept elsewhere]" in cli.ok("history", task)
    zh = {"TAIZHANG_LANG": "zh"}
    assert "档案室/2024-017.pdf (纸质记录) ［另处保存］" in cli.ok("history", task, env=zh)
    # The timeline reads the event index, folded once: each reader in its own language.
    timeline = ("timeline", "--wide", "--format", "csv")
    assert "［另处保存］" in cli.ok(*timeline, env=zh)
    assert "[kept elsewhere]" in cli.ok(*timeline) and "另处" not in cli.ok(*timeline)
