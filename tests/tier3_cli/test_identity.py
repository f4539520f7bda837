"""Who entered an event is proven by the account, not claimed with --as.

On SQLite the account is the OS account of the process's real uid. A test process has one,
so other people's accounts are simulated by changing the uid the process reports
(``os.getuid``, which the recorder asks ``pwd`` about): ``nobody`` and ``daemon`` exist in
every Debian password database.
"""

from __future__ import annotations

import csv
import io
import json
import os
import pwd
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from cli_support import Cli
from tests.tier3_cli.test_cli_registry import cli  # noqa: F401 - the fixture: a Cli on a new SQLite store
from domain.registry import Campaign, Person
from ledger.recorders import os_account

HOST = socket.gethostname()
NOBODY = f"{pwd.getpwuid(65534).pw_name}@{HOST}"
DAEMON = f"{pwd.getpwuid(1).pw_name}@{HOST}"


@pytest.fixture
def started(cli: Cli) -> Cli:
    """wang founds the campaign from the test's account; li (inspector) uses the account
    of ``nobody``, xiao (a clerk) that of ``daemon``; zhao and qian (unit members of JS01)
    have none yet."""
    cli.ok("campaign", "start", "--name", "创建全国文明城市", "--admin", "wang",
           "--admin-name", "王主任", "--category", "环境卫生")
    cli.ok("unit", "add", "JS", "--name", "建设街道", "--kind", "街道")
    cli.ok("unit", "add", "JS01", "--name", "幸福社区", "--kind", "社区", "--parent", "JS")
    cli.ok("person", "add", "li", "--name", "李督查", "--role", "inspector",
           "--account", NOBODY)
    cli.ok("person", "add", "xiao", "--name", "小王", "--role", "clerk", "--account", DAEMON)
    cli.ok("person", "add", "zhao", "--name", "赵社区", "--role", "unit", "--unit", "JS01")
    cli.ok("person", "add", "qian", "--name", "钱社区", "--role", "unit", "--unit", "JS01")
    return cli


Switch = Callable[[int], None]


@pytest.fixture
def as_uid(monkeypatch: pytest.MonkeyPatch) -> Switch:
    """Run the following commands as the OS account of this uid."""
    def switch(uid: int) -> None:
        monkeypatch.setattr(os, "getuid", lambda: uid)
    return switch


def accounts(cli: Cli) -> list[tuple[str, str | None]]:
    """Each stored event's account and who entered it for its actor, in order."""
    found = []
    for record in cli.store.ledger.records():
        state = json.loads(record.state)
        found.append((record.account, state.get("entered_by")))
    return found


def test_the_founder_is_bound_to_the_account_that_started_the_campaign(started: Cli) -> None:
    me = json.loads(started.ok("access", "whoami", "--format", "json"))
    assert me["account"] == os_account()
    assert (me["person"], me["name"], me["role"]) == ("wang", "王主任", "admin")
    assert me["kind"] == "SQLite file writer" and me["bound_by_triggers"] is False
    people = {p["id"]: p for p in json.loads(started.ok("person", "list", "--format",
                                                        "json"))}
    assert people["wang"]["accounts"] == os_account()
    assert people["li"]["accounts"] == NOBODY and people["zhao"]["accounts"] == ""


def test_forged_user_and_logname_do_not_change_the_recorded_account(started: Cli) -> None:
    result = started("unit", "add", "JS02", "--name", "和平社区", "--kind", "社区", "--parent",
                     "JS", env={"USER": "president", "LOGNAME": "president"})
    assert result.exit_code == 0, result.output
    assert accounts(started)[-1] == (os_account(), None)
    assert "president" not in os_account()


def test_the_account_decides_who_acts_and_as_someone_else_is_refused(
        started: Cli, as_uid: Switch) -> None:
    as_uid(65534)
    started.ok("inspect", "JS01", "--finding", "环境卫生|幸福路12号|牛皮癣")
    started.ok("task", "notice", "T-000001", "--number", "ZG-1", claim="li")
    assert accounts(started)[-1] == (NOBODY, None)
    started.refused("task", "escalate", "T-000001", "--reason", "督办", claim="wang",
                    message=f"--as wang: account {NOBODY} is bound to li (李督查), not to "
                            "wang (a clerk or administrator enters for another person with "
                            "--on-behalf-of)")
    # an administrator's deed, from an inspector's account, is refused by the domain
    started.refused("person", "add", "evil", "--name", "坏人", "--role", "admin",
                    message="li (inspector) may not manage the registries: that is for "
                            "admin")


def test_an_unbound_account_may_read_but_not_write(started: Cli, as_uid: Switch) -> None:
    started.ok("inspect", "JS01", "--finding", "环境卫生|幸福路12号|牛皮癣", as_="li")
    as_uid(2)  # bin: bound to no one
    stranger = f"{pwd.getpwuid(2).pw_name}@{HOST}"
    assert "T-000001" in started.ok("board")
    started.refused("task", "escalate", "T-000001", "--reason", "督办",
                    message=f"account {stranger} is bound to no person in this ledger: it "
                            "may read but not write (an administrator binds it with "
                            "'taizhang person bind')")
    started.refused("task", "escalate", "T-000001", "--reason", "督办", claim="wang",
                    message=f"account {stranger} is bound to no person in this ledger: it "
                            "may read but not write (an administrator binds it with "
                            "'taizhang person bind')")


def test_binding_and_unbinding_are_an_administrators_events(started: Cli, as_uid: Switch) -> None:
    assert started.ok("person", "bind", "zhao", "--account", "zhao@office-pc") == \
        "account zhao@office-pc bound to zhao\n"
    # one account is one person
    started.refused("person", "bind", "qian", "--account", "zhao@office-pc",
                    message="account zhao@office-pc is bound to zhao: unbind it before "
                            "binding it to qian")
    started.refused("person", "bind", "zhao", "--account", "zhao@office-pc",
                    message="account zhao@office-pc is already bound to zhao")
    started.refused("person", "unbind", "zhao", "--account", "nobody@nowhere", "--reason",
                    "x", message="unknown account: nobody@nowhere")
    started.refused("person", "bind", "zhao", "--account", "two words",
                    message="account must be 1 to 128 characters without spaces, got "
                            "'two words'")
    started.refused("person", "bind", "ghost", "--account", "g@h",
                    message="unknown person: ghost")
    started.ok("person", "unbind", "zhao", "--account", "zhao@office-pc", "--reason", "换电脑")
    started.refused("person", "unbind", "zhao", "--account", "zhao@office-pc", "--reason",
                    "x", message="account zhao@office-pc is not bound to zhao (bound to no "
                                 "one)")
    started.ok("person", "bind", "qian", "--account", "zhao@office-pc")
    # a person bound to two accounts, one of them then retired with its person
    started.ok("person", "bind", "qian", "--account", "qian@home")
    started.ok("person", "retire", "qian", "--reason", "调离")
    started.refused("person", "bind", "qian", "--account", "qian@new",
                    message="person qian is retired: account qian@new cannot be bound to "
                            "them")
    started.refused("person", "bind", "zhao", "--account", "qian@home",
                    message="account qian@home is bound to qian: unbind it before binding "
                            "it to zhao")
    # a binding by a non-administrator
    as_uid(65534)
    started.refused("person", "bind", "zhao", "--account", "z@pc",
                    message="li (inspector) may not manage the registries: that is for "
                            "admin")
    started.refused("person", "unbind", "qian", "--account", "qian@home", "--reason", "x",
                    message="li (inspector) may not manage the registries: that is for "
                            "admin")
    listed = {p["id"]: p["accounts"] for p in json.loads(started.ok("person", "list",
                                                                    "--format", "json"))}
    assert listed["qian"] == "qian@home zhao@office-pc" and listed["zhao"] == ""


def test_an_account_of_a_retired_person_acts_no_more(started: Cli, as_uid: Switch) -> None:
    started.ok("person", "retire", "li", "--reason", "调离")
    as_uid(65534)
    started.refused("inspect", "JS01", "--finding", "环境卫生|幸福路12号|牛皮癣",
                    message="person li is retired and may not act")


def test_proxy_entries_by_a_clerk_and_refused_for_a_unit_member(started: Cli,
                                                                as_uid: Switch) -> None:
    started.ok("inspect", "JS01", "--finding", "环境卫生|幸福路12号|牛皮癣", as_="li")
    as_uid(1)  # the clerk types in the paper forms
    started.ok("task", "ack", "T-000001", as_="zhao")
    started.ok("task", "notice", "T-000001", "--number", "ZG-1", as_="li")
    started.refused("task", "ack", "T-000001", claim="zhao",
                    message=f"--as zhao: account {DAEMON} is bound to xiao (小王), not to "
                            "zhao (a clerk or administrator enters for another person with "
                            "--on-behalf-of)")
    # in their own name a clerk may do nothing but enter for others
    started.refused("task", "escalate", "T-000001", "--reason", "督办",
                    message="xiao (clerk) may not escalate: that is for admin, inspector")
    # the proxy is judged by the role of the person it is entered for
    started.refused("task", "close", "T-000001", "--closure", "verified", "--reason", "x",
                    as_="zhao", message="zhao (unit) may not close a task as verified: "
                                        "that is for inspector")
    assert accounts(started)[-2:] == [(DAEMON, "xiao"), (DAEMON, "xiao")]


def test_a_unit_member_may_not_enter_for_others(started: Cli, as_uid: Switch) -> None:
    started.ok("inspect", "JS01", "--finding", "环境卫生|幸福路12号|牛皮癣", as_="li")
    started.ok("person", "unbind", "li", "--account", NOBODY, "--reason", "换人")
    started.ok("person", "bind", "zhao", "--account", NOBODY)
    as_uid(65534)
    started.refused("task", "notice", "T-000001", "--number", "ZG-1", as_="li",
                    message="zhao (unit) may not enter events on behalf of another person: "
                            "that is for admin, clerk")
    started.ok("task", "ack", "T-000001")
    assert accounts(started)[-1] == (NOBODY, None)


def test_a_proxy_entry_shows_in_history_timeline_and_the_exported_board(
        started: Cli) -> None:
    started.ok("inspect", "JS01", "--finding", "环境卫生|幸福路12号|牛皮癣", as_="li")
    started.ok("task", "escalate", "T-000001", "--reason", "督办")
    history = started.ok("history", "T-000001")
    assert "entered by wang for li (inspector)" in history
    assert "wang (admin)" in history and "entered by wang for wang" not in history
    rows = json.loads(started.ok("history", "T-000001", "--format", "json"))["events"]
    assert [(r["actor"], r["entered_by"]) for r in rows] == [("li", "wang"), ("wang", None)]
    lines = [json.loads(line) for line in
             started.ok("timeline", "--format", "jsonl").splitlines()]
    by_kind = {(r["kind"], r["actor"]): r["entered_by"] for r in lines}
    assert by_kind[("Task.Assigned", "li")] == "wang"
    assert by_kind[("Inspection.Recorded", "li")] == "wang"
    assert by_kind[("Task.Escalated", "wang")] is None
    assert "entered by wang for li (inspector)" in started.ok("timeline")
    board = list(csv.DictReader(io.StringIO(started.ok("export", "board", "--format",
                                                       "csv"))))
    assert board[0]["Last action by"] == "wang (admin)"
    started.ok("task", "ack", "T-000001", as_="zhao")
    board = list(csv.DictReader(io.StringIO(started.ok("export", "board", "--format",
                                                       "csv"))))
    assert board[0]["Last action by"] == "entered by wang for zhao (unit)"


def test_database_roles_are_for_postgresql_only(started: Cli) -> None:
    for args in (["access", "setup"], ["access", "grant", "li", "--login", "li"],
                 ["access", "projector", "--login", "p"]):
        started.refused(*args, message=f"access {args[1]} is for PostgreSQL stores; on an "
                        "SQLite file whoever may write the file may do anything (see the "
                        "README's 'Who may do what')")


def test_the_readmes_account_examples_run_after_the_tour(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first example of "Who may do what" runs as written, on the tour's ledger."""
    import shlex

    from tests.tier3_cli.test_cli_tasks import README, tour_commands

    monkeypatch.chdir(tmp_path)
    cli = Cli("sqlite:///taizhang.db")
    section = README.read_text(encoding="utf-8").split("## Who may do what", 1)[1]
    block = section.split("```sh", 1)[1].split("```", 1)[0]
    examples = [shlex.split(line, comments=True) for line in block.splitlines()
                if line.strip() and not line.startswith("#")]
    for words in [*tour_commands(), *examples]:
        if words[0] == "export":
            continue
        result = cli(*words[1:])
        assert result.exit_code == 0, (words, result.output)
    people = {p["id"]: p["accounts"] for p in json.loads(cli.ok("person", "list", "--format",
                                                                "json"))}
    assert people["qian"] == "qian" and people["wang"] == os_account()
    cli.close()


def test_of_a_persons_two_accounts_the_retired_one_acts_no_more(started: Cli,
                                                               as_uid: Switch) -> None:
    started.ok("person", "bind", "li", "--account", DAEMON.replace(
        pwd.getpwuid(1).pw_name, pwd.getpwuid(2).pw_name))
    started.ok("person", "unbind", "li", "--account", NOBODY, "--reason", "旧电脑停用")
    as_uid(65534)
    started.refused("inspect", "JS01", "--finding", "环境卫生|幸福路12号|牛皮癣",
                    message=f"account {NOBODY} is bound to no person in this ledger: it may "
                            "read but not write (an administrator binds it with 'taizhang "
                            "person bind')")
    as_uid(2)
    started.ok("inspect", "JS01", "--finding", "环境卫生|幸福路12号|牛皮癣")
    assert accounts(started)[-1] == (f"{pwd.getpwuid(2).pw_name}@{HOST}", None)


def test_a_ledger_begun_before_accounts_is_adopted_once_by_an_administrator(
        cli: Cli, as_uid: Switch) -> None:
    """A ledger written before accounts were bound has no binding: no one could write to it
    again, until the account of its file adopts one of its administrators."""
    ledger = cli.store.ledger
    admin = Person.found(person_id="wang", name="王主任", occurred_at=ledger.clock())
    ledger.save(admin, Campaign.start(
        name="创建全国文明城市", time_zone="Asia/Shanghai", categories=[],
        required_inspections=0, actor=admin.as_actor(), occurred_at=ledger.clock()),
        Person.register(person_id="li", name="李督查", role="inspector", unit=None,
                        actor=admin.as_actor(), occurred_at=ledger.clock()))
    cli.refused("unit", "add", "JS", "--name", "建设街道", "--kind", "街道",
                message=f"account {os_account()} is bound to no person in this ledger: it "
                        "may read but not write (an administrator binds it with 'taizhang "
                        "person bind')")
    cli.refused("access", "adopt", "nobody", message="unknown person: nobody")
    cli.refused("access", "adopt", "li", message="li is inspector: only an administrator "
                                                  "adopts a ledger begun before accounts were "
                                                  "bound")
    assert cli.ok("access", "adopt", "wang") == f"account {os_account()} bound to wang\n"
    cli.ok("unit", "add", "JS", "--name", "建设街道", "--kind", "街道")
    cli.ok("person", "bind", "li", "--account", NOBODY)
    as_uid(65534)
    cli.refused("access", "adopt", "wang",
                message="this ledger binds accounts already: an administrator binds yours "
                        "with 'taizhang person bind'")
