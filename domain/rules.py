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


def digest_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
