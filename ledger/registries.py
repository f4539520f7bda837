"""The ledger's registries: the campaign, units and people (mixed into
:class:`ledger.app.Ledger`; the rules are the aggregates', in ``domain/registry.py``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from eventsourcing.persistence import IntegrityError

from domain.accounts import Account
from domain.base import NotFound, Refused
from domain.registry import Campaign, Person, Unit, check_code
from domain.roles import ADMIN
from ledger import identity
from ledger.presenters import describe_campaign, describe_person, describe_unit
from ledger.unit_of_work import UnitOfWork, forget_cached, moment


class RegistryCommands:
    """Starting the campaign, and the registries of units and people."""

    account: str
    actor: Any
    clock: Any
    campaign: Any
    unit: Any
    person: Any
    save: Any
    write: Any
    load_many: Any
    recorder: Any

    def start_campaign(self, *, name: str, time_zone: str, categories: list[str],
                       required_inspections: int, admin_id: str, admin_name: str,
                       occurred_at: datetime | None = None) -> dict[str, Any]:
        """Start the ledger's campaign with its first administrator, bound to the account
        that starts it."""
        when, _ = moment(self.clock, occurred_at)
        try:
            existing = self.campaign()
        except NotFound:
            pass
        else:
            raise Refused("本账本已经有专项行动：{name}", name=existing.name)
        admin = Person.found(person_id=admin_id, name=admin_name, occurred_at=when)
        campaign = Campaign.start(
            name=name, time_zone=time_zone, categories=categories,
            required_inspections=required_inspections, actor=admin.as_actor(),
            occurred_at=when)
        binding = Account.bind_new(self.account, admin, actor=admin.as_actor(),
                                   occurred_at=when)
        # Not retried: the events are collected by the first save, and a conflict here
        # can only mean that someone else started a campaign meanwhile.
        try:
            self.save(campaign, admin, binding)
        except IntegrityError:
            forget_cached(self)  # type: ignore[arg-type]
            raise Refused("本账本已经有专项行动") from None
        return describe_campaign(campaign)

    def describe_campaign(self, campaign: Campaign | None = None) -> dict[str, Any]:
        return describe_campaign(campaign or self.campaign())

    def add_category(self, *, actor_id: str | None, category: str,
                     occurred_at: datetime | None = None) -> dict[str, Any]:
        def add(work: UnitOfWork) -> dict[str, Any]:
            actor = self.actor(actor_id)
            campaign = self.campaign()
            campaign.add_category(category, actor=actor, occurred_at=work.moment(occurred_at)[0])
            work.save(campaign)
            return describe_campaign(campaign)
        return self.write(add)

    def change_required_inspections(self, *, actor_id: str | None, required: int,
                                    reason: str, occurred_at: datetime | None = None
                                    ) -> dict[str, Any]:
        """Change how many inspections each unit needs a month (for inspection coverage),
        from ``occurred_at`` on; earlier months keep the number then in force."""
        def change(work: UnitOfWork) -> dict[str, Any]:
            actor = self.actor(actor_id)
            campaign = self.campaign()
            campaign.change_required_inspections(required, reason, actor=actor,
                                                 occurred_at=work.moment(occurred_at)[0])
            work.save(campaign)
            return describe_campaign(campaign)
        return self.write(change)

    def register_unit(self, *, actor_id: str | None, code: str, name: str, kind: str,
                      parent: str | None = None,
                      occurred_at: datetime | None = None) -> dict[str, Any]:
        def register(work: UnitOfWork) -> dict[str, Any]:
            actor = self.actor(actor_id)
            self.campaign()
            check_code("unit code", code)
            if work.exists(Unit.key(code)):
                raise Refused("单位 {code} 已存在", code=code)
            parent_unit = self.unit(parent) if parent else None
            unit = Unit.register(code=code, name=name, kind=kind, parent=parent_unit,
                                 actor=actor, occurred_at=work.moment(occurred_at)[0])
            work.save(unit)
            return describe_unit(unit)
        return self.write(register)

    def rename_unit(self, *, actor_id: str | None, code: str, name: str, reason: str,
                    occurred_at: datetime | None = None) -> dict[str, Any]:
        def rename(work: UnitOfWork) -> dict[str, Any]:
            actor = self.actor(actor_id)
            unit = self.unit(code)
            unit.rename(name, reason, actor=actor, occurred_at=work.moment(occurred_at)[0])
            work.save(unit)
            return describe_unit(unit)
        return self.write(rename)

    def retire_unit(self, *, actor_id: str | None, code: str, reason: str,
                    occurred_at: datetime | None = None) -> dict[str, Any]:
        def retire(work: UnitOfWork) -> dict[str, Any]:
            actor = self.actor(actor_id)
            unit = self.unit(code)
            unit.retire(reason, actor=actor, occurred_at=work.moment(occurred_at)[0])
            work.save(unit)
            return describe_unit(unit)
        return self.write(retire)

    def register_person(self, *, actor_id: str | None, person_id: str, name: str, role: str,
                        unit: str | None = None, account: str | None = None,
                        occurred_at: datetime | None = None) -> dict[str, Any]:
        """Register a person (and bind ``account`` to them, in the same write)."""
        def register(work: UnitOfWork) -> dict[str, Any]:
            actor = self.actor(actor_id)
            check_code("person id", person_id)
            if work.exists(Person.key(person_id)):
                raise Refused("人员 {person} 已存在", person=person_id)
            when = work.moment(occurred_at)[0]
            person = Person.register(person_id=person_id, name=name, role=role,
                                     unit=self.unit(unit) if unit else None, actor=actor,
                                     occurred_at=when)
            binding = None
            if account is not None:
                binding = identity.binding(self, account, person, actor,  # type: ignore[arg-type]
                                           when)
            work.save(person, binding)
            return {**describe_person(person), "account": account}
        return self.write(register)

    def retire_person(self, *, actor_id: str | None, person_id: str, reason: str,
                      occurred_at: datetime | None = None) -> dict[str, Any]:
        def retire(work: UnitOfWork) -> dict[str, Any]:
            actor = self.actor(actor_id)
            person = self.person(person_id)
            person.retire(reason, actor=actor, occurred_at=work.moment(occurred_at)[0],
                          admins=work.active_admins() if person.person_role == ADMIN
                          else ())
            work.save(person)
            return describe_person(person)
        return self.write(retire)
