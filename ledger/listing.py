"""Every aggregate of one kind (every unit, every person): few enough to read at once.

The recorders answer by id range (ids are prefixed: ``unit:``, ``person:``), as their own
``last_id_with_prefix`` does.
"""

from __future__ import annotations

from typing import Any

from psycopg.sql import SQL

from ledger.recorders_postgres import LedgerPostgresRecorder


def ids_with_prefix(recorder: Any, prefix: str) -> list[str]:
    """Every aggregate id beginning with ``prefix``, in order."""
    bounds = [prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)]
    if isinstance(recorder, LedgerPostgresRecorder):
        statement = SQL("SELECT DISTINCT originator_id FROM {t} WHERE originator_id >= %s "
                        "AND originator_id < %s ORDER BY 1").format(t=recorder.table_sql)
        return [row["originator_id"] for row in recorder._select(statement, bounds)]
    return [row[0] for row in recorder._select(
        f"SELECT DISTINCT originator_id FROM {recorder.events_table_name} "
        "WHERE originator_id >= ? AND originator_id < ? ORDER BY 1", bounds)]
