"""One rounding rule for every figure shown to people: 四舍五入, halves away from zero.

89.125 is 89.13 and 91.25 is 91.3, as offices round by hand (Python's ``round`` and
``format`` round halves to even, and a float's binary value: 89.125 → 89.12). A float is
rounded as it prints (its shortest decimal form), a fraction exactly.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from math import floor

Number = int | float | Fraction | Decimal


def exact(value: Number) -> Fraction:
    """``value`` as an exact fraction; a float as it prints (0.0125 is 1/80, not the binary
    0.01249999…), so that scaling it (× 100 for a per cent) keeps its halves."""
    return Fraction(Decimal(repr(value))) if isinstance(value, float) else Fraction(value)


def half_up(value: Number, places: int = 2) -> Fraction:
    """``value`` rounded to ``places`` decimals, halves away from zero (四舍五入)."""
    scaled = exact(value) * 10 ** places
    whole = floor(abs(scaled) + Fraction(1, 2))
    return Fraction(whole if scaled >= 0 else -whole, 10 ** places)


def fixed(value: Number, places: int = 2, sign: bool = False) -> str:
    """``value`` with exactly ``places`` decimals, rounded half up (``sign``: with + for
    positive values)."""
    rounded = half_up(value, places)
    text = f"{Decimal(rounded.numerator) / Decimal(rounded.denominator):.{places}f}"
    return f"+{text}" if sign and rounded >= 0 else text


def rounded(value: Number, places: int = 2) -> float:
    """``value`` rounded half up, as a float (for JSON and CSV)."""
    return float(half_up(value, places))
