"""`domainbots finetune`: check fine-tuning data and estimate what training costs."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from api.cli.output import date_option, emit_json
from core.finetune.dataset import estimate as estimate_cost
from core.finetune.dataset import validate as validate_file
from core.money import usd
from core.pricing import PriceTable

_file = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.group()
def finetune() -> None:
    """Fine-tuning data and jobs."""


@finetune.command()
@click.argument("file", type=_file)
@click.option("--model", "-m", default="gpt-4o-mini", show_default=True, help="The base model to train.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def validate(file: Path, model: str, as_json: bool) -> None:
    """Check FILE (chat JSONL) the way OpenAI's data guide does, and more; exit 1 on errors."""
    report = validate_file(file.read_text(encoding="utf-8").splitlines(), model, PriceTable.load())
    if as_json:
        emit_json(report.document())
    else:
        for problem in report.errors:
            click.echo(f"{file}:{problem.line}: error: {problem.kind}: {problem.detail}")
        for problem in report.warnings:
            click.echo(f"{file}:{problem.line}: warning: {problem.kind}: {problem.detail}")
        stats = report.stats()
        click.echo(f"{stats['examples']} valid examples, {len(report.errors)} errors, {len(report.warnings)} warnings")
        for name in ("messages_per_example", "tokens_per_example", "assistant_tokens_per_example"):
            if stats[name]:
                d = stats[name]
                click.echo(
                    f"  {name.replace('_', ' ')}: min {d['min']}, median {d['median']}, mean {d['mean']}, "
                    f"p10 {d['p10']}, p90 {d['p90']}, max {d['max']}"
                )
    if not report.ok:
        raise click.exceptions.Exit(1)


@finetune.command()
@click.argument("file", type=_file)
@click.option("--model", "-m", required=True, help="The base model to train, e.g. gpt-4o-mini-2024-07-18.")
@click.option("--epochs", type=int, default=None, help="Override the guide's default epochs rule (1..50).")
@date_option("--as-of", "Training price as published on this date (YYYY-MM-DD); default today.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def estimate(file: Path, model: str, epochs: int | None, as_of: datetime | None, as_json: bool) -> None:
    """Billed training tokens and the training cost of FILE on MODEL."""
    prices = PriceTable.load()
    report = validate_file(file.read_text(encoding="utf-8").splitlines(), model, prices)
    result = estimate_cost(report, prices, epochs=epochs, as_of=as_of.date() if as_of else None)
    if as_json:
        emit_json(result.document())
        return
    click.echo(
        f"{result.examples} examples x {result.epochs} epochs = {result.billed_tokens:,} billed training tokens "
        f"on {model}: {usd(result.cost_usd)} ({result.price_version})"
    )


COMMANDS = [finetune]
