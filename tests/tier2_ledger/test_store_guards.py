"""The store's guards around the chain: no SQL form replaces a stored event on either
backend; `audit verify` reads anything without crashing; a store is opened, never
conjured; and the witness of each account, with a restore being another store."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from ledger import audit, witness
from ledger.store import Store, StoreURL
from projections.read import ReadSide
from tests.cli_support import Cli
from tests.conftest import POSTGRES, Clock, new_postgres_url, seed_campaign
from tests.tier2_ledger.test_audit_tamper import Database

COLUMNS = ("notification_id, originator_id, originator_version, topic, state, recorded_at, "
           "account, hash")
SQLITE_REPLACING = [
    f"INSERT OR REPLACE INTO {{t}} ({COLUMNS}) VALUES (2, 'x', 1, 't', x'00', 'r', 'a', 'h')",
    f"REPLACE INTO {{t}} ({COLUMNS}) VALUES (2, 'x', 1, 't', x'00', 'r', 'a', 'h')",
    # a new position, but the (aggregate, version) of a stored event: REPLACE would drop it
    f"INSERT OR REPLACE INTO {{t}} ({COLUMNS}) SELECT 999, originator_id, originator_version, "
    "topic, x'00', recorded_at, account, hash FROM {t} WHERE notification_id = 2",
    f"INSERT OR REPLACE INTO {{t}} ({COLUMNS}) SELECT {COLUMNS} FROM {{t}} "
    "WHERE notification_id = 2",
    f"INSERT INTO {{t}} ({COLUMNS}) SELECT {COLUMNS} FROM {{t}} WHERE notification_id = 2 "
    "ON CONFLICT (notification_id) DO UPDATE SET state = x'00'",
    f"INSERT INTO {{t}} ({COLUMNS}) SELECT 999, originator_id, originator_version, topic, "
    "state, recorded_at, account, hash FROM {t} WHERE notification_id = 2 "
    "ON CONFLICT (originator_id, originator_version) DO UPDATE SET account = 'mallory'",
    f"INSERT OR IGNORE INTO {{t}} ({COLUMNS}) SELECT {COLUMNS} FROM {{t}} "
    "WHERE notification_id = 2",
    f"INSERT OR ROLLBACK INTO {{t}} ({COLUMNS}) SELECT {COLUMNS} FROM {{t}} "
    "WHERE notification_id = 2",
    "UPDATE OR REPLACE {t} SET notification_id = 3 WHERE notification_id = 2",
    "UPDATE OR IGNORE {t} SET account = 'mallory' WHERE notification_id = 2",
]
POSTGRES_REPLACING = [
    f"INSERT INTO {{t}} ({COLUMNS}) SELECT {COLUMNS} FROM {{t}} WHERE notification_id = 2 "
    "ON CONFLICT (originator_id, originator_version) DO UPDATE SET state = '\\x00'",
    f"INSERT INTO {{t}} ({COLUMNS}) SELECT {COLUMNS} FROM {{t}} WHERE notification_id = 2 "
    "ON CONFLICT (notification_id) DO UPDATE SET account = 'mallory'",
    f"INSERT INTO {{t}} ({COLUMNS}) SELECT 999, originator_id, originator_version, topic, "
    "state, recorded_at, account, hash FROM {t} WHERE notification_id = 2 "
    "ON CONFLICT (originator_id, originator_version) DO UPDATE SET account = 'mallory'",
    f"INSERT INTO {{t}} ({COLUMNS}) SELECT {COLUMNS} FROM {{t}} WHERE notification_id = 2 "
    "ON CONFLICT DO NOTHING",
    f"MERGE INTO {{t}} e USING (SELECT 2 AS p) s ON e.notification_id = s.p "
    "WHEN MATCHED THEN UPDATE SET account = 'mallory'",
    "MERGE INTO {t} e USING (SELECT 2 AS p) s ON e.notification_id = s.p "
    "WHEN MATCHED THEN DELETE",
    f"MERGE INTO {{t}} e USING (SELECT {COLUMNS} FROM {{t}} WHERE notification_id = 2) s "
    "ON false WHEN NOT MATCHED THEN INSERT VALUES (s.notification_id, s.originator_id, "
    "s.originator_version, s.topic, s.state, s.recorded_at, s.account, s.hash)",
]


def test_no_sql_form_replaces_a_stored_event(store: Store) -> None:
    seed_campaign(store.ledger)
    before = list(store.ledger.records())
    forms = SQLITE_REPLACING if store.url.kind == "sqlite" else POSTGRES_REPLACING
    db = Database(store)
    try:
        for statement in forms:
            with pytest.raises((psycopg.Error, sqlite3.Error),
                               match="the ledger is append-only"):
                db.run(statement)
    finally:
        db.close()
    assert list(store.ledger.records()) == before


# --- audit verify reads anything ------------------------------------------------------------

@pytest.mark.parametrize("change, detail", [
    ("UPDATE {t} SET state = replace(state, 'JS', 'JS') WHERE notification_id = 3",
     "its state is text, not bytes"),
    ("UPDATE {t} SET originator_version = 'two' WHERE notification_id = 3",
     "its originator_version is text, not an integer"),
    ("UPDATE {t} SET account = x'00' WHERE notification_id = 3",
     "its account is bytes, not text"),
    ("UPDATE {t} SET recorded_at = x'00' WHERE notification_id = 3",
     "its recorded_at is bytes, not text"),
    ("UPDATE {t} SET hash = x'07' WHERE notification_id = 3", "its hash is bytes, not text"),
])
def test_verify_names_a_value_of_another_type_as_changed(sqlite_url: str, clock: Clock,
                                                          change: str, detail: str) -> None:
    store = Store(sqlite_url, clock=clock)
    seed_campaign(store.ledger)
    since = audit.head_at(store.ledger, 2)
    db = Database(store)
    db.drop_triggers()
    db.run(change)
    db.close()
    store.close()
    cli = Cli(sqlite_url)
    for args in (("audit", "verify"), ("audit", "verify", "--since", str(since))):
        result = cli(*args)
        assert result.exit_code == 1
        assert result.output.startswith(f"Error: chain broken at position 3 (changed): the "
                                        f"stored event {detail}"), result.output
    report = json.loads(cli("audit", "verify", "--format", "json").output)
    assert report["broken"]["position"] == 3 and report["broken"]["kind"] == "changed"
    exported = Path(StoreURL.parse(sqlite_url).path).parent / "export.jsonl"
    cli.refused("audit", "export", str(exported), message=f"position 3: the stored event "
                f"{detail}; run `taizhang audit verify`")
    assert not exported.exists() and not exported.with_name("export.jsonl.partial").exists()


def test_verify_names_a_null_and_a_column_of_another_type_on_postgres(clock: Clock) -> None:
    urls = new_postgres_url()
    url = next(urls)
    try:
        store = Store(url, clock=clock)
        seed_campaign(store.ledger)
        db = Database(store)
        db.drop_triggers()
        db.run("ALTER TABLE {t} ALTER COLUMN account DROP NOT NULL")
        db.run("UPDATE {t} SET account = NULL WHERE notification_id = 2")
        db.run("ALTER TABLE {t} ALTER COLUMN state TYPE text USING encode(state, 'escape')")
        db.close()
        store.close()
        cli = Cli(url)
        result = cli("audit", "verify")
        assert result.output.startswith("Error: chain broken at position 1 (changed): the "
                                        "stored event its state is text, not bytes")
        board = cli("board")  # the head cannot be read either: one line, no traceback
        assert board.output == ("Error: the stored event campaign version 1 has its state "
                                "stored as text, not bytes: run `taizhang audit verify`\n")
    finally:
        next(urls, None)


# --- a store is opened, not conjured --------------------------------------------------------

@pytest.mark.parametrize("value, message", [
    ("{d}/missing.db", "no store at sqlite:///{d}/missing.db: the file does not exist; "
     "`taizhang init` creates one"),
    ("sqlite:///{d}/missing.db", "no store at sqlite:///{d}/missing.db: the file does not "
     "exist; `taizhang init` creates one"),
    ("::::", "store '::::' (--db) is neither a URL (sqlite:///FILE, "
     "postgresql://USER@HOST/DB) nor a file path"),
    ("sqlite:notes.db", "store 'sqlite:notes.db' (--db) is neither a URL (sqlite:///FILE, "
     "postgresql://USER@HOST/DB) nor a file path"),
    ("sqlite:///{d}/notes.txt", "store sqlite:///{d}/notes.txt: '{d}/notes.txt' is not an "
     "SQLite database"),
    ("sqlite:///{d}/folder", "store sqlite:///{d}/folder: '{d}/folder' is a folder, not a "
     "file"),
    ("sqlite:///{d}/empty.db", "no ledger in store sqlite:///{d}/empty.db: `taizhang init` "
     "creates one"),
])
def test_a_command_on_no_store_says_so_and_creates_nothing(tmp_path: Path, value: str,
                                                           message: str) -> None:
    (tmp_path / "notes.txt").write_text("not a database\n")
    (tmp_path / "folder").mkdir()
    (tmp_path / "empty.db").touch()
    before = sorted((p.name, p.stat().st_size) for p in tmp_path.iterdir())
    url = value.replace("{d}", str(tmp_path))
    cli = Cli(url)
    commands = [("board",), ("audit", "verify"), ("task", "show", "T-000001"),
                ("projections", "status")]
    if "missing" not in value and "empty" not in value:
        commands += [("init",), ("audit", "import", str(tmp_path / "notes.txt"))]
    for args in commands:
        result = cli(*args, env={"PWD": str(tmp_path)})
        assert (result.exit_code, result.output) == (
            1, f"Error: {message.replace('{d}', str(tmp_path))}\n"), args
    assert sorted((p.name, p.stat().st_size) for p in tmp_path.iterdir()) == before


def test_a_postgres_schema_without_a_ledger_is_not_made_by_a_query() -> None:
    urls = new_postgres_url()
    url = next(urls)
    schema = StoreURL.parse(url).schema
    try:
        result = Cli(url)("board")
        assert result.output == (f"Error: no ledger in store {StoreURL.parse(url).describe()}"
                                 ": `taizhang init` creates one\n")
        engine = sa.create_engine(StoreURL.parse(POSTGRES).sqlalchemy_url())
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT 1 FROM pg_namespace WHERE nspname = :s"),
                                {"s": schema}).first() is None
        engine.dispose()
        assert Cli(url).ok("init").startswith("ledger ready")
        assert Cli(url)("board").exit_code == 1  # a ledger now, but no campaign yet
    finally:
        next(urls, None)


def test_the_commands_that_make_a_ledger_make_the_store(tmp_path: Path) -> None:
    Cli(f"sqlite:///{tmp_path / 'a.db'}").ok("init")
    Cli(f"sqlite:///{tmp_path / 'b.db'}").ok(
        "campaign", "start", "--name", "创建全国文明城市", "--admin", "wang",
        "--admin-name", "王主任")
    exported = tmp_path / "b.jsonl"
    Cli(f"sqlite:///{tmp_path / 'b.db'}").ok("audit", "export", str(exported))
    Cli(f"sqlite:///{tmp_path / 'c.db'}").ok("audit", "import", str(exported))
    assert all((tmp_path / name).is_file() for name in ("a.db", "b.db", "c.db"))


# --- witnesses ------------------------------------------------------------------------------

@pytest.fixture
def seen(sqlite_url: str, clock: Clock) -> Iterator[Cli]:
    """A ledger this account has looked at (its witness left)."""
    store = Store(sqlite_url, clock=clock)
    seed_campaign(store.ledger)
    store.close()
    cli = Cli(sqlite_url)
    cli.ok("board")
    yield cli


def test_a_command_leaves_this_accounts_witness_of_the_head(seen: Cli) -> None:
    identity = seen.store.ledger.recorder.identity()  # type: ignore[attr-defined]
    path = witness.path_for(identity)
    assert path.parent == witness.state_dir() and path.is_file()
    kept = witness.load(path)
    assert (kept.store, kept.position, kept.hash) == (identity, *seen.store.ledger.head())
    out = seen.ok("audit", "witness")
    assert out.startswith(f"{path}: position {kept.position} {kept.hash}")


def test_verify_with_a_witness_handed_over(seen: Cli, tmp_path: Path) -> None:
    identity = seen.store.ledger.recorder.identity()  # type: ignore[attr-defined]
    handed = tmp_path / "theirs.json"
    handed.write_bytes(witness.path_for(identity).read_bytes())
    head = seen.store.ledger.max_position()
    out = seen.ok("audit", "verify", "--witness", str(handed))
    assert (f"witness: the ledger extends the witness of {witness.load(handed).account}, "
            f"{head}:") in out
    account = witness.load(handed).account
    zh = seen.ok("audit", "verify", "--witness", str(handed), env={"TAIZHANG_LANG": "zh"})
    line = next(line for line in zh.splitlines() if line.startswith("见证："))
    assert line.startswith(f"见证：账本在{account} 的见证 {head}:") and "witness" not in line, zh
    data = json.loads(handed.read_text())
    handed.write_text(json.dumps({**data, "position": head + 5}))
    result = seen("audit", "verify", "--witness", str(handed))
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: chain broken at position {head + 1} (missing): "
                                    f"the ledger ends at position {head}, before the "
                                    f"witness of {data['account']} position {head + 5}")
    zh = seen("audit", "verify", "--witness", str(handed), env={"TAIZHANG_LANG": "zh"}).output
    assert f"早于{account} 的见证的位置 {head + 5}" in zh and "witness" not in zh.split("\n")[0], zh
    said = json.loads(seen("audit", "verify", "--witness", str(handed), "--format", "json",
                           env={"TAIZHANG_LANG": "zh"}).stdout)
    assert said["since"]["what"] == f"the witness of {account}"  # a machine field: stable
    handed.write_text(json.dumps({**data, "store": "0" * 32}))
    assert seen("audit", "verify", "--witness", str(handed)).output == (
        f"Error: witness file {str(handed)!r} is of store {'0' * 32}, not of this one "
        f"({identity})\n")
    handed.write_text("{}")
    seen.refused("audit", "verify", "--witness", str(handed),
                 message=f"witness file {str(handed)!r} is not a taizhang witness")
    seen.usage_refused("audit", "verify", "--witness", str(handed), "--since", "1:" + "0" * 64,
                       message="give --since or --witness, not both")


def test_a_restore_into_a_new_store_is_another_store_not_a_false_alarm(
        seen: Cli, tmp_path: Path) -> None:
    exported = tmp_path / "before.jsonl"
    seen.ok("audit", "export", str(exported))
    seen.ok("unit", "add", "JS03", "--name", "新社区", "--kind", "社区", "--parent", "JS",
            as_="admin")
    seen.ok("board")  # this account has now seen one more event than the export holds
    restored = Cli(f"sqlite:///{tmp_path / 'restored.db'}")
    restored.ok("audit", "import", str(exported))
    assert restored.store.ledger.recorder.identity() != \
        seen.store.ledger.recorder.identity()  # type: ignore[attr-defined]
    restored.ok("board")
    restored.ok("audit", "verify")


# --- stores made before these guards ----------------------------------------------------------

def test_a_store_made_before_the_guards_gets_them_when_opened(sqlite_url: str,
                                                               clock: Clock) -> None:
    store = Store(sqlite_url, clock=clock)
    seed_campaign(store.ledger)
    ReadSide(store).board()
    store.close()
    path = StoreURL.parse(sqlite_url).path
    with sqlite3.connect(path) as conn:  # as an older version left it
        conn.execute("DROP TRIGGER stored_events_no_replace")
        conn.execute("DROP TABLE stored_events_identity")
        conn.execute("ALTER TABLE rm_positions DROP COLUMN hash")
    conn.close()
    store = Store(sqlite_url, clock=clock)
    try:
        assert len(store.ledger.recorder.identity()) == 32  # type: ignore[attr-defined]
        read = ReadSide(store)
        assert read.board() == []  # positions without hashes: only the position checked
        assert {s.hash for s in read.projector.standings()} == {None}
        store.ledger.register_unit(actor_id="admin", code="JS03", name="新社区", kind="社区",
                                   parent="JS")
        read.units()
        head = store.ledger.head()
        assert {(s.position, s.hash) for s in read.projector.standings()} == {head}
        db = Database(store)
        with pytest.raises(sqlite3.Error, match="the ledger is append-only"):
            db.run(SQLITE_REPLACING[0])
        db.close()
    finally:
        store.close()
