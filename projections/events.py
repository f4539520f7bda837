"""The event index: one row per stored event, for the auditors' timeline.

Each row says what the event is (position, originator, kind), when it happened and when the
ledger learned of it (valid and transaction time, and how late it was entered), who did it
in which role and from which account, which unit it concerns, and a one-line summary. The
timeline's filters (unit, valid time, transaction time, actor) are indexed columns here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from domain.accounts import Account
from domain.audit import AuditLog
from domain.base import LedgerEvent
from domain.evaluation import Evaluation
from domain.indicators import IndicatorSystem
from domain.inspection import Inspection
from domain.registry import Campaign, Person, Unit
from domain.survey import Survey
from domain.target import TargetTask
from domain.task import Task
from domain.task_fields import CLOSURES, SOURCES
from i18n import N_, _, labels
from projections.corrections import (
    CORRECTIONS,
    WITHDRAWALS,
    corrected,
    is_withdrawal,
)
from projections.event_words import (
    WITHDRAWAL,
    Message,
    correction,
    deadline,
    fields,
    kind,
    label,
    m,
    more,
    number,
    said,
)
from projections.facts import Context, Fact, Key
from projections.projection import Projection, events_of
from projections.rows import Rows

SKIPPED_FIELDS = {"occurred_at", "actor", "role", "entered_by", "timestamp", "originator_topic"}


def late_days(fact: Fact, ctx: Context) -> int:
    """Calendar days (in the campaign's zone) between when it happened and when the ledger
    learned of it: 0 for an entry made the same day."""
    return max(0, ctx.day_number(fact.recorded_at) - ctx.day_number(fact.occurred_at))


def who(row: dict[str, Any]) -> str:
    """Who acted, and who entered it for them when that was someone else (代录)."""
    acted = f"{row['actor']} ({labels.role(row['role'])})"
    if row.get("entered_by"):
        return _("{enterer} 代 {acted} 录入").format(enterer=row["entered_by"], acted=acted)
    return acted


def reason_of(fact: Fact) -> str:
    """The reason or note a person gave with the event ('' if none)."""
    return fact.data.get("reason") or fact.data.get("note") or ""


def evidence_of(fact: Fact) -> list[dict[str, str]]:
    return list(fact.data.get("evidence") or [])


# Evidence named but kept elsewhere (not hashed here). The event index keeps it in Chinese;
# its reader says it in the language in use (projections/records.py).
ELSEWHERE = N_("［另处保存］")


def evidence_text(items: list[dict[str, str]], say: Callable[[str], str] = _) -> str:
    """Evidence references in one line: file (description) [sha256 prefix] (``say``: the
    language of the words in it; the event index keeps them as written, Chinese)."""
    return "; ".join(
        item["file"] + (f" ({item['description']})" if item.get("description") else "")
        + (f" [{item['sha256'][:12]}]" if item.get("sha256") else "")
        + (" " + say(ELSEWHERE) if item.get("elsewhere") else "")
        for item in items)


def _notice(d: dict[str, Any]) -> list[Message]:
    said = [m(N_("下发整改通知书 {number}"), number=d["notice_no"])]
    if d.get("deadline"):
        said.append(m(N_("，{deadline}"), deadline=deadline(d)))
    if d.get("requirements"):
        said.append(m(N_("：{requirements}"), requirements=d["requirements"]))
    return said


def _inspected(d: dict[str, Any]) -> list[Message]:
    found = ", ".join(d["findings"])
    return [m(N_("{inspectors} 巡查 {unit}：{findings}"), unit=d["unit"],
              inspectors=", ".join(d["inspectors"]),
              findings=found or m(N_("未发现问题")))]


def _checkpoint(d: dict[str, Any]) -> list[Message]:
    said = [m(N_("检查点：位置 {position}，哈希 {hash}"), position=d["position"], hash=d["hash"])]
    if d.get("key_id"):
        said.append(m(N_("，已签名（{key}）"), key=d["key_id"]))
    return said


def generic(fact: Fact) -> list[Message]:
    """An event the index has no words of its own for: its kind and plain fields."""
    found = fields(fact.data, SKIPPED_FIELDS | {"reason", "note", "evidence"})
    if not found:
        return [m(N_("{kind}"), kind=kind(fact.kind))]
    return [m(N_("{kind}：{fields}"), kind=kind(fact.kind), fields=found)]


def _correction(fact: Fact) -> list[Message]:
    if is_withdrawal(fact):
        return WITHDRAWAL
    return correction(fact.data, fact.kind.split(".", 1)[0])


def _words(summary: Callable[[dict[str, Any]], Any]) -> Callable[[Fact], list[Message]]:
    def words(fact: Fact) -> list[Message]:
        said = summary(fact.data)
        return said if isinstance(said, list) else [said]
    return words


# Per event class, its one line on the timeline, as words to be said in the reader's
# language (projections/event_words.py): the catalogue's message and its values.
SUMMARIES: dict[type[LedgerEvent], Callable[[Fact], list[Message]]] = {k: _words(v) for k, v in {
    Task.Assigned: lambda d: m(
        N_("交办给 {unit}（{source}）：{category} · {location} · {description} · {deadline}"),
        unit=d["unit"], source=label(SOURCES.get(d["source"]), d["source"]),
        category=d["category"], location=d["location"], description=d["description"],
        deadline=deadline(d)),
    Task.Acknowledged: lambda d: m(N_("责任单位签收")),
    Task.NoticeIssued: _notice,
    Task.RectificationReported: lambda d: m(N_("上报整改：{description}"),
                                            description=d["description"]),
    Task.ReinspectionPassed: lambda d: m(N_("复查通过（整改到位）")),
    Task.ReinspectionFailed: lambda d: m(N_("复查未通过，需返工")),
    Task.DeadlineExtended: lambda d: [m(N_("期限延长 {before} → {after}"),
                                        before=d["previous_deadline"], after=d["deadline"]),
                                      *more(d)],
    Task.ExtensionRequested: lambda d: [m(N_("申请延期 {before} → {after}"),
                                          before=d["current_deadline"], after=d["deadline"]),
                                        *more(d)],
    Task.ExtensionApproved: lambda d: m(N_("批准延期申请（事件 {request}）"), request=d["request"]),
    Task.ExtensionRefused: lambda d: m(N_("驳回延期申请（事件 {request}）"), request=d["request"]),
    Task.Escalated: lambda d: m(N_("列入督办")),
    Task.EvidenceAttached: lambda d: m(N_("补充了证据")),
    Task.Closed: lambda d: m(N_("销号（{closure}）"),
                             closure=label(CLOSURES.get(d["closure"]), d["closure"])),
    Task.Reopened: lambda d: m(N_("反弹，{deadline}"), deadline=deadline(d)),
    Task.Reassigned: lambda d: m(N_("改派 {before} → {after}"), before=d["previous_unit"],
                                 after=d["unit"]),
    Inspection.Recorded: _inspected,
    Campaign.Started: lambda d: m(N_("创建活动 {name} 开始（{zone}）"), name=d["name"],
                                  zone=d["time_zone"]),
    Campaign.LocalHolidayAdded: lambda d: m(N_("本地休息日 {day}（不是工作日）"), day=d["day"]),
    Campaign.LocalWorkdayAdded: lambda d: m(N_("本地工作日 {day}"), day=d["day"]),
    Campaign.CategoryAdded: lambda d: m(N_("新增问题类别 {category}"), category=d["category"]),
    Campaign.SettingsChanged: lambda d: m(N_("每个单位每月需要的巡查次数改为 {n}"),
                                          n=d["required_inspections"]),
    Unit.Registered: lambda d: [m(N_("登记单位 {code} {name}（{kind}）"), code=d["code"],
                                  name=d["name"], kind=d["kind"]),
                                *([m(N_("，隶属 {parent}"), parent=d["parent"])]
                                  if d.get("parent") else [])],
    Unit.Renamed: lambda d: m(N_("单位更名为 {name}"), name=d["name"]),
    Unit.Retired: lambda d: m(N_("单位已撤销")),
    Survey.Recorded: lambda d: m(
        N_("{unit} {month} 测评：知晓率 {awareness}% · 参与率 {participation}% · 满意度 "
           "{satisfaction}% · {sample} 人"), unit=d["unit"], month=d["month"],
        awareness=number(d["awareness"]), participation=number(d["participation"]),
        satisfaction=number(d["satisfaction"]), sample=d["sample"]),
    TargetTask.Assigned: lambda d: m(
        N_("指标任务 {target_id}：指标 {indicator} 交办给 {unit}，目标 {target} {measure}，"
           "完成期限 {due}"), target_id=d["target_id"], indicator=d["indicator"],
        unit=d["unit"], target=number(d["target"]), measure=d["measure"], due=d["due"]),
    TargetTask.ProgressReported: lambda d: m(N_("上报进度（第 {report} 次）：{value}"),
                                             report=d["report"], value=number(d["value"])),
    TargetTask.ProgressVerified: lambda d: m(N_("核验通过进度（第 {report} 次）：{value}"),
                                             report=d["report"], value=number(d["value"])),
    TargetTask.ProgressRejected: lambda d: m(N_("核验未通过进度（第 {report} 次）：{value}"),
                                             report=d["report"], value=number(d["value"])),
    TargetTask.Completed: lambda d: m(N_("指标任务完成（已核验 {verified}）"),
                                      verified=number(d["verified"])),
    TargetTask.Reassigned: lambda d: m(N_("改派 {before} → {after}"), before=d["previous_unit"],
                                       after=d["unit"]),
    TargetTask.DueExtended: lambda d: m(N_("完成期限延长 {before} → {after}，批准人 {approver}"),
                                        before=d["previous_due"], after=d["due"],
                                        approver=d["approver"]),
    Person.Registered: lambda d: [m(N_("登记人员 {person} {name}，角色：{role}"),
                                    person=d["person_id"], name=d["name"],
                                    role=label(labels.ROLES.get(d["person_role"]),
                                               d["person_role"])),
                                  *([m(N_("，单位 {unit}"), unit=d["unit"])]
                                    if d.get("unit") else [])],
    Person.Retired: lambda d: m(N_("人员已注销")),
    Account.Bound: lambda d: m(N_("账户 {account} 绑定到 {person}"), account=d["account"],
                               person=d["person"]),
    Account.Rebound: lambda d: m(N_("账户改绑到 {person}"), person=d["person"]),
    Account.Unbound: lambda d: m(N_("账户与 {person} 解绑"), person=d["person"]),
    AuditLog.Opened: lambda d: m(N_("审计日志已开启")),
    AuditLog.CheckpointRecorded: _checkpoint,
    Evaluation.Opened: lambda d: m(N_("评比簿已开启")),
    Evaluation.RulesAdopted: lambda d: m(
        N_("采用评分细则 {name}（第 {version} 版），自 {month} 起"), name=d["name"],
        version=d["rules_version"], month=d["from_month"]),
    Evaluation.MonthPublished: lambda d: m(
        N_("发布 {month} 评比（评分细则第 {version} 版，位置 {position}）"), month=d["month"],
        version=d["rules_version"], position=d["position"]),
    IndicatorSystem.Opened: lambda d: m(N_("测评体系已开启")),
    IndicatorSystem.VersionAdopted: lambda d: m(
        N_("采用测评体系 {name}（第 {number} 版，{n} 项指标）"), name=d["name"],
        number=d["number"], n=len(d.get("indicators") or [])),
}.items()}
SUMMARIES.update(dict.fromkeys(CORRECTIONS | WITHDRAWALS, _correction))


def summary_of(fact: Fact) -> list[Message]:
    """What happened, in one line, as words to be said (the reason and evidence are given
    apart)."""
    return SUMMARIES.get(fact.event, generic)(fact)  # type: ignore[arg-type]


def summarize(fact: Fact) -> str:
    """What happened, in one line, in the language in use."""
    return said(summary_of(fact))


# A unit's own events, which concern the unit itself.
UNIT_EVENTS = frozenset(events_of(Unit))


class EventIndex(Projection):
    """One row per event: when (valid and transaction time), who, which unit."""

    name = "events"
    # 2: the summary kept as words to be said in the reader's language (JSON), not English.
    # 3: the columns the event table holds (originator, version, kind, recorded_at,
    # account) left to it. 4: evidence kept elsewhere marked in Chinese, said when read.
    # 5: the summary, reason and evidence left to the event itself, said when read
    # (:func:`said_of`): the index keeps what the timeline filters and sorts by.
    version = 5
    appended = frozenset({"events", "event_corrections", "proxy_entries"})
    # Every event is indexed (one the domain does not declare too): what differs by class
    # is its summary, said when read.
    handlers = SUMMARIES
    wants_every = True

    def define(self) -> None:
        import sqlalchemy as sa

        events = self.table(
            "events",
            # INTEGER on SQLite, so that the position is the rowid: one b-tree less.
            sa.Column("position", sa.BigInteger().with_variant(sa.Integer, "sqlite"),
                      primary_key=True, autoincrement=False),
            # The event's originator, version, kind, transaction time and account are the
            # event table's own columns, read from it at this position (a join on its
            # primary key), and so are its summary, reason and evidence (its state): not
            # written again here.
            sa.Column("occurred_at", sa.String(32), nullable=False),
            sa.Column("occurred_on", sa.String(10), nullable=False, index=True),
            sa.Column("late_days", sa.Integer, nullable=False),
            sa.Column("actor", sa.String(40), nullable=False, index=True),
            sa.Column("role", sa.String(16), nullable=False),
            sa.Column("unit", sa.String(40), index=True),
            sa.Column("other_unit", sa.String(40)),
        )
        # Few events name a second unit (a reassignment's former unit): index only those
        # (declared for SQLite, made partial on PostgreSQL too: projection.partial_indexes).
        sa.Index(f"ix_{events.name}_other_unit", events.c.other_unit,
                 sqlite_where=events.c.other_unit.isnot(None))
        # Each correction (of one event) and withdrawal (version 0: of the whole record), so
        # that the timeline shows an event against what corrected it.
        self.table(
            "event_corrections",
            sa.Column("originator", sa.String(64), primary_key=True),
            sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
            sa.Column("position", sa.BigInteger().with_variant(sa.Integer, "sqlite"),
                      primary_key=True, autoincrement=False),
            sa.Column("kind", sa.String(12), nullable=False),
        )
        # The unit each aggregate (task, target, person …) belongs to now, for its later
        # events, which do not name it.
        # Who entered an event for its actor (a proxy entry, 代录): few events are, so they
        # have a table of their own beside the index.
        self.table(
            "proxy_entries",
            sa.Column("position", sa.BigInteger().with_variant(sa.Integer, "sqlite"),
                      primary_key=True, autoincrement=False),
            sa.Column("entered_by", sa.String(40), nullable=False),
        )
        self.table(
            "event_owners",
            sa.Column("originator", sa.String(64), primary_key=True),
            sa.Column("unit", sa.String(40), nullable=False),
        )

    def touches(self, fact: Fact) -> Iterable[tuple[str, Key]]:
        if fact.version > 1:
            return [("event_owners", (fact.originator_id,))]
        return []

    def touched(self, facts: list[Fact]) -> dict[str, set[Key]]:
        return {"event_owners": {(f.originator_id,) for f in facts if f.version > 1}}

    def fold(self, rows: Rows, fact: Fact, ctx: Context) -> None:
        d = fact.data
        event = fact.event
        other = None
        if event in UNIT_EVENTS:
            unit = fact.originator_id.split(":", 1)[1]
        elif event in CORRECTIONS and "unit" in (changes := corrected(fact)[1]):
            # A record corrected to another unit belongs to that unit from now on.
            unit = changes["unit"]
            other = (d.get("previous") or {}).get("unit")
            if unit:
                rows.put("event_owners", (fact.originator_id,),
                         {"originator": fact.originator_id, "unit": unit})
        elif "unit" in d:
            unit = d["unit"]
            other = d.get("previous_unit")
            if unit:
                rows.put("event_owners", (fact.originator_id,),
                         {"originator": fact.originator_id, "unit": unit})
        else:
            owner = rows.get("event_owners", (fact.originator_id,))
            unit = owner["unit"] if owner else None
        position = fact.position
        occurred_utc, occurred_on, day = ctx.moment(d["occurred_at"])
        rows.put("events", (position,), {
            "position": position, "occurred_at": occurred_utc, "occurred_on": occurred_on,
            "late_days": max(0, ctx.day_number(fact.recorded_at) - day),
            "actor": d.get("actor", ""), "role": d.get("role", ""), "unit": unit,
            "other_unit": other})
        if event in CORRECTIONS or event in WITHDRAWALS:
            correcting = event in CORRECTIONS
            version = d["corrects"] if correcting else 0
            rows.put("event_corrections", (fact.originator_id, version, position), {
                "originator": fact.originator_id, "version": version, "position": position,
                "kind": "corrected" if correcting else "withdrawn"})
        if d.get("entered_by"):
            rows.put("proxy_entries", (position,),
                     {"position": position, "entered_by": d["entered_by"]})


def said_of(fact: Fact) -> tuple[str, str, str]:
    """What the timeline says of an event beside the index's row: its summary, reason and
    evidence, in the language in use (from the event itself, as read)."""
    evidence = fact.data.get("evidence")
    return (summarize(fact), reason_of(fact), evidence_text(evidence) if evidence else "")
