"""A proxy entry (代录) names who entered it: the person the account is bound to when the
entry is made, even where this ledger read the account's binding earlier and another
process has changed it since (the entering person is read with the command's own
aggregates, from the binding last read, and checked against the binding read now)."""

from __future__ import annotations

import json
from datetime import date

import pytest

from domain.accounts import Account
from domain.base import Refused
from ledger.app import Ledger
from ledger.store import Store
from tests.conftest import Clock, seed_campaign


def assign_for_li(ledger: Ledger, place: str) -> dict[str, object]:
    """An inspector's assignment, entered from the test's account (a proxy entry unless
    that account is li's)."""
    task = ledger.assign(actor_id="li", unit="JS01", category="环境卫生", source="inspection",
                         location=place, description="乱堆乱放", deadline=date(2024, 6, 20))
    record = list(ledger.records(after=ledger.max_position() - 1))[-1]
    assert record.originator_id == task["task"]
    return json.loads(bytes(record.state))


def rebind(other: Ledger, to: str) -> None:
    """The account bound to ``to`` by the founding administrator, from another process's
    ledger (the domain's events, saved through the write side)."""
    admin = other.person("admin").as_actor()
    account = other.load(Account, Account.key(other.account), "account")
    account.unbind("admin", "换岗", actor=admin, occurred_at=other.clock())
    account.bind(other.person(to), actor=admin, occurred_at=other.clock())
    other.save(account)


@pytest.fixture
def two(store_url: str, clock: Clock):  # type: ignore[no-untyped-def]
    """Two ledgers on one store, as two processes of the same account."""
    first, second = Store(store_url, clock=clock), Store(store_url, clock=clock)
    seed_campaign(first.ledger)
    first.ledger.register_person(actor_id="admin", person_id="wu", name="吴录入",
                                 role="clerk")
    yield first.ledger, second.ledger
    first.close()
    second.close()


def test_a_proxy_entry_names_the_account_s_person(two: tuple[Ledger, Ledger]) -> None:
    ledger, _ = two
    for place in ("幸福路1号", "幸福路2号"):  # the second with the binding already read
        state = assign_for_li(ledger, place)
        assert (state["actor"], state["entered_by"]) == ("li", "admin")


def test_a_binding_changed_elsewhere_is_the_one_that_enters(
        two: tuple[Ledger, Ledger]) -> None:
    ledger, other = two
    assert assign_for_li(ledger, "幸福路1号")["entered_by"] == "admin"
    rebind(other, "wu")
    state = assign_for_li(ledger, "幸福路2号")
    assert (state["actor"], state["entered_by"]) == ("li", "wu")


def test_an_account_unbound_elsewhere_enters_nothing(two: tuple[Ledger, Ledger]) -> None:
    ledger, other = two
    assign_for_li(ledger, "幸福路1号")
    admin = other.person("admin").as_actor()
    account = other.load(Account, Account.key(other.account), "account")
    account.unbind("admin", "离岗", actor=admin, occurred_at=other.clock())
    other.save(account)
    before = ledger.max_position()
    with pytest.raises(Refused, match="没有绑定任何人员"):
        assign_for_li(ledger, "幸福路2号")
    assert ledger.max_position() == before
