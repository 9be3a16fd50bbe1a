"""`domainbots bots` and `domainbots strategy`: what is deployed, and switching it."""

from __future__ import annotations

import getpass

import click

from api.cli.output import emit_json, table
from core import strategy as strategies
from core.ledger import StrategyState
from core.profiles import Profile
from core.runtime import Runtime


def _state_doc(profile: Profile, state: StrategyState) -> dict:
    return {
        "bot": profile.name,
        "title": profile.title,
        "behaviour": profile.bot,
        "strategy": state.strategy,
        "rollout": state.rollout,
        "models": strategies.models(state, profile),
    }


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def bots(as_json: bool) -> None:
    """The deployed bots, each with its active strategy and rollout."""
    runtime = Runtime.load()
    docs = []
    with runtime.database.session() as session:
        for profile in runtime.profiles:
            state = strategies.current(session, profile)
            docs.append(_state_doc(profile, state))
    if as_json:
        emit_json({"bots": docs})
        return
    rows = [
        [
            d["bot"],
            d["title"],
            d["strategy"],
            f"{d['rollout']:.0%}",
            d["models"].get("prompt") or "-",
            d["models"].get("finetuned") or "(not trained)",
        ]
        for d in docs
    ]
    click.echo(table(["bot", "title", "strategy", "rollout", "prompt model", "fine-tuned model"], rows))
    if runtime.settings.resolved_provider == "local":
        # the profiles name OpenAI's models; what answers now is the embedded one
        model = runtime.settings.local_model.name if runtime.settings.local_model else "the packaged gemma-3-270m"
        click.echo(f"served now by the local model ({model}): no OPENAI_API_KEY is set", err=True)


@click.command()
@click.argument("bot")
@click.argument("target", required=False, type=click.Choice(list(strategies.STRATEGIES)))
@click.option("--rollout", type=float, default=None, help="Share (0..1) of new conversations on the other strategy.")
@click.option("--audit", is_flag=True, help="Show the history of switches instead.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def strategy(bot: str, target: str | None, rollout: float | None, audit: bool, as_json: bool) -> None:
    """Show BOT's strategy, or switch it to TARGET (no restart; every worker sees it)."""
    runtime = Runtime.load()
    profile = runtime.profiles.get(bot)
    with runtime.database.session() as session:
        if audit:
            switches = strategies.audit(session, profile.name)
            if as_json:
                emit_json(
                    {
                        "switches": [
                            {
                                "at": s.created_at.isoformat(),
                                "actor": s.actor,
                                "from": s.from_strategy,
                                "to": s.to_strategy,
                                "from_rollout": s.from_rollout,
                                "to_rollout": s.to_rollout,
                            }
                            for s in switches
                        ]
                    }
                )
                return
            if not switches:
                click.echo(f"{bot} has never been switched; it serves its default, {profile.default_strategy}")
                return
            rows = [
                [
                    s.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                    s.actor,
                    f"{s.from_strategy} ({s.from_rollout or 0:.0%})",
                    f"{s.to_strategy} ({s.to_rollout:.0%})",
                ]
                for s in switches
            ]
            click.echo(table(["when (UTC)", "who", "from (rollout)", "to (rollout)"], rows))
            return
        if target is None and rollout is None:
            state = strategies.current(session, profile)
        else:
            state = strategies.switch(
                session, profile, strategy=target, rollout=rollout, actor=f"cli:{getpass.getuser()}"
            )
    doc = _state_doc(profile, state)
    if as_json:
        emit_json(doc)
        return
    other = strategies.other(state.strategy)
    click.echo(f"{profile.name}: {state.strategy} ({doc['models'].get(state.strategy)})")
    if state.rollout:
        click.echo(f"  rollout: {state.rollout:.0%} of new conversations get {other} ({doc['models'].get(other)})")


COMMANDS = [bots, strategy]
