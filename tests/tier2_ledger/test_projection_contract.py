"""Every event class the domain declares is, for every reader of the log, either handled or
explicitly ignored: a projection (its table of handlers), the work summary's book and the
metrics' table of what a task's events are to its items. An event added to the domain and
forgotten by any of them fails here."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime

import pytest

from domain import kinds
from domain.base import LedgerAggregate
from domain.registry import Unit
from domain.task import LIFECYCLE, Task, TaskEvent
from domain.task_states import OPEN, REPORTED, STATES, Move
from projections.board import Board
from projections.facts import Context, Fact
from projections.metric_items import ROLES
from projections.projection import contract_of, events_of, fold_in_memory, unaccounted
from projections.read import all_projections
from projections.summary import _Book
from tests.tier1_domain.test_domain_task import LI, NOW, ZONE, Story, refuses


def problems() -> list[str]:
    """What every reader of the log leaves unaccounted, over the domain's event classes as
    found now."""
    found = [problem for projection in all_projections() for problem in contract_of(projection)]
    found += [f"work summary: {p}" for p in unaccounted(
        _Book.handlers, _Book.ignored, _Book.ignored_aggregates)]
    others = tuple(a for a in kinds.aggregates() if a is not Task)
    found += [f"metric items: {p}" for p in unaccounted(
        [c for c, role in ROLES.items()], (), others)]
    return found


def test_every_event_class_is_handled_or_ignored_by_every_reader() -> None:
    assert kinds.event_classes(), "the domain declares events"
    assert problems() == []


@pytest.fixture
def frobbed(monkeypatch: pytest.MonkeyPatch) -> Iterator[type]:
    """A new event of a task, declared in the domain the way every event is (nested in
    its aggregate), and handled by no reader."""

    class Frobbed(TaskEvent):
        reason: str

    Frobbed.__qualname__ = "Task.Frobbed"
    Frobbed.__module__ = Task.__module__
    monkeypatch.setattr(Task, "Frobbed", Frobbed, raising=False)
    for cached in (kinds.event_classes, kinds.by_kind, kinds._aggregates_by_event):
        cached.cache_clear()
    yield Frobbed
    monkeypatch.undo()
    for cached in (kinds.event_classes, kinds.by_kind, kinds._aggregates_by_event):
        cached.cache_clear()


def test_an_event_added_to_the_domain_and_forgotten_fails_the_contract(frobbed: type) -> None:
    assert frobbed in kinds.event_classes()
    assert kinds.aggregate_of(frobbed) is Task
    found = problems()
    # Every reader of a task's events must say what it does with the new one; those that
    # ignore tasks whole (the registry, the indicators) need not.
    for reader in ("board", "events", "metrics", "extensions", "work summary",
                   "metric items"):
        assert f"{reader}: Task.Frobbed is neither handled nor ignored" in found, found
    assert not any(p.startswith(("registry:", "indicators:")) for p in found), found


def test_a_class_both_handled_and_ignored_is_refused() -> None:
    found = unaccounted([Unit.Renamed], [Unit.Renamed], classes=[Unit.Renamed])
    assert found == ["Unit.Renamed is both handled and ignored"]
    found = unaccounted([Unit.Renamed], [], [Unit], classes=[Unit.Renamed])
    assert found == ["Unit.Renamed is both handled and ignored"]


def test_a_projection_without_a_table_of_handlers_breaks_the_contract() -> None:
    class Everything(Board):
        name = "everything"
        handlers = None

    assert contract_of(Everything) == ["everything has no table of handlers"]


def test_every_aggregate_declares_its_events_and_every_kind_is_one_class() -> None:
    classes = kinds.event_classes()
    assert len(set(classes)) == len(classes) == len(kinds.by_kind())
    for cls in classes:
        aggregate = kinds.aggregate_of(cls)
        assert aggregate is not None and issubclass(aggregate, LedgerAggregate)
        assert kinds.by_kind()[kinds.kind_of(cls)] is cls
    assert set(events_of(Task)) >= set(LIFECYCLE)


def test_the_lifecycle_table_names_only_the_tasks_states() -> None:
    for event, move in LIFECYCLE.items():
        assert move.taken_in <= set(STATES), event
        assert move.to is None or move.to in STATES, event
        for state in STATES:
            assert move.after(state) in STATES


def facts_of(task: Task) -> list[Fact]:
    """A task's new events as the projections see them once stored (plain data)."""
    found = []
    for event in task.collect_events():
        data = {k: v.isoformat() if isinstance(v, (date, datetime)) else v
                for k, v in vars(event).items()}
        found.append(Fact(event.originator_version, event.originator_id, event.originator_version,
                          kinds.kind_of(type(event)), data, data["occurred_at"], "test",
                          type(event)))
    return found


def test_the_aggregate_and_the_board_both_move_the_state_by_the_lifecycle_table(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Change one row of the table: the task and its board row both follow it (neither
    repeats the state machine on its own)."""
    monkeypatch.setitem(LIFECYCLE, Task.Escalated, Move(OPEN, REPORTED))
    story = Story()
    story.task.escalate(reason="超期", actor=LI, occurred_at=story.next(), now=NOW)
    assert story.task.state == REPORTED
    facts = facts_of(story.task)
    # The table's guards too: a re-inspection is now taken after the escalation.
    story.reinspect(passed=True)
    assert story.task.state == "verified"
    facts += facts_of(story.task)
    for upto, state in ((2, REPORTED), (3, "verified")):
        board = fold_in_memory(Board(), facts[:upto], Context(ZONE))
        (row,) = board.table("tasks").values()
        assert (row["state"], row["escalations"]) == (state, 1)
    monkeypatch.undo()
    again = Story()
    refuses(again.task, "cannot be re-inspected", lambda: again.reinspect(passed=True))
