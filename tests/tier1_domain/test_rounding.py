"""One rounding rule for figures people read: 四舍五入 (halves away from zero), never
Python's halves-to-even nor a float's binary value."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.rules import Rules
from domain.scoring import score
from domain.rounding import fixed, half_up, rounded
from ledger.rules import default_text
from projections.bulletin import shown
from projections.indicators import one_decimal
from projections.summary import number

DEFAULT = Rules.parse(default_text())


@pytest.mark.parametrize(("value", "places", "expected"), [
    (Fraction("89.125"), 2, "89.13"),   # round() gives 89.12
    (89.125, 2, "89.13"),               # the float 89.125 is exact: still up
    (2.675, 2, "2.68"),                 # the float is 2.67499999…: as it prints, up
    (Fraction("91.25"), 1, "91.3"),
    (0.5, 0, "1"),
    (2.5, 0, "3"),                      # round(2.5) == 2
    (Fraction("0.05"), 1, "0.1"),
    (Fraction("-0.125"), 2, "-0.13"),   # away from zero, as Decimal's ROUND_HALF_UP
    (Fraction("99.124"), 2, "99.12"),
    (Fraction(1, 3), 3, "0.333"),
])
def test_halves_go_up(value: Fraction | float, places: int, expected: str) -> None:
    assert fixed(value, places) == expected
    assert half_up(value, places) == Fraction(expected)
    assert rounded(value, places) == float(expected)


@given(st.decimals(min_value=-10**6, max_value=10**6, places=5, allow_nan=False),
       st.integers(0, 4))
def test_rounding_is_decimals_round_half_up(value: Decimal, places: int) -> None:
    expected = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    assert half_up(Fraction(value), places) == Fraction(expected)
    assert fixed(Fraction(value), places) == f"{expected + 0:.{places}f}"  # never "-0.00"


def test_a_score_of_99_125_is_99_13() -> None:
    # 85 − 7 late cycles over 8 社区 (0.875) + 10 × on-time (none due: 1) + 5 × coverage (1)
    assert score(DEFAULT, {"late": 7}, units=8).total == Fraction("99.13")


def test_every_figure_people_read_rounds_half_up() -> None:
    assert shown("on_time_rate", Fraction(8125, 10000)) == "81.3%"   # 81.25 %
    assert shown("mean_days", Fraction(1, 4)) == "0.3"
    assert number(0.25) == "0.3"                                      # the work summary
    assert one_decimal(Fraction("91.25")) == 91.3
    assert fixed(Fraction("-0.125"), 2, sign=True) == "-0.13"
    assert fixed(Fraction("0.125"), 2, sign=True) == "+0.13"


def test_a_rate_given_as_a_float_rounds_as_it_prints() -> None:
    assert shown("on_time_rate", 0.0125) == "1.3%"      # the float is 0.01249999…
    assert shown("on_time_rate", 0.8125) == "81.3%"
