"""The read side's questions about records: a task's history, any record's history, and
the timeline of the whole ledger — each as of the read side's moment or position
(``ReadSide.at``). Mixed into :class:`projections.read.ReadSide`."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from domain.base import NotFound, Refused
from domain.task import Task
from i18n import N_, _
from ledger.chain import Record, Tampered, canonical_time, stamp
from ledger.corrections import resolve
from ledger.unit_of_work import UNKNOWN
from projections.events import said_of
from projections.facts import Context, decode
from projections.history import record_history, task_history
from projections.times import for_people

# Per kind of record (as ledger.corrections.resolve names it): one not yet recorded at a
# moment, and at a position (a record it does not know: the write side's UNKNOWN).
NOT_YET_AT = {
    "task": N_("任务 {name} 在 {at} 时尚未记录"),
    "target task": N_("指标任务 {name} 在 {at} 时尚未记录"),
    "survey": N_("测评 {name} 在 {at} 时尚未记录"),
    "inspection": N_("巡查 {name} 在 {at} 时尚未记录"),
    "unit": N_("单位 {name} 在 {at} 时尚未记录"),
    "person": N_("人员 {name} 在 {at} 时尚未记录"),
    "rules version": N_("评分细则版本 {name} 在 {at} 时尚未记录"),
}
NOT_YET_AT_POSITION = {
    "task": N_("任务 {name} 在位置 {position} 时尚未记录"),
    "target task": N_("指标任务 {name} 在位置 {position} 时尚未记录"),
    "survey": N_("测评 {name} 在位置 {position} 时尚未记录"),
    "inspection": N_("巡查 {name} 在位置 {position} 时尚未记录"),
    "unit": N_("单位 {name} 在位置 {position} 时尚未记录"),
    "person": N_("人员 {name} 在位置 {position} 时尚未记录"),
    "rules version": N_("评分细则版本 {name} 在位置 {position} 时尚未记录"),
}
# What a correction or withdrawal of an event does to it, on the timeline.
MARKS = {"corrected": N_("更正于 #{position}"), "withdrawn": N_("撤回于 #{position}")}


class RecordQueries:
    """History and timeline over a ``ReadSide`` (its store, its moment or position, and the
    maintained read side it was made from)."""

    store: Any
    as_of: datetime | None
    fixed_position: int | None
    live: Any
    engine: Any
    projections: dict[str, Any]

    def history(self, task_id: str, valid_at: date | None = None) -> dict[str, Any]:
        """One task's state and timeline, read from that task's events alone: as recorded
        by this read side's moment (``at``; default everything), and with ``valid_at`` the
        state it was in on that day as known then."""
        as_of = self.as_of
        try:
            kind, _, _, _ = resolve(task_id)
        except Refused:
            kind = None
        if kind is not Task:
            raise NotFound("未知的任务：{name}", name=task_id.strip().upper())
        facts, zone = self._facts(task_id, as_of)
        today = (as_of or self.store.ledger.clock()).astimezone(zone).date()
        found = task_history(facts, Context(zone), today=today, valid_at=valid_at)
        if found["state"] is None:
            raise NotFound("任务 {task} 在 {day} 尚未交办（交办于 {assigned}）",
                           task=facts[0].originator_id, day=valid_at,
                           assigned=found["assigned_on"])
        return found

    def record_history(self, record: str) -> dict[str, Any]:
        """Any record's events, with its corrections and withdrawal, as recorded by this
        read side's moment; a record is named as ``correct`` names it (``SV-…``,
        ``unit:CODE`` …)."""
        facts, zone = self._facts(record, self.as_of)
        return record_history(facts, Context(zone))

    def _facts(self, record: str, as_of: datetime | None) -> tuple[list[Any], Any]:
        """A record's facts (those recorded by ``as_of``) and the campaign's zone."""
        kind, key, label, _ = resolve(record)
        name = key.split(":", 1)[-1]
        ledger = self.store.ledger
        records = ledger.recorder.select_aggregate_records(key)  # type: ignore[attr-defined]
        if not records or records[0].topic.rsplit(":", 1)[-1].split(".")[0] != kind.__name__:
            raise NotFound(UNKNOWN[label], name=name)
        zone = ledger.zone()
        if as_of is not None:
            records = [r for r in records if r.recorded_at <= stamp(as_of)]
            if not records:
                raise NotFound(NOT_YET_AT[label], name=name, at=for_people(as_of, zone))
        if self.fixed_position is not None:
            records = [r for r in records if r.position <= self.fixed_position]
            if not records:
                raise NotFound(NOT_YET_AT_POSITION[label], name=name,
                               position=self.fixed_position)
        return [decode(r) for r in records], zone

    def timeline(self, *, unit: str | None = None, valid_from: date | None = None,
                 valid_to: date | None = None, actor: str | None = None,
                 limit: int | None = None, after: int = 0) -> list[dict[str, Any]]:
        """The events of the whole ledger (or of a unit and the units below it) in the
        order they were recorded: valid time from/to (dates, inclusive), recorded by this
        read side's moment, by ``actor``; ``after`` a position, for the next page. (As of
        a moment, the maintained event index is read up to it, not folded again.)"""
        return self.live._timeline(unit=unit, valid_from=valid_from, valid_to=valid_to,
                                   as_of=self.as_of, upto=self.fixed_position, actor=actor,
                                   limit=limit, after=after)

    def _timeline(self, *, unit: str | None, valid_from: date | None,
                  valid_to: date | None, as_of: datetime | None, upto: int | None,
                  actor: str | None, limit: int | None, after: int) -> list[dict[str, Any]]:
        import sqlalchemy as sa

        from projections.positions import log_table

        self.current()
        events = self.projections["events"].tables["events"]
        proxies = self.projections["events"].tables["proxy_entries"]
        log = log_table(self.store.ledger.recorder.events_table_name)
        query = (sa.select(events, log.c.originator_id, log.c.originator_version, log.c.topic,
                           log.c.state, log.c.recorded_at, log.c.account, proxies.c.entered_by)
                 .select_from(events.join(log, log.c.notification_id == events.c.position)
                              .outerjoin(proxies, proxies.c.position == events.c.position))
                 .order_by(events.c.position))
        if unit:
            units = self.unit_and_descendants(unit)
            query = query.where(sa.or_(events.c.unit.in_(units),
                                       events.c.other_unit.in_(units)))
        if actor:
            if actor not in {p["id"] for p in self.people()}:
                raise NotFound("未知的人员：{name}", name=actor)
            query = query.where(events.c.actor == actor)
        if valid_from:
            query = query.where(events.c.occurred_on >= valid_from.isoformat())
        if valid_to:
            query = query.where(events.c.occurred_on <= valid_to.isoformat())
        if as_of is not None:  # (transaction time never runs backwards along the log)
            known = self.store.ledger.position_as_of(as_of)
            upto = known if upto is None else min(upto, known)
        if upto is not None:
            query = query.where(events.c.position <= upto)
        if after:
            query = query.where(events.c.position > after)
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            rows = [_timeline_row(r) for r in conn.execute(query).mappings()]
        self._mark_corrections(rows, None, upto)
        return rows

    def _mark_corrections(self, rows: list[dict[str, Any]], as_of: datetime | None,
                          upto: int | None = None) -> None:
        """Each event's ``correction``: the positions of the corrections of it and of the
        withdrawal of its record (recorded by ``as_of``); a correction's own says what it
        corrects."""
        import sqlalchemy as sa

        table = self.projections["events"].tables["event_corrections"]
        if as_of is not None:
            upto = self.store.ledger.position_as_of(as_of)
        marks: dict[tuple[str, int], list[tuple[str, int]]] = {}
        originators = sorted({r["originator"] for r in rows})
        query = sa.select(table).order_by(table.c.position)
        if upto is not None:
            query = query.where(table.c.position <= upto)
        if len(originators) <= 500:  # else all of them: corrections are few
            query = query.where(table.c.originator.in_(originators))
        with self.engine.connect() as conn:
            for found in conn.execute(query).mappings():
                marks.setdefault((found["originator"], found["version"]), []).append(
                    (found["kind"], found["position"]))
        for row in rows:
            notes = marks.get((row["originator"], row["version"]), []) + \
                marks.get((row["originator"], 0), [])
            if row["kind"].endswith((".Corrected", ".Withdrawn")):
                notes = [n for n in notes if n[1] != row["position"]]
            row["correction"] = "; ".join(_(MARKS[kind]).format(position=position)
                                          for kind, position in notes)


def _timeline_row(r: Any) -> dict[str, Any]:
    """A timeline row: the event index's, with the event table's own columns, and what the
    event says (its summary, reason and evidence), in the language in use."""
    recorded = r["recorded_at"]
    if not isinstance(recorded, str):
        recorded = stamp(recorded) if isinstance(recorded, datetime) else ""
    state = r["state"]
    if isinstance(state, memoryview):  # (a driver's bytea)
        state = state.tobytes()
    if (type(r["topic"]) is not str or type(r["originator_id"]) is not str
            or type(r["originator_version"]) is not int or type(r["account"]) is not str
            or type(state) is not bytes or canonical_time(recorded) != recorded):
        # Changed in the database since it was folded: never shown as if it were the ledger's.
        raise Tampered("位置 {position} 上存储的事件无法读取：它在折叠之后被改动过",
                       position=r["position"])
    fact = decode(Record(r["position"], r["originator_id"], r["originator_version"],
                         r["topic"], state, recorded, r["account"], ""))
    try:
        summary, reason, evidence = said_of(fact)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):
        raise Tampered("位置 {position} 上存储的事件无法读取：它在折叠之后被改动过",
                       position=r["position"]) from None
    return {
        "position": r["position"], "originator": r["originator_id"],
        "version": r["originator_version"], "kind": fact.kind,
        "occurred_at": r["occurred_at"], "occurred_on": r["occurred_on"],
        "recorded_at": recorded,
        "late_days": r["late_days"], "actor": r["actor"], "role": r["role"],
        "account": r["account"], "unit": r["unit"], "other_unit": r["other_unit"],
        "summary": summary, "reason": reason, "evidence": evidence,
        "entered_by": r["entered_by"]}
