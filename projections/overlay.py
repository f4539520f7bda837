"""Current answers for an account that may not write the read models.

On PostgreSQL only the owner and the projector write the read models; everyone else's
queries still answer as of the end of the log. When the tables lag behind it (no
``projections follow`` running, or it has not caught up yet), such a query copies them into
temporary tables of its own connection — which shadow the maintained ones, PostgreSQL
searching ``pg_temp`` first — and folds the missing tail there. Nothing is written to the
store; the copies go with the connection.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.pool import StaticPool

from ledger.store import Store


def may_write(store: Store, table: str) -> bool:
    """Whether this connection may write ``table`` (True on SQLite)."""
    if store.url.kind != "postgresql":
        return True
    with store.engine.connect() as conn:
        return bool(conn.execute(sa.text("SELECT has_table_privilege(:t, 'UPDATE')"),
                                 {"t": _qualified(store, table)}).scalar_one())


def private_copy(store: Store, tables: list[str]) -> Engine:
    """An engine of one connection on which ``tables`` are temporary copies of the store's
    own (their rows, columns, keys and indexes)."""
    engine = sa.create_engine(store.url.sqlalchemy_url(), poolclass=StaticPool,
                              connect_args={"options": f"-csearch_path={store.url.schema}"})
    with engine.begin() as conn:
        for table in tables:
            name = '"' + table.replace('"', '""') + '"'
            conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {name} "
                                 f"(LIKE {_qualified(store, table)} INCLUDING ALL)")
            conn.exec_driver_sql(f"INSERT INTO pg_temp.{name} "
                                 f"SELECT * FROM {_qualified(store, table)}")
    return engine


def _qualified(store: Store, table: str) -> str:
    return ".".join('"' + n.replace('"', '""') + '"' for n in (store.url.schema, table))
