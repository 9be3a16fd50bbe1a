"""`domainbots eval`: a bot's held-out set through each strategy, side by side, kept as a run.

    domainbots eval BOT [--strategy S] [--limit N] [--json]   run eval.jsonl; prints the run id
    domainbots eval runs [--bot BOT]                          the latest runs
    domainbots eval show RUN [--json]                         a run, example by example
"""

from __future__ import annotations

import asyncio
import json
import sys
from contextlib import nullcontext
from typing import Any

import click

from api.cli.output import emit_json, table
from core import strategy as strategies
from core.evaluation import ReplyChecks, StrategyScore, evaluate, finish_run, load_cases, run_results, runs, start_run
from core.evaluation import summarize as summarize_strategy
from core.hooks import load_hooks
from core.judge import Judge
from core.ledger import EvalResult
from core.money import usd, usd_digits
from core.runtime import Runtime
from core.store import Store


class _DefaultRun(click.Group):
    """`eval BOT` runs the set; `eval runs` and `eval show RUN` read stored runs."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # the first word that is no option names a subcommand or, failing that, the bot to run
        first = next((a for a in args if not a.startswith("-")), None)
        if first is not None and first not in self.commands:
            args = ["run", *args]
        return super().parse_args(ctx, args)


def _score_doc(s: StrategyScore) -> dict[str, Any]:
    return {
        "strategy": s.strategy,
        "examples": s.examples,
        "errors": s.errors,
        "checks": {
            name: {"passed": ok, "checked": n, "rate": round(ok / n, 4) if n else None}
            for name, (ok, n) in sorted(s.checks.items())
        },
        "overlap_f1": s.score,
        "cost_usd": usd_digits(s.cost_usd),
        "cost_per_example_usd": usd_digits(s.cost_per_example_usd),
        "latency_p50_ms": s.latency_p50_ms,
    }


def _print_scores(scores: list[StrategyScore]) -> None:
    names = sorted({name for s in scores for name in s.checks})
    rows = []
    for s in scores:
        rates = [f"{ok}/{n} ({ok / n:.0%})" if n else "-" for ok, n in (s.checks.get(name, (0, 0)) for name in names)]
        rows.append([s.strategy, s.examples, s.errors, *rates, f"{s.score:.3f}", usd(s.cost_usd),
                     usd(s.cost_per_example_usd), s.latency_p50_ms])  # fmt: skip
    headers = ["strategy", "examples", "errors", *names, "overlap F1", "cost", "per example", "p50 ms"]
    click.echo(table(headers, rows, right=range(1, len(headers))))


@click.group(name="eval", cls=_DefaultRun)
def eval_group() -> None:
    """Evaluate a bot's strategies on training_data/BOT/eval.jsonl, and read stored runs."""


@eval_group.command(name="run")
@click.argument("bot")
@click.option("--strategy", "chosen", multiple=True, type=click.Choice(list(strategies.STRATEGIES)),
              help="Strategies to run (repeat); default: every one that can serve.")  # fmt: skip
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the first N examples.")
@click.option("--judge", "judge_model", default=None, metavar="MODEL",
              help="Also score each reply 1-5 with MODEL and a written rubric (its calls are eval cost).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document (no progress bar).")
def run_command(bot: str, chosen: tuple[str, ...], limit: int | None, judge_model: str | None, as_json: bool) -> None:
    """Run BOT's eval.jsonl through each strategy: the bot's checks as pass rates, overlap, cost, latency."""
    runtime = Runtime.load()
    profile = runtime.profiles.get(bot)
    cases = load_cases(runtime.settings.training_dir / profile.name / "eval.jsonl", limit)
    with runtime.database.session() as session:
        state = strategies.current(session, profile)
    servable = [name for name, model in strategies.models(state, profile).items() if model]
    names = list(chosen) or servable
    for name in names:
        strategies.config(state, profile, name)  # a clear error for a strategy that cannot serve
    hooks = load_hooks(profile.bot)
    checks = hooks if isinstance(hooks, ReplyChecks) else None
    judge = Judge(runtime.provider, runtime.prices, Store(runtime.database), judge_model) if judge_model else None
    run = start_run(runtime.database, profile.name, names, len(cases))
    show_bar = not as_json and sys.stderr.isatty()
    bar: Any = (
        click.progressbar(length=len(cases) * len(names), label=f"{run.id} {profile.name}", file=sys.stderr)
        if show_bar
        else nullcontext()
    )

    async def go() -> list[StrategyScore]:
        engine = runtime.engine()
        try:
            with bar as progress:
                step = (lambda: progress.update(1)) if show_bar else None
                return [await evaluate(engine, runtime.database, run, n, cases, checks, step, judge) for n in names]
        finally:
            await runtime.aclose()

    try:
        results = asyncio.run(go())
    except BaseException:
        finish_run(runtime.database, run.id, "failed")
        raise
    finish_run(runtime.database, run.id, "done")
    if as_json:
        emit_json({"run": run.id, "bot": profile.name, "results": [_score_doc(r) for r in results]})
        return
    skipped = sorted(set(strategies.STRATEGIES) - set(names))
    if skipped and not chosen:
        click.echo(f"not run (no model yet): {', '.join(skipped)}", err=True)
    _print_scores(results)
    click.echo(f"\nrun {run.id}: `domainbots eval show {run.id}` lists every example", err=True)


@eval_group.command(name="runs")
@click.option("--bot", default=None, help="Only this bot's runs.")
def runs_command(bot: str | None) -> None:
    """The latest evaluation runs."""
    runtime = Runtime.load()
    rows = [[r.id, r.bot, r.strategies, r.examples, r.status, r.created_at.strftime("%Y-%m-%d %H:%M")]
            for r in runs(runtime.database, bot)]  # fmt: skip
    click.echo(table(["run", "bot", "strategies", "examples", "status", "started (UTC)"], rows, right=[3]))


def _example_doc(r: EvalResult) -> dict[str, Any]:
    return {
        "strategy": r.strategy,
        "position": r.position,
        "input": r.input,
        "output": r.output,
        "reference": r.reference,
        "checks": json.loads(r.checks),
        "overlap_f1": round(r.overlap_f1, 4),
        "cost_usd": usd_digits(r.cost_usd),
        "latency_ms": r.latency_ms,
        "conversation_id": r.conversation_id,
        "error": r.error,
    }


def _short(text: str | None, width: int = 48) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


@eval_group.command(name="show")
@click.argument("run_id", metavar="RUN")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def show_command(run_id: str, as_json: bool) -> None:
    """A stored run: its figures per strategy, then every example with its checks."""
    runtime = Runtime.load()
    run, results = run_results(runtime.database, run_id)
    names = run.strategies.split(",")
    scores = [summarize_strategy(name, results) for name in names]
    if as_json:
        emit_json({
            "run": run.id, "bot": run.bot, "status": run.status, "created_at": run.created_at.isoformat(),
            "results": [_score_doc(s) for s in scores], "examples": [_example_doc(r) for r in results],
        })  # fmt: skip
        return
    click.echo(f"run {run.id}: {run.bot}, {run.examples} examples per strategy, {run.status}\n")
    _print_scores(scores)
    click.echo("")
    rows = []
    for r in results:
        failed = [name for name, ok in json.loads(r.checks).items() if not ok]
        verdict = "error: " + _short(r.error, 30) if r.error else ("fails " + ", ".join(failed) if failed else "ok")
        cost = usd(r.cost_usd)
        rows.append([r.strategy, r.position, _short(r.input, 40), _short(r.output), verdict, cost, r.latency_ms])
    click.echo(table(["strategy", "#", "input", "output", "checks", "cost", "ms"], rows, right=[1, 5, 6]))


COMMANDS = [eval_group]
