"""Per-key rate limits: requests and tokens over any 60 seconds, counted from the ledger.

No counter table and no extra write per request: a key's model turns in the window are
its calls' first attempts (written, pending, before each call is sent, each naming its
key), and its tokens are those calls' prompt and completion tokens. The decisive check runs in the
transaction that writes the pending row, under a lock per key, so a burst on several
workers cannot pass the limit by more than the calls already in flight.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, select

from core.errors import InvalidInput, RateLimited
from core.ledger import Call, utcnow

WINDOW = timedelta(seconds=60)


@dataclass(frozen=True)
class RateLimits:
    key_id: str
    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=utcnow().tzinfo)


def refuse_oversized(limits: RateLimits, prompt_tokens: int) -> None:
    """A prompt larger than the key's tokens a minute: no wait would ever let it through, so
    not a 429 to retry but a request to change (raised before a stream's headers go)."""
    tpm = limits.tokens_per_minute
    if tpm is not None and prompt_tokens > tpm:
        raise InvalidInput(
            f"this request's prompt is {prompt_tokens:,} tokens and this key may use {tpm:,} tokens a minute; "
            "send a shorter conversation, or raise the key's limit (domainbots keys limit NAME --tpm N)"
        )


def check(session: Session, limits: RateLimits, prompt_tokens: int = 0, now: datetime | None = None) -> None:
    """Raise RateLimited, with the seconds until the window frees room, when one more model
    turn of ``prompt_tokens`` would pass a limit."""
    now = now or utcnow()
    since = now - WINDOW
    tpm = limits.tokens_per_minute
    mine = select(
        func.count(),
        func.coalesce(func.sum(Call.prompt_tokens + Call.completion_tokens), 0),
        func.min(Call.created_at),
    ).where(Call.key_id == limits.key_id, Call.attempt == 1, Call.created_at >= since)
    turns, tokens, oldest = session.exec(mine).one()
    wait = max(1, math.ceil((_aware(oldest) + WINDOW - now).total_seconds())) if oldest is not None else 1
    rpm = limits.requests_per_minute
    if rpm is not None and turns >= rpm:
        raise RateLimited(f"this key may make {rpm} requests a minute; {turns} in the last 60 s", retry_after=wait)
    if tpm is not None and turns and int(tokens) + prompt_tokens > tpm:
        raise RateLimited(
            f"this key may use {tpm:,} tokens a minute; {int(tokens):,} used in the last 60 s", retry_after=wait
        )
