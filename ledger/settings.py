"""How long taizhang waits on the store: its settings, read from the environment.

Each is a whole number of seconds (0: no limit), with defaults that make a command fail
within seconds rather than minutes when the ledger is busy or a session hangs:

- ``TAIZHANG_LOCK_TIMEOUT`` (3): how long a writer waits for the ledger's write lock (and a
  catch-up for the projections' position rows) before giving up;
- ``TAIZHANG_LOCK_RETRIES`` (1): how many more times a writer that gave up waiting tries
  again before it says that the ledger is busy;
- ``TAIZHANG_STATEMENT_TIMEOUT`` (60): the longest one statement of taizhang's may run;
- ``TAIZHANG_IDLE_TIMEOUT`` (10): how long one of taizhang's sessions may sit idle inside
  a transaction before the server ends it (and with it any lock it held);
- ``TAIZHANG_CONNECT_TIMEOUT`` (5): how long a command waits for a connection to the
  PostgreSQL server (an unreachable server, a full pool) before giving up.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields

from domain.base import Said

# Each setting: (attribute, environment variable, what it bounds).
NAMES = {
    "lock_timeout": "TAIZHANG_LOCK_TIMEOUT",
    "lock_retries": "TAIZHANG_LOCK_RETRIES",
    "statement_timeout": "TAIZHANG_STATEMENT_TIMEOUT",
    "idle_timeout": "TAIZHANG_IDLE_TIMEOUT",
    "connect_timeout": "TAIZHANG_CONNECT_TIMEOUT",
}
LONGEST = 24 * 3600


class SettingError(Said, ValueError):
    """A TAIZHANG_* setting whose value is not a whole number of seconds (a refusal in
    words, and a ValueError)."""


@dataclass(frozen=True)
class Settings:
    lock_timeout: int = 3
    lock_retries: int = 1
    statement_timeout: int = 60
    idle_timeout: int = 10
    connect_timeout: int = 5

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The settings given in ``environ`` (default: the process's environment)."""
        environ = os.environ if environ is None else environ
        found: dict[str, int] = {}
        for field in fields(cls):
            name = NAMES[field.name]
            text = (environ.get(name) or "").strip()
            if not text:
                continue
            try:
                value = int(text)
            except ValueError:
                value = -1
            if not 0 <= value <= LONGEST:
                raise SettingError("{name} 必须是 0 到 {longest} 之间的整秒数（而不是 {value!r}）",
                                   name=name, longest=LONGEST, value=text)
            found[field.name] = value
        return cls(**found)

    def as_env(self) -> dict[str, str]:
        """The settings as environment entries (for the event store's factory)."""
        return {NAMES[f.name]: str(getattr(self, f.name)) for f in fields(self)}

    def postgres_options(self) -> str:
        """libpq ``options`` setting the session's timeouts when it connects (no round
        trip of its own). A forgotten session cannot hold a lock for longer than the idle
        timeout, nor a runaway statement run past the statement timeout."""
        return (f"-c statement_timeout={self.statement_timeout}s "
                f"-c idle_in_transaction_session_timeout={self.idle_timeout}s "
                f"-c lock_timeout={self.lock_timeout}s")


def application_name() -> str:
    """How taizhang's sessions name themselves to PostgreSQL (``pg_stat_activity``): the
    process, so that an operator can tell which one holds or waits for a lock."""
    return f"taizhang/{os.getpid()}"
