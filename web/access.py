"""Who may read: a one-time login link, sessions that expire, and CSRF tokens.

The server (on a SQLite store, listening on the loopback address only) acts as the account
that started it. It prints a login URL holding a one-time token, as notebook servers do;
opening it starts a session (a random id in an HttpOnly cookie, kept in the server's memory
with its expiry and its CSRF token) and spends the token: the server then prints the next
one on its console, so whoever holds the console can always log in again, and a login URL
seen by anyone else afterwards is worthless. Every form that posts carries the session's
CSRF token, compared in constant time.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

COOKIE = "taizhang_session"


@dataclass
class Session:
    """One logged-in browser. A PostgreSQL login brings its own store (its connection, as
    that role), its read side with what takes its snapshots (``reader``,
    ``web.snapshot.Reader``) and the units it may see (None: all)."""

    id: str
    who: str
    expires: float
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    store: Any = None
    read: Any = None
    scope: list[str] | None = None
    reader: Any = None


class Gate:
    """The login tokens and the sessions of one server (in memory: a restart logs
    everybody out)."""

    def __init__(self, who: str, lifetime: float, announce: Callable[[str], None] | None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """``announce`` prints each login link; None: no links (logins by password)."""
        self.who = who
        self.lifetime = lifetime
        self.announce = announce
        self.clock = clock
        self.api_key = secrets.token_urlsafe(24)
        self._token = ""
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()
        if announce is not None:
            self.next_token()

    @property
    def token(self) -> str:
        return self._token

    def next_token(self) -> str:
        """Mint the next one-time login token and announce it."""
        self._token = secrets.token_urlsafe(32)
        self.announce(self._token)  # type: ignore[misc]
        return self._token

    def open(self, who: str, **extra: Any) -> Session:
        """A session for a login the store authenticated."""
        with self._lock:
            self._forget_expired()
            session = Session(secrets.token_urlsafe(32), who, self.clock() + self.lifetime,
                              **extra)
            self._sessions[session.id] = session
            return session

    def login(self, token: str) -> Session | None:
        """Spend the token: a new session, or None if the token is not the current one."""
        with self._lock:
            if not token or not self._token or not secrets.compare_digest(token, self._token):
                return None
            self._forget_expired()
            session = Session(secrets.token_urlsafe(32), self.who,
                              self.clock() + self.lifetime)
            self._sessions[session.id] = session
            self.next_token()
            return session

    def session(self, session_id: str | None) -> Session | None:
        """The live session with this id (None: absent, unknown or expired)."""
        if not session_id:
            return None
        with self._lock:
            found = self._sessions.get(session_id)
            if found is None:
                return None
            if found.expires <= self.clock():
                del self._sessions[session_id]
                return None
            return found

    def logout(self, session_id: str) -> None:
        with self._lock:
            gone = self._sessions.pop(session_id, None)
        if gone is not None and gone.store is not None:
            gone.store.close()

    def close(self) -> None:
        """End every session (closing the stores of PostgreSQL logins)."""
        with self._lock:
            gone, self._sessions = list(self._sessions.values()), {}
        for session in gone:
            if session.store is not None:
                session.store.close()

    def key_ok(self, key: str | None) -> bool:
        return bool(key) and secrets.compare_digest(key, self.api_key)  # type: ignore[arg-type]

    def _forget_expired(self) -> None:
        now = self.clock()
        for sid in [sid for sid, s in self._sessions.items() if s.expires <= now]:
            gone = self._sessions.pop(sid)
            if gone.store is not None:
                gone.store.close()


def csrf_ok(session: Session, sent: str | None) -> bool:
    return bool(sent) and secrets.compare_digest(sent, session.csrf)  # type: ignore[arg-type]
