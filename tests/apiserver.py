"""Our API under a real uvicorn, on 127.0.0.1, in a thread: tests reach it over HTTP."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass

import uvicorn

from api.app import create_app
from core import keys
from core.runtime import Runtime
from core.settings import Settings


@dataclass
class ApiServer:
    base_url: str
    admin_key: str
    chat_key: str
    other_chat_key: str
    runtime: Runtime
    _server: uvicorn.Server
    _thread: threading.Thread

    @property
    def v1(self) -> str:
        return f"{self.base_url}/v1"

    def headers(self, key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.chat_key}"}

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


def start(settings: Settings) -> ApiServer:
    runtime = Runtime.load(settings)
    admin = keys.create(runtime.database, "test-admin", "admin").secret
    chat = keys.create(runtime.database, "test-chat", "chat").secret
    other = keys.create(runtime.database, "other-chat", "chat").secret
    config = uvicorn.Config(create_app(runtime), host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the API server did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    return ApiServer(f"http://127.0.0.1:{port}", admin, chat, other, runtime, server, thread)
