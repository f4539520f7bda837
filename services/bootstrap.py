"""The composition root: the one place that builds what a command or a page works with.

``Services(store)`` holds the store and builds, on first use and once, the write side's
helpers (``indicators``, ``evaluations``, ``corrections``, the ``evidence`` store), the
read side (``read``) and what is computed over it (``indicator_queries``, ``evaluator``),
and the campaign's time zone. A command gets it from its ``Session``
(``session.services``), a page from its ``Page`` (``p.services``); neither builds any of
these itself.

Moments people type without an offset are read in the campaign's time zone here
(:meth:`Services.localize`) or by the read side (``ReadSide.at``), never in ``commands/``.
The zone is asked of the ledger once (``Ledger.zone``): a task command then loads the
campaign no more than once.

Imports are made where a part is first built: a command pays only for what it uses.
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from functools import cached_property
from typing import TYPE_CHECKING

from domain.base import localized

if TYPE_CHECKING:
    from ledger.app import Ledger
    from ledger.corrections import Corrections
    from ledger.evidence import EvidenceStore
    from ledger.evaluation import Evaluations
    from ledger.indicators import Indicators
    from ledger.store import Store
    from projections.engine import Upgrading
    from projections.evaluation import Evaluator
    from projections.indicators import IndicatorQueries
    from projections.read import ReadSide


class Services:
    """Everything one store's commands and pages use, each built once, when first asked.

    ``read``: a read side to share (a web login's own); by default one over ``store``,
    which shows with ``upgrading`` the rebuild of a read model another version built."""

    def __init__(self, store: Store, read: ReadSide | None = None,
                 upgrading: Upgrading | None = None) -> None:
        self.store = store
        self.upgrading = upgrading
        if read is not None:
            self.__dict__["read"] = read

    # --- the write side ---------------------------------------------------------------

    @property
    def ledger(self) -> Ledger:
        return self.store.ledger

    @cached_property
    def indicators(self) -> Indicators:
        from ledger.indicators import Indicators

        return Indicators(self.ledger)

    @cached_property
    def evaluations(self) -> Evaluations:
        from ledger.evaluation import Evaluations

        return Evaluations(self.ledger)

    @cached_property
    def corrections(self) -> Corrections:
        from ledger.corrections import Corrections

        return Corrections(self.ledger)

    @cached_property
    def evidence(self) -> EvidenceStore:
        """The store's evidence files (a folder beside SQLite, a table on PostgreSQL)."""
        from ledger.evidence import open_evidence

        return open_evidence(self.store)

    # --- the read side ----------------------------------------------------------------

    @cached_property
    def read(self) -> ReadSide:
        from projections.read import ReadSide

        return ReadSide(self.store, upgrading=self.upgrading)

    @cached_property
    def indicator_queries(self) -> IndicatorQueries:
        from projections.indicators import IndicatorQueries

        return IndicatorQueries(self.read)

    @cached_property
    def evaluator(self) -> Evaluator:
        from projections.evaluation import Evaluator

        return Evaluator(self.read)

    def evaluator_at(self, moment: datetime | None = None, *,
                     position: int | None = None) -> Evaluator:
        """The figures and rankings as the ledger stood at ``moment`` (without an offset,
        in the campaign's time zone) or after the event at ``position`` (``ReadSide.at``)."""
        from projections.evaluation import Evaluator

        return Evaluator(self.read.at(moment, position=position))

    # --- time -------------------------------------------------------------------------

    @property
    def zone(self) -> tzinfo:
        """The campaign's time zone (read once per ledger: no event changes it)."""
        return self.ledger.zone()

    def localize(self, moment: datetime | None) -> datetime | None:
        """A moment given without an offset happened in the campaign's time zone."""
        return None if moment is None else localized(moment, self.zone)

    def now(self) -> datetime:
        return self.ledger.clock()

    def today(self) -> date:
        """Today in the campaign's time zone."""
        return self.now().astimezone(self.zone).date()
