"""The work summary (工作总结) of a period: its figures, a paragraph, and a table."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import click
from tabulate import tabulate

from commands.params import DATE, MOMENT, output_option
from commands.session import Session, pass_session
from commands.word import require_output, word_options, word_style
from i18n import _
from projections.summary import document_title, paragraph, table
from services import records


@click.command()
@click.option("--from", "start", type=DATE, required=True, help="时段的第一天。")
@click.option("--to", "end", type=DATE, required=True, help="时段的最后一天。")
@click.option("--unit", "unit_code", default=None, help="一个单位，连同其下所有单位。")
@click.option("--as-of", "as_of", type=MOMENT, default=None,
              help="按台账当时所知的情况（记录时间）。")
@click.option("--format", "fmt", type=click.Choice(["md", "docx", "json"]), default="md",
              show_default=True,
              help="Markdown 文档、JSON 格式的数据，或 Word 文档。")
@output_option("写入此文件（docx 必需）；默认输出到标准输出。")
@word_options("docx：标题下的文号行（默认为时段最后一天的 〔YEAR〕MONTH号）。")
@pass_session
def summary(session: Session, start: date, end: date, unit_code: str | None,
            as_of: datetime | None, fmt: str, output: Path | None, number: str | None,
            body_font: str, heading_font: str) -> None:
    """任意时段、任意单位的工作总结数据，由台账计算，附一段工作总结式的文字和一张表格。"""
    require_output(fmt, output)
    result = records.summary(session.services, start, end, unit_code, as_of)
    text, cited = paragraph(result)
    if fmt == "json":
        click.echo(json.dumps({**result.as_data(), "paragraph": text, "cited": cited},
                              ensure_ascii=False, indent=2))
        return
    if fmt == "docx":
        from projections.word import summary_docx

        output.write_bytes(summary_docx(  # type: ignore[union-attr]
            document_title(result), number or f"〔{end.year}〕{end.month}号", text,
            [[row["label"], row["value"]] for row in table(result)],
            word_style(body_font, heading_font)))
        click.echo(_("工作总结已写入 {path}").format(path=output))
        return
    scope = f" · {result.scope}" if result.scope else ""
    # A Markdown table (the listings' helper prints terminal tables, CSV and JSON).
    markdown = f"# 工作总结 {start.isoformat()} 至 {end.isoformat()}{scope}\n\n{text}\n\n" + \
        tabulate([[row["label"], row["value"]] for row in table(result)],
                 headers=["项目", "数值"], tablefmt="pipe", disable_numparse=True,
                 colalign=("left", "right"))
    if output is None:
        click.echo(markdown)
    else:
        output.write_text(markdown + "\n", encoding="utf-8")
        click.echo(_("工作总结已写入 {path}").format(path=output))


COMMANDS = [summary]
