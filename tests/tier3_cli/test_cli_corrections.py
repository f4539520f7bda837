"""'correct', 'withdraw', 'indicators reassign' and 'indicators extend' from the user's
side: what they say when they work, and one 'Error:' line, nothing written, for each bad
input."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cli_support import Cli

from tests.tier3_cli.test_indicators import SYSTEM


@pytest.fixture
def cli(sqlite_url: str) -> Iterator[Cli]:
    runner = Cli(sqlite_url)
    runner.ok("campaign", "start", "--name", "创建 2024", "--admin", "wang",
              "--admin-name", "王主任")
    runner.ok("unit", "add", "JS", "--name", "建设街道", "--kind", "街道", as_="wang")
    for code in ("JS01", "JS02"):
        runner.ok("unit", "add", code, "--name", f"社区{code}", "--kind", "社区",
                  "--parent", "JS", as_="wang")
    runner.ok("person", "add", "li", "--name", "李督查", "--role", "inspector", as_="wang")
    runner.ok("person", "add", "zhou", "--name", "周督查", "--role", "inspector", as_="wang")
    runner.ok("person", "add", "zhao", "--name", "赵社区", "--role", "unit", "--unit", "JS01",
              as_="wang")
    runner.ok("survey", "record", "--unit", "JS01", "--month", "2024-01", "--awareness", "80",
              "--participation", "60", "--satisfaction", "90", "--sample", "100", as_="wang")
    runner.ok("inspect", "JS01", as_="li")
    yield runner
    runner.close()


def test_correct_and_withdraw_say_what_they_did(cli: Cli) -> None:
    assert cli.ok("correct", "SV-000001", "--set", "sample=120", "--set", "unit=JS02",
                  "--reason", "录入错误", as_="wang") == (
        "SV-000001 event 1 (Recorded) corrected: sample 100 → 120, unit JS01 → JS02 "
        "(event 2)\n")
    assert cli.ok("correct", "i-000001", "--set", "inspectors=li,zhou", "--reason", "漏记",
                  as_="li") == ("i-000001 event 1 (Recorded) corrected: inspectors "
                                "[\"li\"] → [\"li\", \"zhou\"] (event 2)\n")
    assert cli.ok("withdraw", "SV-000001", "--reason", "重复录入", as_="wang") == \
        "SV-000001 withdrawn (event 3)\n"
    assert cli.ok("correct", "unit:JS02", "--set", "name=和平社区", "--reason", "名称录错",
                  as_="wang") == ("unit:JS02 event 1 (Registered) corrected: name 社区JS02 → "
                                  "和平社区 (event 2)\n")
    history = cli.ok("history", "SV-000001", "--format", "csv")
    assert "corrected by #2; withdrawn by #3" in history
    timeline = cli.ok("timeline", "--format", "csv")
    assert "corrected at #" in timeline and "withdrawn at #" in timeline


def test_targets_are_reassigned_and_extended(cli: Cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    rows = "code,parent,title\n" + "".join(f"{r['code']},{r['parent']},{r['title']}\n"
                                           for r in SYSTEM)
    (tmp_path / "system.csv").write_text(rows, encoding="utf-8")
    cli.ok("indicators", "import", str(tmp_path / "system.csv"), as_="wang")
    cli.ok("indicators", "assign", "1.1", "--unit", "JS01", "--target", "20",
           "--unit-of-measure", "块", "--due", "2099-06-30", as_="wang")
    assert "unit JS02" in cli.ok("indicators", "reassign", "ZB-000001", "--unit", "JS02",
                                 "--reason", "属地调整", as_="wang")
    assert "due 2099-07-31" in cli.ok("indicators", "extend", "ZB-000001", "--due",
                                      "2099-07-31", "--reason", "顺延", "--approver", "wang",
                                      as_="wang")
    for args, message in [
        (("indicators", "reassign", "ZB-000001", "--unit", "JS02", "--reason", "x"),
         "target task ZB-000001 is already assigned to unit JS02"),
        (("indicators", "reassign", "ZB-000001", "--unit", "XX", "--reason", "x"),
         "unknown unit: XX"),
        (("indicators", "reassign", "ZB-000009", "--unit", "JS01", "--reason", "x"),
         "unknown target task: ZB-000009"),
        (("indicators", "extend", "ZB-000001", "--due", "2099-07-01", "--reason", "x"),
         "new due date 2099-07-01 is not after the current due date 2099-07-31"),
        (("indicators", "extend", "ZB-000001", "--due", "2099-08-31", "--reason", "x",
          "--approver", "li"),
         "li (inspector) may not assign an indicator target: that is for admin"),
        (("indicators", "extend", "ZB-000001", "--due", "2099-08-31", "--reason", " "),
         "reason must not be empty (got ' ')"),
        (("correct", "ZB-000001", "--set", "target=0", "--reason", "x"),
         "--event is needed: ZB-000001 has 3 events (see 'taizhang history ZB-000001')"),
        (("correct", "ZB-000001", "--event", "1", "--set", "target=0", "--reason", "x"),
         "target must be more than 0, got '0'"),
        (("correct", "ZB-000001", "--event", "1", "--set", "due=2099-13-01", "--reason", "x"),
         "due date must be a date YYYY-MM-DD, got '2099-13-01'"),
    ]:
        cli.refused(*args, message=message, as_="wang")
    cli.ok("withdraw", "ZB-000001", "--reason", "重复下达", as_="wang")
    cli.refused("indicators", "extend", "ZB-000001", "--due", "2099-09-30", "--reason", "x",
                message="target task ZB-000001 was withdrawn (event 4)", as_="wang")


@pytest.mark.parametrize(("args", "actor", "message"), [
    (("correct", "XX-1", "--set", "a=b", "--reason", "x"), "wang",
     "record must be a task (T-…), target task (ZB-…), survey (SV-…), inspection (I-…), "
     "unit:CODE, person:ID or rules:VERSION, got 'XX-1'"),
    (("correct", "SV-000009", "--set", "sample=1", "--reason", "x"), "wang",
     "unknown survey: SV-000009"),
    (("correct", "SV-000001", "--set", "sample", "--reason", "x"), "wang",
     "--set must be FIELD=VALUE, got 'sample'"),
    (("correct", "SV-000001", "--set", "sample=0", "--reason", "x"), "wang",
     "sample must be at least 1 person, got '0'"),
    (("correct", "SV-000001", "--set", "awareness=101", "--reason", "x"), "wang",
     "awareness (知晓率) must be a percentage from 0 to 100, got '101'"),
    (("correct", "SV-000001", "--set", "occurred_at=2999-01-01T00:00+08:00", "--reason", "x"),
     "wang", "corrected occurred_at 2999-01-01 is outside the days the ledger takes (1900-01-01 "
     "to 2099-12-31)"),
    (("correct", "SV-000001", "--set", "month=2999-01", "--reason", "x"), "wang",
     "survey month 2999-01 is after the survey was taken"),
    (("correct", "SV-000001", "--set", "sample=120", "--reason", "x"), "li",
     "li (inspector) may not record survey: that is for admin"),
    (("correct", "SV-000001", "--set", "sample=120", "--reason", " "), "wang",
     "reason must not be empty (got ' ')"),
    (("correct", "SV-000001", "--set", "occurred_at=yesterday", "--reason", "x"), "wang",
     "occurred_at must be a date-time, got 'yesterday'"),
    (("correct", "SV-000001", "--set", "occurred_at=2098-01-01T00:00+08:00", "--reason", "x"),
     "wang", "corrected occurred_at 2098-01-01T00:00:00+08:00 is after the correction itself"),
    (("correct", "rules:x", "--set", "reason=y", "--reason", "x"), "wang",
     "rules version must be a number, got 'x'"),
    (("correct", "unit:JS01", "--set", "kind=学校", "--reason", "x"), "wang",
     "unit kind must be one of 区, 街道, 社区, 部门, 物业, got '学校'"),
    (("correct", "person:li", "--set", "person_role=boss", "--reason", "x"), "wang",
     "role must be one of admin, inspector, unit, auditor, clerk, got 'boss'"),
    (("correct", "person:wang", "--set", "person_role=inspector", "--reason", "x"), "wang",
     "person wang is the last active admin and cannot be demoted: register another admin "
     "first"),
    (("person", "retire", "wang", "--reason", "调离"), "wang",
     "person wang is the last active admin and cannot be retired: register another admin "
     "first"),
    (("withdraw", "unit:JS01", "--reason", "x"), "wang",
     "unit JS01 cannot be withdrawn: retire it instead"),
    (("withdraw", "person:li", "--reason", "x"), "wang",
     "person li cannot be withdrawn: retire them instead"),
    (("withdraw", "rules:1", "--reason", "x"), "wang", "unknown rules version: 1 (no rules "
     "have been adopted)"),
    (("withdraw", "I-000001", "--reason", "x"), "zhou",
     "inspection I-000001 was recorded by li; only they or an admin may withdraw it, not "
     "zhou"),
    (("withdraw", "I-000001", "--reason", "x"), "zhao",
     "zhao (unit) may not withdraw a record: that is for admin, inspector"),
    (("withdraw", "SV-000001", "--reason", ""), "wang", "reason must not be empty (got '')"),
])
def test_bad_input_is_one_error_line_and_writes_nothing(cli: Cli, args: tuple[str, ...],
                                                        actor: str, message: str) -> None:
    if "survey month 2999-01" in message or "after the correction itself" in message:
        before = cli.max_position()
        result = cli(*args, as_=actor)  # the message goes on with today's date
        assert result.exit_code == 1 and result.output.startswith(f"Error: {message}")
        assert result.output.count("\n") == 1 and cli.max_position() == before
        return
    cli.refused(*args, message=message, as_=actor)


def test_usage_errors_of_the_new_commands(cli: Cli) -> None:
    cli.usage_refused("correct", "SV-000001", "--reason", "x",
                      message="Missing option '--set'.")
    cli.usage_refused("withdraw", "SV-000001", message="Missing option '--reason'.")
    cli.usage_refused("correct", "SV-000001", "--event", "0", "--set", "a=b", "--reason", "x",
                      message="Invalid value for '--event': 0 is not in the range x>=1.")
    cli.usage_refused("indicators", "reassign", "ZB-000001", "--reason", "x",
                      message="Missing option '--unit'.", as_="wang")
    cli.usage_refused("indicators", "extend", "ZB-000001", "--due", "soon", "--reason", "x",
                      message="Invalid value for '--due': 'soon' is not a date (YYYY-MM-DD)",
                      as_="wang")


def test_the_readme_corrections_run_as_written(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The tour, then the lines of README.md's "Corrections and withdrawals"."""
    import shlex

    from tests.tier3_cli.test_cli_tasks import README, tour_commands

    import cli as cli_module

    section = README.read_text(encoding="utf-8").split("### Corrections and withdrawals", 1)[1]
    block = section.split("```sh", 1)[1].split("```", 1)[0].replace("\\\n", " ")
    lines = [shlex.split(line, comments=True) for line in block.splitlines()
             if line.strip() and not line.strip().startswith("#")]
    monkeypatch.chdir(tmp_path)
    runner = Cli("sqlite:///taizhang.db")
    env: dict[str, str | None] = {"TAIZHANG_DB": None, "TAIZHANG_AS": None}
    outputs = []
    for words in [*tour_commands(), *lines]:
        if words[0] == "export":
            name, _, value = words[1].partition("=")
            env[name] = value
            continue
        result = runner.runner.invoke(cli_module.main, words[1:], env=env)
        assert result.exit_code == 0, (words, result.output)
        outputs.append(result.output)
    assert "I-000002 withdrawn (event 3)\n" in outputs
    assert any("corrected at #" in out for out in outputs)
    runner.close()
