"""Which publications have been reproduced: a month's every ranking recomputed from the
events up to its publication's position, and found to have the digest published.

What a reproduction finds depends only on the events up to that position (kept unchanged by
the audit chain, whose hash there the publication names) and on how rankings are computed.
So once a publication has reproduced, ``rank --published`` need not recompute every level
of the city again to show one ranking: it checks this record — the same month, position,
digest and chain head, and the same computation — and computes only the ranking shown,
from the events up to the publication's position. A record that does not match is not
used: the publication is reproduced again (and the record replaced when it does).

The record is kept beside the read models; an account that may not write them reproduces
every time.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from projections.metrics import Metrics

# Raise when the computation of a ranking from the metrics changes: every publication is
# then reproduced again before it is trusted. The metrics' own version is part of it.
RANKING_COMPUTATION = 1

_METADATA = sa.MetaData()
REPRODUCED = sa.Table(
    "rm_reproduced", _METADATA,
    sa.Column("month", sa.String(7), primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("head", sa.Text, nullable=False),
    sa.Column("computation", sa.String(40), nullable=False),
)


def computation() -> str:
    return f"ranking {RANKING_COMPUTATION}, metrics {Metrics.version}"


def _fields(publication: dict[str, Any]) -> dict[str, Any]:
    return {"month": publication["month"], "position": publication["position"],
            "digest": publication["digest"], "head": publication["head"],
            "computation": computation()}


def reproduced(engine: Engine, publication: dict[str, Any]) -> bool:
    """Whether this very publication was reproduced by this computation."""
    try:
        with engine.connect() as conn:
            row = conn.execute(sa.select(REPRODUCED).where(
                REPRODUCED.c.month == publication["month"])).mappings().first()
    except sa.exc.DBAPIError:  # never recorded here (no table yet)
        return False
    return row is not None and dict(row) == _fields(publication)


def record(engine: Engine, publication: dict[str, Any]) -> None:
    """Note that the publication reproduced (nothing, where this account may not write)."""
    try:
        _METADATA.create_all(engine, checkfirst=True)
        with engine.begin() as conn:
            conn.execute(sa.delete(REPRODUCED).where(
                REPRODUCED.c.month == publication["month"]))
            conn.execute(sa.insert(REPRODUCED).values(**_fields(publication)))
    except sa.exc.DBAPIError:
        return
