"""Rankings: shared ranks, tie-breakers, red and black lists, changes; the rules file."""

from __future__ import annotations

from fractions import Fraction

import pytest
from said_support import english
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.base import Refused
from domain.ranking import Entry, rank
from domain.rules import BREAK, SHARE, Rules, TieBreaker
from domain.scoring import score
from ledger.rules import default_text

DEFAULT = Rules.parse(default_text())


def rules_with(**changes: object) -> Rules:
    return Rules(**{**DEFAULT.__dict__, **changes})  # type: ignore[arg-type]


scores = st.integers(0, 40).map(lambda n: Fraction(80) + Fraction(n, 4))
figure_values = st.one_of(st.none(), st.integers(0, 3))


@st.composite
def boards(draw: st.DrawFn) -> tuple[list[Entry], dict[str, tuple[int, Fraction]]]:
    count = draw(st.integers(0, 12))
    entries = [Entry(f"U{i:02d}", draw(scores),
                     {"overdue_open": draw(figure_values),
                      "on_time_rate": draw(st.one_of(st.none(),
                                                     st.fractions(0, 1, max_denominator=4)))})
               for i in range(count)]
    previous = {e.unit: (draw(st.integers(1, count)), draw(scores))
                for e in entries if draw(st.booleans())}
    return entries, previous


def better(a: tuple, b: tuple) -> bool:  # type: ignore[type-arg]
    """Is ``a`` strictly better than ``b``, comparing term by term (None worst)?"""
    for x, y, higher in zip(a, b, (True, True, False), strict=False):
        if x == y:
            continue
        if x is None or y is None:
            return y is None
        return x > y if higher else x < y
    return False


@settings(max_examples=60, deadline=None)
@given(board=boards(), ties=st.sampled_from([SHARE, BREAK]), red=st.integers(0, 4),
       black=st.integers(0, 4))
def test_ranks_ties_order_lists_and_changes(board, ties: str, red: int,  # type: ignore[no-untyped-def]
                                            black: int) -> None:
    entries, previous = board
    rules = rules_with(ties=ties, red=red, black=black, tie_breakers=(
        TieBreaker("on_time_rate", True), TieBreaker("overdue_open", False)))
    placed = rank(entries, rules, previous)
    by_unit = {e.unit: e for e in entries}
    assert sorted(p.unit for p in placed) == sorted(by_unit)

    def terms(unit: str) -> tuple:  # type: ignore[type-arg]
        e = by_unit[unit]
        full = (e.score, e.figures["on_time_rate"], e.figures["overdue_open"])
        return full if ties == BREAK else full[:1]

    for p in placed:
        # Equal in what decides a rank, equal rank; else one more than those above.
        above = sum(1 for q in placed if better(terms(q.unit), terms(p.unit)))
        below = sum(1 for q in placed if better(terms(p.unit), terms(q.unit)))
        assert p.rank == 1 + above
        assert p.score == by_unit[p.unit].score
        half = len(placed) / 2
        assert p.listed == ("red" if p.rank <= min(red, half) else
                            "black" if 1 + below <= min(black, half) else None)
        before = previous.get(p.unit)
        assert p.rank_change == (before[0] - p.rank if before else None)
        assert p.score_change == (p.score - before[1] if before else None)
    # The order: by score, then the tie-breakers, then the unit's code.
    for a, b in zip(placed, placed[1:]):
        full_a = (by_unit[a.unit].score, by_unit[a.unit].figures["on_time_rate"],
                  by_unit[a.unit].figures["overdue_open"])
        full_b = (by_unit[b.unit].score, by_unit[b.unit].figures["on_time_rate"],
                  by_unit[b.unit].figures["overdue_open"])
        assert not better(full_b, full_a)
        if full_a == full_b:
            assert a.unit < b.unit
    # Ranks run 1, 2, 2, 4: each is one more than the number placed before it, or shared.
    for index, p in enumerate(placed):
        assert p.rank == index + 1 or p.rank == placed[index - 1].rank


def test_three_units_make_one_red_and_one_black() -> None:
    entries = [Entry("A", Fraction(90)), Entry("B", Fraction(85)), Entry("C", Fraction(70))]
    assert [p.listed for p in rank(entries, DEFAULT)] == ["red", None, "black"]
    assert [p.listed for p in rank(entries[:1], DEFAULT)] == [None]


def test_equal_scores_share_a_rank_and_the_next_skips() -> None:
    entries = [Entry("A", Fraction(90)), Entry("B", Fraction(85)), Entry("C", Fraction(85)),
               Entry("D", Fraction(70))]
    placed = rank(entries, rules_with(tie_breakers=(), red=1, black=1))
    assert [(p.unit, p.rank, p.listed) for p in placed] == [
        ("A", 1, "red"), ("B", 2, None), ("C", 2, None), ("D", 4, "black")]


def test_score_is_base_minus_deductions_plus_weighted_rates() -> None:
    figures = {"overdue_open": 2, "late": 1, "rework": 3, "recurrences": 1, "media": 0,
               "unannounced": 1, "on_time_rate": Fraction(2, 3), "inspection_coverage":
               Fraction(5, 4)}
    found = score(DEFAULT, figures)
    # 85 − 4 − 1 − 3 − 3 − 0 − 4 + 10 × 2/3 + 5 × min(1, 5/4) = 70 + 6.666… + 5
    assert found.total == Fraction("81.67")
    assert {line.figure: line.points for line in found.lines}["on_time_rate"] == \
        Fraction(20, 3)
    # A 街道 totalling 4 units: each count per unit, 85 − 15/4 + 6.666… + 5.
    assert score(DEFAULT, figures, units=4).total == Fraction("92.92")


@pytest.mark.parametrize(("text", "message"), [
    ('name = "x"\nbase = 100\n[deductions]\noverdue = 2\n',
     "rules.toml:4 deductions.overdue: unknown figure 'overdue'"),
    ('name = "x"\nbase = 100\n[rates]\non_time_rate = { weight = "ten" }\n',
     "rules.toml:4 rates.on_time_rate.weight: must be a number, got 'ten'"),
    ('name = "x"\nbase = 100\n\n[rates.rework_rate]\ncap = 1\n',
     "rules.toml:4 rates.rework_rate.weight: is required"),
    ('name = "x"\nbase = = 100\n', "rules.toml:2:8: not valid TOML: Invalid value"),
    ('name = "x"\nbase = 100\nbonus = 3\n', "rules.toml:3 bonus: unknown key"),
    ('name = "x"\nbase = 100\n[ranking]\nties = "coin"\n',
     "rules.toml:4 ranking.ties: must be 'share'"),
    ('name = "x"\nbase = 100\n[ranking]\nred = -1\n',
     "rules.toml:4 ranking.red: must be a whole number 0 or more, got -1"),
    ('name = "x"\nbase = 100\n[ranking]\ntie_breakers = ["luck desc"]\n',
     "rules.toml:4 ranking.tie_breakers: unknown figure 'luck'"),
    ('name = "x"\n', "rules.toml base: is required"),
    ('name = "x"\nbase = 100\n[deductions]\nlate = -1\n',
     "rules.toml:4 deductions.late: must be 0 or more, got -1"),
])
def test_a_malformed_rules_file_is_refused_naming_line_and_key(text: str,
                                                               message: str) -> None:
    """The file, the line (``rules.toml:4``) and the key first, in either language."""
    with pytest.raises(Refused) as refused:
        Rules.parse(text, "rules.toml")
    assert english(refused.value).startswith(message)
    place = message.split(": ")[0]
    assert str(refused.value).startswith(f"{place}：")
