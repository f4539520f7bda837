"""The ledger's PostgreSQL persistence factory (beside ``ledger.factories``, in a module of
its own: it loads the PostgreSQL driver, which a store on SQLite never needs)."""

from __future__ import annotations

from typing import Any

from eventsourcing.postgres import PostgresFactory

from ledger.settings import Settings, application_name


class LedgerPostgresFactory(PostgresFactory):
    """The library's PostgreSQL persistence, its sessions opened with taizhang's
    statement, idle-in-transaction and lock timeouts, its recorder bounded by the lock
    settings (ledger.settings)."""

    def __init__(self, env: Any):
        super().__init__(env)
        self.settings = Settings.from_env(self.env)
        # Read when each connection is made (the pool opens on first use).
        self.datastore.pool.kwargs["options"] = self.settings.postgres_options()
        self.datastore.pool.kwargs["application_name"] = application_name()

    def application_recorder(self) -> Any:
        recorder = super().application_recorder()
        recorder.settings = self.settings
        return recorder
