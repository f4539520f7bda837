"""A unit's score for a month: the rules applied to its figures.

Scores are computed exactly (fractions) and rounded to two decimals, halves up (四舍五入,
see ``domain/rounding.py``), before ranking, so two units whose scores print alike share a
rank."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

from domain.figures import Number
from domain.rounding import half_up
from domain.rules import Rules

@dataclass(frozen=True)
class ScoreLine:
    """One term of a score: a deduction (count × points) or a weighted rate."""

    figure: str
    kind: str  # "deduction" | "rate"
    value: Number | None  # the figure's value (None: undefined)
    used: Fraction  # the value the rule used (the count; the rate clamped, or if_none)
    factor: Fraction  # points per count, or the weight
    points: Fraction  # what it adds to the score (negative for deductions)


@dataclass(frozen=True)
class Score:
    total: Fraction  # rounded to two decimals
    lines: tuple[ScoreLine, ...]


TWO_PLACES = 2


def score(rules: Rules, figures: Mapping[str, Number | None], units: int = 1) -> Score:
    """A unit's score for a month: base − deductions + weighted rates (floored, rounded).

    ``units`` is how many units at the bottom of its tree a unit's figures total (a
    街道's 社区 and 物业); with ``counts_per_unit`` each count is deducted per such unit."""
    total = rules.base
    lines = []
    for name, points in rules.deductions.items():
        count = Fraction(figures.get(name) or 0)
        if rules.counts_per_unit and units > 1:
            count /= units
        term = -points * count
        total += term
        lines.append(ScoreLine(name, "deduction", figures.get(name), count, points, term))
    for name, rule in rules.rates.items():
        value = figures.get(name)
        used = rule.if_none if value is None else Fraction(value)
        if rule.cap is not None:
            used = min(used, rule.cap)
        term = rule.weight * used
        total += term
        lines.append(ScoreLine(name, "rate", value, used, rule.weight, term))
    if rules.floor is not None:
        total = max(total, rules.floor)
    return Score(half_up(total, TWO_PLACES), tuple(lines))
