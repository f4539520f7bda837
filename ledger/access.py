"""Who may do what on PostgreSQL, enforced by the database, not only by taizhang.

``setup`` (run by the owner of the store's schema) creates one group role per taizhang role
and a projector group, grants each the least it needs, and installs a trigger on the event
table that checks every inserted event: its account is the session's login
(``session_user``), the person who entered it is the one bound to that login by the
ledger's own events, a proxy entry is entered by an administrator or clerk, only an
administrator changes people and accounts, and an event claims its enterer's real role.
``grant`` gives a login the group of a person's role and binds the login to the person.

- auditors: SELECT on every table;
- admins, inspectors, unit members, clerks: SELECT on every table, INSERT on the events;
- the projector: SELECT on every table, INSERT/UPDATE/DELETE on the read models;
- only the owner runs DDL (``projections rebuild``, ``access setup``).

Superusers and the table's owner are not bound by triggers (they may disable them): the
identity trigger lets them through, and taizhang warns after every write they make.
"""

from __future__ import annotations

from typing import Any

from psycopg.sql import SQL, Identifier, Literal

from domain.base import Refused
from domain.roles import ADMIN, AUDITOR, CLERK, ROLES
from i18n import N_, _
from ledger.evidence import TableStore
from ledger.store import Store

PROJECTOR = "projector"
WRITERS = tuple(r for r in ROLES if r != AUDITOR)
MAX_NAME = 63


def group_role(store: Store, role: str) -> str:
    """The group role of a taizhang role in this store (database and schema)."""
    name = f"taizhang_{store.url.database}_{store.url.schema}_{role}"
    if len(name.encode()) > MAX_NAME:
        raise Refused("组角色名 {name!r} 超过了 PostgreSQL 的 {limit} 字节上限：请使用更短的数据库名或 "
                      "schema 名", name=name, limit=MAX_NAME)
    return name


def require_postgres(store: Store, what: str) -> None:
    if store.url.kind != "postgresql":
        raise Refused("{what} 只用于 PostgreSQL 存储；对 SQLite 文件，能写这个文件的人就能做任何事"
                      "（见 README 的“谁可以做什么”）", what=what)


def account_kind(store: Store) -> dict[str, Any]:
    """What kind of account this process runs as, and whether triggers bind it."""
    ledger = store.ledger
    account = ledger.account
    if store.url.kind == "sqlite":
        return {"account": account, "kind": "SQLite file writer", "bound_by_triggers": False,
                "may_write_read_models": True}
    # On the ledger's own connection (after a write, no other is opened, nor SQLAlchemy
    # loaded, to say what wrote).
    rows = ledger.recorder._select(  # type: ignore[attr-defined]
        "SELECT r.rolsuper AS superuser, "
        "pg_has_role(session_user, c.relowner, 'MEMBER') AS owner, "
        "has_table_privilege(c.oid, 'INSERT') AS writes, "
        "has_table_privilege(to_regclass(%s), 'UPDATE') AS projects "
        "FROM pg_roles r, pg_class c WHERE r.rolname = session_user "
        "AND c.oid = to_regclass(%s)",
        [_qualified(store, "rm_positions"), _qualified(store, _events_table(store))])
    row = rows[0] if rows else None
    if row is None:
        return {"account": account, "kind": "PostgreSQL login (no ledger yet)",
                "bound_by_triggers": True, "may_write_read_models": False}
    if row["superuser"]:
        kind = "PostgreSQL superuser"
    elif row["owner"]:
        kind = "owner of the event table"
    elif row["projects"]:
        kind = "projector"
    elif row["writes"]:
        kind = "writer (INSERT and SELECT on the events)"
    else:
        kind = "reader (SELECT only)"
    privileged = bool(row["superuser"] or row["owner"])
    return {"account": account, "kind": kind, "bound_by_triggers": not privileged,
            "may_write_read_models": bool(privileged or row["projects"])}


# The kinds of account (account_kind's machine "kind") as a person reads them.
KIND_WORDS = {"SQLite file writer": N_("SQLite 文件写入者"),
              "PostgreSQL login (no ledger yet)": N_("PostgreSQL 登录（尚无账本）"),
              "PostgreSQL superuser": N_("PostgreSQL 超级用户"),
              "owner of the event table": N_("事件表的所有者"), "projector": N_("投影维护者"),
              "writer (INSERT and SELECT on the events)": N_("写入者（对事件表可 INSERT 与 SELECT）"),
              "reader (SELECT only)": N_("读者（只可 SELECT）")}


def _kind_words(kind: str) -> str:
    word = KIND_WORDS.get(kind)
    return _(word) if word else kind


def describe_kind(store: Store) -> str:
    """One line: the account and its kind, in the language in use."""
    kind = account_kind(store)
    bound = "" if kind["bound_by_triggers"] else _("——追加写入与身份触发器约束不了它")
    return _("账户 {account}（{kind}{bound}）").format(
        account=kind["account"], kind=_kind_words(kind["kind"]), bound=bound)


def privileged_warning(store: Store) -> str | None:
    """The warning after a write by an account that triggers do not bind (PostgreSQL
    superusers and the event table's owner), or None."""
    if store.url.kind != "postgresql":
        return None
    kind = account_kind(store)
    if kind["bound_by_triggers"]:
        return None
    return _("以 {account}（{kind}）身份写入：追加写入与身份触发器约束不了这个账户（它可以停用它们）；"
             "每个人应以自己的登录连接（taizhang access grant）").format(
        account=kind["account"], kind=_kind_words(kind["kind"]))


def _events_table(store: Store) -> str:
    return str(store.ledger.recorder.events_table_name)


def _qualified(store: Store, table: str) -> str:
    return ".".join('"' + n.replace('"', '""') + '"' for n in (store.url.schema, table))


def setup(store: Store, tables: list[str]) -> list[str]:
    """Create the group roles, grant them their privileges on the store's tables (the
    event table and the read models ``tables``) and install the identity trigger. Safe to
    run again. Returns the group roles."""
    require_postgres(store, "access setup")
    schema = Identifier(store.url.schema)
    events = _events_table(store)
    read_models = [t for t in tables if t != events]
    groups = {role: group_role(store, role) for role in (*ROLES, PROJECTOR)}
    statements: list[Any] = []
    for role, name in groups.items():
        statements.append(SQL(
            "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = {0}) THEN "
            "CREATE ROLE {1} NOLOGIN; END IF; END $$").format(Literal(name), Identifier(name)))
        statements.append(SQL("GRANT USAGE ON SCHEMA {0} TO {1}").format(
            schema, Identifier(name)))
        statements.append(SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {0} TO {1}").format(
            schema, Identifier(name)))
        statements.append(SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA {0} GRANT SELECT ON "
                              "TABLES TO {1}").format(schema, Identifier(name)))
    TableStore(lambda: store.engine).make()  # the evidence store's table, made by the owner
    for role in WRITERS:
        for table in (events, "evidence"):
            statements.append(SQL("GRANT INSERT ON {0}.{1} TO {2}").format(
                schema, Identifier(table), Identifier(groups[role])))
    projector = Identifier(groups[PROJECTOR])
    for table in read_models:
        statements.append(SQL("GRANT INSERT, UPDATE, DELETE ON {0}.{1} TO {2}").format(
            schema, Identifier(table), projector))
    statements.append(SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA {0} GRANT INSERT, UPDATE, "
                          "DELETE ON TABLES TO {1}").format(schema, projector))
    statements.extend(identity_trigger(store.url.schema, events))
    with store.engine.begin() as conn:
        raw = conn.connection.driver_connection
        with raw.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    return list(groups.values())


def check_group(store: Store, role: str) -> str:
    """The group role of ``role``, refused if ``access setup`` has not made it."""
    import sqlalchemy as sa

    group = group_role(store, role)
    with store.engine.connect() as conn:
        if conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :n"),
                        {"n": group}).first() is None:
            raise Refused("组角色 {group} 不存在：请先（以所有者身份）运行 'taizhang access setup'",
                          group=group)
    return group


def grant(store: Store, role: str, login: str) -> dict[str, Any]:
    """Give ``login`` the group role of taizhang role ``role`` (creating the login, without
    a password, if it does not exist: its authentication is pg_hba.conf's business)."""
    require_postgres(store, "access projector" if role == PROJECTOR else "access grant")
    import sqlalchemy as sa

    group = check_group(store, role)
    created = False
    with store.engine.begin() as conn:
        if conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :n"),
                        {"n": login}).first() is None:
            conn.exec_driver_sql(SQL("CREATE ROLE {0} LOGIN").format(Identifier(login))
                                 .as_string(conn.connection.driver_connection))
            created = True
        conn.exec_driver_sql(SQL("GRANT {0} TO {1}").format(Identifier(group),
                                                            Identifier(login))
                             .as_string(conn.connection.driver_connection))
    return {"login": login, "group": group, "created": created}


def identity_trigger(schema_name: str, events: str) -> list[Any]:
    """The function and statement trigger that check each inserted batch of events."""
    schema = Identifier(schema_name)
    table = SQL("{0}.{1}").format(schema, Identifier(events))
    function = Identifier(f"{events}_identity")
    body = SQL("""
DECLARE
  privileged boolean;
  first_new bigint;
  founding boolean;
  enterers text[];
  enterer text;
  bound text;
  person_role text;
  retired boolean := false;
  ev record;
BEGIN
  SELECT r.rolsuper OR pg_has_role(session_user, c.relowner, 'MEMBER') INTO privileged
    FROM pg_roles r, pg_class c WHERE r.rolname = session_user AND c.oid = TG_RELID;
  IF privileged THEN RETURN NULL; END IF;
  IF EXISTS (SELECT 1 FROM new_rows WHERE account IS DISTINCT FROM session_user::text) THEN
    RAISE EXCEPTION 'taizhang: an event''s account must be the login that enters it (%)',
      session_user;
  END IF;
  SELECT min(notification_id) INTO first_new FROM new_rows;
  founding := EXISTS (SELECT 1 FROM new_rows WHERE originator_id = 'campaign'
                      AND originator_version = 1);
  SELECT array_agg(DISTINCT coalesce(s ->> 'entered_by', s ->> 'actor')) INTO enterers
    FROM (SELECT convert_from(state, 'UTF8')::jsonb AS s FROM new_rows) n;
  IF cardinality(enterers) <> 1 OR enterers[1] IS NULL THEN
    RAISE EXCEPTION 'taizhang: one login enters events as one person, not as %', enterers;
  END IF;
  enterer := enterers[1];
  FOR ev IN SELECT topic, convert_from(state, 'UTF8')::jsonb AS s FROM {table}
      WHERE originator_id = 'account:' || session_user
      AND (founding OR notification_id < first_new) ORDER BY originator_version LOOP
    bound := CASE WHEN ev.topic LIKE '%:Account.Unbound' THEN NULL
                  ELSE ev.s ->> 'person' END;
  END LOOP;
  IF bound IS NULL THEN
    RAISE EXCEPTION 'taizhang: login % is bound to no person: it may read but not write',
      session_user;
  END IF;
  IF bound <> enterer THEN
    RAISE EXCEPTION 'taizhang: login % is bound to %, not to %', session_user, bound,
      enterer;
  END IF;
  FOR ev IN SELECT topic, convert_from(state, 'UTF8')::jsonb AS s FROM {table}
      WHERE originator_id = 'person:' || enterer
      AND (founding OR notification_id < first_new) ORDER BY originator_version LOOP
    IF ev.topic LIKE '%:Person.Registered' THEN person_role := ev.s ->> 'person_role';
    ELSIF ev.topic LIKE '%:Person.Corrected' AND ev.s -> 'current' ? 'person_role' THEN
      person_role := ev.s -> 'changes' ->> 'person_role';
    ELSIF ev.topic LIKE '%:Person.Retired' THEN retired := true; END IF;
  END LOOP;
  IF person_role IS NULL OR retired THEN
    RAISE EXCEPTION 'taizhang: person % is not a registered, active person', enterer;
  END IF;
  IF EXISTS (SELECT 1 FROM new_rows WHERE convert_from(state, 'UTF8')::jsonb ->> 'actor'
             = enterer AND convert_from(state, 'UTF8')::jsonb ->> 'role'
             IS DISTINCT FROM person_role) THEN
    RAISE EXCEPTION 'taizhang: % is %, and an event of theirs must say so', enterer,
      person_role;
  END IF;
  IF person_role NOT IN ({admin}, {clerk}) AND EXISTS (SELECT 1 FROM new_rows
      WHERE convert_from(state, 'UTF8')::jsonb ->> 'entered_by' IS NOT NULL) THEN
    RAISE EXCEPTION 'taizhang: % (%) may not enter events on behalf of others', enterer,
      person_role;
  END IF;
  IF person_role <> {admin} AND NOT founding AND EXISTS (SELECT 1 FROM new_rows
      WHERE originator_id LIKE 'person:%' OR originator_id LIKE 'account:%'
      OR originator_id LIKE 'unit:%' OR originator_id = 'campaign') THEN
    RAISE EXCEPTION 'taizhang: % (%) may not change the registries', enterer, person_role;
  END IF;
  RETURN NULL;
END""").format(table=table, admin=Literal(ADMIN), clerk=Literal(CLERK))
    return [
        SQL("CREATE OR REPLACE FUNCTION {0}.{1}() RETURNS trigger LANGUAGE plpgsql "
            "AS {2}").format(schema, function, Literal(body.as_string(None))),
        SQL("CREATE OR REPLACE TRIGGER {0} AFTER INSERT ON {1} REFERENCING NEW TABLE AS "
            "new_rows FOR EACH STATEMENT EXECUTE FUNCTION {2}.{3}()").format(
            Identifier(f"{events}_identity"), table, schema, function),
    ]
