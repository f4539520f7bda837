"""The evaluation book's commands: adopting scoring rules, and publishing a month.

Rules are versioned events, so the rules in force for any month are known (and were known
at any moment). A month with no adopted rules is scored by the rules that ship with the
program (version 0); publishing such a month first adopts those shipped rules, from the
campaign's first month, so that every published ranking names a version the ledger holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventsourcing.application import AggregateNotFoundError

from domain.base import NotFound, Refused
from domain.evaluation import Evaluation
from domain.months import check_month, month_of, months_between
from domain.rules import Rules, digest_text
from ledger.app import Ledger
from ledger.presenters import plain
from ledger.rules import default_text
from ledger.unit_of_work import UnitOfWork

SHIPPED = "shipped default"


@dataclass(frozen=True)
class RulesVersion:
    """A version of the scoring rules and when and why it was adopted."""

    version: int  # 0: the rules that ship with the program, never adopted
    from_month: str | None
    rules: Rules
    text: str
    digest: str
    source: str
    reason: str = ""
    adopted_at: datetime | None = None
    actor: str | None = None

    def describe(self) -> dict[str, Any]:
        return {"version": self.version, "name": self.rules.name,
                "from_month": self.from_month, "digest": self.digest, "source": self.source,
                "reason": self.reason,
                "adopted_at": self.adopted_at.isoformat() if self.adopted_at else None,
                "actor": self.actor}


def shipped_rules() -> RulesVersion:
    text = default_text()
    return RulesVersion(0, None, Rules.parse(text, SHIPPED), text, digest_text(text), SHIPPED)


@dataclass(frozen=True)
class Frozen:
    """What a publication freezes: where the ranking was computed and its digest."""

    position: int
    digest: str
    summary: dict[str, Any]


class Evaluations:
    """Scoring rules and publications, on one ledger."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def book(self) -> Evaluation | None:
        try:
            found = self.ledger.repository.get(Evaluation.ID)
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, Evaluation) else None

    # --- rules -------------------------------------------------------------------------

    def adopt_rules(self, *, actor_id: str | None, text: str, source: str, from_month: str,
                    reason: str = "", occurred_at: datetime | None = None
                    ) -> dict[str, Any]:
        """Adopt a rules file from a month on (an event: the rules are versioned)."""
        def adopt(work: UnitOfWork) -> dict[str, Any]:
            ctx = work.context(actor_id, occurred_at)
            book = self.book() or Evaluation.open(actor=ctx.actor, occurred_at=ctx.when)
            version = book.adopt_rules(text=text, source=source, from_month=from_month,
                                       reason=reason, actor=ctx.actor, occurred_at=ctx.when,
                                       now=ctx.now)
            work.save(book)
            return self._version(book.versions[version - 1]).describe()
        return self.ledger.write(adopt)

    def rules_for(self, month: str) -> RulesVersion:
        """The rules in force for ``month`` (the shipped ones if none were adopted)."""
        check_month("month", month)
        book = self.book()
        found = book.rules_for(month) if book else None
        return self._version(found) if found else shipped_rules()

    def version(self, number: int) -> RulesVersion:
        if number == 0:
            return shipped_rules()
        book = self.book()
        if book is None or not 1 <= number <= len(book.versions):
            raise NotFound("未知的评分细则版本：{number}", number=number)
        return self._version(book.versions[number - 1])

    def versions(self) -> list[RulesVersion]:
        book = self.book()
        return [self._version(v) for v in book.versions] if book else []

    @staticmethod
    def _version(found: dict[str, Any]) -> RulesVersion:
        return RulesVersion(found["version"], found["from_month"],
                            Rules.parse(found["text"], found["source"]), found["text"],
                            found["digest"], found["source"], found["reason"],
                            found["adopted_at"], found["actor"])

    # --- publications --------------------------------------------------------------------

    def publication(self, month: str) -> dict[str, Any] | None:
        book = self.book()
        found = book.publications.get(month) if book else None
        return plain(found) if found else None

    def published(self, month: str) -> dict[str, Any]:
        found = self.publication(check_month("month", month))
        if found is None:
            raise NotFound("{month} 的评比结果尚未发布", month=month)
        return found

    def publish(self, *, actor_id: str | None, month: str,
                compute: Callable[[Callable[[str], RulesVersion]], Frozen],
                occurred_at: datetime | None = None) -> dict[str, Any]:
        """Freeze a month's ranking. ``compute(rules_for)`` ranks the month from the ledger
        as it stands, with the rules in force for each month, and says at which position;
        the publication records that position, the audit head there, the rules version
        and the result's digest."""
        check_month("month", month)

        def publish_month(work: UnitOfWork) -> dict[str, Any]:
            actor = self.ledger.actor(actor_id)
            campaign = self.ledger.campaign()
            when, now = work.moment(occurred_at)
            today = self.ledger.today(campaign)
            book = self.book() or Evaluation.open(actor=actor, occurred_at=when)
            book.check_publishable(month, today, actor)
            if book.rules_for(month) is None:
                start = self.campaign_start(campaign.zone)
                book.adopt_rules(text=default_text(), source=SHIPPED,
                                 from_month=min(start, month),
                                 reason="shipped default rules, adopted on first publication",
                                 actor=actor, occurred_at=when, now=now)
            version = book.rules_for(month)["version"]  # type: ignore[index]

            def rules_for(wanted: str) -> RulesVersion:
                found = book.rules_for(wanted)
                return self._version(found) if found else shipped_rules()
            frozen = compute(rules_for)
            book.publish(month=month, rules_version=version, position=frozen.position,
                         head=self.hash_at(frozen.position), digest=frozen.digest,
                         summary=frozen.summary, today=today, actor=actor,
                         occurred_at=when, now=now)
            work.save(book)
            return self.published(month)
        return self.ledger.write(publish_month)

    def hash_at(self, position: int) -> str:
        """The audit chain's hash at ``position`` (the head as it was then)."""
        records = list(self.ledger.records(position - 1, position)) if position else []
        if not records:
            raise Refused("账本在位置 {position} 没有事件", position=position)
        return records[0].hash

    def campaign_start(self, zone: Any) -> str:
        """The month the campaign started (its first event's valid time)."""
        first = next(iter(self.ledger.events.get("campaign", limit=1)))
        return month_of(first.occurred_at.astimezone(zone).date())

    def bulletin_number(self, month: str) -> str:
        """The bulletin's default 文号 line: 〔YEAR〕第N期, N the campaign's month (none before
        the campaign began)."""
        issue = len(months_between(self.campaign_start(self.ledger.campaign().zone), month))
        return f"〔{month[:4]}〕" + (f"第{issue}期" if issue else "")
