"""The monthly evaluation's use cases (每月评比): the figures, a ranking as it stands or as
published (recomputed, its digest checked), publishing (the write side freezing what the
read side ranks), revisions, the trend, and which month is shown by default.

Each takes the composition root (:class:`services.bootstrap.Services`) first; commands and
pages call these and render what they return."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from domain.base import Refused
from domain.months import month_add, month_of

if TYPE_CHECKING:
    from ledger.evaluation import RulesVersion
    from projections.evaluation import Ranking
    from projections.metrics import Tally
    from services.bootstrap import Services


# --- months ---------------------------------------------------------------------------------

def this_month(services: Services) -> str:
    """The month it is now, in the campaign's time zone."""
    return month_of(services.today())


def last_complete_month(services: Services, until: str | None = None) -> str:
    """The last month that has ended (in the campaign's time zone), not after ``until``."""
    last = month_add(this_month(services), -1)
    return last if until is None else min(until, last)


def default_month(services: Services) -> str:
    """The month shown when none is asked for: the last complete month that has tasks (a
    ledger whose tasks end earlier shows its own last month)."""
    last = last_complete_month(services)
    latest = services.read.latest_assignment()
    return min(last, latest[:7]) if latest else last


def rules_in_force(services: Services, month: str | None = None) -> RulesVersion:
    """The scoring rules in force for ``month`` (default: this month)."""
    return services.evaluations.rules_for(month or this_month(services))


def published_months(services: Services) -> list[str]:
    book = services.evaluations.book()
    return sorted(book.publications) if book else []


# --- figures --------------------------------------------------------------------------------

def figures(services: Services, month: str, unit: str | None = None,
            level: str | None = None, parent: str | None = None) -> list[dict[str, Any]]:
    """Every figure of the month for a unit, the units of a level, or every unit (below
    ``parent``, if given), from the ledger as it stands."""
    evaluator = services.evaluator
    return evaluator.figures(evaluator.current(), month, unit, level, parent)


def explain(services: Services, month: str, unit: str, metric: str
            ) -> tuple[Any, Tally, list[tuple[str, dict[str, Any]]]]:
    """One figure of a unit's month, and the items that make it up."""
    evaluator = services.evaluator
    return evaluator.explain(evaluator.current(), month, unit, metric)


def trend(services: Services, month: str) -> dict[str, list[dict[str, Any]]]:
    """The last twelve months up to ``month``, per level, as the ledger stands."""
    evaluator = services.evaluator
    return evaluator.trend(evaluator.current(), month, services.evaluations.rules_for)


# --- rankings -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Shown:
    """A ranking and what it was computed from: the ledger as it stands (at ``position``,
    ``head``), or a publication (``publication``), reproduced."""

    ranking: Ranking
    position: int
    head: str
    publication: dict[str, Any] | None = None


def ranking(services: Services, month: str, level: str, parent: str | None = None
            ) -> Shown:
    """A level's ranking of the month from the ledger as it stands."""
    evaluator = services.evaluator
    found = evaluator.ranking(evaluator.current(), month, level,
                              services.evaluations.rules_for, parent)
    position, head = services.ledger.head()
    return Shown(found, position, head)


def published_ranking(services: Services, month: str, level: str,
                      parent: str | None = None) -> Shown:
    """A level's ranking as published: recomputed from the events up to the publication's
    position, refused unless the publication reproduces (its every level recomputed, the
    digest the one published). A publication reproduced once is not recomputed whole again
    (:mod:`projections.reproductions`): only the ranking shown is."""
    from projections import reproductions

    evaluations, evaluator = services.evaluations, services.evaluator
    publication = evaluations.published(month)
    engine = services.read.store.engine
    if reproductions.reproduced(engine, publication):
        then = services.evaluator_at(position=publication["position"])
        _, found = then.stable(lambda source: then.ranking(
            source, month, level, evaluations.rules_for, parent))
        return Shown(found, publication["position"], publication["head"], publication)
    source, rankings = evaluator.published(publication, evaluations.rules_for)
    reproduced = digest_of(rankings)
    if reproduced != publication["digest"]:
        raise Refused("{month} 已发布的排名无法复现：重新计算的摘要为 {reproduced}，发布时为 "
                      "{published}", month=month, reproduced=reproduced,
                      published=publication["digest"])
    reproductions.record(engine, publication)
    found = (evaluator.ranking(source, month, level, evaluations.rules_for, parent)
             if parent else rankings[level])
    return Shown(found, publication["position"], publication["head"], publication)


def digest_of(rankings: dict[str, Ranking]) -> str:
    from projections.evaluation import digest

    return digest(rankings)


def publish(services: Services, *, actor: str | None, month: str) -> dict[str, Any]:
    """Freeze a month's ranking of every level: the write side records what the read side
    ranks, with the rules in force, at the position it was read at."""
    evaluator = services.evaluator
    return services.evaluations.publish(
        actor_id=actor, month=month,
        compute=lambda rules_for: evaluator.freeze(month, rules_for))


def revisions(services: Services, month: str
              ) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """A published month: its publication, what recomputing it now would change, and the
    events entered since that are why."""
    evaluations = services.evaluations
    publication = evaluations.published(month)
    changes, causes = services.evaluator.revisions(publication, evaluations.rules_for)
    return publication, changes, causes
