"""What one invocation works with, handed to every command."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

import click
import sqlalchemy.exc

from ledger.store import Store

if TYPE_CHECKING:
    from projections.read import ReadSide


class Session:
    """The store URL, the acting person, and the store opened on first use.

    ``claimed`` is what ``--as`` (or TAIZHANG_AS) said, ``on_behalf_of`` the person a proxy
    entry is for; the acting person follows from the account the store authenticated."""

    def __init__(self, url: str, claimed: str | None,
                 on_behalf_of: str | None = None) -> None:
        self.url = url
        self.claimed = claimed
        self.on_behalf_of = on_behalf_of

    @cached_property
    def actor(self) -> str:
        """The person this command acts for (asked only by commands that write): the
        account's own person, checked against --as; or the one --on-behalf-of names."""
        from ledger.identity import Accounts

        return Accounts(self.store.ledger).acting_id(self.claimed, self.on_behalf_of)

    @cached_property
    def store(self) -> Store:
        return Store(self.url)

    @cached_property
    def read(self) -> ReadSide:
        from projections.read import ReadSide

        return ReadSide(self.store)

    def close(self) -> None:
        if "store" in self.__dict__:
            if "ledger" in self.store.__dict__ and self.store.ledger.written:
                from ledger.access import privileged_warning

                try:
                    warning = privileged_warning(self.store)
                except sqlalchemy.exc.SQLAlchemyError as e:  # the store went away meanwhile
                    said = str(getattr(e, "orig", None) or e).strip().splitlines()
                    warning = ("could not tell which kind of account wrote: "
                               + (said[0] if said else type(e).__name__))
                if warning:
                    click.echo(f"Warning: {warning}", err=True)
            self.store.close()


pass_session = click.make_pass_decorator(Session)
