"""How a person is told the program's codes: states, sources, closures, levels and kinds of
event, in the language in use. The one place for these names (the domain declares the
Chinese names of states, sources and closures with the codes; the kinds of event are named
here)."""

from __future__ import annotations

from collections.abc import Callable

from domain.task import CLOSURES, SOURCES, STATE_LABELS
from i18n import N_, _

KINDS: dict[str, str] = {
    "Account.Bound": N_("账户绑定"), "Account.Rebound": N_("账户改绑"),
    "Account.Unbound": N_("账户解绑"),
    "AuditLog.Opened": N_("审计日志开启"), "AuditLog.CheckpointRecorded": N_("记录检查点"),
    "Evaluation.Opened": N_("评比开启"), "Evaluation.RulesAdopted": N_("采用评分细则"),
    "Evaluation.MonthPublished": N_("发布月度评比"),
    "IndicatorSystem.Opened": N_("指标体系开启"),
    "IndicatorSystem.VersionAdopted": N_("采用指标体系版本"),
    "Inspection.Recorded": N_("巡查记录"),
    "Campaign.Started": N_("创建活动开始"), "Campaign.CategoryAdded": N_("新增问题类别"),
    "Campaign.SettingsChanged": N_("设置变更"), "Campaign.LocalHolidayAdded": N_("本地休息日"),
    "Campaign.LocalWorkdayAdded": N_("本地工作日"),
    "Unit.Registered": N_("单位登记"), "Unit.Renamed": N_("单位更名"),
    "Unit.Retired": N_("单位撤销"),
    "Person.Registered": N_("人员登记"), "Person.Retired": N_("人员注销"),
    "Survey.Recorded": N_("测评记录"),
    "TargetTask.Assigned": N_("指标任务交办"), "TargetTask.ProgressReported": N_("上报进度"),
    "TargetTask.ProgressVerified": N_("进度核验通过"),
    "TargetTask.ProgressRejected": N_("进度核验未通过"),
    "TargetTask.Completed": N_("指标任务完成"), "TargetTask.Reassigned": N_("改派"),
    "TargetTask.DueExtended": N_("延长期限"),
    "Task.Assigned": N_("交办"), "Task.Acknowledged": N_("签收"),
    "Task.NoticeIssued": N_("下发整改通知书"), "Task.RectificationReported": N_("上报整改"),
    "Task.ReinspectionPassed": N_("复查通过"), "Task.ReinspectionFailed": N_("复查未通过"),
    "Task.DeadlineExtended": N_("延期"), "Task.ExtensionRequested": N_("申请延期"),
    "Task.ExtensionApproved": N_("批准延期"), "Task.ExtensionRefused": N_("驳回延期"),
    "Task.Escalated": N_("督办"), "Task.EvidenceAttached": N_("补充证据"),
    "Task.Closed": N_("销号"), "Task.Reopened": N_("反弹"), "Task.Reassigned": N_("改派"),
}
ROLES: dict[str, str] = {"admin": N_("管理员"), "inspector": N_("巡查员"),
                         "unit": N_("责任单位人员"), "auditor": N_("审计员"), "clerk": N_("录入员")}
# Every record's corrections and withdrawal (domain/corrections.py), whatever the record.
ANY_RECORD: dict[str, str] = {"Corrected": N_("作出更正"), "Withdrawn": N_("撤回")}


def state(code: str) -> str:
    """A task's state: 已签收 / acknowledged."""
    label = STATE_LABELS.get(code)
    return _(label) if label else code


def source(code: str) -> str:
    """Where a task came from: 巡查发现 / inspection."""
    label = SOURCES.get(code)
    return _(label) if label else code


def closure(code: str | None) -> str:
    """How a task was closed: 整改到位 / verified ('' when it is not closed)."""
    if not code:
        return ""
    label = CLOSURES.get(code)
    return _(label) if label else code


def role(code: str) -> str:
    """A person's role: 巡查员 / inspector."""
    label = ROLES.get(code)
    return _(label) if label else code


def level(name: str) -> str:
    """A level of the ranking (社区, 街道, …: the levels are Chinese data)."""
    return _(name)


def kind(name: str, record: str | None = None,
         translate: Callable[[str], str] = _) -> str:
    """A kind of event, ``Task.Assigned`` (or ``Assigned`` of a ``record`` kind ``Task``):
    交办 / Assigned (in English, the event's name in the code); a kind without a label keeps
    its name. ``translate``: the language's, where it is not the command's (the web's)."""
    if "." not in name and record:
        name = f"{record}.{name}"
    short = name.split(".", 1)[-1]
    label = KINDS.get(name) or ANY_RECORD.get(short)
    return translate(label) if label else short
