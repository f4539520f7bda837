"""A month's ranking: units ordered by score and the rules' tie-breakers, with shared
ranks, the red and black lists (红榜, 黑榜) and the change against the month before."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from domain.figures import Number
from domain.rules import SHARE, Rules

@dataclass(frozen=True)
class Entry:
    """A unit to rank: its code, score and figures."""

    unit: str
    score: Fraction
    figures: Mapping[str, Number | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Placed:
    """A unit's place in a month's ranking, and its change against the month before."""

    unit: str
    score: Fraction
    rank: int
    previous_rank: int | None
    previous_score: Fraction | None
    listed: str | None  # "red" (红榜), "black" (黑榜) or None

    @property
    def rank_change(self) -> int | None:
        """Places gained since last month (negative: lost); None if unranked then."""
        return None if self.previous_rank is None else self.previous_rank - self.rank

    @property
    def score_change(self) -> Fraction | None:
        return None if self.previous_score is None else self.score - self.previous_score


def _sort_key(entry: Entry, rules: Rules) -> tuple[Any, ...]:
    """Smaller is better: the score, then each tie-breaker (an undefined figure last)."""
    parts: list[Any] = [-entry.score]
    for breaker in rules.tie_breakers:
        value = entry.figures.get(breaker.figure)
        if value is None:
            parts.append((1, 0))
        else:
            value = Fraction(value)
            parts.append((0, -value if breaker.higher_is_better else value))
    return tuple(parts)


def rank(entries: Sequence[Entry], rules: Rules,
         previous: Mapping[str, tuple[int, Fraction]] | None = None) -> list[Placed]:
    """Order units by score (then by the rules' tie-breakers, then by code). Units equal in
    what decides the rank share it (1, 2, 2, 4): the score alone when ties are shared, the
    score and every tie-breaker when the rules break ties. The red list (红榜) is the units
    ranked within the first ``red`` places and the top half; the black list (黑榜) those
    within the last ``black`` places (counted from the bottom the same way) and the bottom
    half, unless already on the red list — so three units make one red and one black."""
    previous = previous or {}
    keys = {e.unit: _sort_key(e, rules) for e in entries}
    width = 1 if rules.ties == SHARE else len(rules.tie_breakers) + 1
    decisive = {u: k[:width] for u, k in keys.items()}
    ordered = sorted(entries, key=lambda e: (keys[e.unit], e.unit))
    values = sorted(decisive.values())
    placed = []
    for entry in ordered:
        mine = decisive[entry.unit]
        place = 1 + _count_less(values, mine)
        from_bottom = 1 + _count_greater(values, mine)
        listed = None
        if place <= rules.red and 2 * place <= len(values):
            listed = "red"
        elif from_bottom <= rules.black and 2 * from_bottom <= len(values):
            listed = "black"
        before = previous.get(entry.unit)
        placed.append(Placed(entry.unit, entry.score, place,
                             before[0] if before else None, before[1] if before else None,
                             listed))
    return placed


def _count_less(values: list[tuple[Any, ...]], key: tuple[Any, ...]) -> int:
    return bisect_left(values, key)


def _count_greater(values: list[tuple[Any, ...]], key: tuple[Any, ...]) -> int:
    return len(values) - bisect_right(values, key)
