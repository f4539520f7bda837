"""Accounts: who the platform says is at the keyboard, bound to the person they are.

An account is what the store's platform authenticated — a PostgreSQL login (its
``session_user``) or, on an SQLite file, the operating-system account of the process — never
what a user typed. An administrator binds an account to a person and unbinds it; the acting
person of every command then follows from the account. One account is one person at a time
(a person may have several: an office PC's account and a database login); an account bound
to a person who has retired must be unbound before it is bound to anyone else, so that the
ledger always says plainly whose it was.
"""

from __future__ import annotations

import re
from datetime import datetime

from domain.base import Actor, LedgerAggregate, LedgerCreated, LedgerEvent, Refused, require_text
from domain.registry import Person
from domain.roles import authorize

# A PostgreSQL role name or ``user@host``: no spaces or control characters, at most 128.
ACCOUNT_PATTERN = re.compile(r"^[^\s\x00-\x1f\x7f]{1,128}$")


def check_account(account: str) -> str:
    account = require_text("account", account)
    if not ACCOUNT_PATTERN.match(account):
        raise Refused("账户须为 1 到 128 个不含空格的字符，收到 {account!r}", account=account)
    return account


class Account(LedgerAggregate):
    """One authenticated account and the person it is bound to (None: unbound)."""

    class Bound(LedgerCreated):
        account: str
        person: str

        def apply(self, account: Account) -> None:
            account.account = self.account
            account.person = self.person

    class Rebound(LedgerEvent):
        person: str

        def apply(self, account: Account) -> None:
            account.person = self.person

    class Unbound(LedgerEvent):
        person: str
        reason: str

        def apply(self, account: Account) -> None:
            account.person = None

    @staticmethod
    def key(account: str) -> str:
        return f"account:{account}"

    @classmethod
    def bind_new(cls, account: str, person: Person, *, actor: Actor,
                 occurred_at: datetime) -> Account:
        """Bind an account the ledger has never seen."""
        authorize(actor, "manage_registry")
        account = check_account(account)
        _check_bindable(person, account)
        return cls._create(cls.Bound, id=cls.key(account), account=account,
                           person=person.person_id, occurred_at=occurred_at,
                           **actor.stamp())

    def bind(self, person: Person, *, actor: Actor, occurred_at: datetime) -> None:
        """Bind this (known) account again, to ``person``."""
        authorize(actor, "manage_registry")
        if self.person == person.person_id:
            raise Refused("账户 {account} 早已绑定 {person}", account=self.account,
                          person=person.person_id)
        if self.person is not None:
            raise Refused("账户 {account} 已绑定 {bound}：请先解除绑定，再绑定给 {person}",
                          account=self.account, bound=self.person, person=person.person_id)
        _check_bindable(person, self.account)
        self._stamp(self.Rebound, actor, occurred_at, person=person.person_id)

    def unbind(self, person_id: str, reason: str, *, actor: Actor,
               occurred_at: datetime) -> None:
        authorize(actor, "manage_registry")
        if self.person != person_id:
            if self.person:
                raise Refused("账户 {account} 未绑定 {person}（绑定的是 {bound}）",
                              account=self.account, person=person_id, bound=self.person)
            raise Refused("账户 {account} 未绑定 {person}（尚未绑定任何人）", account=self.account,
                          person=person_id)
        self._stamp(self.Unbound, actor, occurred_at, person=person_id,
                    reason=require_text("reason", reason))


def _check_bindable(person: Person, account: str) -> None:
    if person.retired:
        raise Refused("人员 {person} 已离任：账户 {account} 不能绑定给该人员", person=person.person_id,
                      account=account)
