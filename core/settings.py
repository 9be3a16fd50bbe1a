"""Run-time configuration, read from the environment (SPEC section 2)."""

from __future__ import annotations

from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Literal

from platformdirs import user_data_path
from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_database_url() -> str:
    """SQLite in the user's data folder (e.g. ~/.local/share/domainbots): the same database
    whatever folder a command runs from, never a new empty file in the current one."""
    folder = user_data_path("domainbots", appauthor=False, ensure_exists=True)
    return f"sqlite:///{folder / 'domainbots.db'}"


class Settings(BaseSettings):
    # A .env file in the current folder is read too (the environment wins over it).
    model_config = SettingsConfigDict(
        env_prefix="DOMAINBOTS_", extra="ignore", populate_by_name=True, env_file=".env", env_file_encoding="utf-8"
    )

    database_url: str = Field(default_factory=default_database_url)
    profiles_dir: Path = Path("./profiles")
    training_dir: Path = Path("./training_data")  # <bot>/train.jsonl and eval.jsonl
    provider: Literal["auto", "openai", "local"] = "auto"
    local_model: Path | None = None  # None: the packaged gemma-3-270m GGUF
    local_context_tokens: int = Field(default=4096, ge=512, le=131072)
    # Requests waiting for the local model beyond this are refused with 503 + Retry-After.
    local_max_queue: int = Field(default=8, ge=0, le=1000)
    local_threads: int | None = Field(default=None, ge=1)
    # A team may price its own hardware: USD per 1M tokens, 0 by default.
    local_price_input: Decimal = Decimal(0)
    local_price_output: Decimal = Decimal(0)
    # Seconds for one model call; the SDK retries 429s and 5xx on top of this.
    request_timeout: float = Field(default=60.0, gt=0)
    max_retries: int = Field(default=2, ge=0, le=10)
    # Who commits the ledger's writes (core/writer.py): the event loop itself (SQLite in one
    # process: cheapest), a writer thread (PostgreSQL, or several processes sharing a SQLite
    # file, whose lock waits must not stall a loop), or `auto` to choose by those rules.
    ledger_writer: Literal["auto", "loop", "thread"] = "auto"

    openai_api_key: str | None = Field(default=None, validation_alias=AliasChoices("OPENAI_API_KEY"))
    openai_base_url: str | None = Field(default=None, validation_alias=AliasChoices("OPENAI_BASE_URL"))

    @cached_property
    def resolved_provider(self) -> Literal["openai", "local"]:
        """`auto` is OpenAI when a key is set, else the embedded local model."""
        if self.provider != "auto":
            return self.provider
        return "openai" if self.openai_api_key else "local"
