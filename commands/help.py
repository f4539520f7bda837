"""Help in the language in use, aligned by display width.

The words: every help text (a command's, an option's) is written in Chinese in the code, the
catalogue's message id (``python -m i18n.catalogue`` walks the command tree for them); click
reads them once, at import, so :class:`WideContext` puts them in the language in use when
help is formatted (:func:`speaking`), the one place that does. click's own words (``Usage:``,
``Missing option``, ``Invalid value for …``) come from a catalogue of their own,
``i18n/locale/zh/LC_MESSAGES/click.po``, which :func:`install` hands to click.

The columns: click pads its option and command columns with ``len()``, so a column holding
Chinese (``--level [社区|街道|部门|物业]``, two columns a character on a terminal) pushed its
help out of line; and it wraps text between words only, which Chinese has not. The formatter
measures with ``wcwidth`` and breaks lines between Chinese characters too."""

from __future__ import annotations

import gettext
import inspect
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

import click
from click.formatting import iter_rows
from wcwidth import wcswidth

import i18n

# No line starts with these (closing punctuation), nor ends with those (opening).
CLOSING = "，。、：；！？）」』》〉】〕,.;:!?)]}"
OPENING = "（「『《〈【〔([{"
CLICK_DOMAIN = "click"


def width(text: str) -> int:
    """The columns ``text`` takes on a terminal (unprintable characters count as one)."""
    shown = wcswidth(click.unstyle(text))
    return shown if shown >= 0 else len(text)


def _wide(char: str) -> bool:
    return wcswidth(char) == 2


def flow(paragraph: str) -> str:
    """One paragraph on one line: each run of white space one space, none between two
    Chinese characters (a line break in the code's text, not a space)."""
    out: list[str] = []
    words = paragraph.split()
    for word in words:
        if out and not (_wide(out[-1][-1]) and _wide(word[0])):
            out.append(" ")
        out.append(word)
    return "".join(out)


def _breakable(before: str, char: str) -> bool:
    """May a line end after ``before`` and the next start with ``char``?"""
    if char in CLOSING or before in OPENING:
        return False
    return _wide(before) or _wide(char)


def wrap(text: str, columns: int) -> list[str]:
    """``text`` in lines of at most ``columns`` terminal columns, broken at spaces and
    between Chinese characters (a word longer than a line stands alone on its line)."""
    lines: list[str] = []
    for paragraph in text.split("\n\n"):
        line, used, cut = "", 0, -1  # cut: where ``line`` may be broken
        for char in flow(paragraph):
            if char == " ":
                if line:
                    cut, line, used = len(line), line + " ", used + 1
                continue
            if line and _breakable(line[-1], char):
                cut = len(line)
            if line and used + width(char) > columns and cut > 0:
                lines.append(line[:cut].rstrip())
                line = line[cut:].lstrip()
                used, cut = width(line), -1
            line, used = line + char, used + width(char)
        lines.append(line)
    return lines if any(lines) else []


def short_help(text: str | None) -> str:
    """A command's help in short, for the list of commands: the first sentence of its first
    paragraph (to ``。``, or to a ``.`` that ends a word)."""
    first = flow((text or "").split("\n\n", 1)[0])
    for i, char in enumerate(first):
        if char == "。" or (char == "." and first[i + 1:i + 2] in ("", " ")):
            return first[:i + 1]
    return first


def clip(text: str, columns: int) -> str:
    """``text`` on one line of at most ``columns`` terminal columns (``…`` where it was
    cut)."""
    if width(text) <= columns:
        return text
    lines = wrap(text, columns - 1)
    return lines[0].rstrip(" ,，、;；:：") + "…"


# What is translated of a command and of its parameters (as the code has it, in Chinese).
_SAID = "_taizhang_said"


def _translate(thing: Any, attributes: tuple[str, ...]) -> None:
    said = thing.__dict__.setdefault(_SAID, {a: getattr(thing, a, None) for a in attributes})
    for attribute, text in said.items():
        if text:
            setattr(thing, attribute, i18n._(inspect.cleandoc(text)))


@contextmanager
def speaking(command: click.Command, ctx: click.Context) -> Iterator[None]:
    """``command``'s help, its options' and its subcommands' short help in the language in
    use while its help is formatted; as written afterwards. (click makes its ``--help``
    option once per command, its help in the language of that moment: it is said again.)"""
    helper = command.get_help_option(ctx)
    if helper is not None:
        helper.help = click_gettext("Show this message and exit.")
    things: list[tuple[Any, tuple[str, ...]]] = [(command, ("help", "epilog", "short_help"))]
    things += [(param, ("help",)) for param in command.params
               if isinstance(param, click.Option)]
    subcommands = list(getattr(command, "commands", {}).values())
    for sub in subcommands:
        things.append((sub, ("help", "short_help")))
    try:
        for thing, attributes in things:
            _translate(thing, attributes)
        for sub in subcommands:
            if not sub.__dict__[_SAID]["short_help"]:
                sub.short_help = short_help(sub.help)
        yield
    finally:
        for thing, _attributes in things:
            for attribute, text in thing.__dict__[_SAID].items():
                setattr(thing, attribute, text)


class WideHelpFormatter(click.HelpFormatter):
    """click's formatter, its definition lists padded and its text wrapped by display
    width."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        """``Usage: taizhang …``, ``用法：taizhang …`` (no space after a Chinese colon)."""
        if prefix is None:
            said = click_gettext("Usage:")
            prefix = said if said.endswith("：") else f"{said} "
        super().write_usage(prog, args, prefix)

    def write_heading(self, heading: str) -> None:
        """``Options:``, ``选项：`` (a Chinese heading takes a Chinese colon)."""
        colon = "：" if heading and _wide(heading[-1]) else ":"
        self.write(f"{'':>{self.current_indent}}{heading}{colon}\n")

    def write_text(self, text: str) -> None:
        indent = " " * self.current_indent
        paragraphs = [wrap(p, self.width - self.current_indent) for p in text.split("\n\n")]
        self.write("\n\n".join("\n".join(indent + line for line in lines)
                               for lines in paragraphs if lines))
        self.write("\n")

    def write_dl(self, rows: Iterable[tuple[str, str]], col_max: int = 30,
                 col_spacing: int = 2) -> None:
        rows = list(rows)
        first_col = min(max((width(first) for first, _ in rows), default=0),
                        col_max) + col_spacing
        for first, second in iter_rows(rows, 2):
            self.write(f"{'':>{self.current_indent}}{first}")
            if not second:
                self.write("\n")
                continue
            if width(first) <= first_col - col_spacing:
                self.write(" " * (first_col - width(first)))
            else:
                self.write("\n")
                self.write(" " * (first_col + self.current_indent))
            text_width = max(self.width - first_col - 2, 10)
            lines = wrap(second, text_width)
            if not lines:
                self.write("\n")
                continue
            self.write(f"{lines[0]}\n")
            for line in lines[1:]:
                self.write(f"{'':>{first_col + self.current_indent}}{line}\n")


class WideContext(click.Context):
    """Help by display width, in the language in use."""

    formatter_class = WideHelpFormatter

    def get_help(self) -> str:
        with speaking(self.command, self):
            return super().get_help()


def widen(command: click.Command) -> click.Command:
    """``command`` and every command below it formatting their help by display width."""
    command.context_class = WideContext
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            widen(sub)
    return command


# click's own words --------------------------------------------------------------------------

@cache
def click_catalogue(lang: str) -> gettext.NullTranslations:
    """click's messages (English in click) in ``lang``: Chinese from ``click.mo``."""
    path = i18n.LOCALE / lang / "LC_MESSAGES" / f"{CLICK_DOMAIN}.mo"
    if not path.exists():
        return gettext.NullTranslations()
    with open(path, "rb") as mo:
        return gettext.GNUTranslations(mo)


_importing: list[bool] = [False]


def click_gettext(message: str) -> str:
    """One of click's messages in the language in use."""
    if _importing[0]:
        return message
    return click_catalogue(i18n.language()).gettext(message)


def click_ngettext(singular: str, plural: str, n: int) -> str:
    if _importing[0]:
        return singular if n == 1 else plural
    return click_catalogue(i18n.language()).ngettext(singular, plural, n)


@contextmanager
def as_written() -> Iterator[None]:
    """click's words as click writes them, while command modules are imported: what click
    says when a command is declared (``click.Path``'s ``PATH``/``FILE`` metavar) is then
    the same whatever the language of the run that first loaded the module."""
    _importing[0] = True
    try:
        yield
    finally:
        _importing[0] = False


def install() -> None:
    """Have click say its words (usage errors, ``Usage:``, ``Options:``) in the language in
    use. click looks them up with the standard library's ``gettext.gettext``/``ngettext``,
    bound in each of its modules at import, whose language comes from the process's locale
    variables, not from ``--lang``: those names are pointed at this catalogue instead."""
    for name, module in list(sys.modules.items()):
        if name != "click" and not name.startswith("click."):
            continue
        if getattr(module, "_", None) is gettext.gettext:
            module._ = click_gettext  # type: ignore[attr-defined]
        if getattr(module, "ngettext", None) is gettext.ngettext:
            module.ngettext = click_ngettext  # type: ignore[attr-defined]
