"""`domainbots eval`: a bot's held-out set through each strategy, side by side."""

from __future__ import annotations

import asyncio

import click

from api.cli.output import emit_json, table
from core import strategy as strategies
from core.evaluation import StrategyScore, evaluate, load_cases
from core.money import usd, usd_digits
from core.runtime import Runtime


def _doc(s: StrategyScore) -> dict:
    return {
        "strategy": s.strategy,
        "examples": s.examples,
        "errors": s.errors,
        "score": s.score,
        "cost_usd": usd_digits(s.cost_usd),
        "cost_per_example_usd": usd_digits(s.cost_per_example_usd),
        "prompt_tokens": s.prompt_tokens,
        "completion_tokens": s.completion_tokens,
        "latency_p50_ms": s.latency_p50_ms,
    }


@click.command(name="eval")
@click.argument("bot")
@click.option("--strategy", "chosen", multiple=True, type=click.Choice(list(strategies.STRATEGIES)),
              help="Strategies to run (repeat); default: every one that can serve.")  # fmt: skip
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the first N examples.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def evaluate_command(bot: str, chosen: tuple[str, ...], limit: int | None, as_json: bool) -> None:
    """Run training_data/BOT/eval.jsonl through each strategy: overlap score, cost, latency."""
    runtime = Runtime.load()
    profile = runtime.profiles.get(bot)
    cases = load_cases(runtime.settings.training_dir / profile.name / "eval.jsonl", limit)
    with runtime.database.session() as session:
        state = strategies.current(session, profile)
    servable = [name for name, model in strategies.models(state, profile).items() if model]
    names = list(chosen) or servable
    for name in names:
        strategies.config(state, profile, name)  # a clear error for a strategy that cannot serve

    async def run() -> list[StrategyScore]:
        engine = runtime.engine()
        try:
            return [await evaluate(engine, profile.name, name, cases) for name in names]
        finally:
            await runtime.aclose()

    results = asyncio.run(run())
    if as_json:
        emit_json({"bot": profile.name, "results": [_doc(r) for r in results]})
        return
    skipped = sorted(set(strategies.STRATEGIES) - set(names))
    if skipped and not chosen:
        click.echo(f"not run (no model yet): {', '.join(skipped)}", err=True)
    rows = [
        [r.strategy, r.examples, r.errors, f"{r.score:.3f}", usd(r.cost_usd), usd(r.cost_per_example_usd),
         f"{r.prompt_tokens + r.completion_tokens:,}", r.latency_p50_ms]
        for r in results
    ]  # fmt: skip
    headers = ["strategy", "examples", "errors", "overlap F1", "cost", "per example", "tokens", "p50 ms"]
    click.echo(table(headers, rows, right=range(1, 8)))


COMMANDS = [evaluate_command]
