"""An inspection visit (巡查) of a unit: recorded whether or not it found anything."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from domain.base import (
    N_,
    Actor,
    LedgerAggregate,
    LedgerCreated,
    Refused,
    check_moment,
    optional_text,
)
from domain.corrections import Correctable
from domain.roles import INSPECTOR, authorize


def check_inspectors(inspectors: list[str]) -> list[str]:
    twice = sorted({i for i in inspectors if inspectors.count(i) > 1})
    if twice:
        raise Refused("巡查员 {person} 在这次巡查中被列了两次", person=twice[0])
    return inspectors


class Inspection(Correctable, LedgerAggregate):
    """A visit by a supervision group; each finding becomes a task of its own. A visit
    entered with a wrong date, unit or group is corrected; one entered twice is withdrawn
    (its findings are tasks of their own: close a duplicate one as duplicate)."""

    LABEL = N_("巡查单")
    CORRECTABLE = {"Recorded": ("unit", "inspectors", "note")}
    CORRECT_ACTION = "correct"
    WITHDRAW_ACTION = "withdraw"

    class Recorded(LedgerCreated):
        inspection_id: str
        unit: str
        inspectors: list[str]
        findings: list[str]
        note: str

        def apply(self, inspection: Inspection) -> None:
            inspection.inspection_id = self.inspection_id
            inspection.unit = self.unit
            inspection.inspectors = list(self.inspectors)
            inspection.findings = list(self.findings)
            inspection.note = self.note

    @classmethod
    def record(cls, *, inspection_id: str, unit: str, companions: list[str],
               findings: list[str], note: str, actor: Actor, occurred_at: datetime,
               now: datetime) -> Inspection:
        """Record a visit by ``actor`` (and companions); ``findings`` are the task ids
        that the visit's problems became."""
        authorize(actor, "inspect")
        check_moment(occurred_at, now)
        inspectors = check_inspectors([actor.id] + [c for c in companions if c != actor.id])
        return cls._create(
            cls.Recorded, id=inspection_id, inspection_id=inspection_id, unit=unit,
            inspectors=inspectors, findings=findings, note=note.strip(),
            occurred_at=occurred_at, **actor.stamp(),
        )

    def _check_field(self, version: int, event: str, field: str, value: Any, *,
                     zone: tzinfo, corrected_at: datetime, **context: Any) -> Any:
        if field == "unit":
            return context["active_unit"](str(value).strip())
        if field == "inspectors":
            names = value if isinstance(value, list) else str(value).split(",")
            inspectors = check_inspectors([n.strip() for n in names if n.strip()])
            if not inspectors:
                raise Refused("巡查人员须至少列出一名巡查员")
            for person_id in inspectors:
                if context["person"](person_id).person_role != INSPECTOR:
                    raise Refused("{person} 不是巡查员", person=person_id)
            return inspectors
        return optional_text("note", value)
