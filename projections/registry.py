"""The registries as read models: units (with their parents), people and the accounts bound
to them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from domain.accounts import Account
from domain.audit import AuditLog
from domain.evaluation import Evaluation
from domain.indicators import IndicatorSystem
from domain.inspection import Inspection
from domain.registry import Campaign, Person, Unit
from domain.survey import Survey
from domain.target import TargetTask
from domain.task import Task
from projections.corrections import corrected
from projections.facts import Context, Fact, Key
from projections.projection import Projection
from projections.rows import Rows

# A correction's field, as the registry's columns name it.
COLUMNS = {"name": "name", "kind": "kind", "parent": "parent", "person_role": "role",
           "unit": "unit"}


class Registry(Projection):
    """Units and people, as the office registered, renamed and retired them, and the
    accounts bound to people (a row while bound)."""

    name = "registry"

    def define(self) -> None:
        self.table("units",
                   sa.Column("code", sa.String(40), primary_key=True),
                   sa.Column("name", sa.Text, nullable=False),
                   sa.Column("kind", sa.String(8), nullable=False),
                   sa.Column("parent", sa.String(40)),
                   sa.Column("retired", sa.Boolean, nullable=False))
        self.table("people",
                   sa.Column("id", sa.String(40), primary_key=True),
                   sa.Column("name", sa.Text, nullable=False),
                   sa.Column("role", sa.String(16), nullable=False),
                   sa.Column("unit", sa.String(40)),
                   sa.Column("retired", sa.Boolean, nullable=False))
        self.table("accounts",
                   sa.Column("account", sa.String(128), primary_key=True),
                   sa.Column("person", sa.String(40), nullable=False, index=True),
                   sa.Column("bound_at", sa.String(40), nullable=False))

    def touches(self, fact: Fact) -> Iterable[tuple[str, Key]]:
        return [(TABLES[fact.event], (fact.originator_id.split(":", 1)[1],))]

    def _bound(self, rows: Rows, fact: Fact, ctx: Context) -> None:
        code = fact.originator_id.split(":", 1)[1]
        rows.put("accounts", (code,), {"account": code, "person": fact.data["person"],
                                       "bound_at": fact.data["occurred_at"]})

    def _unbound(self, rows: Rows, fact: Fact, ctx: Context) -> None:
        rows.delete("accounts", (fact.originator_id.split(":", 1)[1],))

    def _unit_registered(self, rows: Rows, fact: Fact, ctx: Context) -> None:
        d = fact.data
        code = fact.originator_id.split(":", 1)[1]
        rows.put("units", (code,), {"code": code, "name": d["name"], "kind": d["kind"],
                                    "parent": d["parent"], "retired": False})

    def _person_registered(self, rows: Rows, fact: Fact, ctx: Context) -> None:
        d = fact.data
        code = fact.originator_id.split(":", 1)[1]
        rows.put("people", (code,), {"id": code, "name": d["name"], "role": d["person_role"],
                                     "unit": d["unit"], "retired": False})

    def _renamed(self, rows: Rows, fact: Fact, ctx: Context) -> None:
        self._change(rows, fact, name=fact.data["name"])

    def _corrected(self, rows: Rows, fact: Fact, ctx: Context) -> None:
        self._change(rows, fact, **{COLUMNS[k]: v for k, v in corrected(fact)[1].items()
                                    if k in COLUMNS})

    def _retired(self, rows: Rows, fact: Fact, ctx: Context) -> None:
        self._change(rows, fact, retired=True)

    def _change(self, rows: Rows, fact: Fact, **changes: Any) -> None:
        """The unit's or person's row, with these columns changed."""
        table = TABLES[fact.event]  # type: ignore[index]
        code = fact.originator_id.split(":", 1)[1]
        rows.put(table, (code,), {**(rows.get(table, (code,)) or {}), **changes})

    handlers = {
        Unit.Registered: _unit_registered, Unit.Renamed: _renamed, Unit.Retired: _retired,
        Unit.Corrected: _corrected,
        Person.Registered: _person_registered, Person.Retired: _retired,
        Person.Corrected: _corrected,
        Account.Bound: _bound, Account.Rebound: _bound, Account.Unbound: _unbound,
    }
    ignored_aggregates = (AuditLog, Campaign, Evaluation, IndicatorSystem, Inspection, Survey,
                          TargetTask, Task)


# The table each handled event's row is in.
TABLES = {**dict.fromkeys((Unit.Registered, Unit.Renamed, Unit.Retired, Unit.Corrected),
                          "units"),
          **dict.fromkeys((Person.Registered, Person.Retired, Person.Corrected), "people"),
          **dict.fromkeys((Account.Bound, Account.Rebound, Account.Unbound), "accounts")}
