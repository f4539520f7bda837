"""The write side has one public API: the unit of work (``ledger/unit_of_work.py``) and the
ledger's public methods. No module reaches into ``Ledger``'s private members, and use cases
take their parameters by name."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest
from eventsourcing.persistence import IntegrityError

from ledger.app import Ledger
from ledger.audit_checkpoints import record_checkpoint
from ledger.corrections import Corrections
from ledger.evaluation import Evaluations
from ledger.identity import Accounts
from ledger.indicators import Indicators
from ledger.unit_of_work import ATTEMPTS, Conflict, Context, UnitOfWork

ROOT = Path(__file__).resolve().parents[2]
# The application itself, and the unit of work that loads and retries for everyone.
ALLOWED = {"ledger/app.py", "ledger/unit_of_work.py"}
# The application's mixins: what they define is the application's.
MIXINS = {"ledger/tasks.py", "ledger/registries.py", "ledger/workdays.py",
          "ledger/extensions.py"}


def ledger_private_names() -> set[str]:
    """Every private member of a ``Ledger``: its class's and its instance's."""
    ledger = Ledger({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    names = set(dir(Ledger)) | set(vars(ledger))
    return {n for n in names if n.startswith("_") and not n.startswith("__")}


def defined_in(tree: ast.AST) -> set[str]:
    """Names a module defines for itself (methods, and attributes it sets on ``self``)."""
    own = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            own.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            own.add(node.attr)
    return own


def names_a_ledger(receiver: ast.expr) -> bool:
    """Whether an expression names a ledger as the project does (``ledger``,
    ``self.ledger``, ``store.ledger``, ``self._ledger``, ``app``, the tests' ``seeded``).
    Other classes' private members may share a name (``ReadSide._zone``)."""
    last = receiver.attr if isinstance(receiver, ast.Attribute) else getattr(receiver, "id", "")
    return "ledger" in last.lower() or last in ("app", "application", "seeded")


def private_uses(source: str, private: set[str], shared: frozenset[str] = frozenset()
                 ) -> list[tuple[int, str]]:
    """Where ``source`` reads a private member of a ledger that it does not define itself
    (a mixin of Ledger may use what it defines): on anything that names a ledger, and on
    anything at all for a name no other class of the project (``shared``) defines."""
    tree = ast.parse(source)
    own = defined_in(tree)
    return [(node.lineno, ast.unparse(node)) for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and node.attr in private
            and node.attr not in own
            and (names_a_ledger(node.value) or node.attr not in shared)]


def python_files() -> list[Path]:
    """Every Python file of the project (any top-level folder, not the virtualenv's)."""
    return sorted(p for p in ROOT.rglob("*.py")
                  if not {".venv", ".git", "build"} & set(p.relative_to(ROOT).parts))


def test_no_module_outside_the_application_and_its_unit_of_work_uses_its_private_members(
        ) -> None:
    private = ledger_private_names()
    assert {"_zone", "_account", "_repository"} <= private
    files = python_files()
    assert {"cli.py", "services", "commands", "web", "ledger", "projections", "tests"} <= {
        p.relative_to(ROOT).parts[0] for p in files}
    sources = {path.relative_to(ROOT).as_posix(): path.read_text(encoding="utf-8")
               for path in files}
    shared = frozenset().union(*(defined_in(ast.parse(text)) for name, text in sources.items()
                                 if name not in ALLOWED | MIXINS))
    found = [f"{name}:{line}: {text}"
             for name, source in sources.items() if name not in ALLOWED
             for line, text in private_uses(source, private, shared)]
    assert found == []


def test_the_scan_finds_a_private_member_reached_from_outside() -> None:
    private = ledger_private_names() | {"_retrying"}
    source = ("def f(ledger):\n"
              "    ledger._zone = None\n"
              "    return ledger._retrying(lambda work: None)\n")
    # the module sets _zone itself (it is its own), but _retrying is Ledger's
    assert private_uses(source, private) == [(3, "ledger._retrying")]
    assert private_uses("x = self.ledger._account\n", private) == [
        (1, "self.ledger._account")]
    assert private_uses("x = read._zone\n", private, frozenset({"_zone"})) == []  # ReadSide's
    # a name only Ledger defines is its own, whatever holds the ledger
    assert private_uses("self.reader._new_task()\n", private) == [
        (1, "self.reader._new_task")]


USE_CASE_OWNERS = (Ledger, Indicators, Evaluations, Corrections, Accounts)


def use_cases() -> list[tuple[str, inspect.Signature]]:
    found = [("record_checkpoint", inspect.signature(record_checkpoint))]
    for owner in USE_CASE_OWNERS:
        for name, member in inspect.getmembers(owner, inspect.isfunction):
            if name.startswith("_"):
                continue
            signature = inspect.signature(member)
            if {"actor_id", "admin_id"} & set(signature.parameters):
                found.append((f"{owner.__name__}.{name}", signature))
    return found


def test_every_use_case_takes_its_parameters_by_name() -> None:
    cases = use_cases()
    assert len(cases) > 30
    positional = {
        name: [p for p, parameter in signature.parameters.items()
               if parameter.kind is not inspect.Parameter.KEYWORD_ONLY
               and p not in ("self", "ledger")]
        for name, signature in cases}
    assert {name: params for name, params in positional.items() if params} == {}


class FakeLedger:
    """Enough of a ledger for the unit of work's retry: a cache it clears."""

    def __init__(self) -> None:
        self.cleared = 0
        self.repository = self
        self.cache = self

    def clear(self) -> None:
        self.cleared += 1


def test_a_conflicting_attempt_is_run_again_on_fresh_state_then_given_up() -> None:
    ledger = FakeLedger()
    tries: list[UnitOfWork] = []
    looked_again: list[int] = []

    def conflicting(work: UnitOfWork) -> None:
        tries.append(work)
        raise IntegrityError("someone else saved first")

    with pytest.raises(Conflict, match="^busy: nothing was written$"):
        Ledger.write(ledger, conflicting,  # type: ignore[arg-type]
                     on_conflict=lambda: looked_again.append(1),
                     gives_up="busy: nothing was written")
    assert len(tries) == ATTEMPTS and len(set(map(id, tries))) == ATTEMPTS
    assert len(looked_again) == ATTEMPTS and ledger.cleared == ATTEMPTS


def test_an_attempt_that_succeeds_after_a_conflict_answers_once() -> None:
    ledger = FakeLedger()
    outcomes = iter([IntegrityError("first"), "saved"])

    def attempt(work: UnitOfWork) -> str:
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    assert Ledger.write(ledger, attempt) == "saved"  # type: ignore[arg-type]
    assert ledger.cleared == 1


def test_a_refusal_is_not_retried_and_leaves_nothing_cached() -> None:
    ledger = FakeLedger()
    calls = []

    def refused(work: UnitOfWork) -> None:
        calls.append(1)
        raise ValueError("refused")

    with pytest.raises(ValueError):
        Ledger.write(ledger, refused)  # type: ignore[arg-type]
    assert calls == [1] and ledger.cleared == 1


def test_a_decision_is_told_who_when_and_where(seeded: Ledger) -> None:
    told: list[Context] = []

    def decide(work: UnitOfWork) -> None:
        told.append(work.context("li", None))

    seeded.write(decide)
    (ctx,) = told
    assert ctx.actor.id == "li" and ctx.when == ctx.now == seeded.clock()
    assert ctx.zone == seeded.campaign().zone
