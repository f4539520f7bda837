"""Tamper evidence around the chain: whatever is done to the event table directly, it is
caught — by `audit verify`, by the read models' check of the ledger they were folded from,
or by the witness of an account that looked before — and no command prints a traceback.

Each case starts as a user would be: a ledger, and a command (``board``) that folded the
read models and left this account's witness. Then the table is changed behind the
application's back (the append-only triggers dropped where the change needs it), and the
figures are asked for again.
"""

from __future__ import annotations

import re

import secrets
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.chain import Record, link
from ledger.store import Store
from tests.cli_support import Cli
from tests.conftest import Clock
from tests.tier2_ledger.test_audit_tamper import Database, build_ledger, fresh_store

MONTH = "2024-06"
TASKS = [5, 3, 1, 4]  # steps per task: a ledger of some forty events
# What a user asks for after the change: every figure, the read models' status, the audit.
QUERIES = (("board",), ("metrics", "--month", MONTH), ("rank", "--month", MONTH, "--level",
                                                           "社区"),
           ("timeline",), ("projections", "status"))
FORGED_TOPIC = "domain.task:Task.Assigned"
COLUMNS = ("notification_id, originator_id, originator_version, topic, state, recorded_at, "
           "account, hash")

Tampering = Callable[[Database, list[Record]], None]


def _set(column: str, value: Any, at: Callable[[int], int]) -> Tampering:
    def tamper(db: Database, records: list[Record]) -> None:
        db.run(f"UPDATE {{t}} SET {column} = ? WHERE notification_id = ?", value,
               at(len(records)))
    return tamper


def _text_state(at: Callable[[int], int]) -> Tampering:
    # What SQLite's replace() gives back for a blob: the same bytes, as TEXT.
    def tamper(db: Database, records: list[Record]) -> None:
        db.run("UPDATE {t} SET state = replace(state, 'JS01', 'JS02') "
               "WHERE notification_id = ?", at(len(records)))
    return tamper


def _flip_byte(at: Callable[[int], int]) -> Tampering:
    def tamper(db: Database, records: list[Record]) -> None:
        record = records[at(len(records)) - 1]
        state = bytearray(record.state)
        state[len(state) // 2] ^= 0x20
        db.run("UPDATE {t} SET state = ? WHERE notification_id = ?", bytes(state),
               record.position)
    return tamper


def _edit_state(at: Callable[[int], int], old: bytes, new: bytes) -> Tampering:
    """The last event at or before the position whose state holds ``old``, edited."""
    def tamper(db: Database, records: list[Record]) -> None:
        record = next(r for r in reversed(records[:at(len(records))]) if old in r.state)
        db.run("UPDATE {t} SET state = ? WHERE notification_id = ?",
               record.state.replace(old, new), record.position)
    return tamper


def _cut(keep: Callable[[int], int]) -> Tampering:
    def tamper(db: Database, records: list[Record]) -> None:
        db.run("DELETE FROM {t} WHERE notification_id > ?", keep(len(records)))
    return tamper


def _delete(at: Callable[[int], int]) -> Tampering:
    def tamper(db: Database, records: list[Record]) -> None:
        db.run("DELETE FROM {t} WHERE notification_id = ?", at(len(records)))
    return tamper


def _forge(at: Callable[[int], int], linked: bool) -> Tampering:
    def tamper(db: Database, records: list[Record]) -> None:
        position = at(len(records))
        before = records[position - 2].hash if position > 1 else "0" * 64
        forged = Record(position, "T-999999", 1, FORGED_TOPIC, b"{}",
                        records[position - 1].recorded_at, "mallory@elsewhere", "")
        forged = forged._replace(hash=link(before, *forged[:-1]) if linked
                                 else secrets.token_hex(32))
        db.shift_up_from(position, len(records))
        db.insert(forged)
    return tamper


def _swap(first: Callable[[int], int], second: Callable[[int], int]) -> Tampering:
    def tamper(db: Database, records: list[Record]) -> None:
        a, b = first(len(records)), second(len(records))
        db.move(a, -1)
        db.move(b, a)
        db.move(-1, b)
    return tamper


def _rewrite_from(at: Callable[[int], int]) -> Tampering:
    """Change one event and recompute every hash after it, as someone who knows the
    public encoding would."""
    def tamper(db: Database, records: list[Record]) -> None:
        start = at(len(records))
        previous = records[start - 2].hash
        db.run("DELETE FROM {t} WHERE notification_id >= ?", start)
        for record in records[start - 1:]:
            changed = record._replace(state=record.state.replace(b"JS01", b"JS02"))
            previous = link(previous, *changed[:-1])
            db.insert(changed._replace(hash=previous))
    return tamper


def _replace_head(db: Database, records: list[Record]) -> None:
    """The head rewritten in place by SQLite's REPLACE (no DELETE trigger fires), its hash
    recomputed so the chain verifies."""
    changed = records[-1]._replace(account="mallory@elsewhere")
    changed = changed._replace(hash=link(records[-2].hash, *changed[:-1]))
    db.run("INSERT OR REPLACE INTO {t} (notification_id, originator_id, originator_version, "
           "topic, state, recorded_at, account, hash) VALUES (?,?,?,?,?,?,?,?)", *changed)


def _cut_and_write(db: Database, records: list[Record]) -> None:
    """The tail cut, then events written by someone else at the positions it freed."""
    _cut(lambda n: n - 5)(db, records)
    for record in records[-5:-2]:
        db.run("INSERT INTO {t} (notification_id, originator_id, originator_version, topic, "
               "state, recorded_at, account, hash) SELECT ?, ?, ?, ?, ?, ?, ?, ?",
               record.position, record.originator_id + "X", record.originator_version,
               record.topic, record.state, record.recorded_at, record.account,
               secrets.token_hex(32))


def _renumber(db: Database, records: list[Record]) -> None:
    for position in range(len(records), 0, -1):
        db.move(position, position + 1000)


FIRST, MIDDLE, HEAD = (lambda n: 1), (lambda n: n // 2), (lambda n: n)

# The 27 kinds of direct tampering of issue 14, each by name.
KINDS: dict[str, Tampering] = {
    "state byte flipped": _flip_byte(MIDDLE),
    "state byte flipped at the head": _flip_byte(HEAD),
    "state edited (a unit changed)": _edit_state(MIDDLE, b"JS01", b"JS02"),
    "state edited at the head": _edit_state(HEAD, b"JS01", b"JS02"),
    "state stored as TEXT": _text_state(MIDDLE),
    "state stored as TEXT at the head": _text_state(HEAD),
    "state not JSON": _set("state", b"\xff\xfe not json", MIDDLE),
    "state not JSON at the head": _set("state", b"\xff\xfe not json", HEAD),
    "state an empty object at the head": _set("state", b"{}", HEAD),
    "version stored as text": _set("originator_version", "v3", MIDDLE),
    "recorded_at moved by a microsecond": _set(
        "recorded_at", "2024-06-01T09:00:00.000001+00:00", MIDDLE),
    "recorded_at stored as a number": _set("recorded_at", 20240601, MIDDLE),
    "account changed": _set("account", "mallory@elsewhere", MIDDLE),
    "account stored as bytes": _set("account", b"root@vm", MIDDLE),
    "topic changed": _set("topic", "domain.task:Task.Closed", HEAD),
    "aggregate id changed": _set("originator_id", "T-999999", MIDDLE),
    "hash replaced": _set("hash", "f" * 64, MIDDLE),
    "first event deleted": _delete(FIRST),
    "event deleted": _delete(MIDDLE),
    "forged event inserted (random hash)": _forge(MIDDLE, linked=False),
    "forged event inserted (linked hash)": _forge(MIDDLE, linked=True),
    "two events swapped": _swap(MIDDLE, HEAD),
    "tail cut": _cut(lambda n: n - 10),
    "head deleted": _delete(HEAD),
    "tail cut and the positions written again": _cut_and_write,
    "head replaced by INSERT OR REPLACE with a recomputed hash": _replace_head,
    "rewritten from an event on, every hash recomputed": _rewrite_from(MIDDLE),
}
assert len(KINDS) == 27


# Two more, beyond the issue's.
KINDS_EXTRA: dict[str, Tampering] = {"every event renumbered": _renumber,
                                     "whole table emptied": _cut(lambda n: 0)}


def looked(url: str) -> Cli:
    """A user's first look: the read models folded, this account's witness left."""
    cli = Cli(url)
    cli.ok("board")
    return cli


def caught(cli: Cli) -> list[str]:
    """Which defences catch the ledger as it is now; every query is asked, and none may
    print a traceback (Cli checks that)."""
    found = []
    verify = cli("audit", "verify")
    if verify.exit_code == 1 and verify.output.startswith("Error: chain broken"):
        found.append("audit verify")
    for query in QUERIES:
        result = cli(*query)
        if result.exit_code != 0:
            # A refusal of ours, or what the changed ledger says (no campaign …): one line.
            said = result.output.splitlines()[-1]  # status prints its table first
            assert said.startswith("Error: ") and said == result.stderr.strip(), \
                result.output
            if "read model" in said:
                found.append("read models")
            if "since this account last saw it" in said:
                found.append("witness")
    return found


@pytest.mark.parametrize("kind", [*KINDS, *KINDS_EXTRA])
def test_each_kind_of_tampering_is_caught_and_never_a_traceback(kind: str,
                                                                  tmp_path: Path) -> None:
    with fresh_store("sqlite", tmp_path) as store:
        build_ledger(store.ledger, TASKS, checkpoint_after=1)
        records = list(store.ledger.records())
        url = f"sqlite:///{store.url.path}"
    cli = looked(url)
    db = Database(Store(url))
    try:
        db.drop_triggers()
        {**KINDS, **KINDS_EXTRA}[kind](db, records)
    finally:
        db.close()
    assert caught(cli), kind


def test_a_tail_cut_after_a_command_is_refused_by_the_next_and_shown_by_status(
        store_url: str, tmp_path: Path, clock: Clock) -> None:
    store = Store(store_url, clock=clock)
    build_ledger(store.ledger, TASKS, checkpoint_after=None)
    head = store.ledger.max_position()
    store.close()
    cli = looked(store_url)
    db = Database(Store(store_url))
    try:
        db.drop_triggers()
        db.run("DELETE FROM {t} WHERE notification_id > ?", head - 10)
    finally:
        db.close()
    result = cli("board")
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: the ledger went back from {head} to {head - 10} "
                                    "since this account last saw it (witness ")
    status = cli("projections", "status", "--format", "csv")
    assert status.exit_code == 1
    lines = status.stdout.splitlines()
    assert lines[0] == "projection,tables,rows,position,lag,version,follower_advanced,check"
    assert all(re.search(rf",{head},-10,\d+,,ahead of the ledger \(head {head - 10}\)$",
                         line) for line in lines[1:]), lines
    # A person reads the check in the language in use.
    table = cli("projections", "status", env={"TAIZHANG_LANG": "zh"})
    assert table.stdout.count(f"领先于账本（链头 {head - 10}）") == len(lines) - 1
    assert table.stderr.startswith(f"Error: 自本账户上次所见以来，账本从 {head} 退回到了 {head - 10}")
    assert status.stderr.startswith(f"Error: the ledger went back from {head} to {head - 10}")
    # Another account, which never looked, is still refused figures by the read models.
    other = cli("board", env={"XDG_STATE_HOME": str(tmp_path / "elsewhere")})
    assert other.exit_code == 1
    assert other.output == (f"Error: read model registry is at position {head}, beyond the "
                            f"ledger's head {head - 10}: the ledger went back under it: "
                            "run `taizhang audit verify`\n")
    # Once audit verify has said what happened, the account forgets what it saw and the
    # read models are folded again from the ledger as it is.
    assert cli("audit", "verify").exit_code == 1
    assert cli.ok("audit", "witness", "--forget").startswith("forgot ")
    cli.ok("projections", "rebuild")
    cli.ok("board")
    assert cli.ok("audit", "witness").split(": position ")[1].startswith(f"{head - 10} ")


def test_an_older_copy_of_the_file_put_back_is_caught_by_the_witness(tmp_path: Path) -> None:
    """A tail cut that needs no trigger dropped: the whole database (read models and all)
    restored from a backup taken before the last command."""
    with fresh_store("sqlite", tmp_path) as store:
        build_ledger(store.ledger, [0], checkpoint_after=None)
        before = store.ledger.max_position()
        url = f"sqlite:///{store.url.path}"
    cli = looked(url)
    path = url.removeprefix("sqlite:///")
    copy(path, str(tmp_path / "backup.db"))
    cli.ok("task", "ack", "T-000001", as_="zhao")
    cli.ok("board")
    copy(str(tmp_path / "backup.db"), path)
    result = cli("board")
    assert result.output.startswith(f"Error: the ledger went back from {before + 1} to "
                                    f"{before} since this account last saw it"), result.output
    verify = cli("audit", "verify")
    assert verify.exit_code == 1
    assert "before this account's witness position" in verify.output


def copy(source: str, target: str) -> None:
    """One SQLite database over another, as its backup API does it."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


# --- random ledgers, random tamperings -----------------------------------------------------

def _random_tampering(data: st.DataObject, n: int, backend: str
                      ) -> tuple[str, Tampering, bool]:
    """A tampering drawn at random: its name, what it does, and whether the triggers are
    dropped first (with them in place, a change is refused by the database itself — but
    not a change of a column's type, which rewrites the table without firing them)."""
    at = data.draw(st.integers(1, n), label="position")
    cut = data.draw(st.integers(0, n - 1), label="kept")
    choices: dict[str, Tampering] = {
        "byte flipped": _flip_byte(lambda _: at),
        "REPLACE of an event": lambda db, records: _replace_at(db, records, at),
        "tail cut": _cut(lambda _: cut),
        "event deleted": _delete(lambda _: at),
    }
    if backend == "sqlite":
        choices |= {"state as TEXT": _text_state(lambda _: at),
                    "version as text": _set("originator_version", "x", lambda _: at),
                    "recorded_at as a number": _set("recorded_at", 1, lambda _: at),
                    "account as bytes": _set("account", b"x", lambda _: at)}
    else:
        choices |= {"state column as text": _retype("state", "text USING encode(state, "
                                                    "'escape')"),
                    "version column as text": _retype("originator_version", "text"),
                    "account NULL": _null("account", at)}
    name = data.draw(st.sampled_from(sorted(choices)), label="tampering")
    return name, choices[name], data.draw(st.booleans(), label="triggers dropped")


def _retype(column: str, how: str) -> Tampering:
    def tamper(db: Database, records: list[Record]) -> None:
        db.run(f"ALTER TABLE {{t}} ALTER COLUMN {column} TYPE {how}")
    return tamper


def _null(column: str, at: int) -> Tampering:
    def tamper(db: Database, records: list[Record]) -> None:
        db.run(f"ALTER TABLE {{t}} ALTER COLUMN {column} DROP NOT NULL")
        db.run(f"UPDATE {{t}} SET {column} = NULL WHERE notification_id = ?", at)
    return tamper


def _replace_at(db: Database, records: list[Record], position: int) -> None:
    """An event rewritten in place, its hash recomputed: SQLite's REPLACE, PostgreSQL's
    upsert."""
    record = records[position - 1]
    changed = record._replace(account="mallory@elsewhere")
    previous = records[position - 2].hash if position > 1 else "0" * 64
    changed = changed._replace(hash=link(previous, *changed[:-1]))
    values = f"({COLUMNS}) VALUES (?,?,?,?,?,?,?,?)"
    if db.url.kind == "sqlite":
        db.run(f"REPLACE INTO {{t}} {values}", *changed)
    else:
        db.run(f"INSERT INTO {{t}} {values} ON CONFLICT (notification_id) DO UPDATE SET "
               "account = EXCLUDED.account, hash = EXCLUDED.hash", *changed)


@pytest.mark.parametrize("backend, examples", [("sqlite", 20), ("postgres", 6)])
def test_random_tamperings_of_random_ledgers_are_caught(backend: str, examples: int,
                                                        tmp_path: Path) -> None:
    @settings(max_examples=examples, deadline=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(tasks=st.lists(st.integers(0, 5), min_size=1, max_size=4), data=st.data())
    def check(tasks: list[int], data: st.DataObject) -> None:
        with fresh_store(backend, tmp_path) as store:
            build_ledger(store.ledger, tasks, checkpoint_after=None)
            records = list(store.ledger.records())
            cli = looked(store.url.describe())
            name, tampering, dropped = _random_tampering(data, len(records), backend)
            db = Database(store)
            try:
                if dropped:
                    db.drop_triggers()
                try:
                    tampering(db, records)
                except (sqlite3.Error, psycopg.Error) as e:
                    assert not dropped and "the ledger is append-only" in str(e), (name, e)
                    assert list(store.ledger.records()) == records
                    return
            finally:
                db.close()
            assert caught(cli), name
    check()
