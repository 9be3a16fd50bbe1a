"""The messages one turn sends: system, few-shot examples, the history that fits, the user."""

from __future__ import annotations

from core.messages import ChatMessage
from core.profiles import StrategyConfig
from core.tokens import Tokenizer


def trim_history(history: list[ChatMessage], budget: int, tokenizer: Tokenizer) -> list[ChatMessage]:
    """The newest messages whose chat tokens fit ``budget``; oldest go first.

    Whole exchanges are kept or dropped, so the kept history never opens with a
    reply whose question was cut away.
    """
    kept: list[ChatMessage] = []
    used = 0
    for message in reversed(history):
        cost = tokenizer.count_message(message)  # type: ignore[arg-type]
        if used + cost > budget:
            break
        kept.append(message)
        used += cost
    kept.reverse()
    while kept and kept[0]["role"] == "assistant":
        kept.pop(0)
    return kept


def build_messages(
    config: StrategyConfig,
    *,
    history: list[ChatMessage],
    extra_context: list[str],
    user_message: str,
    history_tokens: int,
    tokenizer: Tokenizer,
) -> list[ChatMessage]:
    system = "\n\n".join([config.system_prompt.strip(), *(c.strip() for c in extra_context if c.strip())])
    messages: list[ChatMessage] = [{"role": "system", "content": system}]
    for example in config.examples:
        messages.append({"role": "user", "content": example.user})
        messages.append({"role": "assistant", "content": example.assistant})
    messages.extend(trim_history(history, history_tokens, tokenizer))
    messages.append({"role": "user", "content": user_message})
    return messages
