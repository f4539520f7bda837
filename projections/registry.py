"""The registries as read models: units (with their parents), people and the accounts bound
to them."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from projections.engine import Context, Fact, Key, Projection, Rows


class Registry(Projection):
    """Units and people, as the office registered, renamed and retired them, and the
    accounts bound to people (a row while bound)."""

    name = "registry"
    kinds = frozenset({"Unit.Registered", "Unit.Renamed", "Unit.Retired",
                       "Person.Registered", "Person.Retired",
                       "Account.Bound", "Account.Rebound", "Account.Unbound"})

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
        if fact.kind.startswith("Account."):
            return [("accounts", (fact.originator_id.split(":", 1)[1],))]
        table = "units" if fact.kind.startswith("Unit.") else "people"
        return [(table, (fact.originator_id.split(":", 1)[1],))]

    def fold(self, rows: Rows, fact: Fact, ctx: Context) -> None:
        d = fact.data
        code = fact.originator_id.split(":", 1)[1]
        if fact.kind.startswith("Account."):
            if fact.kind == "Account.Unbound":
                rows.delete("accounts", (code,))
            else:
                rows.put("accounts", (code,), {"account": code, "person": d["person"],
                                               "bound_at": d["occurred_at"]})
        elif fact.kind == "Unit.Registered":
            rows.put("units", (code,), {"code": code, "name": d["name"], "kind": d["kind"],
                                        "parent": d["parent"], "retired": False})
        elif fact.kind == "Person.Registered":
            rows.put("people", (code,), {"id": code, "name": d["name"],
                                         "role": d["person_role"], "unit": d["unit"],
                                         "retired": False})
        else:
            table = "units" if fact.kind.startswith("Unit.") else "people"
            row = dict(rows.get(table, (code,)) or {})
            if fact.kind == "Unit.Renamed":
                row["name"] = d["name"]
            else:
                row["retired"] = True
            rows.put(table, (code,), row)
