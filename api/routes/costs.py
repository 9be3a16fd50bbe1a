"""Cost review from the ledger, aggregated in SQL."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from api.auth import AdminKey
from api.routes.deps import PROBLEM, RuntimeDep
from core.errors import InvalidInput
from core.reports import CostFilter, compare, compare_document, cost_document, costs

router = APIRouter(tags=["costs"])


@router.get("/v1/costs", responses={401: PROBLEM, 403: PROBLEM, 422: PROBLEM})
def get_costs(
    key: AdminKey,
    runtime: RuntimeDep,
    bot: Annotated[str | None, Query(max_length=40)] = None,
    strategy: Literal["prompt", "finetuned"] | None = None,
    since: date | None = None,
    until: date | None = None,
    group_by: Literal["day", "bot", "strategy", "model", "conversation"] = "bot",
    by: Annotated[
        Literal["day", "bot", "strategy", "model", "conversation"] | None, Query(description="Same as group_by.")
    ] = None,
    source: Literal["production", "all"] = "production",
) -> dict[str, Any]:
    """Spend grouped by day, bot, strategy, model or conversation (dates are UTC, inclusive);
    `source=all` counts evaluation runs' calls too."""
    if since and until and since > until:
        raise InvalidInput(f"since ({since}) is after until ({until})")
    group_by = by or group_by
    where = CostFilter(bot=bot, strategy=strategy, since=since, until=until, include_eval=source == "all")
    with runtime.database.session() as session:
        report = costs(session, group_by, where)
    return cost_document(report)


@router.get("/v1/costs/compare", responses={401: PROBLEM, 403: PROBLEM, 404: PROBLEM, 422: PROBLEM})
def get_compare(
    key: AdminKey,
    runtime: RuntimeDep,
    bot: Annotated[str, Query(max_length=40)],
    since: date | None = None,
) -> dict[str, Any]:
    """Each strategy of a bot side by side: conversations, calls, tokens, cost per conversation,
    latency p50/p95, error rate and feedback."""
    profile = runtime.profiles.get(bot)
    with runtime.database.session() as session:
        stats = compare(session, profile.name, since)
    return compare_document(profile.name, stats)
