"""The monthly evaluation (每月评比): the figures it scores, the scoring rules the office
adopts, the score and ranking they give, and the evaluation book that records adoptions and
publications.

Pure: no clock, no storage. How each figure is computed from the ledger's events is the
read side's business (``projections/metrics.py``); here are the figures' names, how rules
turn figures into a score, and how scores become a ranking.

Scores are computed exactly (fractions) and rounded to two decimals before ranking, so two
units whose scores print alike share a rank.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from fractions import Fraction
from typing import Any

from domain.base import Actor, LedgerAggregate, LedgerCreated, LedgerEvent, Refused, check_moment
from domain.roles import ADMIN

# --- months -------------------------------------------------------------------------------

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
OPEN_END = "9999-12"  # the last month of a span that has not ended


def check_month(field_name: str, value: str) -> str:
    """A month as YYYY-MM."""
    if not isinstance(value, str) or not MONTH.match(value):
        raise Refused(f"{field_name} must be a month YYYY-MM, got {value!r}")
    return value


def month_add(month: str, months: int) -> str:
    """The month ``months`` after (or before, if negative) ``month``."""
    index = int(month[:4]) * 12 + int(month[5:7]) - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def first_day(month: str) -> date:
    return date(int(month[:4]), int(month[5:7]), 1)


def last_day(month: str) -> date:
    return date.fromordinal(first_day(month_add(month, 1)).toordinal() - 1)


def months_between(first: str, last: str) -> list[str]:
    """Every month from ``first`` to ``last``, both included."""
    found = []
    while first <= last:
        found.append(first)
        first = month_add(first, 1)
    return found


# --- the figures --------------------------------------------------------------------------

COUNT, RATE, MEAN, MEDIAN = "count", "rate", "mean", "median"


@dataclass(frozen=True)
class Figure:
    """A figure of a unit's month: its name, labels and nature, and which way is better."""

    name: str
    zh: str
    en: str
    nature: str  # count | rate | mean | median
    higher_is_better: bool = False

    def label(self, lang: str = "zh") -> str:
        return self.zh if lang == "zh" else self.en


FIGURES: dict[str, Figure] = {f.name: f for f in [
    Figure("assigned", "交办任务", "tasks assigned", COUNT),
    Figure("complaints", "群众反映", "public complaints", COUNT),
    Figure("media", "媒体曝光", "media exposures", COUNT),
    Figure("unannounced", "上级暗访发现", "unannounced-check findings", COUNT),
    Figure("due", "到期整改", "cycles due", COUNT),
    Figure("on_time", "按期整改", "rectified on time", COUNT, True),
    Figure("late", "逾期整改", "due, not rectified on time", COUNT),
    Figure("on_time_rate", "按期整改率", "on-time rectification rate", RATE, True),
    Figure("reinspections", "复查", "re-inspections", COUNT),
    Figure("rework", "返工", "failed re-inspections (rework)", COUNT),
    Figure("rework_rate", "返工率", "rework rate", RATE),
    Figure("verified", "整改到位", "cycles verified", COUNT, True),
    Figure("mean_days", "平均整改天数", "mean days to rectify", MEAN),
    Figure("overdue_open", "超期未整改", "overdue open at month end", COUNT),
    Figure("recurrences", "反弹", "recurrences", COUNT),
    Figure("closed_before", "前期销号", "tasks closed in the months before", COUNT),
    Figure("recurrence_rate", "复发率", "recurrence rate", RATE),
    Figure("inspections", "巡查", "inspections", COUNT, True),
    Figure("required_inspections", "应巡查", "inspections required", COUNT),
    Figure("inspection_coverage", "巡查覆盖率", "inspection coverage", RATE, True),
    Figure("escalated", "督办", "escalations (督办)", COUNT),
    Figure("complaints_acknowledged", "群众反映签收", "complaints acknowledged", COUNT),
    Figure("complaint_response_hours", "群众反映响应(小时,中位数)",
           "complaint response (median hours)", MEDIAN),
    Figure("awareness", "知晓率", "public awareness (survey)", RATE, True),
    Figure("participation", "参与率", "public participation (survey)", RATE, True),
    Figure("satisfaction", "满意度", "public satisfaction (survey)", RATE, True),
    Figure("surveyed", "测评样本", "people surveyed", COUNT),
]}

Number = int | float | Fraction


# --- scoring rules ------------------------------------------------------------------------

@dataclass(frozen=True)
class RateRule:
    """Points for a rate-like figure: weight × value (clamped to ``cap``), ``if_none`` when
    the figure is undefined (nothing to divide by)."""

    weight: Fraction
    cap: Fraction | None
    if_none: Fraction


@dataclass(frozen=True)
class TieBreaker:
    figure: str
    higher_is_better: bool

    def __str__(self) -> str:
        return f"{self.figure} {'desc' if self.higher_is_better else 'asc'}"


SHARE, BREAK = "share", "break"


@dataclass(frozen=True)
class Rules:
    """A scoring rules file (评分细则), parsed and checked."""

    name: str
    base: Fraction
    floor: Fraction | None
    counts_per_unit: bool
    deductions: dict[str, Fraction]
    rates: dict[str, RateRule]
    ties: str
    tie_breakers: tuple[TieBreaker, ...]
    red: int
    black: int

    @classmethod
    def parse(cls, text: str, source: str = "rules file") -> Rules:
        """Parse TOML text; a malformed file is refused naming the line and the key."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise Refused(f"{source}: {_toml_error(e, text)}") from None
        return _RulesReader(text, source).read(data)


def _toml_error(error: tomllib.TOMLDecodeError, text: str) -> str:
    message = str(error)
    if message.endswith("(at end of document)"):
        return f"line {len(text.splitlines())} (end of file): " \
               f"{message.removesuffix('(at end of document)').strip()}"
    found = re.search(r"\(at line (\d+), column (\d+)\)", message)
    if not found:
        return message
    return f"line {found.group(1)}, column {found.group(2)}: " \
           f"{message[:found.start()].strip()}"


class _RulesReader:
    """Checks parsed TOML against the rules' schema, naming the key and its line."""

    TOP = {"name", "base", "floor", "counts_per_unit", "deductions", "rates", "ranking"}
    RATE_KEYS = {"weight", "cap", "if_none"}
    RANKING_KEYS = {"ties", "tie_breakers", "red", "black"}

    def __init__(self, text: str, source: str) -> None:
        self.lines = text.splitlines()
        self.source = source

    def refuse(self, path: Sequence[str], problem: str) -> Refused:
        # A missing key is named at the table that lacks it.
        line = next((found for end in range(len(path), 0, -1)
                     if (found := self.line_of(path[:end])) is not None), None)
        where = f" line {line}:" if line else ":"
        return Refused(f"{self.source}{where} {'.'.join(path)}: {problem}")

    def line_of(self, path: Sequence[str]) -> int | None:
        """The line that sets ``path`` (a key, or a table's header), if it can be found."""
        table: tuple[str, ...] = ()
        for number, raw in enumerate(self.lines, 1):
            line = raw.split("#", 1)[0].strip()
            header = re.match(r"^\[\s*([^\[\]]+?)\s*\]$", line)
            if header:
                table = tuple(p.strip().strip('"') for p in header.group(1).split("."))
                if table == tuple(path):
                    return number
                continue
            assignment = re.match(r"^([A-Za-z0-9_.\-\"\s]+?)\s*=", line)
            if not assignment:
                continue
            key = table + tuple(p.strip().strip('"') for p in assignment.group(1).split("."))
            if key == tuple(path):
                return number
            # An inline table: ``on_time_rate = { weight = 10 }`` holds deeper keys.
            if tuple(path[:len(key)]) == key and len(path) > len(key):
                return number
        return None

    def number(self, path: Sequence[str], value: Any, *, minimum: Number | None = None
               ) -> Fraction:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.refuse(path, f"must be a number, got {value!r}")
        if value != value or value in (float("inf"), float("-inf")):
            raise self.refuse(path, f"must be a finite number, got {value!r}")
        result = Fraction(str(value))
        if minimum is not None and result < minimum:
            raise self.refuse(path, f"must be {minimum} or more, got {value!r}")
        return result

    def table(self, path: Sequence[str], value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.refuse(path, f"must be a table, got {value!r}")
        return value

    def unknown(self, path: Sequence[str], keys: Iterable[str], allowed: set[str]) -> None:
        for key in keys:
            if key not in allowed:
                raise self.refuse([*path, key], "unknown key (known: "
                                  f"{', '.join(sorted(allowed))})")

    def figure(self, path: Sequence[str], name: str, natures: set[str]) -> str:
        figure = FIGURES.get(name)
        if figure is None or figure.nature not in natures:
            fitting = sorted(f.name for f in FIGURES.values() if f.nature in natures)
            raise self.refuse(path, f"unknown figure {name!r} here (one of: "
                              f"{', '.join(fitting)})")
        return name

    def read(self, data: dict[str, Any]) -> Rules:
        self.unknown([], data.keys(), self.TOP)
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            raise self.refuse(["name"], f"must be a non-empty string, got {name!r}")
        if "base" not in data:
            raise self.refuse(["base"], "is required")
        base = self.number(["base"], data["base"])
        floor = self.number(["floor"], data["floor"]) if "floor" in data else None
        per_unit = data.get("counts_per_unit", False)
        if not isinstance(per_unit, bool):
            raise self.refuse(["counts_per_unit"], f"must be true or false, got {per_unit!r}")
        deductions = {}
        for key, points in self.table(["deductions"], data.get("deductions", {})).items():
            self.figure(["deductions", key], key, {COUNT})
            deductions[key] = self.number(["deductions", key], points, minimum=0)
        rates = {}
        for key, spec in self.table(["rates"], data.get("rates", {})).items():
            path = ["rates", key]
            self.figure(path, key, {RATE, MEAN, MEDIAN})
            spec = self.table(path, spec)
            self.unknown(path, spec.keys(), self.RATE_KEYS)
            if "weight" not in spec:
                raise self.refuse([*path, "weight"], "is required")
            rates[key] = RateRule(
                weight=self.number([*path, "weight"], spec["weight"]),
                cap=self.number([*path, "cap"], spec["cap"]) if "cap" in spec else None,
                if_none=self.number([*path, "if_none"], spec.get("if_none", 0)))
        ranking = self.table(["ranking"], data.get("ranking", {}))
        self.unknown(["ranking"], ranking.keys(), self.RANKING_KEYS)
        ties = ranking.get("ties", SHARE)
        if ties not in (SHARE, BREAK):
            raise self.refuse(["ranking", "ties"], f"must be {SHARE!r} (equal scores share "
                              f"a rank) or {BREAK!r} (tie-breakers separate them), got "
                              f"{ties!r}")
        breakers = []
        listed = ranking.get("tie_breakers", [])
        if not isinstance(listed, list):
            raise self.refuse(["ranking", "tie_breakers"], f"must be a list, got {listed!r}")
        for item in listed:
            parts = str(item).split() if isinstance(item, str) else []
            if len(parts) not in (1, 2) or (len(parts) == 2 and parts[1] not in
                                             ("asc", "desc")):
                raise self.refuse(["ranking", "tie_breakers"],
                                  f"each must be 'FIGURE asc' or 'FIGURE desc', got {item!r}")
            figure = self.figure(["ranking", "tie_breakers"], parts[0],
                                 {COUNT, RATE, MEAN, MEDIAN})
            descending = parts[1] == "desc" if len(parts) == 2 else \
                FIGURES[figure].higher_is_better
            breakers.append(TieBreaker(figure, descending))
        counts = {}
        for key in ("red", "black"):
            value = ranking.get(key, 3)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise self.refuse(["ranking", key], f"must be a whole number 0 or more, got "
                                  f"{value!r}")
            counts[key] = value
        return Rules(name=name.strip(), base=base, floor=floor, counts_per_unit=per_unit,
                     deductions=deductions,
                     rates=rates, ties=ties, tie_breakers=tuple(breakers),
                     red=counts["red"], black=counts["black"])


# --- scores -------------------------------------------------------------------------------

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
    return Score(round(total, TWO_PLACES), tuple(lines))


# --- rankings -----------------------------------------------------------------------------

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
    from bisect import bisect_left

    return bisect_left(values, key)


def _count_greater(values: list[tuple[Any, ...]], key: tuple[Any, ...]) -> int:
    from bisect import bisect_right

    return len(values) - bisect_right(values, key)


def digest_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- the evaluation book ------------------------------------------------------------------

def authorize_office(actor: Actor, what: str) -> None:
    """Only the civilization office (文明办, admin) adopts rules and publishes rankings."""
    if actor.role != ADMIN:
        raise Refused(f"{actor.id} ({actor.role}) may not {what}: that is for admin")


class Evaluation(LedgerAggregate):
    """The office's evaluation book: the scoring rules it adopted (versioned, each from a
    month on) and the months it published."""

    ID = "evaluation"

    class Opened(LedgerCreated):
        def apply(self, book: Evaluation) -> None:
            book.versions = []
            book.publications = {}

    class RulesAdopted(LedgerEvent):
        rules_version: int
        from_month: str
        name: str
        text: str
        digest: str
        source: str
        reason: str

        def apply(self, book: Evaluation) -> None:
            book.versions.append({
                "version": self.rules_version, "from_month": self.from_month, "name": self.name,
                "text": self.text, "digest": self.digest, "source": self.source,
                "reason": self.reason, "adopted_at": self.occurred_at, "actor": self.actor})

    class MonthPublished(LedgerEvent):
        month: str
        rules_version: int
        position: int
        head: str
        digest: str
        summary: dict[str, Any]

        def apply(self, book: Evaluation) -> None:
            book.publications[self.month] = {
                "month": self.month, "rules_version": self.rules_version,
                "position": self.position, "head": self.head, "digest": self.digest,
                "summary": dict(self.summary), "published_at": self.occurred_at,
                "actor": self.actor}

    @classmethod
    def open(cls, *, actor: Actor, occurred_at: datetime) -> Evaluation:
        return cls._create(cls.Opened, id=cls.ID, occurred_at=occurred_at, **actor.stamp())

    def rules_for(self, month: str) -> dict[str, Any] | None:
        """The rules version in force for ``month``: the latest adopted from it or before."""
        fitting = [v for v in self.versions if v["from_month"] <= month]
        return max(fitting, key=lambda v: (v["from_month"], v["version"])) if fitting \
            else None

    def last_published(self) -> str | None:
        return max(self.publications) if self.publications else None

    def adopt_rules(self, *, text: str, source: str, from_month: str, reason: str,
                    actor: Actor, occurred_at: datetime, now: datetime) -> int:
        """Adopt a scoring rules file from ``from_month`` on; returns its version."""
        authorize_office(actor, "adopt scoring rules")
        check_moment(occurred_at, now)
        check_month("from month", from_month)
        rules = Rules.parse(text, source)
        published = self.last_published()
        if published is not None and from_month <= published:
            raise Refused(f"rules cannot be adopted from {from_month}: {published} is "
                          f"published and frozen; adopt from {month_add(published, 1)} or "
                          "later")
        version = len(self.versions) + 1
        self.trigger_event(self.RulesAdopted, rules_version=version, from_month=from_month,
                           name=rules.name, text=text, digest=digest_text(text),
                           source=source, reason=reason.strip(), occurred_at=occurred_at,
                           **actor.stamp())
        return version

    def check_publishable(self, month: str, today: date, actor: Actor) -> None:
        """Refuse, before any ranking is computed, a month that may not be published."""
        authorize_office(actor, "publish a monthly ranking")
        check_month("month", month)
        if month >= month_of(today):
            raise Refused(f"month {month} has not ended yet (today is {today.isoformat()}); "
                          "only a complete month is published")
        if month in self.publications:
            done = self.publications[month]
            raise Refused(f"month {month} is already published (position "
                          f"{done['position']}, {done['published_at'].isoformat()}); a "
                          "published ranking is frozen: see 'taizhang revisions --month "
                          f"{month}'")

    def publish(self, *, month: str, rules_version: int, position: int, head: str,
                digest: str, summary: dict[str, Any], today: date, actor: Actor,
                occurred_at: datetime, now: datetime) -> None:
        """Freeze a month's ranking: the rules version, the ledger position and audit head
        it was computed from, and the digest of the result."""
        self.check_publishable(month, today, actor)
        check_moment(occurred_at, now)
        in_force = self.rules_for(month)
        if in_force is None or in_force["version"] != rules_version:
            raise Refused(f"rules version {rules_version} is not the one in force for "
                          f"{month}")
        self.trigger_event(self.MonthPublished, month=month, rules_version=rules_version,
                           position=position, head=head, digest=digest, summary=summary,
                           occurred_at=occurred_at, **actor.stamp())
