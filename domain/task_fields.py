"""The words and checks of a task's fields: its sources and closures, evidence references,
an imported task's origin and a deadline's rule (see :mod:`domain.task`)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from domain.base import Refused, optional_text, require_text

SOURCES = {
    "decomposition": "指标分解",
    "inspection": "巡查发现",
    "complaint": "群众反映",
    "media": "媒体曝光",
    "unannounced": "上级暗访",
}

CLOSURES = {
    "verified": "整改到位",
    "void": "作废",
    "duplicate": "重复",
    "not_responsible": "非责任单位",
}

SHA256 = re.compile(r"^[0-9a-f]{64}$")


def parse_source(value: str) -> str:
    """Accept a source by its code or its Chinese name."""
    for code, label in SOURCES.items():
        if value in (code, label):
            return code
    raise Refused("来源须为以下之一：{choices}，收到 {value!r}",
                  choices=", ".join(f"{c} ({l})" for c, l in SOURCES.items()), value=value)


def parse_closure(value: str) -> str:
    for code, label in CLOSURES.items():
        if value in (code, label, code.replace("_", "-")):
            return code
    raise Refused("销号方式须为以下之一：{choices}，收到 {value!r}", choices=", ".join(CLOSURES),
                  value=value)


def check_evidence(items: list[dict[str, str]]) -> list[dict[str, str]]:
    """Evidence references: a file name, optionally its sha256 and a description."""
    checked = []
    for item in items:
        name = require_text("evidence file", item.get("file"))
        digest = (item.get("sha256") or "").lower()
        if digest and not SHA256.match(digest):
            raise Refused("证据的 sha256 须为 64 位十六进制数字，收到 {digest!r}",
                          digest=item.get("sha256"))
        entry = {"file": name, "sha256": digest,
                 "description": optional_text("evidence description",
                                              item.get("description"))}
        if item.get("elsewhere"):  # kept elsewhere, named but not hashed here
            entry["elsewhere"] = True
        checked.append(entry)
    return checked


def check_origin(origin: dict[str, Any] | None) -> dict[str, Any] | None:
    """An imported task's origin names at least the file (its sha256) and the row."""
    if origin is None:
        return None
    digest = str(origin.get("file") or "").lower()
    if not SHA256.match(digest):
        raise Refused("来源文件须为 sha256（64 位十六进制数字），收到 {file!r}",
                      file=origin.get("file"))
    row = origin.get("row")
    if not isinstance(row, int) or isinstance(row, bool) or row < 1:
        raise Refused("来源行号须为 1 或以上的行号，收到 {row!r}", row=row)
    return {**origin, "file": digest}


def check_rule(deadline: date | None, rule: str | None) -> str | None:
    """A deadline's rule ("7个工作日") goes with the date it resolved to, or is absent."""
    if rule is None:
        return None
    if deadline is None:
        raise Refused("期限规则 {rule!r} 须附上它推算出的日期", rule=rule)
    return require_text("deadline rule", rule)
