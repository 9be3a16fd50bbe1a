"""`X-Request-Id` on every response: the client's own when it sent a usable one, else a new
one. Routes read it from ``request.state.request_id`` and store it on the ledger rows."""

from __future__ import annotations

import re
import secrets

from starlette.types import Message, Receive, Scope, Send

from api.http_middleware import HttpMiddleware

_USABLE = re.compile(r"[\w.:-]{1,64}")


def request_id_for(incoming: bytes) -> str:
    """The client's X-Request-Id when it is usable, else a new one."""
    if not incoming:  # the usual case: a new one (secrets, not uuid4: a third of the time)
        return f"req_{secrets.token_hex(16)}"
    sent = incoming.decode("latin-1")
    return sent if _USABLE.fullmatch(sent) else f"req_{secrets.token_hex(16)}"


class RequestIdMiddleware(HttpMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = request_id_for(dict(scope.get("headers") or []).get(b"x-request-id", b""))
        scope.setdefault("state", {})["request_id"] = request_id

        async def with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        await self.app(scope, receive, with_id)
