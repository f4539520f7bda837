"""Two administrators removing each other at once — each retiring the other, or one demoted
by a correction while it retires the other — never leave the ledger without an active
administrator, on either backend. Each decision relies on who the administrators are; its
save is made only if none of them changed meanwhile, else it is decided again, and refused.

Each writer is a store of its own (as two offices' machines are); both read the
administrators before either saves."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from conftest import seed_campaign

from domain.base import Refused
from ledger.corrections import Corrections
from ledger.store import Store
from ledger.unit_of_work import UnitOfWork


def _both_read_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each writer's first look at the administrators waits for the other's."""
    barrier = threading.Barrier(2, timeout=20)
    passed: set[int] = set()
    original = UnitOfWork.active_admins

    def active_admins(self: UnitOfWork) -> list[str]:
        found = original(self)
        if threading.current_thread() is not threading.main_thread() \
                and threading.get_ident() not in passed:
            passed.add(threading.get_ident())
            barrier.wait()
        return found

    monkeypatch.setattr(UnitOfWork, "active_admins", active_admins)


def _at_once(url: str, *acts: Callable[[Store], Any]) -> list[Any]:
    """Run each act on a store of its own, at once: what each returned, or its refusal."""
    stores = [Store(url) for _ in acts]
    outcomes: list[Any] = [None] * len(acts)

    def run(i: int) -> None:
        try:
            outcomes[i] = acts[i](stores[i])
        except Refused as e:
            outcomes[i] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(acts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for store in stores:
        store.close()
    return outcomes


def _admins(url: str) -> list[str]:
    store = Store(url)
    try:
        return store.ledger.write(lambda work: work.active_admins())
    finally:
        store.close()


@pytest.fixture
def two_admins(store_url: str) -> str:
    store = Store(store_url)
    seed_campaign(store.ledger)
    store.ledger.register_person(actor_id="admin", person_id="wu", name="吴主任", role="admin")
    store.close()
    return store_url


def test_two_administrators_retiring_each_other_at_once_leave_one(
        two_admins: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _both_read_first(monkeypatch)
    outcomes = _at_once(
        two_admins,
        lambda s: s.ledger.retire_person(actor_id="admin", person_id="wu", reason="调离"),
        lambda s: s.ledger.retire_person(actor_id="wu", person_id="admin", reason="调离"))
    assert sorted(isinstance(o, Refused) for o in outcomes) == [False, True], outcomes
    assert len(_admins(two_admins)) == 1


def test_an_administrator_demoted_while_retiring_the_other_leaves_one(
        two_admins: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _both_read_first(monkeypatch)
    outcomes = _at_once(
        two_admins,
        lambda s: Corrections(s.ledger).correct(
            actor_id="admin", record="person:wu", event=None,
            changes={"person_role": "inspector"}, reason="任命录错"),
        lambda s: s.ledger.retire_person(actor_id="wu", person_id="admin", reason="调离"))
    assert sorted(isinstance(o, Refused) for o in outcomes) == [False, True], outcomes
    assert len(_admins(two_admins)) == 1


def test_a_decision_relying_on_no_administrator_is_not_held_back(two_admins: str) -> None:
    """Retiring someone who is not an administrator relies on nothing more than before."""
    store = Store(two_admins)
    try:
        store.ledger.retire_person(actor_id="admin", person_id="sun", reason="调离")
        store.ledger.retire_person(actor_id="wu", person_id="admin", reason="调离")
        with pytest.raises(Refused):
            store.ledger.retire_person(actor_id="wu", person_id="wu", reason="调离")
    finally:
        store.close()
    assert _admins(two_admins) == ["wu"]
