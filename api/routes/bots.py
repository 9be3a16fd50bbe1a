"""The bots: what is deployed, which strategy serves, and switching it live."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from api.auth import AdminKey, ChatKey
from api.routes.deps import PROBLEM, EngineDep, RuntimeDep
from core import strategy as strategies
from core.decision import report as decision_report
from core.decision import window
from core.profiles import Profile
from core.runtime import Runtime

# Sync routes: FastAPI runs them in its thread pool, so database work never blocks the event loop.
router = APIRouter(tags=["bots"])

BotName = Annotated[str, Path(max_length=40)]


class BotOut(BaseModel):
    name: str
    title: str
    behaviour: str
    language: str
    strategy: str
    rollout: float
    models: dict[str, str | None]


class StrategyBody(BaseModel):
    strategy: Literal["prompt", "finetuned"]
    rollout: float | None = Field(default=None, ge=0, le=1, description="Share of new conversations on the other.")


def _bot(runtime: Runtime, profile: Profile) -> BotOut:
    with runtime.database.session() as session:
        state = strategies.current(session, profile)
    return BotOut(
        name=profile.name,
        title=profile.title,
        behaviour=profile.bot,
        language=profile.language,
        strategy=state.strategy,
        rollout=state.rollout,
        models=strategies.models(state, profile),
    )


@router.get("/v1/bots", response_model=list[BotOut], responses={401: PROBLEM})
def list_bots(key: ChatKey, runtime: RuntimeDep) -> list[BotOut]:
    return [_bot(runtime, profile) for profile in runtime.profiles]


@router.get("/v1/bots/{bot}", response_model=BotOut, responses={401: PROBLEM, 404: PROBLEM})
def get_bot(bot: BotName, key: ChatKey, runtime: RuntimeDep) -> BotOut:
    return _bot(runtime, runtime.profiles.get(bot))


@router.put(
    "/v1/bots/{bot}/strategy",
    response_model=BotOut,
    responses=dict.fromkeys((401, 403, 404, 409, 422), PROBLEM),
)
def switch_strategy(bot: BotName, body: StrategyBody, key: AdminKey, runtime: RuntimeDep, engine: EngineDep) -> BotOut:
    """Switch live: new conversations use it at once here, within half a second on every
    other worker; the switch is audited."""
    profile = runtime.profiles.get(bot)
    with runtime.database.session() as session:
        strategies.switch(session, profile, strategy=body.strategy, rollout=body.rollout, actor=f"key:{key.name}")
    engine.forget_strategy(bot)
    return _bot(runtime, profile)


@router.get("/v1/bots/{bot}/report", responses=dict.fromkeys((401, 403, 404), PROBLEM))
def decision(
    bot: BotName,
    key: AdminKey,
    runtime: RuntimeDep,
    since: date | None = None,
    until: date | None = None,
) -> dict[str, Any]:
    """Prompt or fine-tune: per strategy cost per conversation (training amortized), ratings
    with a Wilson interval, latency, and a verdict with its break-even volume. Production
    calls only; the window defaults to the last 30 days (UTC)."""
    runtime.profiles.get(bot)
    start, end = window(since, until)
    with runtime.database.session() as session:
        return decision_report(session, bot, start, end)
