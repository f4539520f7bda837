"""Who may do what. One table, checked before any event is triggered."""

from __future__ import annotations

from domain.base import N_, Actor, Label, Refused

ADMIN = "admin"
INSPECTOR = "inspector"
UNIT = "unit"
AUDITOR = "auditor"
CLERK = "clerk"

ROLES = (ADMIN, INSPECTOR, UNIT, AUDITOR, CLERK)


# Closing as verified and re-inspecting are an inspector's judgement on site; the office
# decomposes indicators and manages registries; units sign, rectify and report for
# themselves; auditors only read, and may record an audit checkpoint. A clerk (录入员) acts
# for no one in their own name: they enter the paper forms of others (proxy entries, 代录),
# each event then checked against the permissions of the person it is entered for.
PERMISSIONS: dict[str, frozenset[str]] = {
    "manage_registry": frozenset({ADMIN}),
    "assign": frozenset({ADMIN, INSPECTOR}),
    "inspect": frozenset({INSPECTOR}),
    "acknowledge": frozenset({UNIT}),
    "issue_notice": frozenset({ADMIN, INSPECTOR}),
    "report_rectification": frozenset({UNIT}),
    "reinspect": frozenset({INSPECTOR}),
    "extend_deadline": frozenset({ADMIN, INSPECTOR}),
    "request_extension": frozenset({UNIT}),
    "decide_extension": frozenset({ADMIN, INSPECTOR}),
    "escalate": frozenset({ADMIN, INSPECTOR}),
    "attach_evidence": frozenset({ADMIN, INSPECTOR, UNIT}),
    "close_verified": frozenset({INSPECTOR}),
    "close_other": frozenset({ADMIN, INSPECTOR}),
    "reopen": frozenset({ADMIN, INSPECTOR}),
    "reassign": frozenset({ADMIN, INSPECTOR}),
    "correct": frozenset({ADMIN, INSPECTOR, UNIT}),
    # Withdrawing a record that should not count at all (an inspection entered twice);
    # surveys, targets and registries are withdrawn or corrected under their own keys.
    "withdraw": frozenset({ADMIN, INSPECTOR}),
    "manage_indicators": frozenset({ADMIN}),
    "assign_target": frozenset({ADMIN}),
    "report_progress": frozenset({UNIT}),
    "verify_progress": frozenset({INSPECTOR}),
    "record_survey": frozenset({ADMIN}),
    "record_checkpoint": frozenset({ADMIN, AUDITOR}),
    # Correcting an adoption of scoring rules (the month it applies from, the reason).
    "manage_rules": frozenset({ADMIN}),
    # Entering closures that an old 台账 or another system's export already records.
    "import_records": frozenset({ADMIN}),
    # Entering an event on behalf of the person responsible for it (代录).
    "enter_on_behalf": frozenset({ADMIN, CLERK}),
}


# How a refusal names an action (Chinese, the catalogue's id; its English is the action in
# plain words), and the roles an action is for.
ACTION_NAMES = {
    "manage_registry": N_("管理单位和人员名录"),
    "assign": N_("交办任务"),
    "inspect": N_("登记巡查"),
    "acknowledge": N_("签收任务"),
    "issue_notice": N_("签发整改通知书"),
    "report_rectification": N_("上报整改情况"),
    "reinspect": N_("复查"),
    "extend_deadline": N_("延长整改期限"),
    "request_extension": N_("申请延长整改期限"),
    "decide_extension": N_("批准或驳回延期申请"),
    "escalate": N_("督办任务"),
    "attach_evidence": N_("附加证据材料"),
    "close_verified": N_("按整改到位销号"),
    "close_other": N_("按作废、重复或非责任单位销号"),
    "reopen": N_("重新打开任务"),
    "reassign": N_("改派任务"),
    "correct": N_("更正记录"),
    "withdraw": N_("撤回记录"),
    "manage_indicators": N_("采用测评体系"),
    "assign_target": N_("下达指标任务"),
    "report_progress": N_("上报指标进展"),
    "verify_progress": N_("核实或退回进展上报"),
    "record_survey": N_("登记调查结果"),
    "record_checkpoint": N_("登记审计检查点"),
    "manage_rules": N_("更正评分规则的采用"),
    "import_records": N_("导入台账记录"),
    "enter_on_behalf": N_("代他人录入事件"),
}
# A person's role as a refusal names it (the role's code in English).
ROLE_NAMES = {ADMIN: N_("管理员"), INSPECTOR: N_("巡查员"), UNIT: N_("责任单位人员"),
              AUDITOR: N_("审计员"), CLERK: N_("录入员")}
# Who an action is for, as a refusal says it (the roles' codes in English).
FOR_ROLES = {
    frozenset({ADMIN}): N_("管理员"),
    frozenset({INSPECTOR}): N_("巡查员"),
    frozenset({UNIT}): N_("责任单位人员"),
    frozenset({ADMIN, INSPECTOR}): N_("管理员、巡查员"),
    frozenset({ADMIN, AUDITOR}): N_("管理员、审计员"),
    frozenset({ADMIN, CLERK}): N_("管理员、录入员"),
    frozenset({ADMIN, INSPECTOR, UNIT}): N_("管理员、巡查员、责任单位人员"),
}


def authorize(actor: Actor, action: str, unit: str | None = None) -> None:
    """Refuse ``action`` unless the actor's role allows it (for ``unit`` where it matters)."""
    allowed = PERMISSIONS[action]
    if actor.role not in allowed:
        raise Refused("{actor}（{role}）无权{action}：此操作仅限{allowed}", actor=actor.id,
                      role=Label(ROLE_NAMES.get(actor.role, actor.role)),
                      action=Label(ACTION_NAMES[action]), allowed=Label(FOR_ROLES[allowed]))
    if actor.role == UNIT and unit is not None and actor.unit != unit:
        raise Refused("{actor} 代表单位 {own}，不能代表单位 {unit} 办理", actor=actor.id,
                      own=actor.unit, unit=unit)
