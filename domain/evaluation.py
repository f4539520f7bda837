"""The monthly evaluation (每月评比): the evaluation book that records the scoring rules the
office adopts and the months it publishes.

Pure: no clock, no storage. Its parts have modules of their own: months (``months.py``),
the figure catalogue with its labels (``figures.py``), the rules file (``rules.py``), the
score (``scoring.py``) and the ranking (``ranking.py``).
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from typing import Any

from domain.base import (N_, Actor, Label, LedgerAggregate, LedgerCreated, LedgerEvent, Refused,
                         check_moment, optional_text)
from domain.corrections import Correctable
from domain.months import check_month, month_add, month_of
from domain.roles import ADMIN, ROLE_NAMES
from domain.rules import Rules, digest_text


def authorize_office(actor: Actor, what: str) -> None:
    """Only the civilization office (文明办, admin) adopts rules and publishes rankings."""
    if actor.role != ADMIN:
        raise Refused("{actor}（{role}）无权{action}：此操作仅限{allowed}", actor=actor.id,
                      role=Label(ROLE_NAMES.get(actor.role, actor.role)), action=Label(what),
                      allowed=Label(ROLE_NAMES[ADMIN]))


class Evaluation(Correctable, LedgerAggregate):
    """The office's evaluation book: the scoring rules it adopted (versioned, each from a
    month on; a month or reason corrected, never to or from a published month) and the
    months it published."""

    ID = "evaluation"
    LABEL = N_("评分规则的采用记录")
    CORRECTABLE = {"RulesAdopted": ("from_month", "reason")}
    CORRECT_ACTION = "manage_rules"
    WITHDRAW_INSTEAD = N_("请从同一月份起采用正确的规则（以后采用的为准）")

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
        authorize_office(actor, N_("采用评分规则"))
        check_moment(occurred_at, now)
        check_month("from month", from_month)
        rules = Rules.parse(text, source)
        published = self.last_published()
        if published is not None and from_month <= published:
            raise Refused("评分规则不能从 {month} 起采用：{published} 已发布并冻结；请从 {next} 或之后采用",
                          month=from_month, published=published, next=month_add(published, 1))
        version = len(self.versions) + 1
        self.trigger_event(self.RulesAdopted, rules_version=version, from_month=from_month,
                           name=rules.name, text=text, digest=digest_text(text),
                           source=source, reason=reason.strip(), occurred_at=occurred_at,
                           **actor.stamp())
        return version

    def check_publishable(self, month: str, today: date, actor: Actor) -> None:
        """Refuse, before any ranking is computed, a month that may not be published."""
        authorize_office(actor, N_("发布月度排名"))
        check_month("month", month)
        if month >= month_of(today):
            raise Refused("{month} 尚未结束（今天是 {today}）；只有完整的月份才能发布",
                          month=month, today=today.isoformat())
        if month in self.publications:
            done = self.publications[month]
            raise Refused("{month} 已经发布（位置 {position}，{published}）；已发布的排名已冻结："
                          "请看 'taizhang revisions --month {month}'", month=month,
                          position=done["position"], published=done["published_at"].isoformat())

    def publish(self, *, month: str, rules_version: int, position: int, head: str,
                digest: str, summary: dict[str, Any], today: date, actor: Actor,
                occurred_at: datetime, now: datetime) -> None:
        """Freeze a month's ranking: the rules version, the ledger position and audit head
        it was computed from, and the digest of the result."""
        self.check_publishable(month, today, actor)
        check_moment(occurred_at, now)
        in_force = self.rules_for(month)
        if in_force is None or in_force["version"] != rules_version:
            raise Refused("评分规则第 {version} 版不是 {month} 适用的版本", version=rules_version,
                          month=month)
        self.trigger_event(self.MonthPublished, month=month, rules_version=rules_version,
                           position=position, head=head, digest=digest, summary=summary,
                           occurred_at=occurred_at, **actor.stamp())

    def _said(self) -> dict[str, Any]:
        return {"kind": Label(self.LABEL), "name": ""}  # one book: its id says nothing more

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
                raise Refused("评分规则不能改为从 {month} 起适用（原为 {before}）：{published} 已发布并冻结",
                              month=month, before=before, published=published)
        return month
