"""Surveys (群众满意度测评): recorded with their source and method, refused when the
figures cannot be, and combined per unit and month by sample."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

import pytest
from said_support import refused

from domain.base import NotFound, Refused
from ledger.app import Ledger
from ledger.indicators import Indicators
from ledger.store import Store
from projections.indicators import IndicatorQueries, weighted_rates
from projections.read import ReadSide
from tests.conftest import seed_campaign
from said_support import english
from tests.tier3_cli.test_indicators import position, taizhang


def record(ledger: Ledger, **changes: object) -> dict:
    args: dict = {"unit": "JS01", "month": "2024-05", "awareness": "85", "participation": "60.5",
                  "satisfaction": "90", "sample": "200", "source": "第三方测评机构",
                  "method": "入户问卷", **changes}
    actor = args.pop("actor", "admin")
    return Indicators(ledger).record_survey(actor_id=actor, **args)


def test_a_survey_is_recorded_with_its_source_and_method(seeded: Ledger) -> None:
    result = record(seeded)
    assert result == {"survey": "SV-000001", "unit": "JS01", "month": "2024-05",
                      "awareness": 85.0, "participation": 60.5, "satisfaction": 90.0,
                      "sample": 200, "source": "第三方测评机构", "method": "入户问卷"}
    (event,) = seeded.events.get("SV-000001")
    assert (event.actor, event.role, event.source, event.method) == (
        "admin", "admin", "第三方测评机构", "入户问卷")


@pytest.mark.parametrize("changes, message", [
    ({"awareness": "100.5"}, r"awareness \(知晓率\) must be a percentage from 0 to 100, "
                             "got '100.5'"),
    ({"participation": "-1"}, r"participation \(参与率\) must be a percentage from 0 to 100"),
    ({"satisfaction": "满意"}, r"satisfaction \(满意度\) must be a percentage, got '满意'"),
    ({"sample": "0"}, "sample must be at least 1 person, got '0'"),
    ({"sample": "12.5"}, "sample must be a whole number of people, got '12.5'"),
    ({"month": "2024-13"}, "survey month must be YYYY-MM, got '2024-13'"),
    ({"month": "2024-07"}, r"survey month 2024-07 is after the survey was taken \(2024-06-01\)"),
    ({"source": " "}, "survey source must not be empty"),
    ({"unit": "XX"}, "unknown unit: XX"),
    ({"actor": "li"}, r"li \(inspector\) may not record survey"),
])
def test_bad_surveys_are_refused_and_nothing_is_written(seeded: Ledger, changes: dict,
                                                        message: str) -> None:
    before = seeded.max_position()
    with pytest.raises((Refused, NotFound)) as refused:
        record(seeded, **changes)
    assert re.search(message, english(refused.value)), english(refused.value)
    assert seeded.max_position() == before


def test_surveys_of_a_unit_and_month_combine_by_sample(seeded: Ledger, store: Store) -> None:
    record(seeded)
    record(seeded, awareness="75", participation="50", satisfaction="80", sample="100",
           source="文明办", method="电话调查")
    record(seeded, unit="JS02", awareness="60", sample="10")
    record(seeded, month="2024-04", awareness="10", sample="999")
    figures = IndicatorQueries(ReadSide(store)).survey_figures("2024-05")
    assert figures == {
        "JS01": {"surveys": 2, "sample": 300, "awareness": 81.7, "participation": 57.0,
                 "satisfaction": 86.7},
        "JS02": {"surveys": 1, "sample": 10, "awareness": 60.0, "participation": 60.5,
                 "satisfaction": 90.0},
    }
    assert [s["survey"] for s in IndicatorQueries(ReadSide(store)).surveys(unit="JS")] == [
        "SV-000004", "SV-000001", "SV-000002", "SV-000003"]


def test_no_survey_gives_no_rates() -> None:
    assert weighted_rates([]) == {"surveys": 0, "sample": 0, "awareness": None,
                                  "participation": None, "satisfaction": None}


@pytest.fixture
def cli_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    store = Store(url, clock=lambda: datetime(2024, 6, 1, 9, 0, tzinfo=timezone.utc))
    seed_campaign(store.ledger)
    store.close()
    return url


def test_cli_records_and_lists_surveys(cli_url: str) -> None:
    code, out, _ = taizhang(cli_url, "survey", "record", "--unit", "JS01", "--month",
                            "2024-05", "--awareness", "85", "--participation", "60.5",
                            "--satisfaction", "90", "--sample", "200", "--at", "2024-05-20")
    assert (code, out) == (0, "SV-000001 JS01 2024-05: 知晓率 85% · 参与率 60.5% · 满意度 "
                              "90% · 200 人 (文明办, 问卷调查)\n")
    code, out, _ = taizhang(cli_url, "survey", "figures", "--month", "2024-05", "--format",
                            "csv")
    assert out == ("unit,awareness,participation,satisfaction,sample,surveys\n"
                   "JS01,85.0,60.5,90.0,200,1\n")


@pytest.mark.parametrize("option, value, error", [
    ("--awareness", "101", "awareness (知晓率) must be a percentage from 0 to 100, got '101'"),
    ("--satisfaction", "-0.1",
     "satisfaction (满意度) must be a percentage from 0 to 100, got '-0.1'"),
    ("--sample", "abc", "sample must be a whole number of people, got 'abc'"),
    # a malformed month is a usage error (exit 2), as for every --month
    ("--month", "May", "Invalid value for '--month': 'May' is not a month (YYYY-MM)"),
    ("--unit", "NOPE", "unknown unit: NOPE"),
])
def test_cli_survey_refusals_are_one_line_and_write_nothing(cli_url: str, option: str,
                                                            value: str, error: str) -> None:
    args = {"--unit": "JS01", "--month": "2024-05", "--awareness": "85",
            "--participation": "60", "--satisfaction": "90", "--sample": "200", option: value}
    before = position(cli_url)
    code, out, err = taizhang(cli_url, "survey", "record",
                              *[x for pair in args.items() for x in pair])
    assert (code, out, err) == (2 if option == "--month" else 1, "", f"Error: {error}\n")
    assert position(cli_url) == before


# --- surveys in the monthly evaluation ------------------------------------------------------


JUNE = "2024-06"  # the seeded units are registered on 1 June
RULES = """
name = "含群众满意度"
base = 80
[rates]
satisfaction = { weight = 10, if_none = 0.5 }
awareness = { weight = -2, cap = 1, if_none = 0 }
[ranking]
tie_breakers = ["satisfaction desc"]
"""


def test_survey_figures_are_the_evaluations_and_scoring_rules_weight_them(
        seeded: Ledger, store: Store) -> None:
    from fractions import Fraction

    from ledger.evaluation import Evaluations
    from projections.evaluation import Evaluator

    record(seeded, unit="JS01", month=JUNE, satisfaction="90", awareness="80", sample="300")
    record(seeded, unit="JS01", month=JUNE, satisfaction="60", awareness="40", sample="100")
    record(seeded, unit="JS02", month=JUNE, satisfaction="70", awareness="50", sample="50")
    record(seeded, unit="JS02", month="2024-05", satisfaction="100", sample="50")
    evaluations = Evaluations(seeded)
    evaluations.adopt_rules(actor_id="admin", text=RULES, source="rules.toml",
                            from_month="2024-05")
    evaluator = Evaluator(ReadSide(store))
    source = evaluator.current()
    figures = {r["unit"]: r for r in evaluator.figures(source, JUNE)}
    assert (figures["JS01"]["satisfaction"], figures["JS01"]["awareness"],
            figures["JS01"]["surveyed"]) == (Fraction(825, 1000), Fraction(7, 10), 400)
    # a 街道's figures are its 社区's, weighted by their samples
    assert figures["JS"]["satisfaction"] == Fraction(300 * 90 + 100 * 60 + 50 * 70, 450 * 100)
    assert figures["CGJ"]["satisfaction"] is None and figures["CGJ"]["surveyed"] == 0
    ranking = evaluator.ranking(source, JUNE, "社区", evaluations.rules_for)
    scores = {p.unit: p.placed.score for p in ranking.placements}
    assert scores == {"JS01": Fraction(80) + Fraction(825, 100) - Fraction(14, 10),
                      "JS02": Fraction(80) + 7 - 1}


def test_the_bulletin_shows_the_months_survey_figures(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    store = Store(url, clock=lambda: datetime(2024, 6, 1, 9, 0, tzinfo=timezone.utc))
    seed_campaign(store.ledger)
    record(store.ledger, month=JUNE, satisfaction="90", awareness="80", participation="40",
           sample="300")
    record(store.ledger, unit="JS02", month=JUNE, satisfaction="60", awareness="40",
           participation="70", sample="100")
    store.close()
    code, out, _ = taizhang(url, "bulletin", "--lang", "zh", "--month", JUNE)
    lines = out.splitlines()
    assert code == 0
    assert ["| 测评样本 | 400 |", "| 知晓率 | 70.0% |", "| 参与率 | 47.5% |",
            "| 满意度 | 82.5% |"] == [line for line in lines if line.startswith(
                ("| 测评样本", "| 知晓率", "| 参与率", "| 满意度"))]
