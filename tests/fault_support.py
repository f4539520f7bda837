"""Injecting faults into a city's PostgreSQL store: taizhang's processes run as a person or a
service manager runs them, and another session of the server (the test's, as superuser)
holds their locks, stops them at a chosen point of their transaction, and terminates their
connections with ``pg_terminate_backend`` — what a server restart or a network drop does.

Every wait is on a condition, bounded: nothing sleeps and hopes.
"""

from __future__ import annotations

import os
import queue
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cli_support import PRIVILEGED
from conftest import new_postgres_url, seed_campaign

from ledger.store import Store, StoreURL
from projections.read import ReadSide

ROOT = Path(__file__).resolve().parent.parent
TAIZHANG = [sys.executable, "-c", "import cli; cli.run()"]
WAIT = 30.0  # the longest any condition is waited for (each is met in well under a second)


def until(condition: Callable[[], Any], timeout: float = WAIT, what: str = "") -> Any:
    """Wait until ``condition()`` is truthy (and return it); fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what or condition}")
        time.sleep(0.02)


class Process:
    """A taizhang process, its stderr read line by line as it comes."""

    def __init__(self, url: str, *args: str, env: dict[str, str] | None = None,
                 actor: str = "admin") -> None:
        environ = {k: v for k, v in os.environ.items() if not k.startswith("TAIZHANG_")}
        environ.update({"TAIZHANG_DB": url, "TAIZHANG_AS": actor, "TAIZHANG_LANG": "en",
                        **(env or {})})
        self.popen = subprocess.Popen([*TAIZHANG, *args], cwd=ROOT, text=True, env=environ,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.out = ""

    @property
    def pid(self) -> int:
        return self.popen.pid

    def _read(self) -> None:
        assert self.popen.stderr is not None
        for line in self.popen.stderr:
            if not line.startswith(PRIVILEGED):  # the tests' server login is a superuser
                self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def expect(self, pattern: str, timeout: float = WAIT) -> re.Match[str]:
        """The next stderr line matching ``pattern`` (the lines before it are kept)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no line like {pattern!r} within {timeout} s; "
                                     f"seen: {self.lines}") from None
            if line is None:
                raise AssertionError(f"the process ended before a line like {pattern!r}; "
                                     f"seen: {self.lines}")
            self.lines.append(line)
            found = re.fullmatch(pattern, line)
            if found:
                return found

    def skip(self) -> None:
        """Pass over the stderr lines come so far (kept in ``lines``)."""
        while not self._queue.empty():
            line = self._queue.get_nowait()
            if line is None:
                self._queue.put(None)
                return
            self.lines.append(line)

    def finish(self, timeout: float = WAIT) -> tuple[int, str, list[str]]:
        """Wait for the end: (exit code, stdout, every stderr line)."""
        assert self.popen.stdout is not None
        self.out = self.popen.stdout.read()
        self.popen.wait(timeout=timeout)
        self._reader.join(timeout=timeout)
        while True:
            line = self._queue.get_nowait() if not self._queue.empty() else None
            if line is None:
                break
            self.lines.append(line)
        return self.popen.returncode, self.out, self.lines

    def stop(self) -> tuple[int, str, list[str]]:
        self.popen.send_signal(signal.SIGTERM)
        return self.finish()

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(timeout=WAIT)


class Server:
    """The test's own session on the server: what holds, stops and terminates the others."""

    def __init__(self, url: str) -> None:
        self.url = StoreURL.parse(url)
        self.engine = sa.create_engine(self.url.sqlalchemy_url(), isolation_level="AUTOCOMMIT")
        self.table = f'"{self.url.schema}"."taizhang_events"'

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(sa.text(sql), params).scalar()

    def execute(self, sql: str, **params: Any) -> None:
        with self.engine.connect() as conn:
            conn.execute(sa.text(sql), params)

    def table_oid(self) -> int:
        return self.scalar("SELECT CAST(CAST(:t AS regclass) AS oid)", t=self.table)

    @contextmanager
    def holding(self, lock_sql: str, **params: Any) -> Iterator[int]:
        """A session of its own holding a lock in an open transaction: its backend's pid."""
        with self.engine.connect() as conn:
            conn.exec_driver_sql("BEGIN")
            pid = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
            conn.execute(sa.text(lock_sql), params)
            try:
                yield pid
            finally:
                try:
                    conn.exec_driver_sql("ROLLBACK")
                except sa.exc.DBAPIError:
                    pass  # terminated: its transaction ended with it

    def write_lock(self) -> Any:
        """Hold the ledger's write lock, as a writer does while it writes."""
        return self.holding("SELECT pg_advisory_xact_lock(:key)", key=self.table_oid())

    def waiting_for_advisory(self, key: int) -> int | None:
        """The backend waiting for advisory lock ``key`` of this database, if any."""
        return self.scalar(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND classid = :high AND objid = :low AND objsubid = 1 LIMIT 1",
            high=key >> 32, low=key & 0xFFFFFFFF)

    def waiting_for_table(self) -> int | None:
        """The backend waiting for a lock on the event table, if any."""
        return self.scalar("SELECT pid FROM pg_locks WHERE locktype = 'relation' "
                           "AND NOT granted AND relation = :oid LIMIT 1",
                           oid=self.table_oid())

    def terminate_process(self, pid: int) -> int:
        """Terminate every session of taizhang's OS process ``pid`` (taizhang names its
        sessions after it); how many there were."""
        with self.engine.connect() as conn:
            return len(conn.execute(sa.text(
                "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity "
                "WHERE application_name = :name"), {"name": f"taizhang/{pid}"}).all())

    def terminate(self, pid: int) -> None:
        """Terminate one session, and wait until it is gone."""
        assert self.scalar("SELECT pg_terminate_backend(:pid, 10000)", pid=pid), pid

    @contextmanager
    def gate(self, timing: str, write: int = 1, table: str = "taizhang_events"
             ) -> Iterator[int]:
        """Stop the ``write``-th insert into the event table from now (or update of another
        ``table``) at ``timing``: "statement" (in the statement: a writer holding the write
        lock, a catch-up its batch's rows) or "commit" (at COMMIT, by a deferred trigger);
        it then waits for the gate's advisory lock, which this holds. Yields the key."""
        key = random.randrange(1, 2 ** 31)
        schema = f'"{self.url.schema}"'
        target = f'{schema}."{table}"'
        change = "INSERT" if table == "taizhang_events" else "UPDATE"
        self.execute(f"CREATE SEQUENCE {schema}.fault_writes")
        self.execute(
            f"CREATE FUNCTION {schema}.fault_gate() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN IF nextval('{schema}.fault_writes') = {write} THEN "
            f"PERFORM pg_advisory_xact_lock({key}); END IF; RETURN NULL; END $$")
        trigger = (f"BEFORE {change} ON {target} FOR EACH STATEMENT" if timing == "statement"
                   else f"AFTER {change} ON {target} DEFERRABLE INITIALLY DEFERRED "
                   "FOR EACH ROW")
        constraint = "CONSTRAINT " if timing == "commit" else ""
        self.execute(f"CREATE {constraint}TRIGGER fault_gate {trigger} "
                     f"EXECUTE FUNCTION {schema}.fault_gate()")
        try:
            with self.holding("SELECT pg_advisory_xact_lock(:key)", key=key):
                yield key
        finally:
            self.execute(f"DROP TRIGGER fault_gate ON {target}")
            self.execute(f"DROP FUNCTION {schema}.fault_gate()")
            self.execute(f"DROP SEQUENCE {schema}.fault_writes")

    def close(self) -> None:
        self.engine.dispose()


class Link:
    """A TCP relay between taizhang and the server that the test cuts (every connection
    dropped, new ones refused) and restores: a network drop, or a server restarting, as a
    client sees it."""

    def __init__(self, url: str) -> None:
        parsed = StoreURL.parse(url)
        self.target = (parsed.host, parsed.port)
        self.port = 0
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        self.restore()
        self.url = url.replace(f"@{parsed.host}:{parsed.port}/", f"@127.0.0.1:{self.port}/")

    def restore(self) -> None:
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", self.port))
        self.port = self.listener.getsockname()[1]
        self.listener.listen()
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for end in (source, sink):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self) -> None:
        self.listener.close()
        with self.lock:
            dropped, self.sockets = self.sockets, []
        for end in dropped:
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            end.close()


def settled(url: str, followed: bool = True) -> int:
    """The store after a fault: a gapless chain whose hashes recompute, every event once,
    and — once a follower brought them to the head by itself (when ``followed``) —
    projections equal to a rebuild from zero. Returns the head."""
    from ledger.audit import verify

    store = Store(url)
    try:
        head = store.ledger.max_position()
        chain = verify(store.ledger)
        assert chain.ok and chain.events == head, chain.as_dict()
        # Positions read without catching up (every question of a ReadSide catches up).
        if followed:
            until(lambda: set(_positions(store)) == {head}, what=f"the follower at {head}")
        found = ReadSide(store).verify()
        assert found.equal, found.differences
        return head
    finally:
        store.close()


def _positions(store: Store) -> list[int]:
    with store.engine.connect() as conn:
        return [r[0] for r in conn.execute(sa.text("SELECT position FROM rm_positions"))]


TERMINATED = "terminating connection due to administrator command"


class City:
    """A seeded ledger on PostgreSQL, its follower running as a service would (patient:
    its lock timeout 30 s), shared by the tests of this module: each starts where the last
    left the ledger, with the follower at its head."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.where = StoreURL.parse(url).describe()
        self.server = Server(url)
        store = Store(url)
        seed_campaign(store.ledger)
        seeded = store.ledger.max_position()
        store.close()
        self.follower = Process(url, "projections", "follow",
                                env={"TAIZHANG_LOCK_TIMEOUT": "30"})
        self.follower.expect(r"connected: at position 0")
        self.follower.expect(rf"\+{seeded} events, at position {seeded}, lag 0")

    def assign(self, before: list[str] | None = None, **env: str) -> Process:
        """``task assign`` started (the tasks recorded before it kept: ``before``)."""
        before = self.tasks() if before is None else before
        process = Process(self.url, "task", "assign", "--unit", "JS01", "--category",
                          "环境卫生", "--source", "complaint", "--location", "幸福路12号",
                          "--description", "乱堆乱放", "--deadline", "2099-01-01", env=env)
        process.before = before  # type: ignore[attr-defined]
        return process

    def assigned(self, process: Process) -> str:
        """The task a successful assignment created: a new one, recorded once."""
        before = process.before  # type: ignore[attr-defined]
        task = succeeded(process).split()[0]
        assert self.tasks() == [*before, task] and task not in before, (task, before)
        return task

    def head(self) -> int:
        store = Store(self.url)
        try:
            return store.ledger.max_position()
        finally:
            store.close()

    def tasks(self) -> list[str]:
        """The tasks in the log, one per assignment recorded."""
        store = Store(self.url)
        try:
            return [r.originator_id for r in store.ledger.records()
                    if r.topic.endswith("Task.Assigned")]
        finally:
            store.close()


@pytest.fixture(scope="module")
def city() -> Iterator[City]:
    for url in new_postgres_url():
        made = City(url)
        try:
            yield made
            code, _, lines = made.follower.stop()
            assert code == 0, lines
            assert not [line for line in lines if "Traceback" in line], lines
        finally:
            made.follower.kill()
            made.server.close()


def one_error_line(process: Process, code: int = 1) -> str:
    returned, out, lines = process.finish()
    assert (returned, out) == (code, ""), (returned, out, lines)
    assert len(lines) == 1 and lines[0].startswith("Error: "), lines
    return lines[0]


def succeeded(process: Process) -> str:
    returned, out, lines = process.finish()
    assert (returned, lines) == (0, []), (returned, out, lines)
    return out
