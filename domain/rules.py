"""Scoring rules (评分细则): a TOML file parsed and checked against the rules' schema, a
malformed one refused naming the line and the key."""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from domain.base import Refused
from domain.figures import COUNT, FIGURES, MEAN, MEDIAN, RATE, Number

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
            raise Refused("{place}：TOML 格式有误：{problem}", place=_toml_place(e, text, source),
                          problem=_toml_problem(e)) from None
        return _RulesReader(text, source).read(data)


def _toml_place(error: tomllib.TOMLDecodeError, text: str, source: str) -> str:
    """Where a TOML error is: ``rules.toml:2:8`` (line and column), or the file's end."""
    message = str(error)
    if message.endswith("(at end of document)"):
        return f"{source}:{len(text.splitlines())}"
    found = re.search(r"\(at line (\d+), column (\d+)\)", message)
    return f"{source}:{found.group(1)}:{found.group(2)}" if found else source


def _toml_problem(error: tomllib.TOMLDecodeError) -> str:
    """What the TOML reader says is wrong (its own words), without the line and column."""
    return re.sub(r"\s*\(at line \d+, column \d+\)", "", str(error)).strip()


class _RulesReader:
    """Checks parsed TOML against the rules' schema, naming the key and its line."""

    TOP = {"name", "base", "floor", "counts_per_unit", "deductions", "rates", "ranking"}
    RATE_KEYS = {"weight", "cap", "if_none"}
    RANKING_KEYS = {"ties", "tie_breakers", "red", "black"}

    def __init__(self, text: str, source: str) -> None:
        self.lines = text.splitlines()
        self.source = source

    def place(self, path: Sequence[str]) -> str:
        """Where a refusal points: the file, the line (``rules.toml:4``) and the key."""
        # A missing key is named at the table that lacks it.
        line = next((found for end in range(len(path), 0, -1)
                     if (found := self.line_of(path[:end])) is not None), None)
        return f"{self.source}:{line} {'.'.join(path)}" if line else \
            f"{self.source} {'.'.join(path)}"

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
            raise Refused("{place}：须为数字，收到 {value!r}", place=self.place(path), value=value)
        if value != value or value in (float("inf"), float("-inf")):
            raise Refused("{place}：须为有限的数，收到 {value!r}", place=self.place(path),
                          value=value)
        result = Fraction(str(value))
        if minimum is not None and result < minimum:
            raise Refused("{place}：须为 {minimum} 或以上，收到 {value!r}", place=self.place(path),
                          minimum=minimum, value=value)
        return result

    def table(self, path: Sequence[str], value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise Refused("{place}：须为表，收到 {value!r}", place=self.place(path), value=value)
        return value

    def unknown(self, path: Sequence[str], keys: Iterable[str], allowed: set[str]) -> None:
        for key in keys:
            if key not in allowed:
                raise Refused("{place}：未知的键（可用：{known}）", place=self.place([*path, key]),
                              known=", ".join(sorted(allowed)))

    def figure(self, path: Sequence[str], name: str, natures: set[str]) -> str:
        figure = FIGURES.get(name)
        if figure is None or figure.nature not in natures:
            fitting = sorted(f.name for f in FIGURES.values() if f.nature in natures)
            raise Refused("{place}：此处没有指标 {name!r}（可用：{known}）",
                          place=self.place(path), name=name, known=", ".join(fitting))
        return name

    def read(self, data: dict[str, Any]) -> Rules:
        self.unknown([], data.keys(), self.TOP)
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            raise Refused("{place}：须为非空字符串，收到 {value!r}", place=self.place(["name"]),
                          value=name)
        if "base" not in data:
            raise Refused("{place}：必须填写", place=self.place(["base"]))
        base = self.number(["base"], data["base"])
        floor = self.number(["floor"], data["floor"]) if "floor" in data else None
        per_unit = data.get("counts_per_unit", False)
        if not isinstance(per_unit, bool):
            raise Refused("{place}：须为 true 或 false，收到 {value!r}",
                          place=self.place(["counts_per_unit"]), value=per_unit)
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
                raise Refused("{place}：必须填写", place=self.place([*path, "weight"]))
            rates[key] = RateRule(
                weight=self.number([*path, "weight"], spec["weight"]),
                cap=self.number([*path, "cap"], spec["cap"]) if "cap" in spec else None,
                if_none=self.number([*path, "if_none"], spec.get("if_none", 0)))
        ranking = self.table(["ranking"], data.get("ranking", {}))
        self.unknown(["ranking"], ranking.keys(), self.RANKING_KEYS)
        ties = ranking.get("ties", SHARE)
        if ties not in (SHARE, BREAK):
            raise Refused("{place}：须为 {share!r}（同分同名次）或 {split!r}（按并列规则区分），"
                          "收到 {value!r}", place=self.place(["ranking", "ties"]), share=SHARE,
                          split=BREAK, value=ties)
        breakers = []
        listed = ranking.get("tie_breakers", [])
        if not isinstance(listed, list):
            raise Refused("{place}：须为列表，收到 {value!r}",
                          place=self.place(["ranking", "tie_breakers"]), value=listed)
        for item in listed:
            parts = str(item).split() if isinstance(item, str) else []
            if len(parts) not in (1, 2) or (len(parts) == 2 and parts[1] not in
                                             ("asc", "desc")):
                raise Refused("{place}：每项须为 'FIGURE asc' 或 'FIGURE desc'，收到 {item!r}",
                              place=self.place(["ranking", "tie_breakers"]), item=item)
            figure = self.figure(["ranking", "tie_breakers"], parts[0],
                                 {COUNT, RATE, MEAN, MEDIAN})
            descending = parts[1] == "desc" if len(parts) == 2 else \
                FIGURES[figure].higher_is_better
            breakers.append(TieBreaker(figure, descending))
        counts = {}
        for key in ("red", "black"):
            value = ranking.get(key, 3)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise Refused("{place}：须为 0 或以上的整数，收到 {value!r}",
                              place=self.place(["ranking", key]), value=value)
            counts[key] = value
        return Rules(name=name.strip(), base=base, floor=floor, counts_per_unit=per_unit,
                     deductions=deductions,
                     rates=rates, ties=ties, tie_breakers=tuple(breakers),
                     red=counts["red"], black=counts["black"])


def digest_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
