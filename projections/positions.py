"""Where each projection stands: its position in the log, and the chain hash of the event
there — which ledger its rows were folded from, checked before every answer."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ledger.chain import GENESIS, Tampered

POSITIONS = sa.Table(
    "rm_positions", sa.MetaData(),
    sa.Column("projection", sa.String(64), primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False),
    # The chain hash of the event at the position: which ledger the rows were folded from.
    sa.Column("hash", sa.String(64), nullable=True),
)


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
        """The check as ``projections status`` shows it."""
        if self.ok:
            return "ok"
        if self.found is None:
            return f"ahead of the ledger (head {head})" if self.position > head \
                else "its event is missing"
        return f"hash differs ({(self.hash or '')[:8]}… folded, {self.found[:8]}… now)"

    def refusal(self, head: int) -> Tampered:
        where = f"read model {self.projection} is at position {self.position}"
        if self.found is None and self.position > head:
            return Tampered(f"{where}, beyond the ledger's head {head}: the ledger went "
                            "back under it")
        if self.found is None:
            return Tampered(f"{where}, but the ledger holds no event there any more")
        return Tampered(f"{where}, but the ledger holds another event there than the one "
                        f"it was folded from (hash {(self.hash or '')[:16]}…, now "
                        f"{self.found[:16]}…)")


def add_hash_column(conn: Connection) -> None:
    """Positions kept before their hashes were: the column added, empty (NULL: only the
    position is checked) until the next fold stores the hash."""
    if "hash" not in {c["name"] for c in sa.inspect(conn).get_columns(POSITIONS.name)}:
        conn.execute(sa.text(f"ALTER TABLE {POSITIONS.name} ADD COLUMN hash VARCHAR(64)"))
