"""An LLM judge for evaluation runs: a written rubric, a score from 1 to 5 per reply.

The judge's calls are model calls like any other: each has its ledger row (write-ahead,
then settled), in the evaluated conversation, with source "eval" and strategy "judge",
so what judging cost shows in `costs --include-eval` and never in production figures.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from functools import cache
from importlib.resources import files

from core.errors import DomainbotsError
from core.ledger import Conversation, utcnow
from core.pricing import PriceTable, to_nanos
from core.providers.base import ChatRequest, Provider
from core.rows import CallRow, ConversationRow
from core.store import Store
from core.usage import Usage

STRATEGY = "judge"
_SCORE = re.compile(r"[1-5]")


@cache
def rubric() -> str:
    return files("core").joinpath("data/judge_rubric.md").read_text(encoding="utf-8")


class Judge:
    def __init__(self, provider: Provider, prices: PriceTable, store: Store, model: str) -> None:
        self.provider, self.store, self.model = provider, store, model
        self.price = prices.price(model)  # a model without a price is refused before any call

    async def score(self, conversation: Conversation, message: str, reference: str, reply: str) -> int | None:
        """1-5, or None when the judge's answer holds no score; its call is ledgered either way."""
        task = json.dumps({"message": message, "reference": reference, "reply": reply}, ensure_ascii=False)
        request = ChatRequest(
            model=self.model,
            messages=[{"role": "system", "content": rubric()}, {"role": "user", "content": task}],
            temperature=0,
            max_output_tokens=5,
        )
        call = CallRow(conversation_id=conversation.id, bot=conversation.bot, strategy=STRATEGY,
                       provider=self.provider.name, model=self.model, profile_version="judge", status="pending",
                       usage_source="estimated", source="eval", price_version=self.price.version,
                       created_at=utcnow())  # fmt: skip
        row = ConversationRow.of(conversation)
        await asyncio.to_thread(self.store.open_call, conversation=row, is_new=False, call=call)
        started = time.perf_counter()
        try:
            completion = await self.provider.complete(request)
        except DomainbotsError as exc:
            call.status, call.usage_source, call.error = "error", "none", str(exc)[:2000]
            await asyncio.to_thread(self.store.settle, call)
            raise
        usage = completion.usage or Usage()
        call.prompt_tokens, call.cached_tokens = usage.prompt_tokens, usage.cached_tokens
        call.completion_tokens = usage.completion_tokens
        call.cost_nanousd = to_nanos(self.price.cost(usage))
        call.usage_source = "reported" if completion.usage else "none"
        call.status, call.response_model = "ok", completion.model
        call.latency_ms = round((time.perf_counter() - started) * 1000)
        await asyncio.to_thread(self.store.settle, call)
        found = _SCORE.search(completion.text)
        return int(found.group()) if found else None
