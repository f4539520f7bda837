"""The store's own defences and the chain's portability: append-only triggers, and export →
import into an empty store. (Each PostgreSQL role's grants: tests/tier3_cli/test_access_postgres.py.)"""

from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from eventsourcing.persistence import ProgrammingError
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore

from cli import main
from ledger import audit, audit_transfer
from ledger.app import Ledger
from ledger.chain import ChainBroken
from ledger.recorders import LedgerSQLiteRecorder
from ledger.recorders_postgres import LedgerPostgresRecorder
from ledger.store import Store, StoreURL
from projections.read import ReadSide
from tests.conftest import POSTGRES, Clock, new_postgres_url, seed_campaign
from tests.tier2_ledger.test_audit_tamper import Database, build_ledger
from said_support import english



@pytest.fixture
def postgres_url() -> Iterator[str]:
    yield from new_postgres_url()


# --- append-only in the database itself --------------------------------------------------

@pytest.mark.parametrize("statement", [
    "UPDATE {t} SET state = ? WHERE notification_id = 2",
    "DELETE FROM {t} WHERE notification_id = 2",
])
def test_the_database_refuses_to_change_or_delete_an_event(store: Store, statement: str
                                                           ) -> None:
    seed_campaign(store.ledger)
    before = list(store.ledger.records())
    db = Database(store)
    params = (b"{}",) if statement.startswith("UPDATE") else ()
    with pytest.raises((psycopg.Error, sqlite3.Error),
                       match="the ledger is append-only: (UPDATE|DELETE) refused"):
        db.run(statement, *params)
    db.close()
    assert list(store.ledger.records()) == before


def test_postgres_refuses_to_truncate_the_events(postgres_url: str) -> None:
    store = Store(postgres_url)
    try:
        seed_campaign(store.ledger)
        db = Database(store)
        with pytest.raises(psycopg.Error, match="the ledger is append-only: TRUNCATE refused"):
            db.run("TRUNCATE {t}")
        db.close()
        assert audit.verify(store.ledger).events == store.ledger.max_position() > 0
    finally:
        store.close()


# --- export and import ---------------------------------------------------------------------

def board_rows(store: Store) -> list[dict[str, object]]:
    return ReadSide(store).board()


@pytest.fixture
def other_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A second, empty store on the same backend as ``store_url``."""
    if "postgres" in request.node.callspec.params.get("store_url", ""):
        yield from new_postgres_url()
    else:
        yield f"sqlite:///{tmp_path / 'restored.db'}"


def test_export_then_import_restores_the_same_head_and_projections(
        store: Store, other_url: str, clock: Clock, tmp_path: Path) -> None:
    build_ledger(store.ledger, [5, 3, 0, 2], checkpoint_after=1)
    exported = tmp_path / "ledger.jsonl"
    result = CliRunner(env={"TAIZHANG_LANG": "en"}).invoke(main, ["--db", store.url.describe(), "audit", "export",
                                       str(exported)])
    assert result.exit_code == 0, result.output
    head = audit.head(store.ledger)
    assert result.output == f"exported {head.position} events to {exported}; head {head}\n"
    imported = CliRunner(env={"TAIZHANG_LANG": "en"}).invoke(main, ["--db", other_url, "audit", "import", str(exported)])
    assert imported.exit_code == 0, imported.output
    assert imported.output == f"imported {head.position} events; head {head}\n"
    restored = Store(other_url, clock=clock)
    try:
        assert audit.head(restored.ledger) == head
        assert list(restored.ledger.records()) == list(store.ledger.records())
        assert audit.verify(restored.ledger).checkpoints_matched == 1
        assert board_rows(restored) == board_rows(store)
        assert restored.ledger.describe("T-000001") == store.ledger.describe("T-000001")
    finally:
        restored.close()


def test_an_export_from_sqlite_imports_into_postgres_with_the_same_head(
        tmp_path: Path, postgres_url: str) -> None:
    source = Store(f"sqlite:///{tmp_path / 'source.db'}")
    seed_campaign(source.ledger)
    with (tmp_path / "e.jsonl").open("w", encoding="utf-8") as out:
        head = audit_transfer.export(source.ledger, out)
    target = Store(postgres_url)
    try:
        with (tmp_path / "e.jsonl").open(encoding="utf-8") as lines:
            assert audit_transfer.import_ledger(target.ledger, lines) == head
        assert audit.verify(target.ledger).head == head
        assert {r.account for r in target.ledger.records()} == \
            {r.account for r in source.ledger.records()}
    finally:
        source.close()
        target.close()


def exported_lines(ledger: Ledger) -> list[str]:
    buffer = io.StringIO()
    audit_transfer.export(ledger, buffer)
    return buffer.getvalue().splitlines(keepends=True)


def edit(lines: list[str], number: int, **changes: object) -> list[str]:
    edited = list(lines)
    record = json.loads(edited[number - 1])
    record.update(changes)
    edited[number - 1] = json.dumps(record, ensure_ascii=False) + "\n"
    return edited


@pytest.mark.parametrize(("damage", "message"), [
    (lambda lines: edit(lines, 5, account="someone@else"),
     "line 5: position 4: changed: the event does not match its hash (or does not follow "
     "the event before it)"),
    (lambda lines: lines[:4] + lines[5:],
     "line 5: position 4: missing: expected position 4, found 5"),
    (lambda lines: lines[:3] + [lines[4], lines[3]] + lines[5:],
     "line 4: position 3: missing: expected position 3, found 4"),
    (lambda lines: lines[:-2],
     "line {last}: the file ends at position {cut}, but its header gives the head as {n}:"),
    (lambda lines: lines[:6] + ["{not json\n"] + lines[7:],
     "line 7: not an exported event (JSONDecodeError:"),
    (lambda lines: edit(lines, 3, recorded_at="2024-06-01 09:00"),
     "line 3: position 2: changed: recorded_at '2024-06-01 09:00' is not a stored "
     "transaction time"),
    (lambda lines: ["{}\n"] + lines[1:], "line 1: not a taizhang audit export (version 1) "
     "header"),
])
def test_import_refuses_a_broken_file_naming_the_line_and_writes_nothing(
        ledger: Ledger, tmp_path: Path, damage: Callable[[list[str]], list[str]],
        message: str) -> None:
    seed_campaign(ledger)
    n = ledger.max_position()
    message = message.format(n=n, cut=n - 2, last=n - 1)
    lines = damage(exported_lines(ledger))
    target = Store(f"sqlite:///{tmp_path / 'target.db'}")
    try:
        with pytest.raises(audit.AuditError) as refused:
            audit_transfer.import_ledger(target.ledger, lines)
        assert english(refused.value).startswith(message)
        assert target.ledger.max_position() == 0
    finally:
        target.close()


def test_import_refuses_a_store_that_holds_events(seeded: Ledger, tmp_path: Path) -> None:
    lines = exported_lines(seeded)
    before = seeded.max_position()
    with pytest.raises(audit.AuditError, match=f"存储中已有 {before} 个事件；导入需要一个空的存储") as e:
        audit_transfer.import_ledger(seeded, lines)
    assert english(e.value) == (f"the store already holds {before} events; import needs an "
                                "empty store")
    assert seeded.max_position() == before


def test_the_recorders_insert_chained_records_only_as_the_next_links(ledger: Ledger) -> None:
    seed_campaign(ledger)
    records = list(ledger.records())
    n = len(records)
    with pytest.raises(ChainBroken) as e:
        ledger.recorder.insert_records(records[2:4])  # type: ignore[attr-defined]
    assert english(e.value) == f"position {n + 1}: out of order: expected position {n + 1}, found 3"
    assert str(e.value) == f"位置 {n + 1}：顺序错乱：应为位置 {n + 1}，实为 3"
    assert ledger.max_position() == n


# --- the recorders refuse settings that would bypass or garble the chain ------------------

def test_the_recorders_refuse_uuid_ids_and_the_librarys_insert_function(tmp_path: Path
                                                                        ) -> None:
    with pytest.raises(ProgrammingError, match="ORIGINATOR_ID_TYPE=text, not 'uuid'"):
        LedgerSQLiteRecorder(SQLiteDatastore(str(tmp_path / "x.db"), originator_id_type="uuid"))
    url = StoreURL.parse(POSTGRES)
    datastore = PostgresDatastore(dbname=url.database, host=url.host, port=url.port,
                                  user=url.user, password=url.password,
                                  originator_id_type="text", enable_db_functions=True)
    with pytest.raises(ProgrammingError, match="POSTGRES_ENABLE_DB_FUNCTIONS must be off"):
        LedgerPostgresRecorder(datastore)
    datastore.close()
