"""The OpenAI protocol: `POST /v1/chat/completions` and `GET /v1/models`, with a bot as the model.

Clients send the whole transcript each time; a new conversation is recorded for the
request unless `X-Conversation-Id` names one to continue (then the stored history is
used and only the last user message is taken). The bot's instructions always lead:
a client's system text is added after them and cannot replace them.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing
from typing import Annotated, Any, Literal, Protocol

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import StreamingResponse
from fastapi.sse import format_sse_event
from openai.types import CompletionUsage, Model
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.completion_usage import PromptTokensDetails
from pydantic import BaseModel, ConfigDict, Field

from api.auth import ChatKey, limits_of, owner_of
from api.problems import status_of
from api.routes.deps import PROBLEM, RuntimeDep
from core.engine import Engine, ModelTurn, PreparedTurn, TurnRequest, TurnResult
from core.errors import DomainbotsError, InvalidInput, ProviderError, RateLimited, UnknownBot, UnsupportedParameter
from core.ledger import ApiKey
from core.messages import ChatMessage
from core.money import usd_digits
from core.providers.base import Delta

router = APIRouter(tags=["openai"])


Role = Literal["system", "developer", "user", "assistant", "tool", "function"]


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None


class InMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Role
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(part.text or "" for part in self.content if part.type == "text")
        return self.content or ""


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")
    include_usage: bool = False


# The sampling settings a bot passes on to the model, in the order they are sent.
SAMPLING = ("temperature", "top_p", "stop", "seed", "presence_penalty", "frequency_penalty")


class CompletionBody(BaseModel):
    """OpenAI's chat completion request. Sampling settings are passed on (`max_tokens` up to
    the profile's cap); what a bot cannot do (`n` > 1, `tools`, a `response_format` other
    than text, logprobs, audio) is a 400 that names the parameter, never silently dropped."""

    model_config = ConfigDict(extra="allow")
    model: str = Field(description="The bot's name.", max_length=40)
    messages: list[InMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    stop: str | list[str] | None = None
    seed: int | None = None
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    n: int | None = Field(default=None, ge=1)

    def unsupported(self) -> str | None:
        extra = self.model_extra or {}
        if self.n is not None and self.n > 1:
            return "n"
        for name in ("tools", "tool_choice", "functions", "function_call", "logprobs", "top_logprobs", "audio"):
            if extra.get(name) not in (None, False, [], {}):
                return name
        if extra.get("modalities") not in (None, ["text"]):
            return "modalities"
        response_format = extra.get("response_format")
        if response_format not in (None, {"type": "text"}):
            return "response_format"
        return None

    def sampling(self) -> tuple[tuple[str, Any], ...]:
        return tuple((name, getattr(self, name)) for name in SAMPLING if getattr(self, name) is not None)


class BodyMessage(Protocol):
    @property
    def role(self) -> Role: ...
    def text(self) -> str: ...


class ChatBody(Protocol):
    """What a turn is read from: a validated CompletionBody, or the fast path's plain reading
    of a body (api/fast_chat.py; pydantic's model_construct cost ~14 µs a turn)."""

    @property
    def model(self) -> str: ...
    @property
    def messages(self) -> Sequence[BodyMessage]: ...
    @property
    def max_tokens(self) -> int | None: ...
    @property
    def max_completion_tokens(self) -> int | None: ...
    def unsupported(self) -> str | None: ...
    def sampling(self) -> tuple[tuple[str, Any], ...]: ...


def _turn_request(
    body: ChatBody,
    conversation_id: str | None,
    owner: str | None,
    request_id: str | None = None,
    key: ApiKey | None = None,
) -> TurnRequest:
    unsupported = body.unsupported()
    if unsupported:
        raise UnsupportedParameter(unsupported)
    last = body.messages[-1]
    if last.role != "user" or not last.text().strip():
        raise InvalidInput("the last message must be the user's, with text content")
    system = "\n\n".join(m.text() for m in body.messages if m.role in ("system", "developer") and m.text().strip())
    history: list[ChatMessage] = [
        {"role": m.role, "content": m.text()}
        for m in body.messages[:-1]
        if m.role in ("user", "assistant") and m.text().strip()
    ]
    return TurnRequest(
        bot=body.model,
        message=last.text(),
        conversation_id=conversation_id,
        owner=owner,
        history=tuple(history),
        client_system=system or None,
        transcript=conversation_id is None,
        max_output_tokens=body.max_completion_tokens or body.max_tokens,
        sampling=body.sampling(),
        request_id=request_id,
        limits=limits_of(key) if key is not None else None,
        key_id=key.id if key is not None else None,
    )


def _usage(result: TurnResult) -> CompletionUsage:
    u = result.usage
    return CompletionUsage(
        prompt_tokens=u.prompt_tokens,
        completion_tokens=u.completion_tokens,
        total_tokens=u.total_tokens,
        prompt_tokens_details=PromptTokensDetails(cached_tokens=u.cached_tokens),
    )


def _chunk(ident: str, bot: str, created: int, delta: dict[str, Any], finish: str | None = None) -> bytes:
    chunk = ChatCompletionChunk.model_validate(
        {
            "id": ident,
            "object": "chat.completion.chunk",
            "created": created,
            "model": bot,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
    )
    return format_sse_event(data_str=chunk.model_dump_json(exclude_none=True))


async def _events(engine: Engine, prepared: PreparedTurn, bot: str, include_usage: bool) -> AsyncIterator[bytes]:
    ident = f"chatcmpl-{prepared.conversation.id}"
    created = int(time.time())
    yield _chunk(ident, bot, created, {"role": "assistant", "content": ""})
    async with aclosing(engine.stream(prepared)) as items:
        try:
            async for item in items:
                if isinstance(item, Delta):
                    yield _chunk(ident, bot, created, {"content": item.text})
                    continue
                yield _chunk(ident, bot, created, {}, "stop")
                if include_usage:
                    usage = ChatCompletionChunk(
                        id=ident,
                        object="chat.completion.chunk",
                        created=created,
                        model=bot,
                        choices=[],
                        usage=_usage(item),
                    ).model_dump(exclude_none=True)
                    # The call's cost, as OpenAI-compatible routers report it (USD), and exact.
                    usage["usage"]["cost"] = float(item.cost_usd)
                    usage["usage"]["cost_usd"] = usd_digits(item.cost_usd)
                    yield format_sse_event(data_str=json.dumps(usage))
        except DomainbotsError as exc:
            # As OpenAI does mid-stream: an error event; the SDK raises it to the caller.
            kind = (
                "upstream_error"
                if isinstance(exc, ProviderError)
                else "rate_limit_error"
                if isinstance(exc, RateLimited)
                else "invalid_request_error"
            )
            error = {"error": {"message": str(exc), "type": kind, "code": status_of(exc)}}
            yield format_sse_event(data_str=json.dumps(error))
            return
    yield b"data: [DONE]\n\n"


@router.post(
    "/v1/chat/completions",
    response_model=ChatCompletion,
    response_model_exclude_none=True,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "JSON, or SSE chunks with `stream: true`."},
        **dict.fromkeys((401, 402, 404, 409, 413, 422, 502, 504), PROBLEM),
    },
)
async def chat_completions(
    body: CompletionBody,
    key: ChatKey,
    request: Request,
    x_conversation_id: Annotated[str | None, Header(max_length=64)] = None,
):
    """OpenAI-compatible chat: `model` names the bot; `X-Conversation-Id` continues a conversation.

    Answers carry `X-Conversation-Id`, and (not streamed) `X-Strategy` and `X-Cost-USD`."""
    request_id = getattr(request.state, "request_id", None)
    engine: Engine = request.app.state.engine  # read here: one dependency fewer to solve per turn
    prepared = await engine.prepare(turn_request(body, key, x_conversation_id, request_id))
    headers = {"X-Conversation-Id": prepared.conversation.id}
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        return StreamingResponse(
            _events(engine, prepared, body.model, include_usage),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", **headers},
        )
    content, more = completion_reply(await engine.turn(prepared), body.model)
    return Response(content, media_type="application/json", headers={**headers, **more})


def turn_request(body: ChatBody, key: ApiKey, conversation_id: str | None, request_id: str | None) -> TurnRequest:
    """The turn a chat completion request asks for, on behalf of ``key``."""
    return _turn_request(body, conversation_id, owner_of(key), request_id, key)


def completion_reply(result: TurnResult, bot: str) -> tuple[bytes, dict[str, str]]:
    """The reply as OpenAI's ChatCompletion serializes it (the route's response_model documents
    it), written straight to JSON: validating our own dict into the SDK's models cost more than
    the turn's database work. What OpenAI's schema has no field for travels in headers."""
    usage = result.usage
    completion = {
        "id": f"chatcmpl-{result.conversation_id}-{result.call_id if isinstance(result, ModelTurn) else 0}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": bot,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": result.reply}, "finish_reason": "stop"}],
        "usage": {
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "total_tokens": usage.total_tokens,
            "prompt_tokens_details": {"cached_tokens": usage.cached_tokens},
        },
    }
    headers = {"X-Strategy": result.strategy, "X-Cost-USD": usd_digits(result.cost_usd)}
    return json.dumps(completion, ensure_ascii=False).encode(), headers


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Model]


@router.get("/v1/models/{model}", response_model=Model, responses={401: PROBLEM, 404: PROBLEM})
async def retrieve_model(model: str, key: ChatKey, runtime: RuntimeDep) -> Model:
    """One bot, as OpenAI describes a model (`client.models.retrieve("medical")`)."""
    if model not in runtime.profiles.names:
        raise UnknownBot(model, runtime.profiles.names)
    return Model(id=model, object="model", created=0, owned_by="domainbots")


@router.get("/v1/models", response_model=ModelList, responses={401: PROBLEM})
async def models(key: ChatKey, runtime: RuntimeDep) -> ModelList:
    """The bots, as OpenAI lists models."""
    return ModelList(
        data=[Model(id=p.name, object="model", created=0, owned_by="domainbots") for p in runtime.profiles]
    )
