"""`domainbots tokens`: exact token counts, offline."""

from __future__ import annotations

import sys

import click

from api.cli.output import emit_json
from core.tokens import tokenizer_for


@click.command()
@click.option("--model", "-m", default="gpt-4o-mini", show_default=True, help="Model whose tokenizer counts.")
@click.option("--json", "as_json", is_flag=True, help="Print {model, encoding, tokens}.")
@click.argument("text", required=False)
def tokens(model: str, as_json: bool, text: str | None) -> None:
    """Count the tokens of TEXT (or of stdin, with - or no TEXT)."""
    if text is None or text == "-":
        if text is None and sys.stdin.isatty():
            raise click.UsageError("give TEXT, or pipe text in on stdin")
        text = sys.stdin.read()
    tokenizer = tokenizer_for(model)
    count = tokenizer.count(text)
    if not tokenizer.exact:
        click.echo(
            f"note: {model} has no OpenAI tokenizer; counted with {tokenizer.encoding_name} as an estimate",
            err=True,
        )
    if as_json:
        emit_json({"model": model, "encoding": tokenizer.encoding_name, "tokens": count})
    else:
        click.echo(count)


COMMANDS = [tokens]
