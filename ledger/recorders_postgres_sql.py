"""The SQL of the ledger's PostgreSQL recorder (``ledger.recorders_postgres``): its event
table with the append-only triggers and the guards, and the chained insert the server runs
under the write lock."""

from __future__ import annotations

from psycopg.sql import SQL, Composable, Composed, Identifier, Literal

from ledger.chain import GENESIS
from ledger.guards import APPEND_ONLY, postgres_guards


def table_statements(schema_name: str, events_table: str, index_name: str
                     ) -> list[Composable]:
    """The event table, its position index, the function refusing UPDATE, DELETE and
    TRUNCATE with its triggers, and the guards (``ledger.guards``)."""
    schema = Identifier(schema_name)
    table_sql = SQL("{}.{}").format(schema, Identifier(events_table))
    guard = Identifier(f"{events_table}_append_only")
    return [
        SQL("CREATE TABLE IF NOT EXISTS {t} ("
            "notification_id bigint NOT NULL, "
            "originator_id text COLLATE \"C\" NOT NULL, "
            "originator_version bigint NOT NULL, "
            "topic text NOT NULL, "
            "state bytea NOT NULL, "
            "recorded_at timestamptz NOT NULL, "
            "account text NOT NULL, "
            "hash text NOT NULL, "
            # Byte order (COLLATE "C") keeps zero-padded ids in numeric order.
            "PRIMARY KEY (originator_id, originator_version))").format(t=table_sql),
        SQL("CREATE UNIQUE INDEX IF NOT EXISTS {index} ON {t} (notification_id)").format(
            index=Identifier(index_name), t=table_sql),
        SQL("CREATE OR REPLACE FUNCTION {schema}.{guard}() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION "
            "'{message}: % refused', TG_OP; END $$").format(
            schema=schema, guard=guard, message=SQL(APPEND_ONLY)),
        SQL("CREATE OR REPLACE TRIGGER {trigger} BEFORE UPDATE OR DELETE ON {t} "
            "FOR EACH ROW EXECUTE FUNCTION {schema}.{guard}()").format(
            trigger=Identifier(f"{events_table}_no_change"), t=table_sql,
            schema=schema, guard=guard),
        SQL("CREATE OR REPLACE TRIGGER {trigger} BEFORE TRUNCATE ON {t} "
            "FOR EACH STATEMENT EXECUTE FUNCTION {schema}.{guard}()").format(
            trigger=Identifier(f"{events_table}_no_truncate"),
            t=table_sql, schema=schema, guard=guard),
        *postgres_guards(schema, events_table, guard),
    ]


def append_statement(table_sql: Composable, name: str) -> Composed:
    """The chained insert, prepared as ``name``: the chain extended by the server, under
    the write lock, in the statement that inserts (``ledger.chain.canonical``'s text, its
    middle, ``event_part``, computed by the recorder). Prepared once per connection (SQL's
    PREPARE: EXECUTE runs it in the one message of a command's write), so it is not parsed
    and planned again for every command."""
    return SQL(
        "PREPARE {name} (timestamptz, text[], bigint[], text[], bytea[], jsonb) AS "
        "WITH RECURSIVE head AS (SELECT coalesce(h.notification_id, 0) AS position, "
        "coalesce(h.hash, {genesis}) AS hash, "
        "greatest(coalesce($1::timestamptz, clock_timestamp()), h.recorded_at) AS at "
        "FROM (SELECT 1) o "
        "LEFT JOIN LATERAL (SELECT notification_id, recorded_at, hash FROM {t} "
        "ORDER BY notification_id DESC LIMIT 1) h ON true), "
        "stamp AS (SELECT at, '\"' || to_char(at AT TIME ZONE 'UTC', "
        "'YYYY-MM-DD\"T\"HH24:MI:SS.US') || '+00:00\",' "
        "|| to_json(session_user::text)::text || ']' AS tail FROM head), "
        # The events as rows, numbered, for the insert; each one's part of the chain's
        # text from a jsonb array, whose n-th element is found at once (a text array's
        # is found by walking the n-1 before it, and a join by scanning every row: either
        # made a save's cost grow with the square of its events).
        "args AS (SELECT * FROM unnest($2::text[], $3::bigint[], $4::text[], "
        "$5::bytea[]) WITH ORDINALITY AS a(id, version, topic, state, n)), "
        "parts AS (SELECT $6::jsonb AS parts), "
        "chain AS (SELECT 0::bigint AS n, position, hash FROM head UNION ALL "
        "SELECT chain.n + 1, chain.position + 1, encode(sha256(convert_to(chain.hash "
        "|| E'\\n[' || (chain.position + 1) || (parts.parts ->> chain.n::int) "
        "|| stamp.tail, 'UTF8')), 'hex') FROM chain, parts, stamp "
        "WHERE chain.n < jsonb_array_length(parts.parts)) "
        "INSERT INTO {t} (notification_id, originator_id, originator_version, topic, "
        "state, recorded_at, account, hash) SELECT chain.position, args.id, "
        "args.version, args.topic, args.state, stamp.at, "
        "session_user, chain.hash FROM chain JOIN args ON args.n = chain.n CROSS JOIN "
        "stamp ORDER BY chain.n "
        "RETURNING notification_id"
    ).format(t=table_sql, genesis=Literal(GENESIS), name=Identifier(name))
