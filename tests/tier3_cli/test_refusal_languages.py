"""The domain's refusals speak the language asked for: the ``Error:`` line in Chinese by
default (``TAIZHANG_LANG`` unset, or ``--lang zh``), in English with ``--lang en``, naming
the task, the state, the role or the field and the value, and nothing written."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cli_support import Cli

from web_support import World, build_world

# (command, acting for, the Chinese, the English). T-000002 failed its re-inspection (it is
# rectifying again); T-000001 has six events.
REFUSALS = [
    (("task", "close", "T-000002", "--closure", "verified", "--reason", "已整改"), "li",
     "任务 T-000002 状态为整改中，没有通过的复查，不能按整改到位销号",
     "task T-000002 cannot be closed as verified: it is rectifying and has no passed "
     "re-inspection"),
    (("task", "escalate", "T-000004", "--reason", "超期"), "sun",
     "sun（审计员）无权督办任务：此操作仅限管理员、巡查员",
     "sun (auditor) may not escalate: that is for admin, inspector"),
    (("task", "reinspect", "T-000004", "--pass", "--note", "复查"), "li",
     "任务 T-000004 状态为已交办，只有已上报整改的任务才能复查",
     "task T-000004 cannot be re-inspected: it is assigned, and only a reported "
     "rectification is re-inspected"),
    (("correct", "T-000001", "--event", "9", "--set", "location=x", "--reason", "错"), "admin",
     "台账任务 T-000001 没有第 9 个事件（共 6 个）", "task T-000001 has no event 9 (it has 6)"),
    (("correct", "T-000001", "--event", "1", "--set", "unit=JS02", "--reason", "错"), "admin",
     "第 1 个事件（交办）的字段 'unit' 不能更正（可更正：occurred_at, category, location, "
     "description, source, deadline）",
     "field 'unit' of event 1 (Assigned) cannot be corrected (correctable: occurred_at, "
     "category, location, description, source, deadline)"),
    (("task", "close", "T-000004", "--closure", "void", "--reason", " "), "admin",
     "「理由」不能为空（收到 ' '）", "reason must not be empty (got ' ')"),
]


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    world: World = build_world(f"sqlite:///{tmp_path_factory.mktemp('said') / 'ledger.db'}")
    runner = Cli(world.url)
    yield runner
    runner.close()


@pytest.mark.parametrize(("command", "actor", "chinese", "english"), REFUSALS,
                         ids=[" ".join(r[0][:2]) + f" #{n}" for n, r in enumerate(REFUSALS)])
def test_a_refusal_speaks_the_language_asked_for(cli: Cli, command: tuple[str, ...],
                                                 actor: str, chinese: str,
                                                 english: str) -> None:
    cli.refused(*command, as_=actor, env={"TAIZHANG_LANG": None}, message=chinese)
    cli.refused("--lang", "zh", *command, as_=actor, message=chinese)
    cli.refused("--lang", "en", *command, as_=actor, env={"TAIZHANG_LANG": "zh"},
                message=english)
