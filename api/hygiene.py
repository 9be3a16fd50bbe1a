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

from starlette.types import Receive, Scope, Send

from api.http_middleware import HttpMiddleware, replay
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
                await self.app(scope, replay([message], receive), send)
                return
            chunks.append(message.get("body", b""))
            more = bool(message.get("more_body"))
        body = b"".join(chunks)
        if not is_utf8(body):
            await _answer(send, 400, "Bad Request", NOT_UTF8, "invalid_json", speaks_openai(scope.get("path", "")))
            return
        found = problem_in(body)
        if found is not None:
            await _refuse(send, "the request body", found, openai=speaks_openai(scope.get("path", "")))
            return
        await self.app(scope, replay([{"type": "http.request", "body": body, "more_body": False}], receive), send)


async def _refuse(send: Send, where: str, what: str, openai: bool = False) -> None:
    detail = f"{where} contains {what}, which cannot be stored; remove it and send the request again"
    await _answer(send, 422, "Unprocessable Content", detail, "invalid_text", openai)


async def _answer(send: Send, status: int, title: str, detail: str, code: str, openai: bool) -> None:
    error = {"message": detail, "type": "invalid_request_error", "code": code}
    if openai:  # OpenAI's protocol: a 400 with its error object
        body = json.dumps({"error": {**error, "param": None}}).encode()
        await _send(send, 400, body, b"application/json")
        return
    problem = {"type": "about:blank", "title": title, "status": status, "detail": detail, "error": error}
    await _send(send, status, json.dumps(problem).encode(), b"application/problem+json")


async def _send(send: Send, status: int, body: bytes, media_type: bytes) -> None:
    headers = [(b"content-type", media_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
