"""An inspection visit (巡查) of a unit: recorded whether or not it found anything."""

from __future__ import annotations

from datetime import datetime

from domain.base import Actor, LedgerAggregate, LedgerCreated, Refused, check_moment
from domain.roles import authorize


class Inspection(LedgerAggregate):
    """A visit by a supervision group; each finding becomes a task of its own."""

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
        inspectors = [actor.id] + [c for c in companions if c != actor.id]
        twice = sorted({i for i in inspectors if inspectors.count(i) > 1})
        if twice:
            raise Refused(f"inspector {twice[0]} is named twice on the visit")
        return cls._create(
            cls.Recorded, id=inspection_id, inspection_id=inspection_id, unit=unit,
            inspectors=inspectors, findings=findings, note=note.strip(),
            occurred_at=occurred_at, **actor.stamp(),
        )
