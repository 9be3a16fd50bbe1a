"""`domainbots finetune`: check fine-tuning data, estimate its cost, launch and follow jobs."""

from __future__ import annotations

import getpass
import json
import re
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from api.cli.output import date_option, emit_json, table
from core import strategy as strategies
from core.finetune.dataset import estimate as estimate_cost
from core.finetune.dataset import validate as validate_file
from core.finetune.export import export as export_examples
from core.finetune.jobs import TERMINAL, FineTuning, JobView
from core.ledger import FineTuneJob
from core.money import usd, usd_digits
from core.pricing import PriceTable
from core.runtime import Runtime

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


def _job_doc(job: FineTuneJob, events: list[str] | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": job.id,
        "bot": job.bot,
        "base_model": job.base_model,
        "status": job.status,
        "fine_tuned_model": job.fine_tuned_model,
        "trained_tokens": job.trained_tokens,
        "training_cost_usd": usd_digits(job.cost_usd) if job.registered else None,
        "registered": job.registered,
        "error": job.error,
        "created_at": job.created_at.isoformat(),
    }
    if events is not None:
        doc["events"] = events
    return doc


def _show(job: FineTuneJob, events: list[str]) -> None:
    click.echo(f"{job.id}  {job.bot}  {job.base_model}  {job.status}")
    if job.fine_tuned_model:
        click.echo(f"  model: {job.fine_tuned_model}" + ("  (registered for the bot)" if job.registered else ""))
    if job.trained_tokens is not None and job.registered:
        click.echo(
            f"  trained tokens: {job.trained_tokens:,}   training cost: {usd(job.cost_usd)} ({job.price_version})"
        )
    if job.error:
        click.echo(f"  error: {job.error}")
    for event in events[:5]:
        click.echo(f"  - {event}")


def _fine_tuning() -> FineTuning:
    runtime = Runtime.load()
    return FineTuning(runtime, runtime.settings.training_dir)


@finetune.command()
@click.argument("bot")
@click.option("--epochs", type=int, default=None, help="Epochs (1..50); default: the provider's choice.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def launch(bot: str, epochs: int | None, as_json: bool) -> None:
    """Validate training_data/BOT/train.jsonl (and eval.jsonl), upload them, start a job."""
    if as_json or not sys.stderr.isatty():
        job = _fine_tuning().launch(bot, epochs)
    else:
        with click.progressbar(length=4, label="launching", file=sys.stderr, item_show_func=lambda s: s) as bar:
            job = _fine_tuning().launch(bot, epochs, on_step=lambda name: bar.update(1, name))
    if as_json:
        emit_json(_job_doc(job))
        return
    click.echo(f"launched {job.id} for {job.bot} on {job.base_model}; `domainbots finetune status {job.id}` follows it")


@finetune.command()
@click.argument("job", required=False)
@click.option("--watch", is_flag=True, help="Keep refreshing until every job shown has finished.")
@click.option("--interval", type=click.FloatRange(min=0), default=30.0, show_default=True,
              help="Seconds between refreshes with --watch.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def status(job: str | None, watch: bool, interval: float, as_json: bool) -> None:
    """Refresh JOB (or every unfinished job) from the provider; a finished one is booked and registered."""
    tuning = _fine_tuning()
    views = [tuning.refresh(job)] if job else tuning.refresh_open()
    if watch:
        views = _watch(tuning, views, interval, quiet=as_json)
    if as_json:
        emit_json({"jobs": [_job_doc(v.job, v.events) for v in views]})
        return
    if not views:
        click.echo("no unfinished jobs; `domainbots finetune jobs` lists them all")
    for view in views:
        _show(view.job, view.events)


_STEP = re.compile(r"Step (\d+)/(\d+)")


def _watch(tuning: FineTuning, views: list[JobView], interval: float, *, quiet: bool) -> list[JobView]:
    """Refresh until every job is finished. On a terminal: one progress bar per job, driven by the
    provider's "Step N/M" events; otherwise (or under --json) nothing is printed until the end."""
    bars: dict[str, Any] = {}
    shown = sys.stderr.isatty() and not quiet
    while True:
        for view in views:
            steps = next((_STEP.search(e) for e in view.events if _STEP.search(e)), None)
            if shown and steps:
                done, total = int(steps.group(1)), int(steps.group(2))
                bar = bars.get(view.job.id)
                if bar is None:
                    bar = bars[view.job.id] = click.progressbar(length=total, label=view.job.id, file=sys.stderr)
                bar.update(done - bar.pos)
        if all(v.job.status in TERMINAL for v in views):
            for bar in bars.values():
                bar.render_finish()
            return views
        time.sleep(interval)
        views = [v if v.job.status in TERMINAL else tuning.refresh(v.job.id) for v in views]


@finetune.command()
@click.option("--bot", default=None, help="Only this bot's jobs.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def jobs(bot: str | None, as_json: bool) -> None:
    """Every fine-tuning job launched from here, newest first (as last refreshed)."""
    found = _fine_tuning().jobs(bot)
    if as_json:
        emit_json({"jobs": [_job_doc(j) for j in found]})
        return
    rows = [[j.id, j.bot, j.base_model, j.status, j.fine_tuned_model or "-", usd(j.cost_usd)] for j in found]
    click.echo(table(["job", "bot", "base model", "status", "fine-tuned model", "training cost"], rows))


@finetune.command()
@click.argument("job")
def cancel(job: str) -> None:
    """Cancel JOB at the provider."""
    view = _fine_tuning().cancel(job)
    _show(view.job, view.events)


@finetune.command()
@click.argument("bot")
@click.argument("model", required=False)
@click.option("--clear", is_flag=True, help="Forget the registered model: use the profile's again.")
def register(bot: str, model: str | None, clear: bool) -> None:
    """Make MODEL the fine-tuned model BOT serves (a rollback: register the previous one), or --clear."""
    if (model is None) == (not clear):
        raise click.UsageError("give a MODEL, or --clear")
    runtime = Runtime.load()
    profile = runtime.profiles.get(bot)
    if model is not None:
        runtime.prices.price(model)  # refuse a model that cannot be priced
    with runtime.database.session() as session:
        state = strategies.register(session, profile, model, actor=f"cli:{getpass.getuser()}")
        served = strategies.models(state, profile)["finetuned"]
    click.echo(f"{bot}: the finetuned strategy serves {served or '(no model: train one)'}")


@finetune.command()
@click.argument("bot")
@click.option("--all", "everything", is_flag=True, help="Every conversation, not only those rated positively.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Write here, not to stdout.")
def export(bot: str, everything: bool, output: Path | None) -> None:
    """Training JSONL from BOT's logged conversations (positively rated, redacted), ready for validate."""
    runtime = Runtime.load()
    profile = runtime.profiles.get(bot)
    if sys.stderr.isatty():
        with click.progressbar(length=1, label=f"exporting {bot}", file=sys.stderr) as bar:

            def advance(done: int, total: int) -> None:
                bar.length = total
                bar.update(done - bar.pos)

            examples = export_examples(runtime.database, profile, only_positive=not everything, on_progress=advance)
    else:
        examples = export_examples(runtime.database, profile, only_positive=not everything)
    text = "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in examples)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
    click.echo(f"exported {len(examples)} conversations of {bot}", err=True)


COMMANDS = [finetune]
