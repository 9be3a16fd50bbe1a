"""What happened lately, for the dashboard: spend per day by bot and strategy, and the latest
conversations with what each cost. Production only: evaluation runs are not spend.

Aggregation happens in SQL, in integer nano-dollars; Python only shapes the rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session, col, select

from core.ledger import Call, Conversation
from core.pricing import from_nanos
from core.reports import start_of, utc_day


@dataclass(frozen=True)
class DaySpend:
    day: date
    bot: str
    strategy: str
    calls: int
    cost_usd: Decimal


@dataclass(frozen=True)
class RecentConversation:
    id: str
    bot: str
    strategy: str
    started: datetime
    calls: int
    cost_usd: Decimal


def _as_date(value: Any) -> date:
    # SQLite's date() answers text, PostgreSQL's a date.
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _calls_and_nanos() -> list[ColumnElement[int]]:
    return [func.count(), func.coalesce(func.sum(Call.cost_nanousd), 0)]


def daily_spend(session: Session, since: date, until: date) -> list[DaySpend]:
    """Production spend per UTC day, bot and strategy, days ``since``..``until`` inclusive."""
    day = utc_day(session).label("day")
    rows: Any = session.exec(
        select(day, Call.bot, Call.strategy, *_calls_and_nanos())
        .where(
            Call.source == "production",
            Call.created_at >= start_of(since),
            Call.created_at < start_of(until + timedelta(days=1)),
        )
        .group_by(day, Call.bot, Call.strategy)
        .order_by(day, Call.bot, Call.strategy)
    )
    return [
        DaySpend(day=_as_date(d), bot=bot, strategy=strategy, calls=int(calls), cost_usd=from_nanos(int(nanos)))
        for d, bot, strategy, calls, nanos in rows
    ]


def recent_conversations(session: Session, limit: int = 20) -> list[RecentConversation]:
    """The newest production conversations that reached the ledger, with their calls and cost.
    The newest are chosen first (on the created_at index), then only their calls are summed."""
    production = select(Call.id).where(Call.conversation_id == Conversation.id, Call.source == "production")
    newest = (
        select(Conversation.id)
        .where(production.exists())
        .order_by(col(Conversation.created_at).desc(), col(Conversation.id))
        .limit(limit)
        .subquery()
    )
    rows: Any = session.exec(
        select(
            Conversation.id,
            Conversation.bot,
            Conversation.strategy,
            Conversation.created_at,
            *_calls_and_nanos(),
        )
        .join(Call, col(Call.conversation_id) == col(Conversation.id))
        .where(Call.source == "production", col(Conversation.id).in_(select(newest.c.id)))
        .group_by(col(Conversation.id), col(Conversation.bot), col(Conversation.strategy), col(Conversation.created_at))
        .order_by(col(Conversation.created_at).desc(), col(Conversation.id))
    )
    return [
        RecentConversation(
            id=cid, bot=bot, strategy=strategy, started=started, calls=int(calls), cost_usd=from_nanos(int(nanos))
        )
        for cid, bot, strategy, started, calls, nanos in rows
    ]
