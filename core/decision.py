"""The decision a bot's owner needs: is the fine-tune cheaper and as good as the prompt, at our volume?

Built on the ledger (production calls only: evaluation runs are left out) over a window:
per strategy its conversations, calls, tokens and cost per conversation, the training bill
amortized, how users rated it (with a Wilson interval), and latency; then a verdict.

The verdict, in plain rules a person can check:
- each strategy needs MIN_CONVERSATIONS conversations in the window, else "not enough data";
- a strategy whose like-rate is clearly lower (the upper end of its 95% Wilson interval under
  the lower end of the other's) loses, whatever it costs;
- otherwise the one cheaper per conversation, training included, wins;
- ``break_even_conversations_per_day``: the daily volume at which the fine-tune's saving per
  conversation repays its training within BREAK_EVEN_DAYS (none when it saves nothing).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, localcontext
from typing import Any

from sqlmodel import Session

from core.evaluation import latest_scores
from core.money import usd_about, usd_digits
from core.reports import StrategyStats, compare

MIN_CONVERSATIONS = 20
BREAK_EVEN_DAYS = 30
REPORT_DAYS = 30


def window(since: date | None, until: date | None) -> tuple[date, date]:
    """The report's days: the last REPORT_DAYS (UTC, today included) unless told otherwise."""
    end = until or datetime.now(UTC).date()
    return since or end - timedelta(days=REPORT_DAYS - 1), end


def wilson(liked: int, rated: int, z: float = 1.96) -> tuple[float, float] | None:
    """The 95% Wilson score interval of a like-rate; None when nothing was rated."""
    if rated == 0:
        return None
    p = liked / rated
    centre = p + z * z / (2 * rated)
    margin = z * math.sqrt(p * (1 - p) / rated + z * z / (4 * rated * rated))
    denominator = 1 + z * z / rated
    return (max(0.0, (centre - margin) / denominator), min(1.0, (centre + margin) / denominator))


def _per(amount: Decimal | int, conversations: int) -> Decimal:
    """Exact enough that times ``conversations`` it is the total to the nano-dollar."""
    with localcontext(prec=40):
        return (Decimal(amount) / conversations).normalize()


@dataclass(frozen=True)
class _Side:
    stats: StrategyStats

    @property
    def conversations(self) -> int:
        return self.stats.conversations

    @property
    def per_conversation(self) -> Decimal | None:
        return _per(self.stats.cost_usd, self.conversations) if self.conversations else None

    @property
    def with_training(self) -> Decimal | None:
        if not self.conversations:
            return None
        return _per(self.stats.cost_usd + self.stats.training_usd, self.conversations)

    @property
    def interval(self) -> tuple[float, float] | None:
        return wilson(self.stats.feedback_up, self.stats.feedback_up + self.stats.feedback_down)


def _strategy_doc(side: _Side) -> dict[str, Any]:
    s, n = side.stats, side.conversations
    interval = side.interval
    return {
        "strategy": s.strategy,
        "conversations": n,
        "calls": s.calls,
        "errors": s.errors,
        "tokens_per_conversation": {
            "prompt": float(_per(s.prompt_tokens, n)) if n else None,
            "cached": float(_per(s.cached_tokens, n)) if n else None,
            "completion": float(_per(s.completion_tokens, n)) if n else None,
        },
        "cost_usd": usd_digits(s.cost_usd),
        "cost_per_conversation_usd": usd_digits(side.per_conversation) if side.per_conversation is not None else None,
        "training_usd": usd_digits(s.training_usd),
        "training_per_conversation_usd": usd_digits(_per(s.training_usd, n)) if n else None,
        "cost_per_conversation_with_training_usd": (
            usd_digits(side.with_training) if side.with_training is not None else None
        ),
        "rated": s.feedback_up + s.feedback_down,
        "liked": s.feedback_up,
        "liked_interval_95": [round(interval[0], 4), round(interval[1], 4)] if interval else None,
        "latency_p50_ms": s.latency_p50_ms,
        "latency_p95_ms": s.latency_p95_ms,
    }


def _verdict(sides: dict[str, _Side]) -> dict[str, Any]:
    prompt, tuned = sides.get("prompt"), sides.get("finetuned")
    if prompt is None or tuned is None:
        missing = "prompt" if prompt is None else "finetuned"
        return {"winner": "not enough data", "reason": f"no conversations on the {missing} strategy in this window."}
    short = [s for s in (prompt, tuned) if s.conversations < MIN_CONVERSATIONS]
    break_even = _break_even(prompt, tuned)
    if short:
        names = " and ".join(f"{s.stats.strategy} ({s.conversations})" for s in short)
        return {
            "winner": "not enough data",
            "reason": f"{names} had fewer than {MIN_CONVERSATIONS} conversations in this window.",
            "break_even_conversations_per_day": break_even,
        }
    worse = _clearly_worse(prompt, tuned)
    if worse is not None:
        better = tuned if worse is prompt else prompt
        return {
            "winner": better.stats.strategy,
            "reason": f"users liked {worse.stats.strategy} clearly less (95% intervals do not overlap).",
            "break_even_conversations_per_day": break_even,
        }
    p_cost, t_cost = prompt.with_training, tuned.with_training
    assert p_cost is not None
    assert t_cost is not None
    if p_cost == t_cost:
        return {
            "winner": "prompt",
            "reason": f"both cost {usd_about(p_cost)} per conversation with training and users rated them alike; "
            "the prompt needs no fine-tune to maintain.",
            "break_even_conversations_per_day": break_even,
        }
    (cheaper, low), (_, high) = sorted([(tuned, t_cost), (prompt, p_cost)], key=lambda pair: pair[1])
    times = f"{high / low:.2f}x" if low else "infinitely"
    return {
        "winner": cheaper.stats.strategy,
        "reason": (
            f"{cheaper.stats.strategy} costs {usd_about(low)} per conversation with training "
            f"against {usd_about(high)} ({times} cheaper), and users rated them alike."
        ),
        "break_even_conversations_per_day": break_even,
    }


def _clearly_worse(a: _Side, b: _Side) -> _Side | None:
    ia, ib = a.interval, b.interval
    if ia is None or ib is None:
        return None
    if ia[1] < ib[0]:
        return a
    if ib[1] < ia[0]:
        return b
    return None


def _break_even(prompt: _Side, tuned: _Side) -> float | None:
    if prompt.per_conversation is None or tuned.per_conversation is None:
        return None
    saving = prompt.per_conversation - tuned.per_conversation
    if saving <= 0:
        return None  # the fine-tune saves nothing per conversation: it never pays back
    training = tuned.stats.training_usd
    return round(float(training / (saving * BREAK_EVEN_DAYS)), 1)


def report(session: Session, bot: str, since: date, until: date) -> dict[str, Any]:
    """`domainbots report BOT` and `GET /v1/bots/{bot}/report`: per strategy, then the verdict."""
    sides = {s.strategy: _Side(s) for s in compare(session, bot, since=since, until=until)}
    evaluations = latest_scores(session, bot)
    return {
        "bot": bot,
        "window": {"since": since.isoformat(), "until": until.isoformat()},
        # the latest evaluation run's check pass rates: quality measured apart from live traffic
        "strategies": [{**_strategy_doc(side), "evaluation": evaluations.get(name)} for name, side in sides.items()],
        "verdict": _verdict(sides),
    }


@dataclass(frozen=True)
class Projection:
    """A strategy's measured cost per conversation, carried to a daily volume."""

    strategy: str
    measured_conversations: int
    prompt_tokens_per_conversation: float
    completion_tokens_per_conversation: float
    per_conversation_usd: Decimal
    per_day_usd: Decimal
    per_period_usd: Decimal
    training_usd: Decimal
    period_with_training_usd: Decimal


def project_bot(
    session: Session, bot: str, since: date, until: date, *, chats_per_day: int, days: int
) -> tuple[list[Projection], float | None]:
    """`domainbots project --bot`: each strategy at its own measured token profile (the ledger's
    cost per conversation, not one token count for every model), and the break-even volume."""
    sides = {s.strategy: _Side(s) for s in compare(session, bot, since=since, until=until)}
    out = []
    for side in sides.values():
        if side.per_conversation is None:
            continue
        s, n = side.stats, side.conversations
        per_day = side.per_conversation * chats_per_day
        period = per_day * days
        out.append(
            Projection(
                strategy=s.strategy,
                measured_conversations=n,
                prompt_tokens_per_conversation=s.prompt_tokens / n,
                completion_tokens_per_conversation=s.completion_tokens / n,
                per_conversation_usd=side.per_conversation,
                per_day_usd=per_day,
                per_period_usd=period,
                training_usd=s.training_usd,
                period_with_training_usd=period + s.training_usd,
            )
        )
    prompt, tuned = sides.get("prompt"), sides.get("finetuned")
    break_even = _break_even(prompt, tuned) if prompt and tuned else None
    return out, break_even
