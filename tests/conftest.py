"""Shared fixtures: a store on each backend, a controllable clock, a small campaign.

Storage-dependent tests take ``store_url``, which runs them on SQLite and on PostgreSQL.
PostgreSQL comes from ``TAIZHANG_TEST_POSTGRES`` (default
``postgresql://postgres@127.0.0.1:5432/test``); each test gets a schema of its own. When no
server answers, the PostgreSQL runs are skipped with the reason — unless
``TAIZHANG_REQUIRE_POSTGRES=1`` (as ``.ci/run`` sets), when they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

import i18n
from ledger.app import Ledger
from ledger.store import Store, StoreURL

POSTGRES = os.environ.get("TAIZHANG_TEST_POSTGRES",
                          "postgresql://postgres@127.0.0.1:5432/test")
REQUIRE_POSTGRES = os.environ.get("TAIZHANG_REQUIRE_POSTGRES") == "1"


def _postgres_problem() -> str | None:
    try:
        engine = sa.create_engine(StoreURL.parse(POSTGRES).sqlalchemy_url(),
                                  connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
    except Exception as e:  # noqa: BLE001 - any failure means: no server to test against
        return f"no PostgreSQL at {POSTGRES}: {str(e).splitlines()[0]}"
    return None


_PG_PROBLEM: list[str | None] = []


def postgres_problem() -> str | None:
    if not _PG_PROBLEM:
        _PG_PROBLEM.append(_postgres_problem())
    return _PG_PROBLEM[0]


def new_postgres_url() -> Iterator[str]:
    """A fresh schema on the test server, dropped afterwards."""
    problem = postgres_problem()
    if problem:
        if REQUIRE_POSTGRES:
            pytest.fail(problem)
        pytest.skip(problem)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    separator = "&" if "?" in POSTGRES else "?"
    url = f"{POSTGRES}{separator}schema={schema}"
    yield url
    engine = sa.create_engine(StoreURL.parse(POSTGRES).sqlalchemy_url())
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture(autouse=True, scope="session")
def witness_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The tests keep their witnesses (``ledger.witness``, one file per store) in a folder
    of their own, never in the home of the account running them — from the first fixture
    on (a module's fixtures run commands too)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))
        yield


@pytest.fixture(autouse=True)
def default_language() -> Iterator[None]:
    """Each test starts in the default language, whatever a test before it set with
    ``i18n.use`` (a command keeps its own ``--lang`` to its invocation; a test's direct
    ``use`` or a ``run()`` with the caller showing errors does not)."""
    i18n.use(i18n.DEFAULT)
    yield
    i18n.use(i18n.DEFAULT)


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """A new, empty store on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}"
    else:
        yield from new_postgres_url()


@pytest.fixture
def sqlite_url(tmp_path) -> str:  # type: ignore[no-untyped-def]
    """A new, empty SQLite store (for tests that are not about storage)."""
    return f"sqlite:///{tmp_path / 'ledger.db'}"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2024, 6, 1, 9, 0, tzinfo=timezone.utc))


@pytest.fixture
def store(store_url: str, clock: Clock) -> Iterator[Store]:
    opened = Store(store_url, clock=clock)
    yield opened
    opened.close()


@pytest.fixture
def ledger(store: Store) -> Ledger:
    return store.ledger


def seed_campaign(ledger: Ledger) -> None:
    """A small campaign: an admin, a 街道 with two 社区, a 部门, two inspectors, two unit
    members (one per 社区) and an auditor."""
    ledger.start_campaign(name="创建全国文明城市 2024", time_zone="Asia/Shanghai",
                          categories=[], required_inspections=2, admin_id="admin",
                          admin_name="王主任")
    ledger.register_unit(actor_id="admin", code="JS", name="建设街道", kind="街道")
    ledger.register_unit(actor_id="admin", code="JS01", name="幸福社区", kind="社区", parent="JS")
    ledger.register_unit(actor_id="admin", code="JS02", name="和平社区", kind="社区", parent="JS")
    ledger.register_unit(actor_id="admin", code="CGJ", name="城管局", kind="部门")
    ledger.register_person(actor_id="admin", person_id="li", name="李督查", role="inspector")
    ledger.register_person(actor_id="admin", person_id="zhou", name="周督查", role="inspector")
    ledger.register_person(actor_id="admin", person_id="zhao", name="赵社区", role="unit",
                           unit="JS01")
    ledger.register_person(actor_id="admin", person_id="qian", name="钱社区", role="unit",
                           unit="JS02")
    ledger.register_person(actor_id="admin", person_id="sun", name="孙审计", role="auditor")


@pytest.fixture
def seeded(ledger: Ledger) -> Ledger:
    seed_campaign(ledger)
    return ledger
