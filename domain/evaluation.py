"""The monthly evaluation (每月评比): the evaluation book that records the scoring rules the
office adopts and the months it publishes.

Pure: no clock, no storage. Its parts have modules of their own: months (``months.py``),
the figure catalogue with its labels (``figures.py``), the rules file (``rules.py``), the
score (``scoring.py``) and the ranking (``ranking.py``).
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from typing import Any

from domain.base import (Actor, LedgerAggregate, LedgerCreated, LedgerEvent, Refused, check_moment,
                         optional_text)
from domain.corrections import Correctable
# What the read side and the commands import from here, until they import it from its
# own module (they are other engineers' to change).
from domain.figures import FIGURES, RATE  # noqa: F401
from domain.months import (OPEN_END, check_month, first_day,  # noqa: F401
                           last_day, month_add, month_of, months_between)
from domain.ranking import Entry, Placed, rank  # noqa: F401
from domain.roles import ADMIN
from domain.rules import Rules, digest_text
from domain.scoring import ScoreLine, score  # noqa: F401

def authorize_office(actor: Actor, what: str) -> None:
    """Only the civilization office (文明办, admin) adopts rules and publishes rankings."""
    if actor.role != ADMIN:
        raise Refused(f"{actor.id} ({actor.role}) may not {what}: that is for admin")


class Evaluation(Correctable, LedgerAggregate):
    """The office's evaluation book: the scoring rules it adopted (versioned, each from a
    month on; a month or reason corrected, never to or from a published month) and the
    months it published."""

    ID = "evaluation"
    LABEL = "the rules adoptions"
    CORRECTABLE = {"RulesAdopted": ("from_month", "reason")}
    CORRECT_ACTION = "manage_rules"
    WITHDRAW_INSTEAD = "adopt the right rules from the same month (the later adoption wins)"

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
                "reason": self.reason, "adopted_at": self.occurred_at, "actor": self.actor,
                "event": self.originator_version})

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

    def _label(self) -> str:
        return self.LABEL  # one book: its id says nothing more

    def _apply_correction(self, version: int, changes: dict[str, Any],
                          occurred_at: datetime) -> None:
        super()._apply_correction(version, changes, occurred_at)
        for adopted in self.versions:
            if adopted["event"] == version:
                adopted.update({k: v for k, v in changes.items() if k != "occurred_at"})
                if "occurred_at" in changes:
                    adopted["adopted_at"] = datetime.fromisoformat(changes["occurred_at"])

    def _check_field(self, version: int, event: str, field: str, value: Any, *,
                     zone: tzinfo, corrected_at: datetime, **context: Any) -> Any:
        if field == "reason":
            return optional_text("reason", value)
        month, before = check_month("from month", str(value).strip()), \
            self.values[version]["from_month"]
        published = self.last_published()
        for which in (before, month):
            if published is not None and which <= published:
                raise Refused(f"rules cannot apply from {month} instead of {before}: "
                              f"{published} is published and frozen")
        return month
