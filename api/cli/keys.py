"""`domainbots keys`: API keys for the HTTP API."""

from __future__ import annotations

import click

from api.cli.output import emit_json, ledger_database, table
from core import keys as api_keys


@click.group()
def keys() -> None:
    """API keys (only their hashes are stored)."""


@keys.command()
@click.option("--name", required=True, help="What the key is for, e.g. web-frontend.")
@click.option("--scope", type=click.Choice(list(api_keys.SCOPES)), required=True)
@click.option("--rpm", type=int, default=None, help="At most this many chat requests in any 60 seconds.")
@click.option("--tpm", type=int, default=None, help="At most this many tokens (prompt + completion) in any 60 seconds.")
def create(name: str, scope: str, rpm: int | None, tpm: int | None) -> None:
    """Create a key; its secret is printed alone on the last line, once."""
    created = api_keys.create(ledger_database(), name, scope, requests_per_minute=rpm, tokens_per_minute=tpm)
    click.echo(f"created {scope} key {created.key.name!r} (id {created.key.id}); it is shown only now:", err=True)
    click.echo(created.secret)


@keys.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def list_keys(as_json: bool) -> None:
    """Every key, active or revoked."""
    found = api_keys.listing(ledger_database())
    docs = [
        {
            "id": k.id,
            "name": k.name,
            "scope": k.scope,
            "created_at": k.created_at.isoformat(),
            "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None,
            "requests_per_minute": k.requests_per_minute,
            "tokens_per_minute": k.tokens_per_minute,
        }
        for k in found
    ]
    if as_json:
        emit_json({"keys": docs})
        return
    rows = [[d["id"], d["name"], d["scope"], str(d["created_at"])[:19], str(d["revoked_at"] or "")[:19]] for d in docs]
    click.echo(table(["id", "name", "scope", "created (UTC)", "revoked (UTC)"], rows))


@keys.command()
@click.argument("name")
@click.option("--rpm", type=int, default=None, help="Chat requests in any 60 seconds (leave out: no limit).")
@click.option("--tpm", type=int, default=None, help="Tokens in any 60 seconds (leave out: no limit).")
def limit(name: str, rpm: int | None, tpm: int | None) -> None:
    """Set the rate limits of the active key called NAME (answered with 429 and Retry-After)."""
    key = api_keys.set_limits(ledger_database(), name, requests_per_minute=rpm, tokens_per_minute=tpm)
    shown = ", ".join(f"{v} {what}/min" for v, what in ((rpm, "requests"), (tpm, "tokens")) if v) or "no limits"
    click.echo(f"key {key.name!r} (id {key.id}): {shown}")


@keys.command()
@click.argument("name")
def revoke(name: str) -> None:
    """Revoke the active key called NAME; requests with it get 401 from now on."""
    key = api_keys.revoke(ledger_database(), name)
    click.echo(f"revoked {key.scope} key {key.name!r} (id {key.id})")


COMMANDS = [keys]
