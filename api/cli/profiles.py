"""`domainbots profiles check`: validate the bots' profiles without starting anything."""

from __future__ import annotations

from pathlib import Path

import click

from api.cli.output import emit_json, table
from core.hooks import available_bots
from core.pricing import PriceTable
from core.profiles import load_profiles
from core.settings import Settings


@click.group()
def profiles() -> None:
    """The bots' profiles (YAML)."""


@profiles.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def check(directory: Path | None, as_json: bool) -> None:
    """Validate every profile in DIRECTORY (default: DOMAINBOTS_PROFILES_DIR) as `serve` would:
    fields, behaviours, models with a known price. Exits 1 naming the file and field at fault."""
    folder = directory or Settings().profiles_dir
    loaded = load_profiles(folder, PriceTable.load(), available_bots())
    if as_json:
        documents = [
            {"name": p.name, "bot": p.bot, "source": p.source,
             "strategies": {k: c.model for k, c in p.strategies.items()}}
            for p in loaded
        ]  # fmt: skip
        emit_json({"directory": str(folder), "profiles": documents})
        return
    rows = [[p.name, p.bot, p.source, ", ".join(f"{s}: {c.model or '-'}" for s, c in p.strategies.items())]
            for p in loaded]  # fmt: skip
    click.echo(table(["profile", "behaviour", "file", "strategies"], rows))
    click.echo(f"\n{len(rows)} profiles valid in {folder}")


COMMANDS = [profiles]
