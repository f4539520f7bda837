"""What both import paths (a mapping's tasks, a template's surveys or targets) say of a
file: its outcome, its counts of rows skipped and rejected, and the rejected rows."""

from __future__ import annotations

from typing import Any

import click

from commands.output import emit
from i18n import N_, _

REJECT_COLUMNS = [("row", N_("行")), ("column", N_("列")), ("value", N_("内容值")),
                  ("reason", N_("拒收原因"))]


def heading(report: Any) -> dict[str, Any]:
    """The file read (with its hash) and what became of it."""
    outcome = (_("试运行，未写入任何内容") if report.dry_run
               else _("未写入任何内容") if not report.written else _("已写入"))
    return {"file": f"{report.file} (sha256 {report.digest[:12]}…)", "outcome": outcome}


def skipped_and_rejected(report: Any) -> dict[str, int]:
    """Rows skipped, by kind, and rows rejected, by reason."""
    counts = {_("跳过：{kind}").format(kind=kind): count
              for kind, count in sorted(report.skipped.items())}
    counts.update((_("拒收：{reason}").format(reason=reason), count)
                  for reason, count in sorted(report.rejected_by_reason().items()))
    return counts


def emit_rejects(report: Any, fmt: str) -> None:
    """The rejected rows, after a blank line: row, column, value and reason."""
    if report.rejects:
        click.echo()
        emit([{"row": r.row, "column": r.column, "value": r.value, "reason": r.reason}
              for r in report.rejects], REJECT_COLUMNS, fmt)
