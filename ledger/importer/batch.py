"""A batch of rows: a row's task id, a row already imported, what a batch adds."""

from __future__ import annotations

import base64
import hashlib
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from domain.registry import Unit
from domain.task import Task
from ledger.importer.report import Reject

ID_PREFIX = "IM-"


@lru_cache(maxsize=4096)  # a row's id is asked for when it is read and when it is built
def task_id_for(key: str) -> str:
    """A row's task id, derived from its identity: the same row always gets the same id
    (65 bits of its sha256, in base32, fitting the board's 16 characters)."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return ID_PREFIX + base64.b32encode(digest[:10]).decode("ascii")[:13]


@dataclass
class _Known:
    """A row whose task the ledger already holds."""

    number: int
    key: str
    cells: list[Any]


@dataclass
class _Batch:
    """What one batch adds: built aggregates and the report's share of it."""

    tasks: list[Task] = field(default_factory=list)
    units: dict[str, Unit] = field(default_factory=dict)
    categories: list[str] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    already: int = 0
    events: int = 0
    filled: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    keys: dict[str, int] = field(default_factory=dict)
    # An update's (ledger/importer/update.py): imported tasks given new events, and what
    # each compared row proved or contradicted.
    changed: list[Task] = field(default_factory=list)
    compared: list[Any] = field(default_factory=list)
