"""A month book whose figures and scores are computed once per unit and month: a bulletin
asks for the same ones for its totals, its rankings and its chart."""

from __future__ import annotations

from typing import Any

from domain.scoring import score
from ledger.evaluation import RulesVersion
from projections.stored_book import StoredBook
from projections.metrics import MonthBook, Tally, Units


class Shared:
    """A month book whose figures and scores are computed once per unit and month: a
    bulletin asks for the same ones for its totals, its rankings and its chart."""

    def __init__(self, book: MonthBook | StoredBook, units: Units) -> None:
        self.book = book
        self.units = units
        self.tallies = book.tallies
        self._figures: dict[tuple[str, str], dict[str, Any]] = {}
        self._scores: dict[tuple[int, str, str, str], Any] = {}

    def tally(self, unit: str, month: str) -> Tally:
        return self.book.tally(unit, month)

    def figures(self, unit: str, month: str) -> dict[str, Any]:
        key = (unit, month)
        found = self._figures.get(key)
        if found is None:
            found = self._figures[key] = self.book.figures(unit, month)
        return found

    def score(self, rules: RulesVersion, unit: str, month: str) -> Any:
        """The unit's score of the month by these rules (a version, known by its digest)."""
        key = (rules.version, rules.digest, unit, month)
        found = self._scores.get(key)
        if found is None:
            found = self._scores[key] = score(rules.rules, self.figures(unit, month),
                                              self.tally(unit, month).units)
        return found
