"""Monthly budgets: a bot past its budget stops chatting until the month turns."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import func
from sqlmodel import Session, select

from core.errors import BudgetExceeded
from core.ledger import Call
from core.money import usd_digits
from core.pricing import from_nanos
from core.profiles import Profile


def month_to_date(session: Session, bot: str, now: datetime | None = None) -> Decimal:
    now = now or datetime.now(UTC)
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    query = select(func.coalesce(func.sum(Call.cost_nanousd), 0)).where(
        Call.bot == bot, Call.created_at >= start, Call.source == "production"
    )
    return from_nanos(int(session.exec(query).one()))


def check(session: Session, profile: Profile) -> None:
    if profile.budget is None:
        return
    spent = month_to_date(session, profile.name)
    if spent >= profile.budget.monthly_usd:
        raise BudgetExceeded(profile.name, usd_digits(spent), usd_digits(profile.budget.monthly_usd))


def reserve(session: Session, profile: Profile, worst_case_nanos: int) -> None:
    """Called under the bot's lock, in the transaction that writes the pending call: the
    month's spend (settled calls and pending reservations) plus this call's worst case must
    fit, so a burst can overshoot by at most the calls already in flight when it began."""
    if profile.budget is None:
        return
    spent = month_to_date(session, profile.name)
    if spent >= profile.budget.monthly_usd or spent + from_nanos(worst_case_nanos) > profile.budget.monthly_usd:
        raise BudgetExceeded(profile.name, usd_digits(spent), usd_digits(profile.budget.monthly_usd))
