"""A PostgreSQL store made before the bulk copy skipped the guard trigger's probes (its
BEFORE INSERT trigger without the WHEN on ``taizhang.chained_copy``): its owner remakes the
trigger when next opening the store; a login that may not alter the table opens it and
writes as before, the old trigger still refusing a replaced event."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from cli_support import Cli

from tests.tier3_cli.test_access_postgres import _login, _superuser, city as access_city  # noqa: F401



def _as_before(table: str) -> None:
    """The BEFORE INSERT trigger as versions before the WHEN made it."""
    schema, name = table.split(".")
    with _superuser() as conn:
        conn.execute(f"CREATE OR REPLACE TRIGGER {name}_no_replace BEFORE INSERT ON {table} "
                     f"FOR EACH ROW EXECUTE FUNCTION {schema}.{name}_no_replace()")


def _has_when(table: str) -> bool:
    with _superuser() as conn:
        row = conn.execute("SELECT tgqual IS NOT NULL FROM pg_trigger WHERE tgname = %s "
                           "AND tgrelid = to_regclass(%s)",
                           [f"{table.split('.')[1]}_no_replace", table]).fetchone()
    assert row is not None
    return bool(row[0])


def test_the_owner_remakes_an_old_guard_and_other_logins_write_as_before(
        access_city: dict[str, Any]) -> None:  # noqa: F811
    owner: Cli = access_city["owner"]
    table = f'{access_city["schema"]}.{owner.store.ledger.recorder.events_table_name}'
    assert _has_when(table)
    owner.close()
    _as_before(table)
    assert not _has_when(table)
    li = Cli(access_city["urls"]["li"])  # an inspector's login: INSERT and SELECT only
    try:
        li.ok("inspect", "JS01", "--note", "例行巡查")
        assert not _has_when(table)  # not this login's to remake
        # The old trigger still refuses an event over a stored one.
        with _login(access_city, "li") as conn, \
                pytest.raises(psycopg.errors.UniqueViolation, match="append-only"):
            conn.execute(f"INSERT INTO {table} SELECT * FROM {table} "
                         "WHERE notification_id = 1")
    finally:
        li.close()
    owner.ok("campaign", "show")
    assert _has_when(table)
    assert owner.ok("audit", "verify").startswith("chain verified")
