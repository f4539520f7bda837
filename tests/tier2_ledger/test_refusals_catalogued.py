"""Every refusal is written so that the message catalogue can find it: a refusal class
(``i18n.catalogue.REFUSALS``: ``Refused``, ``NotFound``, ``BadInput`` …) is given a Chinese
template with ``{name}`` fields as its first argument — never an f-string (Babel cannot
extract it), never text built with ``+`` or ``%``, never an English literal (a message
that is in no language's catalogue as Chinese). A template passed on from elsewhere (a
name, an attribute) is allowed: it is marked ``N_("…")`` where it is written."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from i18n.catalogue import REFUSALS, ROOT

CJK = re.compile(r"[\u4e00-\u9fff]")
FIELD = re.compile(r"\{[^{}]*\}")
# Each place's refusals, converted branch by branch; a place whose conversion lands later
# is skipped with the branch that converts it.
PLACES = ["domain", "services", "projections", "web/query.py", "ledger"]
PENDING: dict[str, str] = {}  # e.g. {"ledger": "ledger/ converted in branch refuse-ledger"}


def _files(place: str) -> list[Path]:
    path = ROOT / place
    return [path] if path.is_file() else sorted(path.rglob("*.py"))


def _name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _problem(first: ast.expr) -> str | None:
    """What is wrong with a refusal's first argument, if anything."""
    if isinstance(first, ast.JoinedStr):
        return "an f-string"
    if isinstance(first, (ast.BinOp, ast.IfExp, ast.BoolOp)):
        return "built text (extract a literal template per message)"
    if isinstance(first, ast.Constant):
        if not isinstance(first.value, str):
            return f"not text: {first.value!r}"
        words = FIELD.sub("", first.value)  # a template of fields alone says no words
        if not CJK.search(first.value) and re.search(r"[A-Za-z]", words):
            return f"not Chinese: {first.value!r}"
    return None


def refusals_not_catalogued(path: Path, root: Path = ROOT) -> list[str]:
    """Each refusal of ``path`` whose message the catalogue cannot hold, as file:line."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    calls = sorted((node for node in ast.walk(tree) if isinstance(node, ast.Call)
                    and _name(node.func) in REFUSALS), key=lambda node: node.lineno)
    found = []
    for call in calls:
        problem = _problem(call.args[0]) if call.args else "no message"
        if problem:
            found.append(f"{path.relative_to(root)}:{call.lineno}: {_name(call.func)}(…) "
                         f"given {problem}")
    return found


@pytest.mark.parametrize("place", PLACES)
def test_every_refusal_has_a_chinese_template(place: str) -> None:
    if place in PENDING:
        pytest.skip(PENDING[place])
    files = [f for f in _files(place) if str(f.relative_to(ROOT)) not in PENDING]
    assert files
    found = [problem for path in files for problem in refusals_not_catalogued(path)]
    assert found == []


def test_the_check_finds_what_it_refuses(tmp_path: Path) -> None:
    """The check itself: an f-string, an English literal and built text are found; a
    Chinese template, and a template passed on by name, are not."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        'raise Refused(f"task {task} is closed")\n'
        'raise NotFound("unknown task")\n'
        'raise Refused("任务 " + task)\n'
        'raise Refused("任务 {task} 已销号", task=task)\n'
        'raise Refused(template, task=task)\n'
        'raise RowError("{column} {value!r}：{reason}", column=c, value=v, reason=r)\n'
        'raise ValueError(f"not a refusal {x}")\n', encoding="utf-8")
    assert refusals_not_catalogued(sample, tmp_path) == [
        "sample.py:1: Refused(…) given an f-string",
        "sample.py:2: NotFound(…) given not Chinese: 'unknown task'",
        "sample.py:3: Refused(…) given built text (extract a literal template per message)"]
