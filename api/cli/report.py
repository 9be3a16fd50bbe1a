"""`domainbots report BOT`: prompt or fine-tune, per bot, with a verdict and its break-even."""

from __future__ import annotations

from datetime import datetime

import click

from api.cli.output import date_option, emit_json, table
from core.decision import BREAK_EVEN_DAYS, window
from core.decision import report as decision_report
from core.runtime import Runtime


@click.command()
@click.argument("bot")
@date_option("--since", "First day (YYYY-MM-DD, UTC); default 30 days before --until.")
@date_option("--until", "Last day (YYYY-MM-DD, UTC); default today.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def report(bot: str, since: datetime | None, until: datetime | None, as_json: bool) -> None:
    """Which strategy of BOT wins on cost and on users' ratings, and at what volume a fine-tune pays."""
    runtime = Runtime.load()
    runtime.profiles.get(bot)  # an unknown bot is a clear error
    start, end = window(since.date() if since else None, until.date() if until else None)
    with runtime.database.session() as session:
        doc = decision_report(session, bot, start, end)
    if as_json:
        emit_json(doc)
        return
    rows = [
        [
            s["strategy"],
            s["conversations"],
            s["cost_per_conversation_usd"] or "-",
            s["cost_per_conversation_with_training_usd"] or "-",
            f"{s['liked']}/{s['rated']}",
            s["latency_p50_ms"] if s["latency_p50_ms"] is not None else "-",
        ]
        for s in doc["strategies"]
    ]
    click.echo(f"{bot}, {start} to {end} (production calls only)")
    click.echo(table(["strategy", "conversations", "$/conversation", "with training", "liked", "p50 ms"], rows))
    verdict = doc["verdict"]
    click.echo(f"verdict: {verdict['winner']}: {verdict['reason']}")
    if verdict.get("break_even_conversations_per_day") is not None:
        click.echo(
            f"break-even: {verdict['break_even_conversations_per_day']:,} conversations a day repay the "
            f"fine-tune's training within {BREAK_EVEN_DAYS} days"
        )


COMMANDS = [report]
