"""Shapes shared by several routes."""

from __future__ import annotations

from pydantic import BaseModel

from core.engine import ModelTurn, TurnResult
from core.money import usd_digits


class UsageOut(BaseModel):
    prompt_tokens: int
    cached_tokens: int
    completion_tokens: int


class ChatReply(BaseModel):
    conversation_id: str
    reply: str
    strategy: str
    model: str | None
    language: str
    usage: UsageOut
    cost_usd: str
    usage_source: str
    # Set when the bot answered without a model (e.g. emergency routing), saying why.
    guard_reason: str | None = None

    @classmethod
    def of(cls, result: TurnResult) -> ChatReply:
        model, source = (result.model, result.usage_source) if isinstance(result, ModelTurn) else (None, "none")
        return cls(
            conversation_id=result.conversation_id,
            reply=result.reply,
            strategy=result.strategy,
            model=model,
            language=result.language,
            usage=UsageOut(
                prompt_tokens=result.usage.prompt_tokens,
                cached_tokens=result.usage.cached_tokens,
                completion_tokens=result.usage.completion_tokens,
            ),
            cost_usd=usd_digits(result.cost_usd),
            usage_source=source,
            guard_reason=result.guard_reason,
        )
