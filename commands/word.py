"""The options of the commands that write Word documents (``--format docx``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from i18n import _
from projections.fonts import WordStyle

DEFAULT = WordStyle()


class FontName(click.ParamType):
    """A font family name: not empty, one line."""

    name = "FONT"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> str:
        text = str(value).strip()
        if not text or any(c in text for c in "\r\n\t"):
            self.fail(_("{value} 不是字体名称").format(value=repr(value)), param, ctx)
        return text


def word_options(number_help: str) -> Callable[[Any], Any]:
    """``--number`` (the 文号 line), ``--body-font`` and ``--heading-font``."""
    def decorate(command: Any) -> Any:
        for option in reversed([
            click.option("--number", default=None, metavar="TEXT",
                         help=number_help),
            click.option("--body-font", type=FontName(), default=DEFAULT.body_font,
                         show_default=True, help="docx：正文的中文字体。"),
            click.option("--heading-font", type=FontName(), default=DEFAULT.heading_font,
                         show_default=True,
                         help="docx：标题和各级标题的中文字体。"),
        ]):
            command = option(command)
        return command
    return decorate


def word_style(body_font: str, heading_font: str) -> WordStyle:
    return WordStyle(body_font=body_font, heading_font=heading_font)


def require_output(fmt: str, output: Path | None) -> None:
    """A workbook or Word document is a file, never printed."""
    if fmt in ("xlsx", "docx") and output is None:
        raise click.UsageError(
            _("--format xlsx 写出的是工作簿：请给出 --output FILE。") if fmt == "xlsx" else
            _("--format docx 写出的是 Word 文档：请给出 --output FILE。"))
