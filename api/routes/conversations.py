"""Conversations: the transcript with each call's tokens and cost, and feedback on it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field
from sqlmodel import col, select

from api.auth import ChatKey, owner_of
from api.routes.deps import PROBLEM, RuntimeDep
from core.errors import NotFound
from core.ledger import ApiKey, Call, Conversation, Feedback, Message
from core.money import usd_digits
from core.pricing import from_nanos
from core.redaction import redact
from core.runtime import Runtime

router = APIRouter(tags=["conversations"])

ConversationId = Annotated[str, Path(max_length=64)]


class CallOut(BaseModel):
    id: int
    model: str
    status: str
    usage_source: str
    prompt_tokens: int
    cached_tokens: int
    completion_tokens: int
    cost_usd: str
    latency_ms: int
    created_at: datetime


class MessageOut(BaseModel):
    role: str
    content: str | None
    call_id: int | None
    guard_reason: str | None = None
    created_at: datetime


class ConversationOut(BaseModel):
    id: str
    bot: str
    strategy: str
    language: str | None
    created_at: datetime
    messages: list[MessageOut]
    calls: list[CallOut]
    total_cost_usd: str


class FeedbackBody(BaseModel):
    rating: Literal[1, -1]
    comment: str | None = Field(default=None, max_length=2000)


class FeedbackOut(BaseModel):
    id: int
    conversation_id: str
    rating: int


def _visible(runtime: Runtime, conversation_id: str, key: ApiKey) -> Conversation:
    with runtime.database.session() as session:
        found = session.get(Conversation, conversation_id)
    owner = owner_of(key)
    # Another key's conversation is reported as missing, not as forbidden.
    if found is None or (owner is not None and found.owner != owner):
        raise NotFound(f"conversation {conversation_id!r} does not exist")
    return found


@router.get(
    "/v1/conversations/{conversation_id}", response_model=ConversationOut, responses={401: PROBLEM, 404: PROBLEM}
)
def get_conversation(conversation_id: ConversationId, key: ChatKey, runtime: RuntimeDep) -> ConversationOut:
    """The transcript (as stored: after redaction) and every model call with its tokens and cost."""
    conversation = _visible(runtime, conversation_id, key)
    with runtime.database.session() as session:
        messages = session.exec(
            select(Message).where(Message.conversation_id == conversation.id).order_by(col(Message.id))
        ).all()
        calls = session.exec(select(Call).where(Call.conversation_id == conversation.id).order_by(col(Call.id))).all()
    return ConversationOut(
        id=conversation.id,
        bot=conversation.bot,
        strategy=conversation.strategy,
        language=conversation.language,
        created_at=conversation.created_at,
        messages=[
            MessageOut(
                role=m.role, content=m.content, call_id=m.call_id, guard_reason=m.guard_reason, created_at=m.created_at
            )
            for m in messages
        ],
        calls=[
            CallOut(
                id=c.id or 0,
                model=c.model,
                status=c.status,
                usage_source=c.usage_source,
                prompt_tokens=c.prompt_tokens,
                cached_tokens=c.cached_tokens,
                completion_tokens=c.completion_tokens,
                cost_usd=usd_digits(c.cost_usd),
                latency_ms=c.latency_ms,
                created_at=c.created_at,
            )
            for c in calls
        ],
        total_cost_usd=usd_digits(from_nanos(sum(c.cost_nanousd for c in calls))),
    )


@router.post(
    "/v1/conversations/{conversation_id}/feedback",
    status_code=201,
    response_model=FeedbackOut,
    responses={401: PROBLEM, 404: PROBLEM, 422: PROBLEM},
)
def give_feedback(
    conversation_id: ConversationId, body: FeedbackBody, key: ChatKey, runtime: RuntimeDep
) -> FeedbackOut:
    """Rate a conversation (1 or -1); the comparison of strategies counts it."""
    conversation = _visible(runtime, conversation_id, key)
    comment = body.comment
    if comment is not None and conversation.bot in runtime.profiles.names:
        privacy = runtime.profiles.get(conversation.bot).privacy  # a comment is kept like a message
        comment = redact(comment, privacy.redact) if privacy.store_content else None
    with runtime.database.session() as session:
        feedback = Feedback(conversation_id=conversation.id, rating=body.rating, comment=comment)
        session.add(feedback)
        session.commit()
        return FeedbackOut(id=feedback.id or 0, conversation_id=conversation.id, rating=feedback.rating)
