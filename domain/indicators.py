"""The indicator system (测评体系): the campaign's evaluation items as a tree, in versions.

The system changes from year to year, so it is never edited in place: the office adopts a
whole new version, and earlier versions stay readable. Each indicator has a code ("3.2.1"),
its parent's code (none at the top), a title, a category, the points it carries and how it
is checked (实地考察, 材料审核, 问卷调查 …).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from domain.base import (
    Actor,
    LedgerAggregate,
    LedgerCreated,
    LedgerEvent,
    NotFound,
    Refused,
    check_text,
)
from domain.registry import CODE_PATTERN
from domain.roles import authorize


@dataclass(frozen=True)
class Indicator:
    """One item of the evaluation index system (测评指标)."""

    code: str
    parent: str | None
    title: str
    category: str
    points: float
    method: str

    def as_data(self) -> dict[str, Any]:
        return asdict(self)


def parse_points(value: Any, code: str) -> float:
    """Points as a number of 0 or more (blank means 0, e.g. for a heading)."""
    text = "" if value is None else str(value).strip()
    if not text:
        return 0.0
    try:
        points = Decimal(text)
    except InvalidOperation:
        raise Refused("指标 {code} 的分值须为数字，收到 {value!r}", code=code,
                      value=value) from None
    if not points.is_finite() or points < 0:
        raise Refused("指标 {code} 的分值须为 0 或以上，收到 {value!r}", code=code, value=value)
    return float(points)


def _check_code(row: int, value: Any) -> str:
    """An indicator's code, on the ``row``-th row of the system given."""
    code = str(value or "").strip()
    if not code:
        raise Refused("第 {row} 行的指标编码不能为空（收到 {value!r}）", row=row,
                      value=str(value or ""))
    if not CODE_PATTERN.match(code):
        raise Refused("第 {row} 行的指标编码须为字母、数字、'.'、'_' 或 '-'（至多 40 个），"
                      "收到 {code!r}", row=row, code=code)
    return code


def check_indicators(rows: list[dict[str, Any]]) -> list[Indicator]:
    """Check a whole system: every field, then duplicate codes, unknown parents and cycles,
    each refused by name. Returns the indicators in the order given."""
    if not rows:
        raise Refused("测评体系中没有任何指标")
    indicators = []
    for number, row in enumerate(rows, 1):
        code = _check_code(number, row.get("code"))
        parent_text = str(row.get("parent") or "").strip()
        if parent_text and not CODE_PATTERN.match(parent_text):
            raise Refused("指标 {code} 的上级编码须为字母、数字、'.'、'_' 或 '-'（至多 40 个），"
                          "收到 {parent!r}", code=code, parent=parent_text)
        parent = parent_text or None
        title = str(row.get("title") or "").strip()
        if not title:
            raise Refused("指标 {code} 的标题不能为空（收到 {value!r}）", code=code,
                          value=row.get("title"))
        indicators.append(Indicator(
            code=code, parent=parent,
            title=check_text("title", title),
            category=str(row.get("category") or "").strip(),
            points=parse_points(row.get("points"), code),
            method=str(row.get("method") or "").strip()))
    seen: set[str] = set()
    duplicated = []
    for indicator in indicators:
        if indicator.code in seen and indicator.code not in duplicated:
            duplicated.append(indicator.code)
        seen.add(indicator.code)
    if duplicated:
        raise Refused("指标编码重复出现：{codes}", codes=", ".join(duplicated))
    orphans = [i for i in indicators if i.parent is not None and i.parent not in seen]
    if len(orphans) == 1:
        raise Refused("上级指标 {parent} 不存在（指标 {code} 的上级）", parent=orphans[0].parent,
                      code=orphans[0].code)
    if orphans:
        raise Refused("上级指标不存在：{unknown}（括号内为其下级指标）",
                      unknown=", ".join(f"{i.parent} ({i.code})" for i in orphans))
    cycle = find_cycle({i.code: i.parent for i in indicators})
    if cycle:
        raise Refused("指标的上级关系形成了循环：{cycle}", cycle=" → ".join(cycle))
    return indicators


def find_cycle(parents: dict[str, str | None]) -> list[str] | None:
    """The first cycle among the parent links (as a path that returns to its start), or
    None. Every parent named must be a key."""
    settled: set[str] = set()
    for start in parents:
        path: list[str] = []
        on_path: dict[str, int] = {}
        code: str | None = start
        while code is not None and code not in settled:
            if code in on_path:
                loop = path[on_path[code]:]
                return loop + [code]
            on_path[code] = len(path)
            path.append(code)
            code = parents[code]
        settled.update(path)
    return None


class IndicatorSystem(LedgerAggregate):
    """The campaign's indicator system; each adopted version is an event."""

    ID = "indicators"

    class Opened(LedgerCreated):
        """The campaign began to keep an indicator system in the ledger."""

        def apply(self, system: IndicatorSystem) -> None:
            system.versions = []

    class VersionAdopted(LedgerEvent):
        number: int
        name: str
        source: str
        note: str
        indicators: list[dict[str, Any]]

        def apply(self, system: IndicatorSystem) -> None:
            system.versions.append(self)

    @classmethod
    def open(cls, *, actor: Actor, occurred_at: datetime) -> IndicatorSystem:
        authorize(actor, "manage_indicators")
        return cls._create(cls.Opened, id=cls.ID, occurred_at=occurred_at, **actor.stamp())

    def adopt(self, rows: list[dict[str, Any]], *, name: str, source: str, note: str,
              actor: Actor, occurred_at: datetime) -> int:
        """Adopt a new version of the whole system; returns its number."""
        authorize(actor, "manage_indicators")
        indicators = [i.as_data() for i in check_indicators(rows)]
        if self.versions and self.versions[-1].indicators == indicators:
            raise Refused("这些指标与第 {version} 版相同，无需采用", version=len(self.versions))
        number = len(self.versions) + 1
        self._stamp(self.VersionAdopted, actor, occurred_at, number=number,
                    name=name.strip() or f"第{number}版", source=source.strip(),
                    note=note.strip(), indicators=indicators)
        return number

    @property
    def latest(self) -> int:
        return len(self.versions)

    def adopted(self, number: int | None = None) -> VersionAdopted:
        """A version by number (default the latest)."""
        if not self.versions:
            raise NotFound("尚未导入测评体系：请运行 'taizhang indicators import FILE'")
        number = self.latest if number is None else number
        if not 1 <= number <= self.latest:
            raise NotFound("未知的测评体系版本：{number}（现有第 1 至第 {latest} 版）",
                           number=number, latest=self.latest)
        return self.versions[number - 1]

    def indicator(self, code: str, number: int | None = None) -> Indicator:
        """An indicator of a version (default the latest), refused by code when unknown."""
        adopted = self.adopted(number)
        for data in adopted.indicators:
            if data["code"] == code:
                return Indicator(**data)
        raise NotFound("未知的指标编码：{code}（在第 {version} 版中）", code=code,
                       version=adopted.number)
