"""Faults of the store, told apart: a lock waited on too long, a connection lost, and the
rest.

A write that loses its connection may or may not have been committed (the server may have
committed and died before it answered). It is never retried blindly: the store is asked
whether the events are there, and the writer is told which — never both written and
reported as failed, never written twice.
"""

from __future__ import annotations

import random
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

from eventsourcing.persistence import OperationalError

from domain.base import Said
from i18n import N_

from ledger.settings import NAMES, Settings

T = TypeVar("T")

LOCK_NOT_AVAILABLE = "55P03"
QUERY_CANCELED = "57014"  # statement_timeout, or a cancel request
# Errors after which the session is gone: connection exceptions (class 08), the server
# shutting the session down (57P01-57P05), idle-in-transaction timeout (25P03).
SESSION_ENDED = ("08", "57P01", "57P02", "57P03", "57P04", "57P05", "25P03")
# Reads tried on a new connection when the pool's was lost: one more than the pool holds.
READ_ATTEMPTS = 3
# The store's own faults (the library's, SQLAlchemy's for the read models, and the driver's
# where taizhang asks PostgreSQL itself), by name.
STORE_FAULTS = ("eventsourcing.persistence:PersistenceError", "sqlalchemy.exc:SQLAlchemyError",
                "psycopg:Error")


def loaded(*names: str) -> tuple[type[BaseException], ...]:
    """The exception classes named ``module:Class`` whose modules are loaded, for an
    ``except`` or ``isinstance``: an error of a module never loaded cannot have been
    raised, so nothing is imported just to ask (a command loads only what it uses)."""
    found = []
    for name in names:
        module, cls = name.split(":")
        if module in sys.modules:
            found.append(getattr(sys.modules[module], cls))
    return tuple(found)


class LedgerBusy(Said, OperationalError):
    """Another session held a lock of the ledger's for longer than this one would wait (in
    words: ``detail`` and ``advice`` say its parts in the language in use)."""

    def __init__(self, settings: Settings, tries: int = 1) -> None:
        if tries > 1:
            busy = Said("账本正忙：另一个会话占用本命令需要的锁超过了 {seconds} 秒，共 {tries} 次",
                        seconds=settings.lock_timeout, tries=tries)
        else:
            busy = Said("账本正忙：另一个会话占用本命令需要的锁超过了 {seconds} 秒",
                        seconds=settings.lock_timeout)
        wait = Said("调大 {name} 可以等得更久", name=NAMES["lock_timeout"])
        super().__init__(N_("{detail}；未写入任何内容（{advice}）"), detail=busy, advice=wait)
        self.busy, self.wait = busy, wait

    @property
    def detail(self) -> str:
        from i18n import refusal

        return refusal(self.busy)

    @property
    def advice(self) -> str:
        from i18n import refusal

        return refusal(self.wait)


class WriteLost(Said, OperationalError):
    """The connection was lost while a write was on its way, and the write is not in the
    store (a session that ends rolls its transaction back)."""

    def __init__(self, reason: str) -> None:
        super().__init__(N_("写入时与存储的连接断开了（{reason}）；未写入任何内容：可以放心地重新运行"
                            "命令"), reason=reason)
        self.reason = reason


class WriteUnknown(Said, OperationalError):
    """The connection was lost while writing and the store cannot be asked afterwards."""

    def __init__(self, reason: str) -> None:
        super().__init__(N_("写入时与存储的连接断开了（{reason}），且连不上存储，无法确认写入是否已"
                            "提交：重新运行命令之前，请先查看（history、board）"), reason=reason)
        self.reason = reason


def causes(error: BaseException) -> Iterator[BaseException]:
    """The error and what it was raised from (the library and SQLAlchemy wrap the
    driver's errors)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)
        current = orig if isinstance(orig, BaseException) else (
            current.__cause__ or current.__context__)


def _sqlstates(error: BaseException) -> list[str]:
    return [getattr(e, "sqlstate", None) or "" for e in causes(error)]


def reason(error: BaseException) -> str:
    """The driver's own first line about ``error``."""
    for cause in reversed(list(causes(error))):
        said = str(cause).strip().splitlines()
        if said:
            return said[0]
    return type(error).__name__


def lock_timed_out(error: BaseException) -> bool:
    """Whether ``error`` is a wait for a lock given up (PostgreSQL's lock_timeout,
    SQLite's busy timeout)."""
    for cause in causes(error):
        if isinstance(cause, LedgerBusy) or getattr(cause, "sqlstate", None) == \
                LOCK_NOT_AVAILABLE:
            return True
        if isinstance(cause, sqlite3.OperationalError) and (
                "locked" in str(cause) or "busy" in str(cause)):
            return True
    return False


def connection_lost(error: BaseException) -> bool:
    """Whether ``error`` means the session is gone (a dropped or terminated connection, a
    server going down or refusing connections), rather than a refusal by a live one.

    The PostgreSQL driver and SQLAlchemy are asked of only when loaded: an error of theirs
    cannot exist otherwise, and a command on SQLite never loads the driver."""
    psycopg = sys.modules.get("psycopg")
    sqlalchemy_exc = sys.modules.get("sqlalchemy.exc")
    for cause in causes(error):
        if psycopg is not None:
            if isinstance(cause, psycopg.InterfaceError):
                return True  # "the connection is closed"
            if isinstance(cause, psycopg.OperationalError):
                state = getattr(cause, "sqlstate", None)
                return state is None or state.startswith(SESSION_ENDED)
            if isinstance(cause, psycopg.errors.IdleInTransactionSessionTimeout):
                return True
        if sqlalchemy_exc is not None and isinstance(cause, sqlalchemy_exc.DBAPIError) \
                and cause.connection_invalidated:
            return True
    return False


def transient(error: BaseException) -> bool:
    """Whether waiting and trying again may cure ``error``: a lost connection, a lock
    waited on too long, a statement cancelled. Not a refusal (permissions, a missing
    table, bad data), which trying again would only repeat."""
    if connection_lost(error) or lock_timed_out(error):
        return True
    return QUERY_CANCELED in _sqlstates(error)


def bounded_write(attempt: Callable[[], T], landed: Callable[[], T | None],
                  settings: Settings) -> T:
    """Run a write (one transaction); a lock wait given up is tried again up to the
    settings' retries, then reported as :class:`LedgerBusy`. A lost connection is never
    tried again: ``landed`` (on a new connection) says whether the write was committed —
    its result is the write's — or not (``None``: :class:`WriteLost`)."""
    for tried in range(settings.lock_retries + 1):
        try:
            return attempt()
        except OperationalError as error:
            if lock_timed_out(error):
                if tried < settings.lock_retries:
                    time.sleep(random.uniform(0.05, 0.2))  # holders' turns, not in step
                    continue
                raise LedgerBusy(settings, tried + 1) from None
            if not connection_lost(error):
                raise
            lost = reason(error)
            try:
                result = landed()
            except OperationalError:
                raise WriteUnknown(lost) from None
            if result is None:
                raise WriteLost(lost) from None
            return result
    raise AssertionError("unreachable: the last attempt returns or raises")


def read_again(read: Callable[[], T]) -> T:
    """A read asked again on another connection if the pool's was lost (a pooled
    connection outlives a server restart, unknown to the client); reads change nothing."""
    for attempt in range(READ_ATTEMPTS):
        try:
            return read()
        except OperationalError as error:
            if attempt == READ_ATTEMPTS - 1 or not connection_lost(error):
                raise
    raise AssertionError("unreachable: the last attempt returns or raises")
