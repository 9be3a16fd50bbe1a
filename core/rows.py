"""The hot path's rows: a call and a conversation as plain attributes.

A SQLModel table row costs about 45 µs to build (SQLAlchemy's attribute instrumentation and
pydantic's defaults), more than a SQLite insert; a turn builds a call row per attempt and a
conversation row per new conversation. These dataclasses carry the same columns as
``core.ledger.Call`` and ``core.ledger.Conversation`` (a test holds them to it) and are written
with driver-level SQL (``core.store``); the ORM tables stay for reads, reports and migrations.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal

from core.ledger import Conversation, utcnow
from core.pricing import from_nanos


@dataclass(slots=True)
class CallRow:
    """One LLM call's ledger row (see ``core.ledger.Call`` for what each column means)."""

    bot: str
    strategy: str
    provider: str
    model: str
    profile_version: str
    status: str
    usage_source: str
    conversation_id: str | None = None
    id: int | None = None
    response_model: str | None = None
    prompt_tokens: int = 0
    cached_tokens: int = 0
    completion_tokens: int = 0
    cost_nanousd: int = 0
    price_version: str | None = None
    latency_ms: int = 0
    attempt: int = 1
    source: str = "production"
    request_id: str | None = None
    key_id: str | None = None
    error: str | None = None
    created_at: datetime | None = None  # None: now, when the row is written

    @property
    def cost_usd(self) -> Decimal:
        return from_nanos(self.cost_nanousd)


@dataclass(slots=True)
class ConversationRow:
    """A conversation as a turn carries it (see ``core.ledger.Conversation``)."""

    id: str
    bot: str
    strategy: str
    owner: str | None = None
    language: str | None = None
    bot_state: str | None = None
    transcript_hash: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @classmethod
    def of(cls, stored: Conversation) -> ConversationRow:
        return cls(**{name: getattr(stored, name) for name in CONVERSATION_COLUMNS})

    def table_row(self) -> Conversation:
        """As the ORM's table row (for the rare writes that go through a session)."""
        now = utcnow()
        values = {name: getattr(self, name) for name in CONVERSATION_COLUMNS}
        values["created_at"] = self.created_at or now
        values["updated_at"] = self.updated_at or now
        return Conversation(**values)


CALL_COLUMNS = tuple(f.name for f in fields(CallRow))
CONVERSATION_COLUMNS = tuple(f.name for f in fields(ConversationRow))
