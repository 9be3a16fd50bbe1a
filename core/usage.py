"""Token usage of one model call, as OpenAI reports it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

UsageSource = Literal["reported", "estimated", "none"]


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    # Part of prompt_tokens (OpenAI's prompt_tokens_details.cached_tokens), not on top of it.
    cached_tokens: int = 0
    completion_tokens: int = 0

    def __post_init__(self) -> None:
        if min(self.prompt_tokens, self.cached_tokens, self.completion_tokens) < 0:
            raise ValueError(f"token counts cannot be negative: {self}")
        if self.cached_tokens > self.prompt_tokens:
            raise ValueError(
                f"cached tokens ({self.cached_tokens}) are part of prompt tokens ({self.prompt_tokens}) "
                "and cannot exceed them"
            )

    @property
    def uncached_tokens(self) -> int:
        return self.prompt_tokens - self.cached_tokens

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens
