"""Commands on the indicator system, its quantitative targets (指标任务) and surveys.

They work on the :class:`~ledger.app.Ledger` application as its own commands do: load, let
the domain decide, save in one transaction, retry on a concurrent write; and they return
plain data. Reading an indicator file (CSV, XLSX or TOML) is here too, so that every way in
checks the same rows.
"""

from __future__ import annotations

import csv
import io
import tomllib
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from domain.base import NotFound, Refused
from domain.indicators import IndicatorSystem
from domain.survey import Survey
from domain.target import TargetTask
from ledger.app import Ledger
from ledger.unit_of_work import Context, UnitOfWork

TARGET_PREFIX = "ZB-"
SURVEY_PREFIX = "SV-"

# Column headings accepted in an indicator file, in English or as offices write them.
HEADINGS = {
    "code": ("code", "编码", "指标编码", "编号", "指标编号"),
    "parent": ("parent", "parent code", "parent_code", "上级", "上级编码", "上级指标",
               "父级编码"),
    "title": ("title", "名称", "指标名称", "指标", "测评内容"),
    "category": ("category", "类别", "管理类别", "分类"),
    "points": ("points", "分值", "分数"),
    "method": ("method", "how checked", "check", "测评方法", "考核方式", "测评方式",
               "检查方式"),
}


def read_indicator_file(path: str | Path) -> list[dict[str, Any]]:
    """The rows of an indicator file: ``.csv``, ``.xlsx`` or ``.toml`` (an array of
    ``[[indicator]]`` tables). Columns are found by their headings (see ``HEADINGS``)."""
    path = Path(path)
    if not path.is_file():
        raise Refused("指标文件 {file!r} 不存在", file=str(path))
    suffix = path.suffix.lower()
    if suffix == ".toml":
        return _toml_rows(path)
    if suffix == ".csv":
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise Refused("指标文件 {file} 不是 UTF-8 文本", file=path.name) from None
        table = [row for row in csv.reader(io.StringIO(text)) if any(c.strip() for c in row)]
    elif suffix == ".xlsx":
        table = _xlsx_table(path)
    else:
        raise Refused("指标文件必须是 .csv、.xlsx 或 .toml，而不是 {file!r}", file=path.name)
    if not table:
        raise Refused("指标文件 {file} 是空的", file=path.name)
    columns = _columns(table[0], path.name)
    return [{field: (row[i] if i < len(row) else "") for field, i in columns.items()}
            for row in table[1:]]


def _columns(header: list[Any], name: str) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, cell in enumerate(header):
        heading = str(cell or "").strip().lower()
        for field, aliases in HEADINGS.items():
            if heading in aliases and field not in found:
                found[field] = index
    missing = [f for f in ("code", "title") if f not in found]
    if missing:
        raise Refused("指标文件 {file} 没有 {missing} 列（表头有：{headings}）", file=name,
                      missing=" or ".join(missing), headings=", ".join(str(c) for c in header))
    return found


def _xlsx_table(path: Path) -> list[list[Any]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as e:  # noqa: BLE001 - openpyxl raises many kinds for a bad file
        raise Refused("指标文件 {file} 不是可读的 .xlsx：{why}", file=path.name, why=e) from None
    try:
        sheet = workbook.worksheets[0]
        return [["" if c is None else c for c in row]
                for row in sheet.iter_rows(values_only=True)
                if any(c is not None and str(c).strip() for c in row)]
    finally:
        workbook.close()


def _toml_rows(path: Path) -> list[dict[str, Any]]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise Refused("指标文件 {file} 不是有效的 TOML：{why}", file=path.name, why=e) from None
    rows = data.get("indicator")
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise Refused("指标文件 {file} 必须包含 [[indicator]] 表", file=path.name)
    return rows


class Indicators:
    """The indicator system, targets and surveys of one ledger."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    # --- the indicator system --------------------------------------------------------

    def system(self) -> IndicatorSystem:
        try:
            return self.ledger.load(IndicatorSystem, IndicatorSystem.ID, "indicator system")
        except NotFound:
            raise NotFound("尚未导入指标体系：请运行 'taizhang indicators import FILE'") from None

    def import_system(self, *, actor_id: str | None, rows: list[dict[str, Any]],
                      name: str = "", source: str = "", note: str = "",
                      occurred_at: datetime | None = None) -> dict[str, Any]:
        """Adopt ``rows`` as the next version of the indicator system."""
        def adopt(work: UnitOfWork) -> dict[str, Any]:
            ctx = work.context(actor_id, occurred_at)
            try:
                system = self.system()
            except NotFound:
                system = IndicatorSystem.open(actor=ctx.actor, occurred_at=ctx.when)
            number = system.adopt(rows, name=name, source=source, note=note, actor=ctx.actor,
                                  occurred_at=ctx.when)
            work.save(system)
            return describe_version(system.adopted(number))
        return self.ledger.write(adopt)

    def version(self, number: int | None = None) -> dict[str, Any]:
        """A version of the system (default the latest) with its indicators."""
        return describe_version(self.system().adopted(number))

    def versions(self) -> list[dict[str, Any]]:
        return [{k: v for k, v in describe_version(v).items() if k != "indicators"}
                for v in self.system().versions]

    # --- targets ---------------------------------------------------------------------

    def target(self, target_id: str) -> TargetTask:
        return self.ledger.load(TargetTask, target_id.strip().upper(), "target task")

    def assign_target(self, *, actor_id: str | None, code: str, unit: str, target: Any,
                      measure: str, due: date, note: str = "",
                      occurred_at: datetime | None = None) -> dict[str, Any]:
        """Decompose indicator ``code`` (of the latest version) into a target for
        ``unit``."""
        def assign(work: UnitOfWork) -> dict[str, Any]:
            actor = self.ledger.actor(actor_id)
            campaign = self.ledger.campaign()
            system = self.system()
            indicator = system.indicator(code)
            self.ledger.unit(unit).check_active()
            when, now = work.moment(occurred_at)
            task = TargetTask.assign(
                target_id=work.next_ids(TARGET_PREFIX, 1)[0],
                indicator=indicator.code, indicator_version=system.latest, unit=unit,
                target=target, measure=measure, due=due, note=note, actor=actor,
                occurred_at=when, now=now, zone=campaign.zone)
            work.save(task)
            return describe_target(task, self.ledger.today(campaign))
        return self.ledger.write(assign)

    def report_progress(self, *, actor_id: str | None, target_id: str, value: Any,
                        evidence: list[dict[str, str]] | None = None, note: str = "",
                        occurred_at: datetime | None = None) -> dict[str, Any]:
        """The unit reports the level reached so far."""
        def report(task: TargetTask, ctx: Context) -> None:
            task.report_progress(value=value, evidence=evidence or [], note=note,
                                 actor=ctx.actor, occurred_at=ctx.when, now=ctx.now)
        return self._command(actor_id, target_id, occurred_at, report)

    def verify_progress(self, *, actor_id: str | None, target_id: str, note: str = "",
                        occurred_at: datetime | None = None) -> dict[str, Any]:
        """An inspector verifies the pending progress report."""
        def verify(task: TargetTask, ctx: Context) -> None:
            task.verify_progress(note=note, actor=ctx.actor, occurred_at=ctx.when,
                                 now=ctx.now)
        return self._command(actor_id, target_id, occurred_at, verify)

    def reject_progress(self, *, actor_id: str | None, target_id: str, reason: str,
                        occurred_at: datetime | None = None) -> dict[str, Any]:
        """An inspector rejects the pending progress report."""
        def reject(task: TargetTask, ctx: Context) -> None:
            task.reject_progress(reason=reason, actor=ctx.actor, occurred_at=ctx.when,
                                 now=ctx.now)
        return self._command(actor_id, target_id, occurred_at, reject)

    def reassign_target(self, *, actor_id: str | None, target_id: str, unit: str,
                        reason: str, occurred_at: datetime | None = None) -> dict[str, Any]:
        """Hand a target task to another (active) unit."""
        def hand_over(task: TargetTask, ctx: Context) -> None:
            self.ledger.unit(unit).check_active()
            task.reassign(unit=unit, reason=reason, actor=ctx.actor, occurred_at=ctx.when,
                          now=ctx.now)
        return self._command(actor_id, target_id, occurred_at, hand_over)

    def extend_target(self, *, actor_id: str | None, target_id: str, due: date, reason: str,
                      approver: str | None = None,
                      occurred_at: datetime | None = None) -> dict[str, Any]:
        """Extend a target task's due date, as ``approver`` (default: the actor) approved."""
        def extend(task: TargetTask, ctx: Context) -> None:
            approved_by = self.ledger.person(approver).as_actor() if approver else ctx.actor
            task.extend_due(due=due, reason=reason, approver=approved_by, actor=ctx.actor,
                            occurred_at=ctx.when, now=ctx.now)
        return self._command(actor_id, target_id, occurred_at, extend)

    def _command(self, actor_id: str | None, target_id: str, occurred_at: datetime | None,
                 decide: Callable[[TargetTask, Context], None]) -> dict[str, Any]:
        """Load the actor and the target task, ``decide``, save."""
        def attempt(work: UnitOfWork) -> dict[str, Any]:
            actor = self.ledger.actor(actor_id)
            task = self.target(target_id)
            campaign = self.ledger.campaign()
            when, now = work.moment(occurred_at)
            decide(task, Context(actor=actor, when=when, now=now, zone=campaign.zone))
            work.save(task)
            return describe_target(task, self.ledger.today(campaign))
        return self.ledger.write(attempt)

    # --- surveys ---------------------------------------------------------------------

    def record_survey(self, *, actor_id: str | None, unit: str, month: str,
                      awareness: Any, participation: Any, satisfaction: Any, sample: Any,
                      source: str, method: str, note: str = "",
                      occurred_at: datetime | None = None) -> dict[str, Any]:
        """Record a survey's results for a unit and month."""
        def record(work: UnitOfWork) -> dict[str, Any]:
            actor = self.ledger.actor(actor_id)
            campaign = self.ledger.campaign()
            self.ledger.unit(unit).check_active()
            when, now = work.moment(occurred_at)
            survey = Survey.record(
                survey_id=work.next_ids(SURVEY_PREFIX, 1)[0], unit=unit, month=month,
                rates={"awareness": awareness, "participation": participation,
                       "satisfaction": satisfaction},
                sample=sample, source=source, method=method, note=note, actor=actor,
                occurred_at=when, now=now, zone=campaign.zone)
            work.save(survey)
            return describe_survey(survey)
        return self.ledger.write(record)


def describe_version(adopted: IndicatorSystem.VersionAdopted) -> dict[str, Any]:
    return {"version": adopted.number, "name": adopted.name, "source": adopted.source,
            "note": adopted.note, "adopted_at": adopted.occurred_at.isoformat(),
            "adopted_by": adopted.actor, "count": len(adopted.indicators),
            "indicators": [dict(i) for i in adopted.indicators]}


def describe_target(task: TargetTask, today: date) -> dict[str, Any]:
    """A target task's state as plain data; overdue as of ``today``."""
    return {
        "target_task": task.id, "indicator": task.indicator,
        "indicator_version": task.indicator_version, "unit": task.unit,
        "target": task.target, "measure": task.measure, "due": task.due.isoformat(),
        "verified": task.verified,
        "pending": None if task.pending is None else task.pending[1],
        "reports": task.reports, "state": task.state,
        "overdue": task.is_overdue(today), "version": task.version,
    }


def describe_survey(survey: Survey) -> dict[str, Any]:
    return {"survey": survey.id, "unit": survey.unit, "month": survey.month,
            "awareness": survey.awareness, "participation": survey.participation,
            "satisfaction": survey.satisfaction, "sample": survey.sample,
            "source": survey.source, "method": survey.method}
