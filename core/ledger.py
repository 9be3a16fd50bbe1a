"""The tables: conversations, messages, the call ledger, and strategy state (SPEC sections 4-5).

Money is an integer number of nano-dollars (``cost_nanousd``): SQLite has no exact
decimal type, and integers sum exactly on every database.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Column, Index, text
from sqlmodel import Field, SQLModel

from core.pricing import from_nanos

_PENDING = text("status = 'pending'")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Conversation(SQLModel, table=True):
    __tablename__ = "conversations"
    # OpenAI-protocol clients resend the transcript: its hash finds the conversation. Owner
    # first, so it serves a lookup by owner alone too (no index of the owner's own).
    __table_args__ = (Index("ix_conversations_transcript", "owner", "bot", "transcript_hash"),)

    id: str = Field(primary_key=True, max_length=32)
    bot: str = Field(index=True, max_length=40)
    # Sticky: a conversation keeps the strategy it started with.
    strategy: str = Field(max_length=20)
    language: str | None = Field(default=None, max_length=8)
    # Who may read it: an API key's id, or None for the local command line.
    owner: str | None = Field(default=None, max_length=64)
    # What the bot's behaviour keeps between turns (e.g. the writing style chosen), as JSON.
    bot_state: str | None = None
    # For clients that resend the whole transcript (OpenAI's protocol): a hash of it as it
    # stands after the last turn, so the next request carrying it continues this conversation.
    transcript_hash: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    updated_at: datetime = Field(default_factory=utcnow)


class Message(SQLModel, table=True):
    __tablename__ = "messages"

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: str = Field(foreign_key="conversations.id", index=True, max_length=32)
    role: str = Field(max_length=16)
    # After redaction; None when the profile stores no content.
    content: str | None = None
    call_id: int | None = Field(default=None, foreign_key="calls.id")
    # Set when a behaviour answered without a model (e.g. emergency routing): why.
    guard_reason: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow)


class Call(SQLModel, table=True):
    """One row per LLM call, whatever became of it."""

    __tablename__ = "calls"
    __table_args__ = (
        Index("ix_calls_bot_strategy_created", "bot", "strategy", "created_at"),
        # pending rows settled at start-up; only they are indexed (a call's settlement takes it out)
        Index("ix_calls_status_created", "status", "created_at", sqlite_where=_PENDING, postgresql_where=_PENDING),
        Index("ix_calls_key_created", "key_id", "created_at"),  # a key's rate limits
    )

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: str | None = Field(default=None, foreign_key="conversations.id", index=True, max_length=32)
    bot: str = Field(max_length=40)
    strategy: str = Field(max_length=20)
    provider: str = Field(max_length=20)
    model: str = Field(max_length=200)  # as requested
    response_model: str | None = Field(default=None, max_length=200)  # as the provider answered
    profile_version: str = Field(max_length=64)
    prompt_tokens: int = 0
    cached_tokens: int = 0
    completion_tokens: int = 0
    cost_nanousd: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    price_version: str | None = Field(default=None, max_length=200)
    latency_ms: int = 0
    # pending: written before the call is sent (its cost is the worst case, reserved against
    # the budget); then ok | error | aborted (cut mid-stream) | interrupted (the process died
    # with it in flight: settled on the next start, cost estimated from its prompt).
    status: str = Field(max_length=12)
    attempt: int = 1  # 1 for the first try; a retry of the same turn is 2, 3, ...
    # production, or eval: an evaluation run's calls are kept out of production costs,
    # budgets, comparisons, reports and fine-tuning exports (shown on request).
    source: str = Field(default="production", max_length=12)
    request_id: str | None = Field(default=None, max_length=64)
    # The API key that asked (None from the command line): what its rate limits count.
    key_id: str | None = Field(default=None, max_length=32)
    usage_source: str = Field(max_length=12)  # reported | estimated | none
    error: str | None = None
    created_at: datetime = Field(default_factory=utcnow, index=True)

    @property
    def cost_usd(self) -> Decimal:
        return from_nanos(self.cost_nanousd)


class StrategyState(SQLModel, table=True):
    """The strategy a bot serves now: run-time state, not YAML."""

    __tablename__ = "strategy_state"

    bot: str = Field(primary_key=True, max_length=40)
    strategy: str = Field(max_length=20)
    # Share of new conversations that get the other strategy, 0..1.
    rollout: float = 0.0
    # A fine-tuned model registered by a finished job; it overrides the profile's, and
    # lives here so that it survives restarts and every worker sees it.
    finetuned_model: str | None = Field(default=None, max_length=200)
    updated_at: datetime = Field(default_factory=utcnow)


class StrategySwitch(SQLModel, table=True):
    """The audit trail: who switched which bot, when, from what to what."""

    __tablename__ = "strategy_switches"

    id: int | None = Field(default=None, primary_key=True)
    bot: str = Field(index=True, max_length=40)
    from_strategy: str | None = Field(default=None, max_length=20)
    to_strategy: str = Field(max_length=20)
    from_rollout: float | None = None
    to_rollout: float = 0.0
    actor: str = Field(max_length=400)
    created_at: datetime = Field(default_factory=utcnow)


class ApiKey(SQLModel, table=True):
    """An API key: only its hash is kept; the secret is shown once, at creation."""

    __tablename__ = "api_keys"

    id: str = Field(primary_key=True, max_length=16)  # the public part of the key, e.g. 3f9a1c0b
    name: str = Field(index=True, max_length=100)
    scope: str = Field(max_length=10)  # chat | admin
    secret_sha256: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    revoked_at: datetime | None = None
    # Limits over any 60 seconds (None: unlimited), counted from the ledger: chat requests,
    # and prompt + completion tokens of the model calls they made.
    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None


class Feedback(SQLModel, table=True):
    __tablename__ = "feedback"

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: str = Field(foreign_key="conversations.id", index=True, max_length=32)
    rating: int  # 1 or -1
    comment: str | None = None
    created_at: datetime = Field(default_factory=utcnow)


class FineTuneJob(SQLModel, table=True):
    """A fine-tuning job, as launched and as last seen at the provider, with its cost."""

    __tablename__ = "fine_tune_jobs"

    id: str = Field(primary_key=True, max_length=100)  # the provider's job id
    bot: str = Field(index=True, max_length=40)
    base_model: str = Field(max_length=200)
    training_file: str = Field(max_length=100)
    validation_file: str | None = Field(default=None, max_length=100)
    epochs: int | None = None
    status: str = Field(max_length=20)
    fine_tuned_model: str | None = Field(default=None, max_length=200)
    trained_tokens: int | None = None
    # The training bill: trained_tokens at the training rate, in nano-dollars.
    cost_nanousd: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    price_version: str | None = Field(default=None, max_length=200)
    error: str | None = None
    registered: bool = False
    created_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None

    @property
    def cost_usd(self) -> Decimal:
        return from_nanos(self.cost_nanousd)


class EvalRun(SQLModel, table=True):
    """One `domainbots eval` run: a bot's held-out set through one or more strategies."""

    __tablename__ = "eval_runs"

    id: str = Field(primary_key=True, max_length=32)  # e.g. run_3f9a1c0b
    bot: str = Field(index=True, max_length=40)
    strategies: str = Field(max_length=100)  # comma-separated, in the order run
    examples: int = 0  # per strategy
    status: str = Field(max_length=12)  # running | done | failed
    created_at: datetime = Field(default_factory=utcnow, index=True)
    finished_at: datetime | None = None


class EvalResult(SQLModel, table=True):
    """One example of a run on one strategy: what went in, what came out, how it scored."""

    __tablename__ = "eval_results"

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(foreign_key="eval_runs.id", index=True, max_length=32)
    strategy: str = Field(max_length=20)
    position: int  # the example's line in eval.jsonl, from 0
    input: str
    reference: str
    output: str | None = None
    # {"check name": true | false}, as JSON: the bot's assertions on the reply
    checks: str = "{}"
    overlap_f1: float = 0.0
    cost_nanousd: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    latency_ms: int = 0
    conversation_id: str | None = Field(default=None, max_length=32)
    error: str | None = None

    @property
    def cost_usd(self) -> Decimal:
        return from_nanos(self.cost_nanousd)
