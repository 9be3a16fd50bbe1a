"""The `domainbots` command line (SPEC section 7)."""

from __future__ import annotations

from typing import Any

import click

from api.cli import bots, chat, costs, db, evaluate, finetune, keys, profiles, report, serve, tokens
from core.errors import DomainbotsError, UnknownBot


class _Group(click.Group):
    """Turns a DomainbotsError into one line on stderr; a traceback only with --debug."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DomainbotsError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(f"error: {exc}", err=True)
            ctx.exit(2 if isinstance(exc, UnknownBot) else 1)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.version_option(package_name="domainbots")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Domain chatbots behind an API: profiles, strategies, and the exact cost of every call."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


for module in (serve, chat, bots, costs, report, keys, finetune, evaluate, profiles, tokens, db):
    for command in module.COMMANDS:
        cli.add_command(command)


def main() -> None:
    cli(prog_name="domainbots")


if __name__ == "__main__":
    main()
