"""Money commands: `price`, `project` and `costs`."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from decimal import Decimal

import click

from api.cli.output import date_option, emit_json, ledger_database, table
from core.decision import BREAK_EVEN_DAYS, project_bot, window
from core.errors import InvalidInput
from core.money import usd, usd_about, usd_digits
from core.pricing import PriceTable
from core.reports import GROUPS, CostFilter, compare_document, cost_document
from core.reports import compare as compare_strategies
from core.reports import costs as cost_report
from core.reports import project as projection
from core.runtime import Runtime
from core.usage import Usage

_count = click.IntRange(min=0)
COLUMNS = ["calls", "errors", "prompt_tokens", "cached_tokens", "completion_tokens", "cost_usd"]


def _day(value: datetime | None):
    return value.date() if value else None


@click.command()
@click.argument("model")
@click.option("--input", "input_tokens", type=_count, required=True, help="Prompt tokens (cached ones included).")
@click.option("--cached", "cached_tokens", type=_count, default=0, help="Of the prompt tokens, how many were cached.")
@click.option("--output", "output_tokens", type=_count, required=True, help="Completion tokens.")
@date_option("--as-of", "Price as published on this date (YYYY-MM-DD); default today.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def price(
    model: str, input_tokens: int, cached_tokens: int, output_tokens: int, as_of: datetime | None, as_json: bool
) -> None:
    """The exact cost of one call to MODEL (any ft: form prices at its fine-tuned tier)."""
    if cached_tokens > input_tokens:
        raise InvalidInput(f"--cached ({cached_tokens}) counts part of --input ({input_tokens}) and cannot exceed it")
    quote = PriceTable.load().price(model, _day(as_of))
    usage = Usage(prompt_tokens=input_tokens, cached_tokens=cached_tokens, completion_tokens=output_tokens)
    cost = quote.cost(usage)
    if as_json:
        emit_json(
            {
                "model": model,
                "input_tokens": input_tokens,
                "cached_tokens": cached_tokens,
                "output_tokens": output_tokens,
                "cost_usd": usd_digits(cost),
                "price_version": quote.version,
            }
        )
        return
    rates = quote.rates
    click.echo(f"{model}: {usd(cost)}")
    click.echo(
        f"  priced as {quote.priced_as} ({quote.tier}, rates of {quote.since}): "
        f"input ${rates.input}/M, cached ${rates.cached_input}/M, output ${rates.output}/M"
    )


@click.command()
@click.option("--model", "models", multiple=True, help="Model to project; repeat to compare.")
@click.option("--bot", default=None, help="Project BOT's strategies from their measured cost per conversation.")
@click.option("--chats-per-day", type=click.IntRange(min=1), required=True)
@click.option("--input-tokens", type=_count, default=None, help="Prompt tokens per chat (with --model).")
@click.option("--cached-tokens", type=_count, default=0, help="Of those, cached per chat.")
@click.option("--output-tokens", type=_count, default=None, help="Completion tokens per chat (with --model).")
@click.option("--days", type=click.IntRange(min=1), default=30, show_default=True, help="Length of the period.")
@date_option("--as-of", "Prices as published on this date (YYYY-MM-DD); default today.")
@click.option("--training-tokens", type=_count, default=None, help="Billed training tokens of the fine-tune.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def project(
    models: tuple[str, ...],
    bot: str | None,
    chats_per_day: int,
    input_tokens: int | None,
    cached_tokens: int,
    output_tokens: int | None,
    days: int,
    as_of: datetime | None,
    training_tokens: int | None,
    as_json: bool,
) -> None:
    """Project the cost of a traffic pattern on each model, side by side; or, with --bot, each
    of a bot's strategies at the token profile the ledger measured for it."""
    if bot is not None:
        given = [name for name, value in (("--model", models), ("--input-tokens", input_tokens),
                 ("--output-tokens", output_tokens), ("--cached-tokens", cached_tokens), ("--as-of", as_of),
                 ("--training-tokens", training_tokens)) if value]  # fmt: skip
        if given:
            raise InvalidInput(f"--bot projects from the ledger's measured costs: drop {', '.join(given)}")
        _project_bot(bot, chats_per_day, days, as_json)
        return
    if not models or input_tokens is None or output_tokens is None:
        raise InvalidInput("give --bot BOT, or --model with --input-tokens and --output-tokens")
    if cached_tokens > input_tokens:
        raise InvalidInput("--cached-tokens counts part of --input-tokens and cannot exceed it")
    scenarios = projection(
        PriceTable.load(),
        list(models),
        chats_per_day=chats_per_day,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cached_tokens=cached_tokens,
        days=days,
        as_of=_day(as_of),
        training_tokens=training_tokens,
    )
    if as_json:
        emit_json(
            {
                "scenarios": [
                    {
                        "model": s.model,
                        "per_chat_usd": usd_digits(s.per_chat_usd),
                        "per_day_usd": usd_digits(s.per_day_usd),
                        "per_month_usd": usd_digits(s.per_month_usd),
                        "training_usd": usd_digits(s.training_usd) if s.training_usd is not None else None,
                        "per_chat_with_training_usd": (
                            usd_digits(s.per_chat_with_training_usd)
                            if s.per_chat_with_training_usd is not None
                            else None
                        ),
                        "price_version": s.price_version,
                    }
                    for s in scenarios
                ]
            }
        )
        return
    first = scenarios[0].per_day_usd
    rows = []
    for s in scenarios:
        ratio = f"{(s.per_day_usd / first):.2f}x" if first else "-"
        rows.append(
            [
                s.model,
                usd(s.per_chat_usd),
                usd(s.per_day_usd),
                usd(s.per_month_usd),
                ratio,
                usd(s.training_usd) if s.training_usd is not None else "-",
                usd(s.per_chat_with_training_usd) if s.per_chat_with_training_usd is not None else "-",
            ]
        )
    when = f"prices of {as_of.date()}" if as_of else "today's prices"
    click.echo(
        f"{chats_per_day:,} chats/day of {input_tokens:,} input ({cached_tokens:,} cached) + "
        f"{output_tokens:,} output tokens, {days} days, {when}\n"
    )
    click.echo(
        table(
            ["model", "per chat", "per day", f"per {days} days", "vs first", "training", "per chat + training"],
            rows,
            right=range(1, 7),
        )
    )


def _project_bot(bot: str, chats_per_day: int, days: int, as_json: bool) -> None:
    runtime = Runtime.load()
    profile = runtime.profiles.get(bot)
    since, until = window(None, None)
    with runtime.database.session() as session:
        rows, break_even = project_bot(session, profile.name, since, until, chats_per_day=chats_per_day, days=days)
    if not rows:
        raise InvalidInput(f"no production conversations of {profile.name!r} from {since} to {until} to project from")
    if as_json:
        emit_json({
            "bot": profile.name, "window": {"since": since.isoformat(), "until": until.isoformat()},
            "chats_per_day": chats_per_day, "days": days,
            "strategies": [{
                "strategy": p.strategy, "measured_conversations": p.measured_conversations,
                "prompt_tokens_per_conversation": round(p.prompt_tokens_per_conversation, 1),
                "completion_tokens_per_conversation": round(p.completion_tokens_per_conversation, 1),
                "per_conversation_usd": usd_digits(p.per_conversation_usd),
                "per_day_usd": usd_digits(p.per_day_usd), "per_period_usd": usd_digits(p.per_period_usd),
                "training_usd": usd_digits(p.training_usd),
                "period_with_training_usd": usd_digits(p.period_with_training_usd),
            } for p in rows],
            "break_even_conversations_per_day": break_even,
        })  # fmt: skip
        return
    click.echo(f"{profile.name}: {chats_per_day:,} conversations/day for {days} days, at the token profile "
               f"measured {since} to {until}\n")  # fmt: skip
    table_rows = [
        [p.strategy, p.measured_conversations, f"{p.prompt_tokens_per_conversation:,.0f}",
         f"{p.completion_tokens_per_conversation:,.0f}", usd_about(p.per_conversation_usd), usd_about(p.per_day_usd),
         usd_about(p.per_period_usd), usd(p.training_usd), usd_about(p.period_with_training_usd)]
        for p in rows
    ]  # fmt: skip
    headers = ["strategy", "measured", "prompt tok", "completion tok", "per conversation", "per day",
               f"per {days} days", "training", "with training"]  # fmt: skip
    click.echo(table(headers, table_rows, right=range(1, 9)))
    if break_even is not None:
        days_text = f"{BREAK_EVEN_DAYS} days"
        click.echo(f"\nthe fine-tune repays its training within {days_text} above {break_even:,} conversations a day")
    elif len(rows) == 2:
        click.echo("\nthe fine-tune saves nothing per conversation: it never repays its training")


@click.command()
@click.option("--bot", default=None, help="Only this bot.")
@click.option("--strategy", default=None, type=click.Choice(["prompt", "finetuned"]), help="Only this strategy.")
@date_option("--since", "From this day (UTC, inclusive).")
@date_option("--until", "To this day (UTC, inclusive).")
@click.option("--by", "group_by", type=click.Choice(GROUPS), default="bot", show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.option("--include-eval", is_flag=True, help="Count evaluation runs' calls too (not production spend).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document (the same as --format json).")
def costs(
    bot: str | None,
    strategy: str | None,
    since: datetime | None,
    until: datetime | None,
    group_by: str,
    fmt: str,
    include_eval: bool,
    as_json: bool,
) -> None:
    """Spend from the ledger, grouped by day, bot, strategy, model or conversation."""
    if as_json:
        fmt = "json"
    if since and until and since > until:
        raise InvalidInput(f"--since {since.date()} is after --until {until.date()}")
    database = ledger_database()
    with database.session() as session:
        report = cost_report(
            session,
            group_by,  # type: ignore[arg-type]
            CostFilter(bot=bot, strategy=strategy, since=_day(since), until=_day(until), include_eval=include_eval),
        )
    document = cost_document(report)
    records = document["rows"]
    if fmt == "json":
        emit_json(document)
    elif fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=[group_by, *COLUMNS], lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
        click.echo(out.getvalue(), nl=False)
    else:
        if not records:
            click.echo("no calls in the ledger match")
            return
        rows = [
            [
                r[group_by],
                f"{r['calls']:,}",
                f"{r['errors']:,}",
                f"{r['prompt_tokens']:,}",
                f"{r['cached_tokens']:,}",
                f"{r['completion_tokens']:,}",
                usd(rr.cost_usd),
            ]
            for r, rr in zip(records, report.rows, strict=True)
        ]
        rows.append(["total", "", "", "", "", "", usd(report.total_usd)])
        headers = [group_by, "calls", "errors", "prompt", "cached", "completion", "cost"]
        click.echo(table(headers, rows, right=range(1, 7)))


@click.command()
@click.argument("bot")
@date_option("--since", "From this day (UTC, inclusive).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def compare(bot: str, since: datetime | None, as_json: bool) -> None:
    """BOT's strategies side by side, with training amortized over the fine-tune's conversations."""
    runtime = Runtime.load()
    profile = runtime.profiles.get(bot)
    with runtime.database.session() as session:
        document = compare_document(profile.name, compare_strategies(session, profile.name, _day(since)))
    if as_json:
        emit_json(document)
        return
    if not document["strategies"]:
        click.echo(f"{bot} has no calls in the ledger yet")
        return

    def money(value: str | None) -> str:
        return usd(Decimal(value)) if value is not None else "-"

    rows = [
        [
            s["strategy"],
            f"{s['conversations']:,}",
            f"{s['calls']:,}",
            f"{s['error_rate']:.1%}",
            f"{s['prompt_tokens'] + s['completion_tokens']:,}",
            money(s["cost_usd"]),
            money(s["cost_per_conversation_usd"]),
            money(s["training_usd"]),
            money(s["cost_per_conversation_with_training_usd"]),
            f"{s['latency_p50_ms']} / {s['latency_p95_ms']}" if s["latency_p50_ms"] is not None else "-",
            f"+{s['feedback']['up']} -{s['feedback']['down']}",
        ]
        for s in document["strategies"]
    ]
    headers = ["strategy", "convs", "calls", "errors", "tokens", "cost", "per conv", "training",
               "per conv + training", "p50/p95 ms", "feedback"]  # fmt: skip
    click.echo(table(headers, rows, right=range(1, 10)))


COMMANDS = [price, project, costs, compare]
