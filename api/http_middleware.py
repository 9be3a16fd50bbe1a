"""The shape every domainbots middleware shares: pure ASGI (no BaseHTTPMiddleware, which
buffers streams and costs a task per request), looking at HTTP requests only."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HttpMiddleware:
    """Lifespan and websocket scopes pass straight through; subclasses implement `handle`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.handle(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError


def replay(received: list[Message], receive: Receive) -> Receive:
    """``receive`` as if the messages already read from it had not been: a layer that read the
    body to look at it hands the request on whole."""
    queue = list(received)

    async def replayed() -> Message:
        if queue:
            return queue.pop(0)
        return await receive()

    return replayed
