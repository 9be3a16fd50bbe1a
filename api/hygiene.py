"""Text no database or JSON can hold is refused at the door, before any model call.

PostgreSQL's text type cannot store U+0000, and a lone UTF-16 surrogate cannot be written
as UTF-8: accepted, such a message would be sent upstream and billed, then fail to be
stored (a 500, no ledger row). JSON can only carry them as escapes ("\\u0000",
"\\ud800"), so the body is checked as bytes, cheaply; the query string and path too.
The answer is a 422 that names the problem and what to do.
"""

from __future__ import annotations

import json
import re
from urllib.parse import unquote

from starlette.types import Message, Receive, Scope, Send

from api.http_middleware import HttpMiddleware
from api.problems import speaks_openai

_NUL = re.compile(rb"\\u0000")
# a high surrogate not followed by a low one, or a low one with no high one before it
_LONE_SURROGATE = re.compile(
    rb"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    rb"|(?<![0-9a-fA-F]{2}\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)


NOT_UTF8 = "the request body is not valid JSON in UTF-8; send a JSON object encoded as UTF-8"


def is_utf8(data: bytes) -> bool:
    """Strictly: json.loads would also take UTF-16, UTF-32 and UTF-8 carrying encoded surrogates
    ("\\xed\\xa0\\x80"), which no database can store."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def problem_in(data: bytes) -> str | None:
    if b"\x00" in data or _NUL.search(data):  # escaped, or raw (a UTF-16 or UTF-32 body)
        return "a NUL character (U+0000)"
    if _LONE_SURROGATE.search(data):
        return "an unpaired surrogate code point (U+D800-U+DFFF)"
    return None


class TextHygieneMiddleware(HttpMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        where = None
        query = scope.get("query_string", b"")
        path = scope.get("raw_path") or scope.get("path", "").encode()
        if b"%00" in query or b"%00" in path or "\x00" in unquote(scope.get("path", "")):
            where = "the URL (path or query)", "a NUL character (U+0000)"
        if where is not None:
            await _refuse(send, *where, openai=speaks_openai(scope.get("path", "")))
            return
        if scope.get("method") not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([], message, receive), send)
                return
            chunks.append(message.get("body", b""))
            more = bool(message.get("more_body"))
        body = b"".join(chunks)
        if not is_utf8(body):
            await _refuse_encoding(send, openai=speaks_openai(scope.get("path", "")))
            return
        found = problem_in(body)
        if found is not None:
            await _refuse(send, "the request body", found, openai=speaks_openai(scope.get("path", "")))
            return
        await self.app(scope, _replay([body], None, receive), send)


def _replay(bodies: list[bytes], first: Message | None, receive: Receive) -> Receive:
    queue: list[Message] = [{"type": "http.request", "body": b, "more_body": False} for b in bodies]
    if first is not None:
        queue.insert(0, first)

    async def replay() -> Message:
        if queue:
            return queue.pop(0)
        return await receive()

    return replay


async def _refuse_encoding(send: Send, openai: bool) -> None:
    if openai:
        error = {"message": NOT_UTF8, "type": "invalid_request_error", "param": None, "code": "invalid_json"}
        await _send(send, 400, json.dumps({"error": error}).encode(), b"application/json")
        return
    problem = {"type": "about:blank", "title": "Bad Request", "status": 400, "detail": NOT_UTF8,
               "error": {"message": NOT_UTF8, "type": "invalid_request_error", "code": "invalid_json"}}  # fmt: skip
    await _send(send, 400, json.dumps(problem).encode(), b"application/problem+json")


async def _refuse(send: Send, where: str, what: str, openai: bool = False) -> None:
    detail = f"{where} contains {what}, which cannot be stored; remove it and send the request again"
    if openai:  # OpenAI's protocol: a 400 with its error object
        await _send(send, 400, json.dumps(
            {"error": {"message": detail, "type": "invalid_request_error", "param": None, "code": "invalid_text"}}
        ).encode(), b"application/json")  # fmt: skip
        return
    body = json.dumps(
        {"type": "about:blank", "title": "Unprocessable Content", "status": 422, "detail": detail,
         "error": {"message": detail, "type": "invalid_request_error", "code": "invalid_text"}}
    ).encode()  # fmt: skip
    await _send(send, 422, body, b"application/problem+json")


async def _send(send: Send, status: int, body: bytes, media_type: bytes) -> None:
    headers = [(b"content-type", media_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
