"""`domainbots db upgrade`: bring the schema up to date explicitly (deployments)."""

from __future__ import annotations

import click

from api.cli.output import ledger_database


@click.group()
def db() -> None:
    """The database schema."""


@db.command()
def upgrade() -> None:
    """Apply pending migrations (every command does this on its own too)."""
    database = ledger_database()
    click.echo(f"{database.safe_url} is at revision {database.current_revision()}")


COMMANDS = [db]
