"""Every kind of event the ledger stores, found once from the aggregates that declare them.

An event kind is a class nested in its aggregate (``Task.Assigned``, ``Unit.Corrected``);
its name in the store is the class's qualified name. Nothing else lists them: the read
side dispatches on these classes (``projections/projection.py``), and its contract test
(``tests/tier2_ledger/test_projection_contract.py``) checks that every projection handles or ignores
each of them.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

import domain
from domain.base import N_, LedgerAggregate, LedgerEvent

# The Chinese name of each kind of event, as a person reads it (the message catalogue's word:
# i18n/labels.py says it in the language in use; a refusal carries it as a Label).
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
# Every record's corrections and withdrawal (domain/corrections.py), whatever the record.
ANY_RECORD: dict[str, str] = {"Corrected": N_("作出更正"), "Withdrawn": N_("撤回")}


def kind_name(kind: str) -> str | None:
    """The Chinese name of a kind of event (``Task.Assigned``: 交办; ``Unit.Corrected``:
    作出更正), None for a kind without one."""
    return KINDS.get(kind) or ANY_RECORD.get(kind.split(".", 1)[-1])


# The bases each aggregate gets from the library, never stored as such.
_BASES = ("Event", "Created")


def _subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_subclasses(sub))
    return found


@cache
def aggregates() -> tuple[type[LedgerAggregate], ...]:
    """Every aggregate class the domain declares (its modules imported first)."""
    for module in pkgutil.iter_modules(domain.__path__):
        importlib.import_module(f"{domain.__name__}.{module.name}")
    return tuple(sorted({c for c in _subclasses(LedgerAggregate)
                         if c.__module__.startswith(f"{domain.__name__}.")},
                        key=lambda c: c.__qualname__))


@cache
def event_classes() -> tuple[type[LedgerEvent], ...]:
    """Every event class an aggregate declares, in a stable order."""
    found: list[type[LedgerEvent]] = []
    for aggregate in aggregates():
        for name, value in vars(aggregate).items():
            if (isinstance(value, type) and issubclass(value, LedgerEvent)
                    and name not in _BASES and value.__qualname__ == f"{aggregate.__name__}.{name}"):
                found.append(value)
    return tuple(found)


@cache
def by_kind() -> dict[str, type[LedgerEvent]]:
    """Each event class by the kind the store names it with (``Task.Assigned``). Two
    classes of one name would be one kind twice: refused."""
    kinds: dict[str, type[LedgerEvent]] = {}
    for cls in event_classes():
        if cls.__qualname__ in kinds:
            raise TypeError(f"event kind {cls.__qualname__} is declared twice")
        kinds[cls.__qualname__] = cls
    return kinds


def kind_of(cls: type[LedgerEvent]) -> str:
    """The kind the store names an event class with."""
    return cls.__qualname__


@cache
def _aggregates_by_event() -> dict[type[LedgerEvent], type[LedgerAggregate]]:
    return {cls: aggregate for aggregate in aggregates() for cls in event_classes()
            if cls.__qualname__.split(".", 1)[0] == aggregate.__name__
            and cls.__module__ == aggregate.__module__}


def aggregate_of(cls: type[LedgerEvent] | None) -> type[LedgerAggregate] | None:
    """The aggregate that declares an event class (None for a class no aggregate
    declares)."""
    found = _aggregates_by_event().get(cls) if cls is not None else None
    if found is None and cls is not None:
        # A class declared after the catalogue was read (a test's): found by its name.
        outer = cls.__qualname__.split(".", 1)[0]
        found = next((a for a in aggregates() if a.__name__ == outer
                      and a.__module__ == cls.__module__), None)
    return found
