"""On PostgreSQL the database enforces who may do what, not only the client.

Each taizhang role acts through the CLI and directly through psycopg as its own login role;
claiming another person, changing or removing events, writing read models and DDL are
refused by the database. The login and group roles made here have names of their own and
are dropped afterwards.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest

from cli_support import Cli
from conftest import POSTGRES, new_postgres_url
from ledger.store import StoreURL

PEOPLE = {"li": "inspector", "zhao": "unit", "sun": "auditor", "xiao": "clerk",
          "zhang": "admin"}


@pytest.fixture
def city() -> Iterator[dict[str, Any]]:
    """A ledger founded by the server's superuser (wang), with li, zhao, sun and xiao each
    given a login of their own, a projector login, and one login bound to no one."""
    for url in new_postgres_url():
        base = StoreURL.parse(POSTGRES)
        tag = f"tz{uuid.uuid4().hex[:8]}"
        logins = {name: f"{tag}_{name}" for name in [*PEOPLE, "projector", "stranger"]}
        owner = Cli(url)
        urls = {name: f"postgresql://{login}@{base.host}:{base.port}/{base.database}"
                      f"?schema={owner.store.url.schema}" for name, login in logins.items()}
        groups: list[str] = []
        try:
            owner.ok("campaign", "start", "--name", "创建全国文明城市", "--admin", "wang",
                     "--admin-name", "王主任", "--category", "环境卫生")
            owner.ok("unit", "add", "JS", "--name", "建设街道", "--kind", "街道")
            owner.ok("unit", "add", "JS01", "--name", "幸福社区", "--kind", "社区", "--parent",
                     "JS")
            for person, role in PEOPLE.items():
                owner.ok("person", "add", person, "--name", person, "--role", role,
                         *(["--unit", "JS01"] if role == "unit" else []))
            groups = owner.ok("access", "setup").splitlines()[0].split(": ")[1].split(", ")
            for person in PEOPLE:
                owner.ok("access", "grant", person, "--login", logins[person])
            owner.ok("access", "projector", "--login", logins["projector"])
            with _superuser() as conn:  # a login with an inspector's rights, bound to no one
                conn.execute(f'CREATE ROLE "{logins["stranger"]}" LOGIN')
                conn.execute(f'GRANT "{groups[1]}" TO "{logins["stranger"]}"')
            yield {"owner": owner, "url": url, "urls": urls, "logins": logins,
                   "schema": owner.store.url.schema, "groups": groups}
        finally:
            owner.close()
            with _superuser() as conn:
                for role in [*logins.values(), *groups]:
                    if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s",
                                    [role]).fetchone():
                        conn.execute(f'DROP OWNED BY "{role}"')
                        conn.execute(f'DROP ROLE "{role}"')


def _superuser() -> psycopg.Connection[Any]:
    base = StoreURL.parse(POSTGRES)
    return psycopg.connect(host=base.host, port=base.port, user=base.user,
                           dbname=base.database, autocommit=True)


def _login(city: dict[str, Any], name: str) -> psycopg.Connection[Any]:
    base = StoreURL.parse(POSTGRES)
    conn = psycopg.connect(host=base.host, port=base.port, user=city["logins"][name],
                           dbname=base.database, autocommit=True)
    conn.execute(f'SET search_path = "{city["schema"]}"')
    return conn


def _refused(conn: psycopg.Connection[Any], statement: str, params: list[Any],
             said: str) -> None:
    with pytest.raises(psycopg.Error) as caught:
        conn.execute(statement, params)
    assert said in str(caught.value), str(caught.value)


def _forge(conn: psycopg.Connection[Any], account: str, changes: dict[str, Any],
           originator: str = "T-000001", said: str = "") -> None:
    """Insert a copy of the task's first event under a new version, its state changed."""
    row = conn.execute("SELECT * FROM taizhang_events WHERE originator_id = 'T-000001' "
                       "AND originator_version = 1").fetchone()
    assert row is not None
    state = {**json.loads(bytes(row[4])), "entered_by": None, **changes}
    _refused(conn, "INSERT INTO taizhang_events VALUES (%s, %s, %s, %s, %s, now(), %s, %s)",
             [900000, originator, 900, row[3], json.dumps(state).encode(), account, "0" * 64],
             said)


def _positions(city: dict[str, Any]) -> tuple[int, int]:
    with _superuser() as conn:
        conn.execute(f'SET search_path = "{city["schema"]}"')
        head = conn.execute("SELECT max(notification_id) FROM taizhang_events").fetchone()
        moved = conn.execute("SELECT min(position) FROM rm_positions").fetchone()
    return moved[0], head[0]  # type: ignore[index]


def test_each_role_through_the_cli(city: dict[str, Any]) -> None:
    owner: Cli = city["owner"]
    cli = {name: Cli(url) for name, url in city["urls"].items()}
    try:
        # the superuser's writes are named
        result = owner("unit", "add", "JS02", "--name", "和平社区", "--kind", "社区",
                       "--parent", "JS")
        assert result.exit_code == 0
        assert result.stderr.startswith("Warning: written as postgres, a PostgreSQL "
                                        "superuser: the append-only and identity triggers "
                                        "do not bind this account"), result.stderr
        li, zhao, sun, xiao = cli["li"], cli["zhao"], cli["sun"], cli["xiao"]
        assert li.ok("inspect", "JS01", "--finding", "环境卫生|幸福路12号|牛皮癣") == \
            "I-000001 JS01 inspected by li: T-000001\n"
        li.refused("task", "escalate", "T-000001", "--reason", "x", claim="wang",
                   message=f"--as wang: account {city['logins']['li']} is bound to li (li), "
                           "not to wang (a clerk or administrator enters for another person "
                           "with --on-behalf-of)")
        # an administrator's login changes the registries and bindings (the trigger lets
        # an admin do so), an inspector's does not
        zhang = cli["zhang"]
        zhang.ok("person", "add", "zhou", "--name", "周督查", "--role", "inspector",
                 "--account", f"{city['logins']['li']}_2")
        zhang.ok("person", "unbind", "zhou", "--account", f"{city['logins']['li']}_2",
                 "--reason", "录错")
        li.refused("person", "bind", "zhou", "--account", "x",
                   message="li (inspector) may not manage the registries: that is for admin")
        # a writer may not write read models, yet its answers are current
        assert "T-000001" in li.ok("board")
        moved, head = _positions(city)
        assert moved < head
        assert "writer (INSERT and SELECT on the events)" in li.ok("projections", "status")
        zhao.ok("task", "ack", "T-000001")
        zhao.refused("task", "notice", "T-000001", "--number", "ZG-1", as_="li",
                     message="zhao (unit) may not enter events on behalf of another person: "
                             "that is for admin, clerk")
        xiao.ok("task", "notice", "T-000001", "--number", "ZG-1", as_="li")
        xiao.refused("task", "escalate", "T-000001", "--reason", "督办",
                     message="xiao (clerk) may not escalate: that is for admin, inspector")
        history = sun.ok("history", "T-000001")
        assert f"entered by xiao for li (inspector)" in history
        assert city["logins"]["zhao"] in history
        # the figures too are current for a login that may not write the read models
        assigned = json.loads(sun.ok("history", "T-000001", "--format", "json"))["events"][0]
        month = datetime.fromisoformat(assigned["occurred_at"]).astimezone(
            ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
        figures = json.loads(sun.ok("metrics", "--month", month, "--unit", "JS01",
                                    "--format", "json"))
        assert figures[0]["assigned"] == 1
        assert _positions(city)[0] < _positions(city)[1]
        verified = sun.ok("audit", "verify")
        assert f"ran as account {city['logins']['sun']} (reader (SELECT only))" in verified
        result = sun("audit", "checkpoint")
        assert result.exit_code == 1 and "permission denied for table taizhang_events" in \
            result.output and len(result.output.splitlines()) == 1
        cli["stranger"].refused(
            "task", "escalate", "T-000001", "--reason", "x",
            message=f"account {city['logins']['stranger']} is bound to no person in this "
                    "ledger: it may read but not write (an administrator binds it with "
                    "'taizhang person bind')")
        assert "T-000001" in cli["stranger"].ok("board")
        # the projector keeps the read models current
        assert "(projector)" in cli["projector"].ok("projections", "status")
        cli["projector"].ok("board")
        moved, head = _positions(city)
        assert moved == head
        accounts = {r["actor"]: (r["account"], r["entered_by"]) for r in
                    map(json.loads, sun.ok("timeline", "--format", "jsonl").splitlines())
                    if r["originator"] == "T-000001"}
        assert accounts == {"li": (city["logins"]["xiao"], "xiao"),
                            "zhao": (city["logins"]["zhao"], None)}
    finally:
        for runner in cli.values():
            runner.close()


# Refused to every login but the owner's, whatever its role.
NEVER = [
    ("UPDATE taizhang_events SET account = 'x'", "permission denied for table"),
    ("DELETE FROM taizhang_events", "permission denied for table"),
    ("TRUNCATE taizhang_events", "permission denied for table"),
    ("ALTER TABLE taizhang_events DISABLE TRIGGER ALL", "must be owner of table"),
    ("CREATE TABLE evil (a int)", "permission denied for schema"),
    ("DROP TABLE rm_tasks", "must be owner of table rm_tasks"),
    ("ALTER TABLE rm_tasks ADD COLUMN evil int", "must be owner of table rm_tasks"),
]
# Refused to every login but the owner's and the projector's.
READ_MODEL_WRITES = [
    "UPDATE rm_tasks SET state = 'closed'", "DELETE FROM rm_positions",
    # the issue's attack: a 社区's deductions deleted to lift its rank
    "DELETE FROM rm_metric_tasks", "INSERT INTO rm_accounts VALUES ('x', 'li', 'now')",
]


def _insert(conn: psycopg.Connection[Any], account: str, changes: dict[str, Any],
            originator: str = "T-000001") -> None:
    """Insert (and roll back) a copy of the task's first event, its state changed: what
    the login may enter."""
    row = conn.execute("SELECT topic, state FROM taizhang_events WHERE originator_id = "
                       "'T-000001' AND originator_version = 1").fetchone()
    assert row is not None
    state = {**json.loads(bytes(row[1])), "entered_by": None, **changes}
    with conn.transaction(force_rollback=True):
        conn.execute("INSERT INTO taizhang_events VALUES (%s, %s, %s, %s, %s, now(), %s, %s)",
                     [900000, originator, 900, row[0], json.dumps(state).encode(), account,
                      "0" * 64])


def test_each_role_directly_through_the_database(city: dict[str, Any]) -> None:
    owner: Cli = city["owner"]
    owner.ok("inspect", "JS01", "--finding", "环境卫生|幸福路12号|牛皮癣", as_="li")
    logins = city["logins"]
    for name in logins:
        with _login(city, name) as conn:
            assert conn.execute("SELECT count(*) FROM taizhang_events").fetchone()[0] > 0
            assert conn.execute("SELECT count(*) FROM rm_positions").fetchone()[0] > 0
            for statement, said in NEVER:
                _refused(conn, statement, [], said)
            if name == "projector":  # writes the read models, enters no events
                with conn.transaction(force_rollback=True):
                    conn.execute("UPDATE rm_tasks SET state = state")
                    conn.execute("DELETE FROM rm_metric_tasks")
                _forge(conn, logins[name], {}, said="permission denied for table "
                                                    "taizhang_events")
                continue
            for statement in READ_MODEL_WRITES:
                _refused(conn, statement, [], "permission denied for table")
            if name == "sun":  # an auditor only reads
                _forge(conn, logins[name], {"actor": "sun", "role": "auditor"},
                       said="permission denied for table taizhang_events")
                continue
            if name == "stranger":
                _forge(conn, logins[name], {}, said=f"login {logins[name]} is bound to no "
                                                    "person")
                continue
            role = PEOPLE[name]
            # claiming another person, or another account, is refused by the database
            _forge(conn, logins[name], {"actor": "wang", "role": "admin"},
                   said=f"login {logins[name]} is bound to {name}, not to wang")
            _forge(conn, "postgres", {"actor": name, "role": role},
                   said=f"an event's account must be the login that enters it "
                        f"({logins[name]})")
            # and so is claiming a role one does not have
            other = "admin" if role != "admin" else "unit"
            _forge(conn, logins[name], {"actor": name, "role": other},
                   said=f"{name} is {role}, and an event of theirs must say so")
            # what the login may enter is accepted
            _insert(conn, logins[name], {"actor": name, "role": role})
            if role in ("admin", "clerk"):  # a proxy entry
                _insert(conn, logins[name], {"actor": "li", "role": "inspector",
                                             "entered_by": name})
                if role == "admin":
                    _insert(conn, logins[name], {"actor": name, "role": role},
                            originator="account:someone@pc")
            else:
                _forge(conn, logins[name], {"actor": "li", "role": "inspector",
                                            "entered_by": name},
                       said=f"{name} ({role}) may not enter events on behalf of others")
            if role != "admin":
                _forge(conn, logins[name], {"actor": name, "role": role},
                       originator="account:" + logins[name] + "x",
                       said=f"{name} ({role}) may not change the registries")


def test_a_corrected_role_is_the_role_the_database_checks(city: dict[str, Any]) -> None:
    """A person's role corrected by an event (li registered as an inspector by mistake):
    the database's trigger judges their events by the role as corrected, as the program
    does, and no longer by the one first registered."""
    owner: Cli = city["owner"]
    li = Cli(city["urls"]["li"])
    try:
        li.ok("inspect", "JS01", "--finding", "环境卫生|幸福路12号|牛皮癣")
        corrected = owner("correct", "person:li", "--set", "person_role=admin", "--reason",
                          "任命录错")
        assert corrected.exit_code == 0, corrected.output
        li.ok("task", "escalate", "T-000001", "--reason", "督办")
        with _login(city, "li") as conn:
            _forge(conn, city["logins"]["li"], {"actor": "li", "role": "inspector"},
                   said="li is admin, and an event of theirs must say so")
    finally:
        li.close()


def test_a_grant_before_the_setup_is_refused_and_writes_nothing() -> None:
    for url in new_postgres_url():
        owner = Cli(url)
        try:
            owner.ok("campaign", "start", "--name", "创建全国文明城市", "--admin", "wang",
                     "--admin-name", "王主任")
            owner.ok("person", "add", "li", "--name", "李督查", "--role", "inspector")
            group = f"taizhang_{owner.store.url.database}_{owner.store.url.schema}_inspector"
            owner.refused("access", "grant", "li", "--login", "nobody_here",
                          message=f"group role {group} does not exist: run 'taizhang access "
                                  "setup' first (as the owner)")
            owner.refused("access", "grant", "ghost", "--login", "nobody_here",
                          message="unknown person: ghost")
            with _superuser() as conn:
                assert conn.execute("SELECT 1 FROM pg_roles WHERE rolname = 'nobody_here'"
                                    ).fetchone() is None
        finally:
            owner.close()


def test_projections_follow_as_the_projector_keeps_the_read_models_current(
        city: dict[str, Any]) -> None:
    import threading
    import time

    from ledger.store import Store
    from projections.follow import follow
    from projections.read import ReadSide

    projector = Store(city["urls"]["projector"])
    stop = threading.Event()
    follower = threading.Thread(target=follow, args=(ReadSide(projector), stop),
                                kwargs={"interval": 0.1})
    follower.start()
    li = Cli(city["urls"]["li"])
    try:
        li.ok("inspect", "JS01", "--finding", "环境卫生|幸福路12号|牛皮癣")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(set(_positions(city))) != 1:
            time.sleep(0.05)
        moved, head = _positions(city)
        assert moved == head  # li's login wrote no read model: the follower did
        # ... and recorded its advance, for `projections status` (granted by access setup)
        from projections.follow import last_advance

        while time.monotonic() < deadline and (last_advance(projector) or {}).get(
                "position") != head:
            time.sleep(0.05)
        assert (last_advance(projector) or {}).get("position") == head
    finally:
        stop.set()
        follower.join(timeout=10)
        li.close()
        projector.close()
    assert not follower.is_alive()


def test_a_units_login_keeps_its_photo_and_may_not_delete_it(
        city: dict[str, Any], tmp_path: Path) -> None:
    """The evidence table, made at setup by the owner: writers insert, never delete."""
    li, zhao = Cli(city["urls"]["li"]), Cli(city["urls"]["zhao"])
    photo = tmp_path / "after.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    digest = hashlib.sha256(photo.read_bytes()).hexdigest()
    try:
        li.ok("task", "assign", "--unit", "JS01", "--category", "环境卫生", "--source",
              "inspection", "--location", "幸福路12号", "--description", "牛皮癣",
              "--deadline", "7wd", "--notice", "ZG-1")
        zhao.ok("task", "report", "T-000001", "--description", "已清除", "--evidence",
                f"{photo}:整改后")
        assert zhao.ok("audit", "verify", "--evidence").splitlines()[-1] == (
            "evidence: 1 citations checked, every file kept and unaltered")
        with _login(city, "zhao") as conn:
            _refused(conn, "DELETE FROM evidence WHERE sha256 = %s", [digest],
                     "permission denied")
    finally:
        li.close()
        zhao.close()
