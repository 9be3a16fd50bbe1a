"""`domainbots chat`: talk to a bot from the terminal; every turn lands in the ledger."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import asdict

import click

from api.cli.output import emit_json
from core.engine import Engine, GuardedTurn, TurnRequest, TurnResult
from core.errors import InvalidInput, ProviderError
from core.money import usd, usd_digits
from core.providers.base import Delta
from core.runtime import Runtime


def _summary(result: TurnResult) -> str:
    if isinstance(result, GuardedTurn):
        return f"[{result.conversation_id} · {result.strategy} · answered without a model: {result.guard_reason}]"
    u = result.usage
    estimated = " (estimated)" if result.usage_source == "estimated" else ""
    return (
        f"[{result.conversation_id} · {result.strategy} · {result.model} · {u.prompt_tokens:,} in "
        f"({u.cached_tokens:,} cached) + {u.completion_tokens:,} out{estimated} · {usd(result.cost_usd)}]"
    )


def _result_doc(result: TurnResult) -> dict:
    doc = asdict(result)
    if isinstance(result, GuardedTurn):  # the same keys either way, for scripts that read them
        doc.update(model=None, usage=asdict(result.usage), call_id=None, status="ok", usage_source="none")
    doc["cost_usd"] = usd_digits(result.cost_usd)
    return doc


async def _one_turn(engine: Engine, request: TurnRequest, stream: bool, as_json: bool) -> TurnResult:
    if not stream or as_json:
        result = await engine.turn(request)
        if not as_json:
            click.echo(result.reply)
        return result
    final: TurnResult | None = None
    async for item in engine.stream(request):
        if isinstance(item, Delta):
            click.echo(item.text, nl=False)
        else:
            final = item
    click.echo()
    assert final is not None
    return final


async def _run(
    runtime: Runtime,
    bot: str,
    strategy: str | None,
    conversation: str | None,
    message: str | None,
    stream: bool,
    as_json: bool,
) -> None:
    engine = runtime.engine()
    profile = runtime.profiles.get(bot)
    try:
        if message is not None:
            request = TurnRequest(bot=bot, message=message, conversation_id=conversation, strategy=strategy)
            result = await _one_turn(engine, request, stream, as_json)
            if as_json:
                emit_json(_result_doc(result))
            else:
                click.echo(_summary(result), err=True)
            return
        click.echo(f"Chatting with {profile.title} ({bot}). Ctrl-D or 'exit' to quit.", err=True)
        while True:
            try:
                line = await asyncio.to_thread(input, "> ")
            except EOFError:
                click.echo(err=True)
                return
            if line.strip() in {"exit", "quit"}:
                return
            if not line.strip():
                continue
            request = TurnRequest(bot=bot, message=line, conversation_id=conversation, strategy=strategy)
            try:
                result = await _one_turn(engine, request, stream, as_json=False)
            except (InvalidInput, ProviderError) as exc:
                click.echo(f"\nerror: {exc}", err=True)  # the REPL goes on; the ledger has the row
                continue
            conversation = result.conversation_id
            click.echo(_summary(result), err=True)
    finally:
        await runtime.aclose()


@click.command()
@click.argument("bot")
@click.option("--strategy", type=click.Choice(["prompt", "finetuned"]), help="Start the conversation on this one.")
@click.option("--conversation", "conversation", help="Continue this conversation.")
@click.option("--message", "-m", help="Send one message and exit (- reads it from stdin).")
@click.option("--stream/--no-stream", default=True, show_default=True, help="Print the reply as it arrives.")
@click.option("--json", "as_json", is_flag=True, help="With --message: print the turn as JSON.")
def chat(
    bot: str,
    strategy: str | None,
    conversation: str | None,
    message: str | None,
    stream: bool,
    as_json: bool,
) -> None:
    """Chat with BOT: a REPL, or one turn with --message."""
    if message == "-":
        message = sys.stdin.read()
    if as_json and message is None:
        raise click.UsageError("--json needs --message")
    runtime = Runtime.load()
    runtime.profiles.get(bot)  # unknown bot: exit 2 with the list, before touching the provider
    asyncio.run(_run(runtime, bot, strategy, conversation, message, stream, as_json))


COMMANDS = [chat]
