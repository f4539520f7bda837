"""The monthly evaluation on the read side: figures, scores and rankings, from the
maintained metrics or from the ledger as it stood at a position (a publication), and what
a recomputation would change.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Any, TypeVar


from i18n import _
from domain.base import NotFound, Refused
from domain.figures import FIGURES
from domain.months import check_month, first_day, month_add, months_between
from domain.ranking import Entry, Placed, rank
from domain.scoring import ScoreLine
from domain.inspection import Inspection
from domain.kinds import aggregate_of
from domain.registry import Campaign, Unit
from domain.rounding import fixed, rounded
from domain.survey import Survey
from domain.task import Task
from ledger.evaluation import Frozen, RulesVersion
from projections.corrections import described, is_correction, is_withdrawal
from projections.facts import Context, Fact, decode
from projections.projection import fold_in_memory
from projections.scored import Shared
from projections.times import for_people
from projections.metrics import (
    METRICS,
    Metrics,
    OverlaySource,
    MonthBook,
    Source,
    TableSource,
    Tally,
    Units,
)

LEVELS = ("社区", "街道", "部门", "物业")
# The records whose events make a month's figures, and the fields of a correction that
# move one in time (a survey's month among them).
FIGURE_RECORDS = (Task, Inspection, Unit, Campaign, Survey)
MOMENT_FIELDS = ("occurred_at", "deadline", "month")
RulesFor = Callable[[str], RulesVersion]
T = TypeVar("T")
ATTEMPTS = 5


@dataclass(frozen=True)
class Placement:
    """A unit's line in a ranking: its place, score, change and the terms of its score."""

    unit: str
    name: str
    placed: Placed
    lines: tuple[ScoreLine, ...]
    figures: dict[str, Any]

    def canonical(self) -> list[Any]:
        p = self.placed
        return [self.unit, str(p.score), p.rank, p.previous_rank,
                None if p.previous_score is None else str(p.previous_score), p.listed,
                [[line.figure, str(line.used), str(line.points)] for line in self.lines]]


@dataclass(frozen=True)
class Ranking:
    """One level's ranking for a month."""

    month: str
    level: str
    parent: str | None
    rules: RulesVersion
    previous_rules: RulesVersion
    placements: list[Placement]

    def listed(self, which: str) -> list[Placement]:
        return [p for p in self.placements if p.placed.listed == which]

    def canonical(self) -> dict[str, Any]:
        return {"month": self.month, "level": self.level, "parent": self.parent,
                "rules_version": self.rules.version,
                "previous_rules_version": self.previous_rules.version,
                "rows": [p.canonical() for p in self.placements]}


def digest(rankings: dict[str, Ranking]) -> str:
    """The digest a publication records: SHA-256 of the rankings' canonical JSON."""
    canonical = [rankings[level].canonical() for level in sorted(rankings)]
    text = json.dumps(canonical, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Evaluator:
    """Figures and rankings over one store's read side."""

    def __init__(self, read: Any) -> None:
        self.read = read
        self.projection = Metrics()

    @property
    def ledger(self) -> Any:
        return self.read.store.ledger

    # --- sources -------------------------------------------------------------------------

    def current(self) -> Source:
        """The metrics of the read side: the maintained ones, brought up to date; for a
        read side as of a moment or position (``ReadSide.at``), those of exactly the events
        recorded by then."""
        if not self.read.maintained:
            return self._as_of(self.read.upto)[0]
        self.read.current()
        return TableSource(self.read.engine, self.projection)

    def position(self) -> int:
        """The position the maintained metrics are at."""
        return self.read.live.projector.positions()[self.projection.name]

    def _as_of(self, position: int) -> tuple[OverlaySource, int]:
        """The metrics of exactly the events up to ``position``, and the position the
        maintained rows it reads were at: the maintained rows, with those of every
        aggregate changed since ``position`` refolded from its events up to there. So the
        cost is that of the events entered since, not of the ledger's history."""
        live = self.read.live
        live.current()
        table = TableSource(live.engine, self.projection)
        now = self.position()
        changed = {r.originator_id for r in self.ledger.records(position, now)}
        recorder = self.ledger.recorder
        facts = sorted((decode(r) for oid in changed
                        for r in recorder.select_aggregate_records(oid) if r.position <= position),
                       key=lambda f: f.position)
        ctx = Context(self.ledger.zone())
        return OverlaySource(table, changed, fold_in_memory(Metrics(), facts, ctx)), now

    # --- figures ---------------------------------------------------------------------------

    def figures(self, source: Source, month: str, unit: str | None = None,
                level: str | None = None, parent: str | None = None) -> list[dict[str, Any]]:
        """Every figure of the month for one unit, or for the units of a level (below
        ``parent``, if given), or for every unit (below ``parent``)."""
        check_month("month", month)
        units = Units(source.units())
        if parent is not None:
            known_unit(units, parent)
        if unit is not None:
            known_unit(units, unit)
            scope = [unit]
        else:
            scope = sorted(c for c in (units.below(parent) if parent else units.rows)
                           if c != parent
                           and (level is None or units.rows[c]["kind"] == level)
                           and units.active(c, month))
        if not scope:
            return []
        book = MonthBook(source, units, scope, [month])
        return [{"unit": code, "name": units.rows[code]["name"],
                 "kind": units.rows[code]["kind"], **book.figures(code, month)}
                for code in scope]

    def explain(self, source: Source, month: str, unit: str, metric: str
                ) -> tuple[Any, Tally, list[tuple[str, dict[str, Any]]]]:
        """A figure's value and the items (tasks, events, visits) that make it up."""
        check_month("month", month)
        if metric not in METRICS:
            raise Refused("指标须为以下之一：{metrics}，收到 {metric!r}",
                          metrics=", ".join(METRICS), metric=metric)
        units = Units(source.units())
        known_unit(units, unit)
        tally = MonthBook(source, units, [unit], [month]).tally(unit, month)
        definition = METRICS[metric]
        return definition.value(tally), tally, definition.parts(tally)

    # --- rankings --------------------------------------------------------------------------

    def rankings(self, source: Source, month: str, levels: Iterable[str],
                 rules_for: RulesFor, parent: str | None = None,
                 shared: Shared | None = None) -> dict[str, Ranking]:
        """Each level's ranking for the month, with the change against the month before
        (from ``shared``'s tallies if given: they cover the month and the one before)."""
        check_month("month", month)
        units = shared.units if shared else Units(source.units())
        if parent is not None:
            known_unit(units, parent)
        previous = month_add(month, -1)
        scopes = {(level, m): units.of_level(level, m, parent)
                  for level in levels for m in (previous, month)}
        everyone = sorted({u for codes in scopes.values() for u in codes})
        book = shared or (Shared(MonthBook(source, units, everyone, [previous, month]), units)
                          if everyone else None)
        rules, previous_rules = rules_for(month), rules_for(previous)
        found = {}
        for level in levels:
            before = _placed(book, scopes[(level, previous)], previous, previous_rules, {})
            memory = {p.unit: (p.rank, p.score) for p, _, _ in before}
            now = _placed(book, scopes[(level, month)], month, rules, memory)
            found[level] = Ranking(month, level, parent, rules, previous_rules, [
                Placement(p.unit, units.rows[p.unit]["name"], p, lines, figs)
                for p, lines, figs in now])
        return found

    def ranking(self, source: Source, month: str, level: str, rules_for: RulesFor,
                parent: str | None = None) -> Ranking:
        return self.rankings(source, month, [level], rules_for, parent)[level]

    def freeze(self, month: str, rules_for: RulesFor) -> Frozen:
        """Every level's ranking from the maintained metrics, with the position they were
        read at: read again if the projection moved meanwhile."""
        for _ in range(ATTEMPTS):
            source = self.current()
            before = self.position()
            rankings = self.rankings(source, month, LEVELS, rules_for)
            if self.position() == before:
                return Frozen(before, digest(rankings), summary(rankings))
        raise Refused("计算排名期间账本一直在变动；请重试")

    def published(self, publication: dict[str, Any], rules_for: RulesFor
                  ) -> tuple[Source, dict[str, Ranking]]:
        """A published month's rankings, recomputed from the events up to its position."""
        then = Evaluator(self.read.at(position=publication["position"]))
        return then.stable(lambda source: self.rankings(
            source, publication["month"], LEVELS, rules_for))

    def stable(self, compute: Callable[[Source], T]) -> tuple[Source, T]:
        """``compute`` over the read side's metrics (now, or as of its moment or position),
        computed again if the maintained rows moved meanwhile, so that it read one state of
        them."""
        for _ in range(ATTEMPTS):
            if self.read.maintained:
                source: Source = self.current()
                at = self.position()
            else:
                source, at = self._as_of(self.read.upto)
            result = compute(source)
            if self.position() == at:
                return source, result
        raise Refused("计算数据期间账本一直在变动；请重试")

    # --- the last twelve months ------------------------------------------------------------

    def trend(self, source: Source, month: str, rules_for: RulesFor, months: int = 12,
              shared: Shared | None = None) -> dict[str, list[dict[str, Any]]]:
        """Per level and month: the units' mean score and the level's on-time rate (from
        ``shared``'s tallies if given: they cover the months)."""
        window = months_between(month_add(month, 1 - months), month)
        units = shared.units if shared else Units(source.units())
        scopes = {(level, m): units.of_level(level, m) for level in LEVELS for m in window}
        everyone = sorted({u for codes in scopes.values() for u in codes})
        found: dict[str, list[dict[str, Any]]] = {}
        if not everyone:
            return found
        book = shared or Shared(MonthBook(source, units, everyone, window), units)
        for level in LEVELS:
            series = []
            for m in window:
                codes = scopes[(level, m)]
                if not codes:
                    continue
                rules = rules_for(m)
                scores = [book.score(rules, u, m).total for u in codes]
                tallies = [book.tally(u, m) for u in codes]
                due = sum(len(t.due) for t in tallies)
                on_time = sum(1 for t in tallies for i in t.due if i["on_time"])
                series.append({"month": m, "units": len(codes),
                               "mean_score": rounded(sum(scores) / len(scores), 2),
                               "due": due, "on_time": on_time,
                               "on_time_rate": on_time / due if due else None})
            if series:
                found[level] = series
        return found

    # --- revisions ---------------------------------------------------------------------------

    def revisions(self, publication: dict[str, Any], rules_for: RulesFor
                  ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """What a recomputation now would change in a published month (per level and unit),
        and why: the events entered after the publication's position that happened in or
        before the month, and the corrections entered since."""
        month = publication["month"]
        _, then = self.published(publication, rules_for)
        source = self.current()
        now = self.rankings(source, month, LEVELS, rules_for)
        changes = []
        for level in LEVELS:
            before = {p.unit: p for p in then[level].placements}
            after = {p.unit: p for p in now[level].placements}
            for unit in sorted(before.keys() | after.keys()):
                a, b = before.get(unit), after.get(unit)
                if a and b and (a.placed.score, a.placed.rank, a.placed.listed) == \
                        (b.placed.score, b.placed.rank, b.placed.listed):
                    continue
                changes.append({
                    "level": level, "unit": unit, "name": (a or b).name,  # type: ignore[union-attr]
                    "published_score": _num(a.placed.score) if a else None,
                    "published_rank": a.placed.rank if a else None,
                    "published_list": a.placed.listed if a else None,
                    "score": _num(b.placed.score) if b else None,
                    "rank": b.placed.rank if b else None,
                    "list": b.placed.listed if b else None,
                    "score_change": _num(b.placed.score - a.placed.score) if a and b else None,
                    "figures_changed": _changed_figures(a, b)})
        return changes, self.causes(publication)

    def causes(self, publication: dict[str, Any]) -> list[dict[str, Any]]:
        """Events after the publication's position that can change its month: late entries
        that happened in or before it, and corrections and withdrawals of what did."""
        zone = self.ledger.zone()
        month = publication["month"]
        end = datetime.combine(first_day(month_add(month, 1)), datetime.min.time(), zone)

        def inside(value: str | None) -> bool:
            if not value:
                return False
            return value <= month if len(value) == 7 else _before(value, end, zone)

        found = []
        for record in self.ledger.records(publication["position"]):
            fact = decode(record)
            if aggregate_of(fact.event) not in FIGURE_RECORDS:
                continue
            why = None
            if is_correction(fact) or is_withdrawal(fact):
                original = self._original(fact)
                moments = [v for k, v in fact.data.get("changes", {}).items()
                           if k in MOMENT_FIELDS]
                touched = [m for m in [original.get("occurred_at"), original.get("month"),
                                       *moments] if inside(m)]
                if touched or (is_correction(fact) and not moments):
                    why = described(fact) + (f" ({fact.data['reason']})"
                                             if is_withdrawal(fact) else "")
            elif inside(fact.occurred_at) or inside(fact.data.get("month")):
                why = _("补录：发生于 {happened}，录入于 {entered}").format(
                    happened=for_people(fact.occurred_at, zone),
                    entered=for_people(fact.recorded_at, zone))
            if why is None:
                continue
            found.append({"position": fact.position, "aggregate": fact.originator_id,
                          "event": fact.kind,
                          "unit": fact.data.get("unit") or fact.data.get("previous_unit"),
                          "occurred_at": fact.occurred_at, "recorded_at": fact.recorded_at,
                          "why": why})
        return found

    def _original(self, fact: Fact) -> dict[str, Any]:
        """The event a correction corrects (a withdrawal: the record's first), as stored."""
        version = fact.data.get("corrects", 1)
        records = self.ledger.recorder.select_aggregate_records(fact.originator_id)
        return next((decode(r).data for r in records if r.originator_version == version), {})


def _before(value: str, end: datetime, zone: Any) -> bool:
    if len(value) == 10:  # a date
        return value < end.date().isoformat()
    return datetime.fromisoformat(value) < end


def _changed_figures(a: Placement | None, b: Placement | None) -> str:
    if not (a and b):
        return ""
    return "; ".join(f"{name} {_show(a.figures.get(name))} → {_show(b.figures.get(name))}"
                     for name in FIGURES if a.figures.get(name) != b.figures.get(name))


def _show(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, Fraction):
        return fixed(value, 3).rstrip("0").rstrip(".")
    if isinstance(value, float):
        return fixed(value, 2)
    return str(value)


def _num(value: Fraction) -> float:
    return float(value)


def known_unit(units: Units, code: str) -> None:
    """Refuse a unit the metrics do not know."""
    if code not in units:
        raise NotFound("未知的单位：{unit}", unit=code)


def _placed(book: Shared | None, codes: list[str], month: str, rules: RulesVersion,
            previous: dict[str, tuple[int, Fraction]]
            ) -> list[tuple[Placed, tuple[ScoreLine, ...], dict[str, Any]]]:
    if book is None or not codes:
        return []
    scored = {}
    for code in codes:
        scored[code] = (book.score(rules, code, month), book.figures(code, month))
    placed = rank([Entry(c, s.total, f) for c, (s, f) in scored.items()], rules.rules,
                  previous)
    return [(p, scored[p.unit][0].lines, scored[p.unit][1]) for p in placed]


def summary(rankings: dict[str, Ranking]) -> dict[str, Any]:
    """What a publication notes besides its digest: per level, the units ranked and the
    red and black lists."""
    return {level: {"units": len(r.placements),
                    "red": [p.unit for p in r.listed("red")],
                    "black": [p.unit for p in r.listed("black")]}
            for level, r in rankings.items() if r.placements}

