"""The provider interface: what the engine needs from any model server.

Two calls: ``complete`` and ``stream``. A provider reports usage as the server
counted it; when a stream ends without usage, the engine estimates it. Failures
surface as ``ProviderError`` (or ``ProviderTimeout`` / ``StreamInterrupted``) after
the provider's own retries, so the engine can ledger them and move on.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from core.messages import ChatMessage
from core.pricing import Price
from core.usage import Usage


@dataclass(frozen=True)
class ChatRequest:
    model: str
    messages: list[ChatMessage]
    temperature: float | None = None
    max_output_tokens: int | None = None
    # Seconds this attempt may take: what is left of the request's timeout.
    timeout: float | None = None
    # More of the client's sampling settings (top_p, stop, seed, penalties), passed on as given.
    sampling: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class Completion:
    text: str
    # None when the server did not report usage (a stream without its usage chunk).
    usage: Usage | None
    model: str  # as the server named it
    finish_reason: str | None = None


@dataclass(frozen=True)
class Delta:
    text: str


@dataclass(frozen=True)
class Moderation:
    """What a moderation endpoint flagged in a text (OpenAI's category names)."""

    categories: frozenset[str]
    model: str


class Provider(Protocol):
    name: str

    def served_model(self, requested: str) -> str:
        """The model a request for ``requested`` really runs on (a local provider has one)."""
        ...

    def own_price(self, model: str) -> Price | None:
        """The provider's own price for what it serves, or None to use the price table and profile."""
        ...

    async def complete(self, request: ChatRequest) -> Completion: ...

    def stream(self, request: ChatRequest) -> AsyncGenerator[Delta | Completion, None]:
        """Text deltas, then exactly one Completion."""
        ...

    async def aclose(self) -> None: ...


@runtime_checkable
class Moderates(Protocol):
    """A provider that can also moderate text (OpenAI's free moderation endpoint)."""

    async def moderate(self, text: str) -> Moderation: ...
