"""The one place that turns a store URL into an event store and a read-model engine.

``sqlite:///taizhang.db`` (the default, or a bare file path) keeps everything in one file;
``postgresql://USER@HOST:PORT/DB[?schema=NAME]`` keeps it in a PostgreSQL database. Events
go through the ``eventsourcing`` library's recorders (our subclasses, with the audit chain);
read models are SQLAlchemy tables beside them.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote, urlsplit

from domain.base import Said
from ledger.app import Ledger
from ledger.recorders import CREATION_LOCK_KEY, EVENTS_TABLE
from ledger.settings import LONGEST, Settings, application_name
from ledger.unit_of_work import utc_now

if TYPE_CHECKING:  # SQLAlchemy is loaded when a read model is first used
    import psycopg
    import sqlalchemy as sa
    from sqlalchemy.engine import Engine

DEFAULT_URL = "sqlite:///taizhang.db"
# Processes opening a new PostgreSQL store at once take turns creating its schema and tables
# (IF NOT EXISTS does not guard against a concurrent CREATE); the later ones find them made.
CREATION_LOCK = f"SELECT pg_advisory_xact_lock({CREATION_LOCK_KEY}, hashtext(:schema))"
SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
SQLITE_HEADER = b"SQLite format 3\x00"


class StoreURLError(Said, ValueError):
    """A --db / TAIZHANG_DB value that names no store we can open (a refusal in words, and
    a ValueError)."""


@dataclass(frozen=True)
class StoreURL:
    """A parsed store URL."""

    kind: str  # "sqlite" or "postgresql"
    path: str = ""  # SQLite file
    host: str = ""
    port: int = 5432
    user: str = ""
    password: str = ""
    database: str = ""
    schema: str = "public"

    @classmethod
    def parse(cls, url: str) -> StoreURL:
        url = url.strip()
        if not url:
            raise StoreURLError("存储 URL（--db）不能为空")
        if "://" not in url:
            if ":" in url:
                # sqlite:notes.db, postgresql:… or ::::, mistyped: never a file of that name.
                raise StoreURLError("存储 {url!r}（--db）既不是 URL（sqlite:///FILE、"
                                    "postgresql://USER@HOST/DB），也不是文件路径", url=url)
            return cls(kind="sqlite", path=url)
        parts = urlsplit(url)
        scheme = parts.scheme.split("+", 1)[0]
        if scheme == "sqlite":
            path = url.split("://", 1)[1]
            path = path[1:] if path.startswith("/") else path
            path = path.split("?", 1)[0]
            if not path or path == ":memory:":
                raise StoreURLError("存储 URL {url!r} 没有指明 SQLite 文件", url=url)
            return cls(kind="sqlite", path=path)
        if scheme in ("postgresql", "postgres"):
            database = parts.path.lstrip("/")
            if not database:
                raise StoreURLError("存储 URL {url!r} 没有指明数据库", url=url)
            schema = parse_qs(parts.query).get("schema", ["public"])[0]
            if not SCHEMA_NAME.fullmatch(schema):
                # Unquoted in search_path, so PostgreSQL would fold or split anything else.
                raise StoreURLError("存储 URL 的 schema {schema!r} 只能由小写字母、数字和 _ 组成"
                                    "（至多 63 个，不以数字开头）", schema=schema)
            try:
                port = parts.port or 5432
            except ValueError:
                raise StoreURLError("存储 URL {url!r} 的端口有误", url=url) from None
            return cls(kind="postgresql", host=parts.hostname or "127.0.0.1", port=port,
                       user=unquote(parts.username or "postgres"),
                       password=unquote(parts.password or ""), database=database,
                       schema=schema)
        raise StoreURLError(
            "存储 URL {url!r} 既不是 sqlite:///FILE，也不是 postgresql://USER@HOST/DB", url=url)

    def event_store_env(self, settings: Settings | None = None) -> dict[str, str]:
        """The environment for the ``eventsourcing`` application (with taizhang's waits,
        ledger.settings, for its factory)."""
        settings = settings or Settings()
        # The library's aggregate cache fast-forwards each cached aggregate from the store
        # before use, so it stays right when other processes write too.
        common = {"ORIGINATOR_ID_TYPE": "text", "AGGREGATE_CACHE_MAXSIZE": "5000",
                  "AGGREGATE_CACHE_FASTFORWARD": "y", "DEEPCOPY_FROM_AGGREGATE_CACHE": "n",
                  **settings.as_env()}
        if self.kind == "sqlite":
            return {
                **common,
                "PERSISTENCE_MODULE": "ledger.factories:LedgerSQLiteFactory",
                "SQLITE_DBNAME": self.path,
                "APPLICATION_RECORDER_TOPIC": "ledger.recorders:LedgerSQLiteRecorder",
            }
        return {
            **common,
            "PERSISTENCE_MODULE": "ledger.factories_postgres:LedgerPostgresFactory",
            "POSTGRES_DBNAME": self.database,
            "POSTGRES_HOST": self.host,
            "POSTGRES_PORT": str(self.port),
            "POSTGRES_USER": self.user,
            "POSTGRES_PASSWORD": self.password,
            "POSTGRES_SCHEMA": self.schema,
            "POSTGRES_POOL_SIZE": "2",
            "POSTGRES_CONNECT_TIMEOUT": str(settings.connect_timeout or LONGEST),
            "POSTGRES_LOCK_TIMEOUT": str(settings.lock_timeout),
            "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": str(settings.idle_timeout),
            "APPLICATION_RECORDER_TOPIC": "ledger.recorders_postgres:LedgerPostgresRecorder",
        }

    def events_table(self) -> str:
        """The event table's name (the library names PostgreSQL's after the application)."""
        return EVENTS_TABLE if self.kind == "sqlite" else f"{Ledger.name.lower()}_events"

    def sqlalchemy_url(self) -> sa.URL:
        import sqlalchemy as sa

        if self.kind == "sqlite":
            return sa.URL.create("sqlite", database=self.path)
        return sa.URL.create("postgresql+psycopg", username=self.user,
                             password=self.password or None, host=self.host,
                             port=self.port, database=self.database)

    def describe(self) -> str:
        if self.kind == "sqlite":
            return f"sqlite:///{self.path}"
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.database}" + (
            f"?schema={self.schema}" if self.schema != "public" else "")


class Store:
    """An opened store: the URL, the read-model engine, and the ledger application.

    With ``create`` (what ``init`` and the other commands that make a ledger use), a store
    that does not exist yet is created when first used; without it, it must hold a ledger
    already. ``opened`` is called with the ledger once it is open (before any answer)."""

    def __init__(self, url: str, clock: Callable[[], datetime] = utc_now, *,
                 create: bool = True,
                 opened: Callable[[Ledger], None] | None = None,
                 settings: Settings | None = None) -> None:
        self.url = StoreURL.parse(url)
        self.clock = clock
        self.settings = settings or Settings.from_env()
        self.create = create
        self.opened = opened

    @cached_property
    def engine(self) -> Engine:
        import sqlalchemy as sa

        if self.url.kind == "sqlite":
            wait = self.settings.lock_timeout or LONGEST
            engine = sa.create_engine(self.url.sqlalchemy_url(),
                                      connect_args={"timeout": wait})

            @sa.event.listens_for(engine, "connect")
            def _pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
                # WAL lets read-model writers and event writers share the file.
                dbapi_connection.execute("PRAGMA journal_mode=WAL")
                dbapi_connection.execute(f"PRAGMA busy_timeout={wait * 1000}")

            return engine
        return sa.create_engine(self.url.sqlalchemy_url(), pool_size=2, max_overflow=2,
                                connect_args=self._session_options())

    @cached_property
    def ledger(self) -> Ledger:
        """The ledger application on this store (opened once)."""
        self.prepare()
        ledger = Ledger(self.url.event_store_env(self.settings), clock=self.clock)
        if self.opened is not None:
            try:
                self.opened(ledger)
            except BaseException:
                ledger.close()
                raise
        return ledger

    def prepare(self) -> None:
        """Make sure the place for the ledger exists (the SQLite folder, the PG schema),
        and, unless creating, that it holds a ledger: nothing is made for a mistyped name."""
        if self.url.kind == "sqlite":
            self._prepare_sqlite(Path(self.url.path))
            return
        # Through the driver alone: a command that reads no read model (task show, a
        # command's write) loads no SQLAlchemy, on PostgreSQL as on SQLite.
        with self._session() as conn:
            if not self.create:
                found = conn.execute("SELECT to_regclass(%s)", [
                    f'"{self.url.schema}".{self.url.events_table()}']).fetchone()
                if found is None or found[0] is None:
                    raise StoreURLError("存储 {store} 中没有账本：`taizhang init` 可以创建一个",
                                        store=self.url.describe())
                return
            # Even CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege, which a writer
            # role (INSERT and SELECT only) does not have: create only what is missing.
            if conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s",
                            [self.url.schema]).fetchone() is None:
                conn.execute(CREATION_LOCK.replace(":schema", "%(schema)s"),
                             {"schema": self.url.schema})
                conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.url.schema}"')

    def _session(self) -> psycopg.Connection[tuple[object, ...]]:
        """A PostgreSQL session of its own, as the read models' engine opens them (the
        schema searched first, the settings' timeouts, the process's name), committed and
        closed when its block ends."""
        import psycopg

        return psycopg.connect(
            host=self.url.host, port=self.url.port, user=self.url.user,
            password=self.url.password or None, dbname=self.url.database,
            connect_timeout=self.settings.connect_timeout or LONGEST,
            **self._session_options())

    def _session_options(self) -> dict[str, str]:
        """What every PostgreSQL session of the store's own is opened with: its schema
        searched first, the settings' timeouts, and the process's name."""
        return {"options": f"-csearch_path={self.url.schema} "
                           + self.settings.postgres_options(),
                "application_name": application_name()}

    def _prepare_sqlite(self, path: Path) -> None:
        where = self.url.describe()
        if path.is_dir():
            raise StoreURLError("存储 {store}：{path!r} 是文件夹，不是文件", store=where,
                                path=str(path))
        if not path.exists():
            if not self.create:
                raise StoreURLError("{store} 处没有存储：文件不存在；`taizhang init` 可以创建一个",
                                    store=where)
            if not path.parent.is_dir():
                raise StoreURLError("存储所在的文件夹 {folder!r} 不存在",
                                    folder=str(path.parent))
            return
        try:
            with path.open("rb") as file:
                header = file.read(len(SQLITE_HEADER))
        except OSError as e:
            raise StoreURLError("存储 {store}：{why}", store=where, why=e.strerror) from None
        if header and header != SQLITE_HEADER:
            raise StoreURLError("存储 {store}：{path!r} 不是 SQLite 数据库", store=where,
                                path=str(path))
        if not self.create and not _holds_ledger(path):
            raise StoreURLError("存储 {store} 中没有账本：`taizhang init` 可以创建一个",
                                store=where)

    def close(self) -> None:
        if "ledger" in self.__dict__:
            self.ledger.close()
        if "engine" in self.__dict__:
            self.engine.dispose()

    def reopen(self) -> None:
        """Close the store's connections and forget them: the next use connects afresh
        (after the server restarted or the network dropped)."""
        self.close()
        self.__dict__.pop("ledger", None)
        self.__dict__.pop("engine", None)


def default_url() -> str:
    return os.environ.get("TAIZHANG_DB") or DEFAULT_URL


def _holds_ledger(path: Path) -> bool:
    """Whether an SQLite file has the event table (read only: nothing is written)."""
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return False
    try:
        return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                            (EVENTS_TABLE,)).fetchone() is not None
    except sqlite3.Error:
        return False
    finally:
        conn.close()
