"""Help aligned by display width: click pads its option and command columns with ``len()``,
so a column holding Chinese (``--level [社区|街道|部门|物业]``, two columns a character on a
terminal) pushed its help out of line. The formatter measures with ``wcwidth``."""

from __future__ import annotations

from collections.abc import Iterable

import click
from click.formatting import iter_rows
from wcwidth import wcswidth


def width(text: str) -> int:
    """The columns ``text`` takes on a terminal (unprintable characters count as one)."""
    shown = wcswidth(click.unstyle(text))
    return shown if shown >= 0 else len(text)


def wrap(text: str, columns: int) -> list[str]:
    """``text`` in lines of at most ``columns`` terminal columns, broken between words (a
    word longer than a line stands alone on its line)."""
    lines: list[str] = []
    for paragraph in text.split("\n\n"):
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}" if line else word
            if line and width(candidate) > columns:
                lines.append(line)
                candidate = word
            line = candidate
        lines.append(line)
    return lines if any(lines) else []


class WideHelpFormatter(click.HelpFormatter):
    """click's formatter, its definition lists padded and its text wrapped by display
    width."""

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
    formatter_class = WideHelpFormatter


def widen(command: click.Command) -> click.Command:
    """``command`` and every command below it formatting their help by display width."""
    command.context_class = WideContext
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            widen(sub)
    return command
