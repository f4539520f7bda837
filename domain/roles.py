"""Who may do what. One table, checked before any event is triggered."""

from __future__ import annotations

from domain.base import Actor, Refused

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
    "escalate": frozenset({ADMIN, INSPECTOR}),
    "attach_evidence": frozenset({ADMIN, INSPECTOR, UNIT}),
    "close_verified": frozenset({INSPECTOR}),
    "close_other": frozenset({ADMIN, INSPECTOR}),
    "reopen": frozenset({ADMIN, INSPECTOR}),
    "reassign": frozenset({ADMIN, INSPECTOR}),
    "correct": frozenset({ADMIN, INSPECTOR, UNIT}),
    "manage_indicators": frozenset({ADMIN}),
    "assign_target": frozenset({ADMIN}),
    "report_progress": frozenset({UNIT}),
    "verify_progress": frozenset({INSPECTOR}),
    "record_survey": frozenset({ADMIN}),
    "record_checkpoint": frozenset({ADMIN, AUDITOR}),
    # Entering closures that an old 台账 or another system's export already records.
    "import_records": frozenset({ADMIN}),
    # Entering an event on behalf of the person responsible for it (代录).
    "enter_on_behalf": frozenset({ADMIN, CLERK}),
}


# How a refusal names an action, where its key is not plain enough.
ACTION_NAMES = {
    "manage_registry": "manage the registries",
    "close_verified": "close a task as verified",
    "close_other": "close a task as void, duplicate or not responsible",
    "attach_evidence": "attach evidence",
    "import_records": "import records",
    "manage_indicators": "adopt an indicator system",
    "assign_target": "assign an indicator target",
    "verify_progress": "verify or reject a progress report",
    "enter_on_behalf": "enter events on behalf of another person",
}


def authorize(actor: Actor, action: str, unit: str | None = None) -> None:
    """Refuse ``action`` unless the actor's role allows it (for ``unit`` where it matters)."""
    allowed = PERMISSIONS[action]
    if actor.role not in allowed:
        raise Refused(
            f"{actor.id} ({actor.role}) may not "
            f"{ACTION_NAMES.get(action, action.replace('_', ' '))}: "
            f"that is for {', '.join(sorted(allowed))}"
        )
    if actor.role == UNIT and unit is not None and actor.unit != unit:
        raise Refused(
            f"{actor.id} acts for unit {actor.unit}, not for unit {unit}"
        )
