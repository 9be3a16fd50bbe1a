"""Which strategy serves a bot: run-time state in the database, switches and their audit (SPEC 4)."""

from __future__ import annotations

import hashlib

from sqlmodel import Session, col, select

from core.errors import InvalidInput
from core.ledger import StrategyState, StrategySwitch, utcnow
from core.profiles import STRATEGIES, Profile, StrategyConfig


def current(session: Session, profile: Profile) -> StrategyState:
    """The bot's state; a bot never switched serves its profile's default."""
    state = session.get(StrategyState, profile.name)
    if state is None:
        return StrategyState(bot=profile.name, strategy=profile.default_strategy, rollout=0.0)
    return state


def other(strategy: str) -> str:
    return next(s for s in STRATEGIES if s != strategy)


def _bucket(conversation_id: str) -> float:
    """A stable share in [0, 1) per conversation, so rollout is sticky and even."""
    return int(hashlib.sha256(conversation_id.encode()).hexdigest()[:8], 16) / 0x1_0000_0000


def models(state: StrategyState, profile: Profile) -> dict[str, str | None]:
    """The model each strategy serves with now (a registered fine-tune wins over the profile)."""
    served: dict[str, str | None] = {name: config.model for name, config in profile.strategies.items()}
    if state.finetuned_model and "finetuned" in served:
        served["finetuned"] = state.finetuned_model
    return served


def config(state: StrategyState, profile: Profile, name: str) -> StrategyConfig:
    return profile.strategy(name, state.finetuned_model)


def pick(state: StrategyState, profile: Profile, conversation_id: str) -> str:
    """The strategy a *new* conversation starts with."""
    if state.rollout > 0 and _bucket(conversation_id) < state.rollout:
        candidate = other(state.strategy)
        # A rollout only ever goes to a strategy that can serve.
        if models(state, profile).get(candidate):
            return candidate
    return state.strategy


def switch(
    session: Session,
    profile: Profile,
    *,
    strategy: str | None,
    rollout: float | None,
    actor: str,
) -> StrategyState:
    before = current(session, profile)
    # read now: `before` may be the very row changed below (the session's identity map)
    from_strategy, from_rollout = before.strategy, before.rollout
    target = strategy or before.strategy
    if target not in STRATEGIES:
        raise InvalidInput(f"strategy must be one of {', '.join(STRATEGIES)}, not {target!r}")
    if rollout is None:
        rollout = before.rollout if target == before.strategy else 0.0
    if not 0.0 <= rollout <= 1.0:
        raise InvalidInput(f"rollout is a share of new conversations from 0 to 1, not {rollout}")
    config(before, profile, target)  # raises if it cannot serve
    if rollout > 0:
        config(before, profile, other(target))
    state = session.get(StrategyState, profile.name) or StrategyState(bot=profile.name, strategy=target)
    state.strategy, state.rollout, state.updated_at = target, rollout, utcnow()
    session.add(state)
    session.add(
        StrategySwitch(
            bot=profile.name,
            from_strategy=from_strategy,
            to_strategy=target,
            from_rollout=from_rollout,
            to_rollout=rollout,
            actor=actor,
        )
    )
    session.commit()
    session.refresh(state)
    return state


def audit(session: Session, bot: str | None = None, limit: int = 50) -> list[StrategySwitch]:
    query = select(StrategySwitch).order_by(col(StrategySwitch.id).desc()).limit(limit)
    if bot:
        query = query.where(StrategySwitch.bot == bot)
    return list(session.exec(query))


def register(session: Session, profile: Profile, model: str | None, actor: str) -> StrategyState:
    """Make ``model`` the bot's fine-tuned model (a job finished): kept in the database, so it
    survives restarts and every worker serves it; audited like a switch. ``None`` goes back to
    the profile's own fine-tuned model (if it has one)."""
    state = session.get(StrategyState, profile.name) or StrategyState(
        bot=profile.name, strategy=profile.default_strategy
    )
    configured = profile.strategies.get("finetuned")
    previous = state.finetuned_model or (configured.model if configured else None)
    if model is None and state.strategy == "finetuned" and not (configured and configured.model):
        raise InvalidInput(
            f"bot {profile.name!r} serves its fine-tuned model now and the profile has none to fall back to; "
            f"switch it to prompt first (`domainbots strategy {profile.name} prompt`)"
        )
    state.finetuned_model, state.updated_at = model, utcnow()
    session.add(state)
    session.add(
        StrategySwitch(
            bot=profile.name,
            from_strategy=state.strategy,
            to_strategy=state.strategy,
            from_rollout=state.rollout,
            to_rollout=state.rollout,
            actor=f"{actor}: fine-tuned model {previous or '(none)'} -> {model or 'the profile'}"[:100],
        )
    )
    session.commit()
    session.refresh(state)
    return state
