"""Who is at the keyboard: the account the store's platform authenticated, the person an
administrator bound it to, and the person an event is entered for.

- The account is never what a user typed: on PostgreSQL the server's ``session_user`` (any
  authentication its ``pg_hba.conf`` offers; taizhang stores no passwords), on an SQLite file
  the operating-system account of the process's real uid with the host (``pwd``, never the
  USER or LOGNAME variables).
- The person entering an event is the one bound to that account (``domain.accounts``). An
  unbound account may read, not write.
- An event is normally entered by the person it is about. An administrator or a clerk may
  enter it on behalf of the person responsible (a proxy entry, 代录): the event is then the
  responsible person's, judged by their role, and records who entered it (``entered_by``).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from domain.accounts import Account, check_account
from domain.base import Actor, LedgerAggregate, NotFound, Refused
from domain.registry import Person
from domain.roles import ADMIN, authorize

from ledger.unit_of_work import UNKNOWN, moment

if TYPE_CHECKING:
    from ledger.app import Ledger
    from ledger.unit_of_work import UnitOfWork


ACCOUNT_PREFIX = "account:"


def authenticated_account(recorder: Any) -> str:
    """The account the store's platform authenticated for this process or connection."""
    account = getattr(recorder, "account", None)
    if account:
        return str(account)
    rows = recorder._select("SELECT session_user AS account", [])
    return str(rows[0]["account"])


def unbound(ledger: Ledger, account: str) -> Refused:
    """The refusal of a write from an account bound to no one (or, in a ledger without a
    campaign, the refusal that says so)."""
    ledger.campaign()
    return Refused("账户 {account} 在本账本中没有绑定任何人员：只能读，不能写"
                   "（由管理员用 'taizhang person bind' 绑定）", account=account)


def acting(ledger: Ledger, person_id: str | None,
           *also: tuple[type[LedgerAggregate], str, str]
           ) -> tuple[Actor, list[LedgerAggregate]]:
    """The actor of a command entered from this ledger's account, for ``person_id`` (None:
    the account's own person), with the aggregates ``also`` wanted, in one read.

    ``person_id`` naming someone other than the account's person makes a proxy entry, which
    only an administrator or a clerk may make."""
    account = ledger.account
    wanted: list[tuple[type[LedgerAggregate], str, str]] = [
        (Account, Account.key(account), "account")]
    if person_id:
        wanted.append((Person, Person.key(person_id), "person"))
    # A proxy entry needs the account's own person too: the one it was bound to when last
    # read is read in the same statement (if the binding changed since, the person it is
    # bound to now is read after).
    enterer_key = _cached_binding(ledger, account)
    read_enterer = bool(person_id) and enterer_key not in (None, Person.key(person_id))
    if read_enterer:
        wanted.append((Person, enterer_key, "person"))
    try:
        loaded = ledger.load_many(*wanted, *also)
    except NotFound as e:
        if e.template == UNKNOWN["account"] and e.values.get("name") == account:
            raise unbound(ledger, account) from None
        raise
    bound: Account = loaded[0]  # type: ignore[assignment]
    if bound.person is None:
        raise unbound(ledger, account)
    rest = loaded[len(wanted):]
    if person_id and person_id == bound.person:
        return loaded[1].as_actor(), rest  # type: ignore[attr-defined]
    if read_enterer and enterer_key == Person.key(bound.person):
        enterer = loaded[2].as_actor()  # type: ignore[attr-defined]
    else:
        enterer = ledger.person(bound.person).as_actor()
    if not person_id:
        return enterer, rest
    authorize(enterer, "enter_on_behalf")
    actor = loaded[1].as_actor()  # type: ignore[attr-defined]
    actor.entered_by = enterer.id
    return actor, rest


def _cached_binding(ledger: Ledger, account: str) -> str | None:
    """The key of the person ``account`` was bound to when its record was last read by this
    ledger (None: not read yet, or bound to no one)."""
    cache = ledger.repository.cache
    if cache is None:
        return None
    try:
        cached = cache.get(Account.key(account))
    except KeyError:
        return None
    person = getattr(cached, "person", None)
    return Person.key(person) if person else None


def binding(ledger: Ledger, account: str, person: Person, actor: Actor,
            when: datetime) -> Account:
    """The account, bound to ``person`` (its first binding, or again after an unbinding)."""
    name = check_account(account)
    try:
        existing = ledger.load(Account, Account.key(name), "account")
    except NotFound:
        return Account.bind_new(name, person, actor=actor, occurred_at=when)
    existing.bind(person, actor=actor, occurred_at=when)
    return existing


class Accounts:
    """Binding accounts to persons, and who the current account is."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def person_of(self, account: str) -> str | None:
        """The person ``account`` is bound to now (None: unknown or unbound)."""
        try:
            return self.ledger.load(Account, Account.key(account), "account").person
        except NotFound:
            return None

    def whoami(self) -> dict[str, Any]:
        """This process's account, and the person bound to it (if any)."""
        ledger = self.ledger
        account = ledger.account
        bound = self.person_of(account)
        found: dict[str, Any] = {"account": account, "person": bound, "name": None,
                                 "role": None}
        if bound is not None:
            person = ledger.person(bound)
            found.update(name=person.name, role=person.person_role,
                         retired=person.retired)
        return found

    def acting_id(self, claimed: str | None, on_behalf_of: str | None) -> str:
        """The person a command acts for, checked against the account: ``claimed`` (--as)
        must be the account's own person; ``on_behalf_of`` makes a proxy entry."""
        account = self.ledger.account
        bound = self.person_of(account)
        if bound is None:
            raise unbound(self.ledger, account)
        if claimed and claimed != bound:
            # The bound person is loaded only to name them in the refusal: the command
            # that goes on loads its actor itself.
            raise Refused("--as {claimed}：账户 {account} 绑定的是 {bound}（{name}），不是 {claimed}"
                          "（文书或管理员用 --on-behalf-of 代他人录入）", claimed=claimed,
                          account=account, bound=bound, name=self.ledger.person(bound).name)
        return on_behalf_of or bound

    def bind(self, *, actor_id: str | None, person_id: str, account: str,
             occurred_at: datetime | None = None) -> dict[str, Any]:
        """Bind ``account`` to ``person_id`` (an administrator's act)."""
        ledger = self.ledger

        def bind_account(work: UnitOfWork) -> dict[str, Any]:
            actor = ledger.actor(actor_id)
            person = ledger.person(person_id)
            bound = binding(ledger, account, person, actor, work.moment(occurred_at)[0])
            work.save(bound)
            return {"account": bound.account, "person": person.person_id}
        return ledger.write(bind_account)

    def adopt(self, *, admin_id: str, occurred_at: datetime | None = None
              ) -> dict[str, Any]:
        """Bind this account to administrator ``admin_id``, as that administrator, in a
        ledger begun before accounts were bound (no account has ever been): without it, no
        one could write to such a ledger again. Once any account is bound, only an
        administrator binds."""
        ledger = self.ledger
        ledger.campaign()
        recorder: Any = ledger.recorder
        if recorder.last_id_with_prefix(ACCOUNT_PREFIX) is not None:
            raise Refused("本账本已经在绑定账户了：由管理员用 'taizhang person bind' 绑定你的账户")
        person = ledger.person(admin_id)
        admin = person.as_actor()
        if admin.role != ADMIN:
            raise Refused("{person} 是 {role}：只有管理员才能接管绑定账户之前开始的账本",
                          person=admin_id, role=admin.role)
        bound = Account.bind_new(ledger.account, person, actor=admin,
                                 occurred_at=moment(ledger.clock, occurred_at)[0])
        # Not retried: a conflict can only mean that another account was bound meanwhile.
        ledger.save(bound)
        return {"account": bound.account, "person": admin_id}

    def unbind(self, *, actor_id: str | None, person_id: str, account: str, reason: str,
               occurred_at: datetime | None = None) -> dict[str, Any]:
        """Unbind ``account`` from ``person_id``: it may then read, not write."""
        ledger = self.ledger

        def unbind_account(work: UnitOfWork) -> dict[str, Any]:
            actor = ledger.actor(actor_id)
            name = check_account(account)
            ledger.person(person_id)
            bound = work.load(Account, Account.key(name), "account")
            bound.unbind(person_id, reason, actor=actor,
                         occurred_at=work.moment(occurred_at)[0])
            work.save(bound)
            return {"account": name, "person": person_id}
        return ledger.write(unbind_account)
