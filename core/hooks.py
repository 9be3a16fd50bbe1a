"""How domain behaviours plug into the engine.

A behaviour (in ``bots/``) is found by the name in a profile's ``bot:`` field,
through the ``domainbots.bots`` entry point group, so ``core`` never imports
``bots`` and a third-party package can add a behaviour the way an ``llm`` plugin
adds a model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import entry_points
from typing import Any, Protocol, runtime_checkable

from core.errors import ConfigError
from core.messages import ChatMessage
from core.profiles import Profile, StrategyConfig

ENTRY_POINT_GROUP = "domainbots.bots"


@dataclass
class Turn:
    """One user message on its way through the engine; hooks may change it."""

    profile: Profile
    strategy: str
    config: StrategyConfig
    conversation_id: str
    is_new_conversation: bool
    message: str  # what the user sent
    history: list[ChatMessage]
    # What the model sees as the user's message; a hook may rewrite it.
    prompt_message: str = ""
    # ISO 639-1 language of the message, when a hook detected it.
    language: str | None = None
    # Extra system text a hook adds for this turn only (e.g. catalog facts).
    context: list[str] = field(default_factory=list)
    # The behaviour's own memory of this conversation (kept as JSON between turns).
    state: dict[str, Any] = field(default_factory=dict)
    # What a behaviour's prepare() leaves for its finish() in this turn only.
    notes: dict[str, Any] = field(default_factory=dict)
    # Set by finish() when it changed the model's reply for a reason worth keeping
    # (stored with the reply, like a guard's reason).
    guard_reason: str | None = None

    def __post_init__(self) -> None:
        if not self.prompt_message:
            self.prompt_message = self.message


@dataclass(frozen=True)
class GuardReply:
    """An answer given without calling a model, and why."""

    text: str
    reason: str


@runtime_checkable
class BotHooks(Protocol):
    def guard(self, turn: Turn) -> GuardReply | None:
        """Answer before any model call (e.g. emergency routing), or None to go on."""
        ...

    def prepare(self, turn: Turn) -> None:
        """Adjust the turn before its messages are built."""
        ...

    def finish(self, turn: Turn, reply: str) -> str:
        """The reply as the user gets it. When streaming, text it appends is sent as a last delta."""
        ...

    def redact(self, turn: Turn, text: str) -> str:
        """The text as it may be stored."""
        ...


class PassThrough:
    """Hooks that change nothing; a behaviour overrides what it needs."""

    # True when finish() may rewrite the reply, not only append to it: the engine then
    # sends a stream's text only once the whole reply has been through finish().
    holds_stream = False

    def guard(self, turn: Turn) -> GuardReply | None:
        return None

    def prepare(self, turn: Turn) -> None:
        return None

    def finish(self, turn: Turn, reply: str) -> str:
        return reply

    def redact(self, turn: Turn, text: str) -> str:
        return text


def available_bots() -> list[str]:
    return sorted(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))


@cache
def load_hooks(name: str) -> BotHooks:
    """One instance per behaviour and process: behaviours may hold costly state."""
    matches = entry_points(group=ENTRY_POINT_GROUP, name=name)
    if not matches:
        raise ConfigError(f"no bot behaviour named {name!r} is installed; installed: {', '.join(available_bots())}")
    factory = next(iter(matches)).load()
    hooks = factory()
    if not isinstance(hooks, BotHooks):
        raise ConfigError(f"bot behaviour {name!r} does not implement guard/prepare/finish/redact")
    return hooks
