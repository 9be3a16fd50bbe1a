"""Shared output helpers: one JSON document on stdout, aligned tables."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import click

from core.db import Database, open_database
from core.settings import Settings


def emit_json(document: Any) -> None:
    click.echo(json.dumps(document, ensure_ascii=False, indent=2))


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], right: Sequence[int] = ()) -> str:
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        out = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        return "  ".join(out).rstrip()

    return "\n".join([line(cells[0]), line(["-" * w for w in widths]), *(line(r) for r in cells[1:])])


def date_option(name: str, help_text: str) -> Any:
    return click.option(name, type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help=help_text)


def ledger_database() -> Database:
    """The configured database, migrated; where it is, said on stderr when it is the default
    (so a command run from another folder never silently reads an empty new file)."""
    settings = Settings()
    database = open_database(settings.database_url)
    if "database_url" not in settings.model_fields_set:
        click.echo(f"domainbots: database {database.safe_url} (DOMAINBOTS_DATABASE_URL chooses another)", err=True)
    return database
