"""Running the command line in tests: through click's CliRunner, and through the console
entry point ``cli.run`` (where usage errors too become one ``Error:`` line).

Who acts: a test runs every command under one OS account (and, on PostgreSQL, one login),
which ``campaign start`` binds to the campaign's founding administrator. A command a test
runs "as" another person (``as_=``, ``actor=``) is therefore a proxy entry by that
administrator for them (``--on-behalf-of``): judged by their role, recorded as entered by
the administrator. Tests of ``--as`` itself pass it with ``claim=``; tests of other accounts
bind them (tests/tier3_cli/test_identity.py, tests/tier3_cli/test_access_postgres.py)."""

from __future__ import annotations

import io
from collections.abc import Iterator
import os
import sys
from contextlib import redirect_stderr, redirect_stdout
from unittest import mock

import click
from click.testing import CliRunner, Result

import cli
from ledger.store import Store

# The tests say who acts and where the store is; the environment of the run must not. They
# read the English (taizhang speaks Chinese by default): tests of the Chinese pass
# env={"TAIZHANG_LANG": "zh"} (or --lang zh). Tables are as wide as their rows unless a test
# sets COLUMNS (as a terminal would).
CLEAN_ENV: dict[str, str | None] = {"TAIZHANG_AS": None, "TAIZHANG_DB": None,
                                    "TAIZHANG_LANG": "en", "COLUMNS": None}
# What a write as a PostgreSQL superuser (the tests' login) adds on stderr.
PRIVILEGED = ("Warning: written as ", "警告：以 ")


def acting(as_: str | None, claim: str | None = None) -> list[str]:
    """The global options for acting for ``as_`` (a proxy entry, unless it is the account's
    own person) and claiming to be ``claim`` (--as)."""
    return (["--on-behalf-of", as_] if as_ else []) + (["--as", claim] if claim else [])


def without_warning(stderr: str) -> str:
    """stderr without the one-line warning of a write as a superuser."""
    return "".join(line for line in stderr.splitlines(keepends=True)
                   if not line.startswith(PRIVILEGED))


class Cli:
    """``taizhang --db URL [--as PERSON] …`` on one store, and what the store holds."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.runner = CliRunner(env={"TAIZHANG_LANG": "en"})  # (a run may say otherwise)
        self._store: Store | None = None

    def __call__(self, *args: str, as_: str | None = None, claim: str | None = None,
                 env: dict[str, str | None] | None = None) -> Result:
        prefix = ["--db", self.url] + acting(as_, claim)
        result = self.runner.invoke(cli.main, [*prefix, *args], env={**CLEAN_ENV, **(env or {})})
        # Whatever happens, never a traceback: only click's own exits.
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            result.output, result.exc_info)
        assert "Traceback" not in result.output
        return result

    def ok(self, *args: str, as_: str | None = None, claim: str | None = None,
           env: dict[str, str | None] | None = None) -> str:
        """Run a command that must succeed; its output (stdout: on PostgreSQL, a write
        warns on stderr that the tests' superuser login is not bound by triggers)."""
        result = self(*args, as_=as_, claim=claim, env=env)
        assert result.exit_code == 0, result.output
        assert without_warning(result.stderr) == "", result.stderr
        return result.stdout

    def refused(self, *args: str, message: str, as_: str | None = None,
                claim: str | None = None, env: dict[str, str | None] | None = None) -> None:
        """Run a command that must be refused with exactly ``Error: message``, a non-zero
        exit and nothing written."""
        before = self.max_position()
        result = self(*args, as_=as_, claim=claim, env=env)
        assert result.output == f"Error: {message}\n", result.output
        assert result.stdout == "", result.stdout
        assert result.exit_code != 0
        assert self.max_position() == before, "a refused command wrote events"

    def console(self, *args: str, as_: str | None = None) -> tuple[int, str, str]:
        """Run through the console entry point: (exit code, stdout, stderr)."""
        argv = ["taizhang", "--db", self.url] + acting(as_) + list(args)
        out, err = io.StringIO(), io.StringIO()
        with mock.patch.object(sys, "argv", argv), mock.patch.dict(os.environ), \
                redirect_stdout(out), redirect_stderr(err):
            for name, value in CLEAN_ENV.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
            try:
                cli.run()
                code = 0
            except SystemExit as exit_:
                code = int(exit_.code or 0)
        return code, out.getvalue(), err.getvalue()

    def usage_refused(self, *args: str, message: str, as_: str | None = None) -> None:
        """A usage error through the console entry point: exactly one ``Error:`` line on
        stderr, exit code 2, nothing written."""
        before = self.max_position()
        code, out, err = self.console(*args, as_=as_)
        assert (code, out, err) == (2, "", f"Error: {message}\n"), (code, out, err)
        assert self.max_position() == before, "a refused command wrote events"

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store(self.url)
        return self._store

    def max_position(self) -> int:
        return self.store.ledger.max_position()

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


def taizhang(url: str, *args: str, actor: str = "admin",
             env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Run the real entry point with the store taken from the environment (TAIZHANG_DB, and
    ``env``), as a person would, acting for ``actor`` (a proxy entry unless it is the
    account's own person): (exit code, stdout, stderr without a superuser's write
    warning)."""
    environ = {**CLEAN_ENV, "TAIZHANG_DB": url, **(env or {})}
    with CliRunner().isolation(env=environ) as (out, err, _), \
            mock.patch.object(sys, "argv", ["taizhang", *acting(actor), *args]):
        try:
            cli.run()
            code = 0
        except SystemExit as e:
            code = int(e.code or 0)
    return code, out.getvalue().decode(), without_warning(err.getvalue().decode())


def commands(group: click.Group = cli.main,
             path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    """Every command and group below ``group`` (hidden aliases too), with its path (asked
    through click's own API: the top group loads a command's module when asked for it)."""
    ctx = click.Context(group)
    for name in sorted(group.list_commands(ctx)):
        command = group.get_command(ctx, name)
        assert command is not None, name
        yield (*path, name), command
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))
