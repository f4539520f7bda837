"""Where each projection stands: its position in the log, the chain hash of the event
there — which ledger its rows were folded from, checked before every answer — and the
version of the projection that built its rows (rebuilt when the code's differs)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
import sqlalchemy.exc
from sqlalchemy.engine import Connection

from i18n import _
from domain.base import Said
from ledger.chain import GENESIS, Tampered

POSITIONS = sa.Table(
    "rm_positions", sa.MetaData(),
    sa.Column("projection", sa.String(64), primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False),
    # The chain hash of the event at the position: which ledger the rows were folded from.
    sa.Column("hash", sa.String(64), nullable=True),
    # The projection's version that built the rows (``Projection.version``; NULL: built
    # before versions were kept, by version 1).
    sa.Column("version", sa.Integer, nullable=True),
)
# The version of rows built before versions were recorded.
FIRST_VERSION = 1


@dataclass(frozen=True)
class Standing:
    """A projection's position, and whether the ledger still holds what it was folded
    from: the event at the position, with the hash it had when it was folded."""

    projection: str
    position: int
    hash: str | None  # as folded (None: folded before hashes were kept, not yet filled)
    found: str | None  # the ledger's hash at the position now (None: no event there)

    @property
    def ok(self) -> bool:
        if self.position == 0:
            return self.hash in (None, GENESIS)
        return self.found is not None and self.hash in (None, self.found)

    def check(self, head: int) -> str:
        """The check as ``projections status`` gives it to programs (JSON, CSV)."""
        if self.ok:
            return "ok"
        if self.found is None:
            return f"ahead of the ledger (head {head})" if self.position > head \
                else "its event is missing"
        return f"hash differs ({(self.hash or '')[:8]}… folded, {self.found[:8]}… now)"

    def said(self, head: int) -> Said:
        """The check as a person reads it (``projections status``' table): the words of
        :meth:`check`, in the language in use (``i18n.refusal``)."""
        if self.ok:
            return Said("一致")
        if self.found is None:
            return Said("领先于账本（链头 {head}）", head=head) if self.position > head \
                else Said("其位置上的事件已不在账本中")
        return Said("哈希不符（折叠时 {folded}…，现为 {now}…）", folded=(self.hash or "")[:8],
                    now=self.found[:8])

    def refusal(self, head: int) -> Tampered:
        if self.found is None and self.position > head:
            return Tampered("读模型 {projection} 处于位置 {position}，超过了账本的链头 {head}："
                            "账本退到了它之下", projection=self.projection,
                            position=self.position, head=head)
        if self.found is None:
            return Tampered("读模型 {projection} 处于位置 {position}，但账本在那里已没有事件",
                            projection=self.projection, position=self.position)
        return Tampered("读模型 {projection} 处于位置 {position}，但账本在那里的事件不是它当初"
                        "折叠的那一个（哈希 {folded}…，现为 {now}…）",
                        projection=self.projection, position=self.position,
                        folded=(self.hash or "")[:16], now=self.found[:16])


def add_hash_column(conn: Connection) -> bool:
    """Positions kept before their hashes or versions were: the columns added, empty (a
    NULL hash: only the position is checked until the next fold stores the hash; a NULL
    version: the rows of version 1). Returns whether the versions are kept."""
    present = {c["name"] for c in sa.inspect(conn).get_columns(POSITIONS.name)}
    if "hash" not in present:
        conn.execute(sa.text(f"ALTER TABLE {POSITIONS.name} ADD COLUMN hash VARCHAR(64)"))
    if "version" in present:
        return True
    add = sa.text(f"ALTER TABLE {POSITIONS.name} ADD COLUMN version INTEGER")
    if conn.dialect.name == "sqlite":
        conn.execute(add)
        return True
    # A login that may not alter the table (an auditor's, first to open a store kept
    # before versions were) leaves it to the next one that may: until then the rows count
    # as version 1's.
    try:
        with conn.begin_nested():
            conn.execute(add)
    except sa.exc.DBAPIError:
        return False
    return True


@dataclass(frozen=True)
class Outdated:
    """A projection whose rows another version of it built than the code's."""

    projection: str
    built_by: int
    code: int

    def reason(self) -> str:
        return _("读模型 {projection} v{built} → v{code}：正在重建").format(
            projection=self.projection, built=self.built_by, code=self.code)


def recorded_versions(conn: Connection, names: list[str]) -> dict[str, int]:
    """The version that built each projection's rows, as its position row records it."""
    return {r[0]: FIRST_VERSION if r[1] is None else r[1] for r in conn.execute(
        sa.select(POSITIONS.c.projection, POSITIONS.c.version)
        .where(POSITIONS.c.projection.in_(names)))}


def log_table(name: str) -> sa.TableClause:
    """The event table ``name`` (in the read models' database), as a read model's query
    joins it by position for what the event table holds and a read model need not keep
    again: originator, version, topic, the event's state, transaction time and account."""
    return sa.table(name, sa.column("notification_id", sa.BigInteger),
                    sa.column("originator_id", sa.String), sa.column("originator_version",
                                                                      sa.Integer),
                    sa.column("topic", sa.String), sa.column("state"),
                    sa.column("recorded_at"), sa.column("account", sa.String))
