"""Answers to the cost questions: spend grouped from the ledger, and projections.

Aggregation happens in SQL; Python only formats the grouped rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import case, func
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session, col, select

from core.ledger import Call, Conversation, Feedback, FineTuneJob
from core.money import derived, usd_digits
from core.pricing import PriceTable, from_nanos
from core.usage import Usage

GroupBy = Literal["day", "bot", "strategy", "model", "conversation"]
GROUPS: tuple[GroupBy, ...] = ("day", "bot", "strategy", "model", "conversation")


# Evaluation runs own their conversations under this name (core/evaluation.py).
EVAL_OWNER = "eval"


@dataclass(frozen=True)
class CostFilter:
    bot: str | None = None
    strategy: str | None = None
    since: date | None = None  # inclusive, UTC
    until: date | None = None  # inclusive, UTC
    include_eval: bool = False  # evaluation runs' calls too (they are not production spend)


@dataclass(frozen=True)
class CostRow:
    key: str
    calls: int
    errors: int
    prompt_tokens: int
    cached_tokens: int
    completion_tokens: int
    cost_usd: Decimal


@dataclass(frozen=True)
class CostReport:
    group_by: GroupBy
    rows: list[CostRow]
    total_usd: Decimal


def start_of(day: date) -> datetime:
    """The first instant of a UTC day (windows are inclusive days)."""
    return datetime.combine(day, time.min, tzinfo=UTC)


def utc_day(session: Session) -> ColumnElement[str]:
    """A call's UTC day, on SQLite (stored in UTC) and on PostgreSQL (timestamptz)."""
    dialect = session.get_bind().dialect.name
    stamp = Call.created_at if dialect == "sqlite" else func.timezone("UTC", Call.created_at)
    return func.date(stamp)


def _group_key(session: Session, group_by: GroupBy) -> ColumnElement[str]:
    if group_by == "day":
        return utc_day(session)
    column = {
        "bot": Call.bot,
        "strategy": Call.strategy,
        "model": Call.model,
        "conversation": Call.conversation_id,
    }[group_by]
    return column  # type: ignore[return-value]


def _totals() -> list[ColumnElement[int]]:
    """calls, errors (status not ok), prompt, cached and completion tokens, nano-dollars."""
    return [
        func.count(),
        # a pending call is in flight, not an error (its reserved cost counts until it settles)
        func.coalesce(func.sum(case((col(Call.status).in_(("ok", "pending")), 0), else_=1)), 0),
        func.coalesce(func.sum(Call.prompt_tokens), 0),
        func.coalesce(func.sum(Call.cached_tokens), 0),
        func.coalesce(func.sum(Call.completion_tokens), 0),
        func.coalesce(func.sum(Call.cost_nanousd), 0),
    ]


def _read_totals(calls: int, errors: int, prompt: int, cached: int, completion: int, nanos: int) -> dict[str, Any]:
    """The values of _totals(), as the report dataclasses' fields."""
    return {
        "calls": int(calls),
        "errors": int(errors),
        "prompt_tokens": int(prompt),
        "cached_tokens": int(cached),
        "completion_tokens": int(completion),
        "cost_usd": from_nanos(int(nanos)),
    }


def costs(session: Session, group_by: GroupBy = "bot", where: CostFilter | None = None) -> CostReport:
    where = where or CostFilter()
    key = _group_key(session, group_by).label("key")
    query = select(key, *_totals())
    if not where.include_eval:
        query = query.where(Call.source == "production")
    if where.bot:
        query = query.where(Call.bot == where.bot)
    if where.strategy:
        query = query.where(Call.strategy == where.strategy)
    if where.since:
        query = query.where(Call.created_at >= start_of(where.since))
    if where.until:
        query = query.where(Call.created_at < start_of(where.until + timedelta(days=1)))
    query = query.group_by(key).order_by(key)
    result: Any = session.exec(query)
    rows = [CostRow(key=str(k) if k is not None else "-", **_read_totals(*totals)) for k, *totals in result]
    return CostReport(group_by=group_by, rows=rows, total_usd=sum((r.cost_usd for r in rows), Decimal(0)))


@dataclass(frozen=True)
class Scenario:
    model: str
    price_version: str
    per_chat_usd: Decimal
    per_day_usd: Decimal
    per_month_usd: Decimal  # over the projection's days
    training_usd: Decimal | None
    per_chat_with_training_usd: Decimal | None


def project(
    prices: PriceTable,
    models: list[str],
    *,
    chats_per_day: int,
    input_tokens: int,
    output_tokens: int,
    cached_tokens: int = 0,
    days: int = 30,
    as_of: date | None = None,
    training_tokens: int | None = None,
) -> list[Scenario]:
    usage = Usage(prompt_tokens=input_tokens, cached_tokens=cached_tokens, completion_tokens=output_tokens)
    scenarios = []
    for model in models:
        price = prices.price(model, as_of)
        per_chat = price.cost(usage)
        per_day = per_chat * chats_per_day
        training = None
        with_training = None
        if training_tokens is not None and price.tier == "finetuned":
            training = price.rates.training_cost(training_tokens)
            chats = chats_per_day * days
            with_training = derived(per_chat + training / chats) if chats else None
        scenarios.append(
            Scenario(
                model=model,
                price_version=price.version,
                per_chat_usd=per_chat,
                per_day_usd=per_day.normalize(),
                per_month_usd=(per_day * days).normalize(),
                training_usd=training,
                per_chat_with_training_usd=with_training,
            )
        )
    return scenarios


@dataclass(frozen=True)
class StrategyStats:
    strategy: str
    conversations: int
    calls: int
    errors: int  # calls whose status is not ok
    prompt_tokens: int
    cached_tokens: int
    completion_tokens: int
    cost_usd: Decimal
    latency_p50_ms: int | None  # of ok calls, nearest rank
    latency_p95_ms: int | None
    feedback_up: int
    feedback_down: int
    # One-off training bills of the bot's fine-tunes (on the finetuned strategy only).
    training_usd: Decimal = Decimal(0)

    @property
    def cost_per_conversation_usd(self) -> Decimal | None:
        return derived(self.cost_usd / self.conversations) if self.conversations else None

    @property
    def cost_per_conversation_with_training_usd(self) -> Decimal | None:
        """Inference plus training, amortized over the conversations served so far."""
        if not self.conversations:
            return None
        return derived((self.cost_usd + self.training_usd) / self.conversations)

    @property
    def error_rate(self) -> float:
        return self.errors / self.calls if self.calls else 0.0


def _percentile_rank(n: ColumnElement[int], percent: int) -> ColumnElement[int]:
    # Nearest-rank percentile: the ceil(p * n)-th value, in integer arithmetic every SQL dialect shares.
    return (n * percent + 99) // 100


def compare(session: Session, bot: str, since: date | None = None, until: date | None = None) -> list[StrategyStats]:
    """Each strategy of a bot side by side, aggregated in SQL."""
    scope = [Call.bot == bot, Call.source == "production"]
    if since:
        scope.append(Call.created_at >= start_of(since))
    if until:
        scope.append(Call.created_at < start_of(until + timedelta(days=1)))
    totals = session.exec(
        select(
            Call.strategy,
            func.count(func.distinct(Call.conversation_id)),
            *_totals(),
        )
        .where(*scope)
        .group_by(Call.strategy)
    ).all()

    ranked = (
        select(
            Call.strategy.label("strategy"),  # type: ignore[attr-defined]
            Call.latency_ms.label("latency"),  # type: ignore[attr-defined]
            func.row_number().over(partition_by=Call.strategy, order_by=col(Call.latency_ms)).label("rank"),
            func.count().over(partition_by=Call.strategy).label("n"),
        )
        .where(*scope, Call.status == "ok")
        .subquery()
    )
    latencies = {
        strategy: (p50, p95)
        for strategy, p50, p95 in session.exec(
            select(
                ranked.c.strategy,
                func.min(case((ranked.c.rank == _percentile_rank(ranked.c.n, 50), ranked.c.latency))),
                func.min(case((ranked.c.rank == _percentile_rank(ranked.c.n, 95), ranked.c.latency))),
            ).group_by(ranked.c.strategy)
        )
    }

    feedback_scope: list[Any] = [Conversation.bot == bot, col(Conversation.owner).is_distinct_from(EVAL_OWNER)]
    if since:
        feedback_scope.append(Feedback.created_at >= start_of(since))
    if until:
        feedback_scope.append(Feedback.created_at < start_of(until + timedelta(days=1)))
    votes = {
        strategy: (int(up), int(down))
        for strategy, up, down in session.exec(
            select(
                Conversation.strategy,
                func.coalesce(func.sum(case((col(Feedback.rating) > 0, 1), else_=0)), 0),
                func.coalesce(func.sum(case((col(Feedback.rating) < 0, 1), else_=0)), 0),
            )
            .join(Conversation, Conversation.id == Feedback.conversation_id)  # type: ignore[arg-type]
            .where(*feedback_scope)
            .group_by(Conversation.strategy)
        )
    }
    training = training_cost(session, bot)
    stats = []
    sums: list[int]
    for strategy, conversations, *sums in totals:
        p50, p95 = latencies.get(strategy, (None, None))
        up, down = votes.get(strategy, (0, 0))
        stats.append(
            StrategyStats(
                strategy=strategy,
                conversations=int(conversations),
                **_read_totals(*sums),
                latency_p50_ms=int(p50) if p50 is not None else None,
                latency_p95_ms=int(p95) if p95 is not None else None,
                feedback_up=up,
                feedback_down=down,
                training_usd=training if strategy == "finetuned" else Decimal(0),
            )
        )
    return sorted(stats, key=lambda s: s.strategy)


def training_cost(session: Session, bot: str) -> Decimal:
    """What training the bot's fine-tunes cost, as booked when their jobs finished."""
    nanos = session.exec(
        select(func.coalesce(func.sum(FineTuneJob.cost_nanousd), 0)).where(FineTuneJob.bot == bot)
    ).one()
    return from_nanos(int(nanos))


def cost_document(report: CostReport) -> dict[str, Any]:
    """The JSON shape `costs --format json` and `GET /v1/costs` share (SPEC 7 and 8)."""
    return {
        "group_by": report.group_by,
        "rows": [
            {
                report.group_by: r.key,
                "calls": r.calls,
                "errors": r.errors,
                "prompt_tokens": r.prompt_tokens,
                "cached_tokens": r.cached_tokens,
                "completion_tokens": r.completion_tokens,
                "cost_usd": usd_digits(r.cost_usd),
            }
            for r in report.rows
        ],
        "total_usd": usd_digits(report.total_usd),
    }


def compare_document(bot: str, stats: list[StrategyStats]) -> dict[str, Any]:
    return {
        "bot": bot,
        "strategies": [
            {
                "strategy": s.strategy,
                "conversations": s.conversations,
                "calls": s.calls,
                "errors": s.errors,
                "error_rate": round(s.error_rate, 4),
                "prompt_tokens": s.prompt_tokens,
                "cached_tokens": s.cached_tokens,
                "completion_tokens": s.completion_tokens,
                "cost_usd": usd_digits(s.cost_usd),
                "cost_per_conversation_usd": (
                    usd_digits(s.cost_per_conversation_usd) if s.cost_per_conversation_usd is not None else None
                ),
                "training_usd": usd_digits(s.training_usd),
                "cost_per_conversation_with_training_usd": (
                    usd_digits(s.cost_per_conversation_with_training_usd)
                    if s.cost_per_conversation_with_training_usd is not None
                    else None
                ),
                "latency_p50_ms": s.latency_p50_ms,
                "latency_p95_ms": s.latency_p95_ms,
                "feedback": {"up": s.feedback_up, "down": s.feedback_down},
            }
            for s in stats
        ],
    }
