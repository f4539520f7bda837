"""What one invocation works with, handed to every command."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

import click

from ledger.store import Store

if TYPE_CHECKING:
    from projections.read import ReadSide


class Session:
    """The store URL, the acting person, and the store opened on first use."""

    def __init__(self, url: str, actor: str | None) -> None:
        self.url = url
        self.actor = actor

    @cached_property
    def store(self) -> Store:
        return Store(self.url)

    @cached_property
    def read(self) -> ReadSide:
        from projections.read import ReadSide

        return ReadSide(self.store)

    def close(self) -> None:
        if "store" in self.__dict__:
            self.store.close()


pass_session = click.make_pass_decorator(Session)
