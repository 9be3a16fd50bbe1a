"""`POST /v1/bots/{bot}/chat`: one turn, as JSON or as server-sent events."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import StreamingResponse
from fastapi.sse import format_sse_event
from pydantic import BaseModel, Field

from api.auth import ChatKey, limits_of, owner_of
from api.problems import status_of
from api.routes.deps import PROBLEM
from api.routes.schemas import ChatReply
from core.engine import Engine, PreparedTurn, TurnRequest
from core.errors import DomainbotsError, RateLimited
from core.providers.base import Delta

router = APIRouter(tags=["chat"])

BotName = Annotated[str, Path(description="The bot's name, as in its profile.", max_length=40)]


class ChatBody(BaseModel):
    message: str = Field(min_length=1, description="The user's message (at most the bot's max_message_chars).")
    conversation_id: str | None = Field(default=None, max_length=64, description="Continue this conversation.")
    stream: bool = Field(default=False, description="Answer as server-sent events: `delta`s, then one `done`.")


async def sse_events(engine: Engine, prepared: PreparedTurn) -> AsyncIterator[bytes]:
    async with aclosing(engine.stream(prepared)) as items:
        try:
            async for item in items:
                if isinstance(item, Delta):
                    yield format_sse_event(event="delta", data_str=json.dumps({"text": item.text}, ensure_ascii=False))
                else:
                    done = ChatReply.of(item).model_dump_json()
                    yield format_sse_event(event="done", data_str=done)
        except DomainbotsError as exc:
            # Headers are gone; the error travels as an event (a budget or a rate limit reached
            # as the call was about to go, too). The ledger already has any row.
            error = {"status": status_of(exc), "detail": str(exc), "call_id": getattr(exc, "call_id", None)}
            if isinstance(exc, RateLimited):
                error["retry_after"] = exc.retry_after
            yield format_sse_event(event="error", data_str=json.dumps(error))


@router.post(
    "/v1/bots/{bot}/chat",
    response_model=ChatReply,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "JSON, or SSE with `stream: true`."},
        **dict.fromkeys((401, 402, 404, 409, 413, 422, 502, 504), PROBLEM),
    },
)
async def chat(bot: BotName, body: ChatBody, key: ChatKey, request: Request):
    """Send a message to a bot; a new conversation starts when no `conversation_id` is given."""
    engine: Engine = request.app.state.engine  # read here: one dependency fewer to solve per turn
    prepared = await engine.prepare(
        TurnRequest(
            bot=bot,
            message=body.message,
            conversation_id=body.conversation_id,
            owner=owner_of(key),
            request_id=getattr(request.state, "request_id", None),
            limits=limits_of(key),
            key_id=key.id,
        )
    )
    if body.stream:
        return StreamingResponse(
            sse_events(engine, prepared),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Conversation-Id": prepared.conversation.id},
        )
    return ChatReply.of(await engine.turn(prepared))
