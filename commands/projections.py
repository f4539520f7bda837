"""The read models' upkeep: their positions and lag, rebuilding and verifying them."""

from __future__ import annotations

import click


@click.group()
def projections() -> None:
    """Read models: status, rebuild, verify, follow."""


COMMANDS = [projections]
