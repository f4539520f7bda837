"""What the event table's own guards add around the chain, on both backends: no stored
event replaced (a BEFORE INSERT trigger), a random identity made with the store, and the
stored values read back only as what the ledger writes.

The UPDATE, DELETE and TRUNCATE triggers are with the tables in ``ledger.recorders``; the
BEFORE INSERT trigger here closes what they leave open: SQLite's INSERT OR REPLACE (whose
REPLACE deletes the old row without firing DELETE triggers), upserts (INSERT … ON CONFLICT
DO UPDATE) and PostgreSQL's MERGE.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from ledger.chain import Record, Tampered, described_type, stamp, stored_record

APPEND_ONLY = "the ledger is append-only"
# PostgreSQL: said (for its transaction) by the recorder's bulk save, whose rows it chained
# itself after the head it read under the write lock, so none can be over a stored event:
# the BEFORE INSERT trigger's two probes a row (about 11 µs, most of the server's cost of a
# copied event) are skipped for them. Any session may say it; what it then skips is only
# this trigger's message, never a protection: without it a row over a stored event is still
# refused, by the unique keys (a plain INSERT, COPY, MERGE's INSERT) or by the UPDATE
# trigger (an upsert's DO UPDATE, MERGE's UPDATE and DELETE), and ON CONFLICT DO NOTHING
# writes nothing (tests/tier2_ledger/test_guard_postgres.py).
CHAINED_COPY = "SET LOCAL taizhang.chained_copy = 'on'"
# A row at a position, or of an (aggregate, version), already stored.
REPLACE_REFUSED = f"{APPEND_ONLY}: INSERT over a stored event refused"

if TYPE_CHECKING:
    from psycopg.sql import Composable, Identifier


def identity_table(events_table: str) -> str:
    """The table holding the store's identity: a random id made with the store, which a
    restore into a new store does not copy (so the witnesses of one never judge the other)."""
    return f"{events_table}_identity"


def sqlite_guards(table: str) -> list[str]:
    """SQLite: the BEFORE INSERT trigger, and the identity table with its guards."""
    identity = identity_table(table)
    return [
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_replace BEFORE INSERT ON {table} "
        f"WHEN EXISTS (SELECT 1 FROM {table} WHERE notification_id = NEW.notification_id) "
        f"OR EXISTS (SELECT 1 FROM {table} WHERE originator_id = NEW.originator_id AND "
        f"originator_version = NEW.originator_version) "
        f"BEGIN SELECT RAISE(ABORT, '{REPLACE_REFUSED}'); END",
        f"CREATE TABLE IF NOT EXISTS {identity} (id TEXT NOT NULL, created_at TEXT NOT NULL)",
        f"CREATE TRIGGER IF NOT EXISTS {identity}_no_update BEFORE UPDATE ON {identity} "
        f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}: UPDATE refused'); END",
        f"CREATE TRIGGER IF NOT EXISTS {identity}_no_delete BEFORE DELETE ON {identity} "
        f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}: DELETE refused'); END",
    ]


def sqlite_identity(table: str) -> str:
    """SQLite: the statement giving a store without one its identity. Run on its own, under
    the write lock, only when the identity is missing: a write in every process's opening
    statements would make concurrent openers collide."""
    identity = identity_table(table)
    return (f"INSERT INTO {identity} (id, created_at) SELECT lower(hex(randomblob(16))), "
            f"strftime('%Y-%m-%dT%H:%M:%fZ', 'now') "
            f"WHERE NOT EXISTS (SELECT 1 FROM {identity})")


def postgres_guards(schema: Identifier, events_table: str, guard: Identifier
                    ) -> list[Composable]:
    """PostgreSQL: the BEFORE INSERT trigger (skipped for the recorder's chained bulk
    copies: CHAINED_COPY), and the identity table with its row, guarded by ``guard`` (the
    function refusing UPDATE, DELETE and TRUNCATE)."""
    from psycopg.sql import SQL, Identifier  # the driver, loaded for PostgreSQL only

    table = SQL("{}.{}").format(schema, Identifier(events_table))
    identity = SQL("{}.{}").format(schema, Identifier(identity_table(events_table)))
    refuse = Identifier(f"{events_table}_no_replace")
    return [
        SQL("CREATE OR REPLACE FUNCTION {schema}.{refuse}() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN IF EXISTS (SELECT 1 FROM {t} WHERE "
            "notification_id = NEW.notification_id) OR EXISTS (SELECT 1 FROM {t} "
            "WHERE originator_id = NEW.originator_id AND originator_version = "
            "NEW.originator_version) THEN RAISE EXCEPTION '{message}' USING ERRCODE = "
            # A unique violation, as the constraints would report it: a writer that lost a
            # race for a version retries (IntegrityError), as it did before this trigger.
            "'unique_violation'; END IF; "
            "RETURN NEW; END $$").format(schema=schema, refuse=refuse, t=table,
                                         message=SQL(REPLACE_REFUSED)),
        SQL("CREATE OR REPLACE TRIGGER {refuse} BEFORE INSERT ON {t} FOR EACH ROW "
            "WHEN (current_setting('taizhang.chained_copy', true) IS DISTINCT FROM 'on') "
            "EXECUTE FUNCTION {schema}.{refuse}()").format(
                refuse=refuse, t=table, schema=schema),
        SQL("CREATE TABLE IF NOT EXISTS {i} (id text NOT NULL, "
            "created_at timestamptz NOT NULL DEFAULT clock_timestamp())").format(i=identity),
        SQL("INSERT INTO {i} (id) SELECT replace(gen_random_uuid()::text, '-', '') "
            "WHERE NOT EXISTS (SELECT 1 FROM {i})").format(i=identity),
        SQL("CREATE OR REPLACE TRIGGER {trigger} BEFORE UPDATE OR DELETE OR TRUNCATE "
            "ON {i} FOR EACH STATEMENT EXECUTE FUNCTION {schema}.{guard}()").format(
                trigger=Identifier(f"{identity_table(events_table)}_no_change"),
                i=identity, schema=schema, guard=guard),
    ]


def event_state(state: Any, originator_id: Any, version: Any) -> bytes:
    """An event's stored state, refused unless it is bytes (a changed ledger can hold
    anything: text, NULL) before the library tries to decode it."""
    if type(state) is bytes:
        return state
    if isinstance(state, memoryview):
        return bytes(state)
    raise Tampered("存储的事件 {event} 第 {version} 版的状态存成了 {type}，而不是字节",
                   event=originator_id, version=version, type=described_type(state))


def pg_record(r: Any) -> Record:
    """A PostgreSQL row of the event table as a Record (see ``ledger.chain.stored_record``)."""
    state, recorded_at = r["state"], r["recorded_at"]
    return stored_record(
        r["notification_id"], r["originator_id"], r["originator_version"], r["topic"],
        bytes(state) if isinstance(state, memoryview) else state,
        stamp(recorded_at) if isinstance(recorded_at, datetime) else recorded_at,
        r["account"], r["hash"])
