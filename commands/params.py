"""Parameter types shared by the commands: dates, moments, months and evidence."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

import click

from domain.base import Refused, localized
from i18n import _, refusal
from ledger.workdays import WorkingDays, parse_deadline, parse_working_days


class DateType(click.ParamType):
    name = "YYYY-MM-DD"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value).strip())
        except ValueError:
            self.fail(_("{value} 不是日期（YYYY-MM-DD）").format(value=repr(value)), param, ctx)


class DeadlineType(click.ParamType):
    """A deadline: a date, or working days (7工作日, 7个工作日, 7wd) that the ledger resolves
    to a date by the holiday calendar."""

    name = "DATE|N工作日"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> date | WorkingDays:
        if isinstance(value, (date, WorkingDays)):
            return value
        try:
            return parse_deadline(str(value))
        except Refused as e:
            self.fail(refusal(e).removeprefix("deadline "), param, ctx)


class MomentType(click.ParamType):
    """A moment: a date, a date and time, or ISO 8601 with an offset. Without an offset it
    is read in the campaign's time zone (by ``session.localize`` or ``ReadSide.at``)."""

    name = "DATE[ TIME]"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        text = str(value).strip()
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            self.fail(_("{value} 不是日期或日期时间（YYYY-MM-DD[ HH:MM[:SS]]）").format(
                value=repr(value)), param, ctx)


class MonthType(click.ParamType):
    name = "YYYY-MM"
    PATTERN = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> str:
        text = str(value).strip()
        if not self.PATTERN.match(text):
            self.fail(_("{value} 不是月份（YYYY-MM）").format(value=repr(value)), param, ctx)
        return text


class WithinType(click.ParamType):
    """A span of days from today: calendar days (3d, 3天, 3) or working days (3wd,
    3个工作日, as a deadline is given)."""

    name = "Nd|N工作日"
    DAYS = re.compile(r"^(\d{1,3})\s*(?:d|天|days?)?$", re.IGNORECASE)

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> timedelta | WorkingDays:
        if isinstance(value, (timedelta, WorkingDays)):
            return value
        text = str(value).strip()
        match = self.DAYS.match(unicodedata.normalize("NFKC", text))
        if match is not None:
            return timedelta(days=int(match[1]))
        try:
            working = parse_working_days(text, "days")
        except Refused as e:
            self.fail(refusal(e), param, ctx)
        if working is None:
            self.fail(_("{value} 不是天数（3d、3天）或工作日数（3wd、3个工作日）").format(
                value=repr(value)), param, ctx)
        return working


DATE = DateType()
DEADLINE = DeadlineType()
MOMENT = MomentType()
MONTH = MonthType()
WITHIN = WithinType()


def evidence(files: tuple[str, ...], elsewhere: tuple[str, ...] = (),
             read: Iterable[Any] = ()) -> list[dict[str, Any]]:
    """``FILE[:DESCRIPTION]`` references to files here, each hashed (sha256); a file that
    is not here is refused. ``NAME[:DESCRIPTION]`` references (``--evidence-ref``) name
    evidence kept elsewhere, recorded as such, without a hash. ``read``: files already read
    and hashed (commands.evidence.keeping's), whose hash is the one recorded — the bytes
    kept are the bytes the event names, each file read once."""
    hashed = {f.name: f.sha256 for f in read}
    items: list[dict[str, Any]] = []
    for value in files:
        name, _, description = value.partition(":")
        path = Path(name)
        if not path.is_file():
            if path.exists():
                raise Refused("证据文件 {name} 不是文件；保存在别处的证据用 --evidence-ref "
                              "NAME:DESCRIPTION 注明", name=repr(name))
            raise Refused("证据文件 {name} 不存在；保存在别处的证据用 --evidence-ref "
                          "NAME:DESCRIPTION 注明", name=repr(name))
        digest = hashed.get(name) or hashlib.sha256(path.read_bytes()).hexdigest()
        items.append({"file": name, "sha256": digest,
                      "description": description})
    for value in elsewhere:
        name, _, description = value.partition(":")
        items.append({"file": name, "sha256": "", "description": description,
                      "elsewhere": True})
    return items


def evidence_option(help_text: str = ("证据 FILE[:DESCRIPTION]，本机上的文件（计算哈希）。可重"
                                      "复。")) -> Any:
    """``--evidence FILE[:DESC]`` (a file here, hashed) and ``--evidence-ref NAME[:DESC]``
    (evidence kept elsewhere, recorded as such); both repeatable."""
    def decorate(command: Any) -> Any:
        command = click.option(
            "--evidence-ref", "evidence_elsewhere", multiple=True, metavar="NAME[:DESC]",
            help="保存在别处的证据（档案中的文件、纸质记录），记下名称并记为保存在别处，不计算"
                 "哈希。可重复。")(command)
        return click.option("--evidence", "evidence_refs", multiple=True,
                            metavar="FILE[:DESC]", help=help_text)(command)
    return decorate


def at_option() -> Any:
    return click.option("--at", "occurred_at", type=MOMENT, default=None,
                        help="事情发生的时间（发生时间）；默认现在。未带时区偏移时按活动所在时区。")


def changes(values: tuple[str, ...], zone: tzinfo) -> dict[str, str]:
    """``--set FIELD=VALUE`` options as a correction's changes; a corrected ``occurred_at``
    without an offset is in the campaign's time zone."""
    parsed: dict[str, str] = {}
    for change in values:
        field, sep, value = change.partition("=")
        if not sep or not field.strip():
            raise Refused(_("--set 须为 FIELD=VALUE，收到 {got}").format(got=repr(change)))
        parsed[field.strip()] = value.strip()
    if "occurred_at" in parsed:
        try:
            moment = datetime.fromisoformat(parsed["occurred_at"])
        except ValueError:
            raise Refused(_("occurred_at 须为日期时间，收到 {got}").format(
                got=repr(parsed["occurred_at"]))) from None
        parsed["occurred_at"] = localized(moment, zone).isoformat()
    return parsed


def set_option() -> Any:
    return click.option("--set", "changes", multiple=True, required=True,
                        metavar="FIELD=VALUE",
                        help="一个更正的字段，例如 occurred_at=2024-05-03T09:00+08:00 或 "
                             "unit=JS02。可重复。")


# --- one vocabulary: shared options and the old spellings kept as hidden aliases --------


class Aliased(click.Option):
    """An option whose old spellings (``aliases``) still work but are not shown in help or
    in errors: ``click.option("--reason", "--note", "reason", cls=Aliased,
    aliases=["--note"])``."""

    def __init__(self, *args: Any, aliases: Iterable[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.aliases = tuple(aliases)

    def _shown(self) -> list[str]:
        return [o for o in self.opts if o not in self.aliases]

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        opts, self.opts = self.opts, self._shown()
        try:
            return super().get_help_record(ctx)
        finally:
            self.opts = opts

    def get_error_hint(self, ctx: click.Context) -> str:
        return " / ".join(f"'{o}'" for o in self._shown())


class AliasedChoice(click.Choice):
    """A choice whose old spellings (``aliases``: old → new) are accepted, never shown."""

    def __init__(self, choices: Iterable[str], aliases: dict[str, str]) -> None:
        super().__init__(list(choices))
        self.aliases = aliases

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        return super().convert(self.aliases.get(value, value), param, ctx)


class HiddenArgument(click.Argument):
    """An optional positional argument kept for an old spelling, not shown in the usage."""

    def get_usage_pieces(self, ctx: click.Context) -> list[str]:
        return []


class OutputFile(click.Path):
    """A file to write: not a folder, in a folder that exists (refused before anything is
    computed or written, in one ``Error:`` line)."""

    def __init__(self) -> None:
        super().__init__(dir_okay=False, path_type=Path)

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        path = super().convert(value, param, ctx)
        folder = Path(path).parent
        if not folder.is_dir():
            self.fail(_("{path} 所在的文件夹 {folder} 不存在").format(
                folder=repr(str(folder)), path=repr(str(value))), param, ctx)
        return path


# The same words for the same notions on every command (tests/tier3_cli/test_cli_vocabulary.py).
OUTPUT_HELP = "Write to this file; default stdout."
PARENT_HELP = "只看此单位的下属单位。"


def output_option(help_text: str = OUTPUT_HELP, required: bool = False,
                  aliases: Iterable[str] = (), dest: str = "output") -> Any:
    """``-o/--output FILE``: the file a command writes."""
    aliases = tuple(aliases)
    return click.option("-o", "--output", *aliases, dest, cls=Aliased, aliases=aliases,
                        type=OutputFile(), default=None,
                        required=required, metavar="FILE", help=help_text)


def parent_option(aliases: Iterable[str] = (), help_text: str = PARENT_HELP) -> Any:
    """``--parent UNIT``: only the units below a unit."""
    aliases = tuple(aliases)
    return click.option("--parent", *aliases, "parent", cls=Aliased, aliases=aliases,
                        default=None, metavar="UNIT", help=help_text)
