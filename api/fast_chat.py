"""`POST /v1/chat/completions` for the everyday request, without the framework's per-request work.

Profiled at 32 concurrent clients, FastAPI's routing, dependency solving (the bearer scheme,
the key, the header, the body), pydantic's validation of the body and our four middlewares
took about as much CPU as the whole turn (docs/design.md, "The turn's hot path"). This layer
sits outside them all and answers the common request itself: a cached, valid chat key, a
non-streamed JSON body of plain types within the documented limits, no query string. It does
what the layers it skips would have done for such a request (request id, text hygiene, body
limit, metrics, OpenAI-style errors) and nothing else.

Anything else goes down the full stack unchanged, its body replayed: a stream, an unknown or
uncached key, a field of another type or out of range, text no database can hold, an oversized
body. Those answers (401, 400 and 422 with the validator's words, 413) come from the one place
that makes them, and /docs still describes the route.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any, get_args

from fastapi import FastAPI
from fastapi.security.utils import get_authorization_scheme_param
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import metrics
from api.auth import find_key
from api.http_middleware import replay
from api.hygiene import is_utf8, problem_in
from api.limits import MAX_BODY_BYTES
from api.problems import openai_domain_error, problem
from api.request_ids import request_id_for
from api.routes.openai_compat import SAMPLING, CompletionBody, Role, completion_reply, turn_request
from core.engine import Engine
from core.errors import DomainbotsError
from core.ledger import ApiKey

log = logging.getLogger("domainbots.api")

PATH = "/v1/chat/completions"
_ROLES: frozenset[Role] = frozenset(get_args(Role))


def _bounds(name: str) -> tuple[float | None, float | None]:
    """A CompletionBody field's ge and le, read from the model: the two readings cannot drift."""
    metadata = CompletionBody.model_fields[name].metadata
    low = next((m.ge for m in metadata if hasattr(m, "ge")), None)
    high = next((m.le for m in metadata if hasattr(m, "le")), None)
    return low, high


# Numeric settings a plain body may carry (floats, then integers), within CompletionBody's bounds.
_NUMBERS = {name: _bounds(name) for name in ("temperature", "top_p", "presence_penalty", "frequency_penalty")}
_COUNTS = {name: _bounds(name)[0] for name in ("max_tokens", "max_completion_tokens", "seed")}


class FastApp(FastAPI):
    """The application, which hands the everyday chat completion to FastChat before any of
    Starlette's and FastAPI's own layers (its error and telemetry middlewares, the body limit:
    ~20 µs a turn); everything else, including what FastChat passes on, goes through them all."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fast_chat = FastChat(self._full_stack)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == PATH:
            scope["app"] = self  # as Starlette sets it: FastChat finds the runtime and engine there
            await self.fast_chat(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    async def _full_stack(self, scope: Scope, receive: Receive, send: Send) -> None:
        await super().__call__(scope, receive, send)


class FastChat:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app  # the full stack, for whatever is not answered here

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST" or scope["query_string"]:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = _headers(scope)
        length = headers.get(b"content-length", b"0")
        if not length.isdigit() or int(length) > MAX_BODY_BYTES or not _is_json(headers.get(b"content-type")):
            await self.app(scope, receive, send)
            return
        received: list[Message] = []  # as they came: replayed verbatim to the full stack
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            received.append(message)
            if message["type"] != "http.request":
                await self.app(scope, replay(received, receive), send)
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = bool(message.get("more_body"))
            if size > MAX_BODY_BYTES:  # the body limit answers it
                await self.app(scope, replay(received, receive), send)
                return
        body = b"".join(chunks)
        key = await self._key(scope, headers)
        plain = key is not None and is_utf8(body) and problem_in(body) is None
        parsed = _plain_body(body) if plain else None
        conversation_id = headers.get(b"x-conversation-id")
        if parsed is None or key is None or (conversation_id is not None and len(conversation_id) > 64):
            await self.app(scope, replay(received, receive), send)
            return
        # the last X-Request-Id, as the request-id middleware reads it on the full route
        given = next((value for name, value in reversed(scope["headers"]) if name == b"x-request-id"), b"")
        request_id = request_id_for(given)
        scope.setdefault("state", {})["request_id"] = request_id
        status = await self._answer(
            scope,
            send,
            parsed,
            key,
            conversation_id.decode("latin-1") if conversation_id is not None else None,
            request_id,
        )
        metrics.observe_request(PATH, "POST", status, started)

    async def _key(self, scope: Scope, headers: dict[bytes, bytes]) -> ApiKey | None:
        """The request's chat key when it is valid (an invalid one is the full stack's 401)."""
        scheme, credentials = get_authorization_scheme_param(headers.get(b"authorization", b"").decode("latin-1"))
        if scheme.lower() != "bearer" or not credentials:
            return None
        try:
            return await find_key(scope["app"].state.runtime.database, credentials)
        except Exception:  # the full stack reads it again, and answers a failure from its one place
            return None

    async def _answer(
        self,
        scope: Scope,
        send: Send,
        body: PlainBody,
        key: ApiKey,
        conversation_id: str | None,
        request_id: str,
    ) -> int:
        engine: Engine = scope["app"].state.engine
        extra = [(b"x-request-id", request_id.encode())]
        try:
            prepared = await engine.prepare(turn_request(body, key, conversation_id, request_id))
            content, more = completion_reply(await engine.turn(prepared), body.model)
        except DomainbotsError as exc:
            return await _respond(openai_domain_error(exc, "POST", PATH), scope, send, extra)
        except Exception:
            log.exception("unhandled error on POST %s", PATH)
            response = problem(500, "internal error; the server log has the details", instance=PATH)
            return await _respond(response, scope, send, extra)
        response_headers = [
            (b"content-length", str(len(content)).encode()),
            (b"content-type", b"application/json"),
            (b"x-conversation-id", prepared.conversation.id.encode()),
            *((name.lower().encode(), value.encode("latin-1")) for name, value in more.items()),
            *extra,
        ]
        await send({"type": "http.response.start", "status": 200, "headers": response_headers})
        await send({"type": "http.response.body", "body": content})
        return 200


async def _respond(response: Any, scope: Scope, send: Send, extra: list[tuple[bytes, bytes]]) -> int:
    response.raw_headers.extend(extra)
    await response(scope, _nothing, send)
    return int(response.status_code)


async def _nothing() -> Message:
    return {"type": "http.disconnect"}


def _headers(scope: Scope) -> dict[bytes, bytes]:
    """The request's headers, the first of each name (as Starlette reads them)."""
    found: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        found.setdefault(name, value)
    return found


def _is_json(content_type: bytes | None) -> bool:
    if content_type is None:
        return False
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == b"application/json"


def _plain_body(body: bytes) -> PlainBody | None:
    """The body as CompletionBody would read it, when it is plainly valid: the fields the model declares, of
    exactly their types and within their bounds; None for anything the validator should judge."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # a body nested past the parser's depth: the full route's 400
        return None
    if not isinstance(data, dict):
        return None
    model, messages = data.get("model"), data.get("messages")
    if type(model) is not str or len(model) > 40 or type(messages) is not list or not messages:
        return None
    fields: dict[str, Any] = {"model": model}
    for name, value in data.items():
        if name in ("model", "messages"):
            continue
        if value is None:
            if name == "stream":  # not optional: the validator refuses a null
                return None
            continue
        if name == "stream":
            if value is not False:
                return None
        elif name in _NUMBERS:
            low, high = _NUMBERS[name]
            if (
                type(value) not in (int, float)
                or (low is not None and value < low)
                or (high is not None and value > high)
            ):
                return None
            value = float(value)  # as the validator reads a float field: 1 goes upstream as 1.0
        elif name in _COUNTS:
            least = _COUNTS[name]
            if type(value) is not int or (least is not None and value < least):
                return None
        elif name == "stop":
            if not (type(value) is str or (type(value) is list and all(type(s) is str for s in value))):
                return None
        else:  # n, tools, response_format, unknown fields: the full route judges them
            return None
        fields[name] = value
    parsed: list[PlainMessage] = []
    for message in messages:
        if type(message) is not dict or not message.keys() <= {"role", "content"}:
            return None
        role, content = message.get("role"), message.get("content")
        if role not in _ROLES or (content is not None and type(content) is not str):
            return None
        parsed.append(PlainMessage(role, content))
    return PlainBody(messages=parsed, **fields)


@dataclass(slots=True)
class PlainMessage:
    """A message of a plain body: a role and text (or none)."""

    role: Role
    content: str | None

    def text(self) -> str:
        return self.content or ""


@dataclass(slots=True, kw_only=True)
class PlainBody:
    """A plain body as CompletionBody reads it (its fields, defaults and methods for the fields
    a plain body may carry); a test holds the two readings to the same turn."""

    model: str
    messages: list[PlainMessage]
    stream: bool = False
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop: str | list[str] | None = None
    seed: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None

    def unsupported(self) -> str | None:
        return None  # n, tools, response_format... are never in a plain body

    def sampling(self) -> tuple[tuple[str, Any], ...]:
        return tuple((name, getattr(self, name)) for name in SAMPLING if getattr(self, name) is not None)
