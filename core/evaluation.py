"""A bot's held-out set through each strategy, side by side: quality, cost and latency.

Quality is a plain, reproducible score: the token-overlap F1 between the reply and
the set's reference answer (the measure SQuAD popularised). It ranks strategies on
the same set; it is not a judgement of medical or literary quality. Every call is a
real, ledgered call (conversations owned by "eval").
"""

from __future__ import annotations

import json
import re
import statistics
import time
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from core.engine import Engine, TurnRequest
from core.errors import DomainbotsError, InvalidInput
from core.money import derived

OWNER = "eval"


@dataclass(frozen=True)
class Case:
    message: str
    reference: str


@dataclass(frozen=True)
class StrategyScore:
    strategy: str
    examples: int
    errors: int
    score: float  # mean token-overlap F1 against the references
    cost_usd: Decimal
    cost_per_example_usd: Decimal
    prompt_tokens: int
    completion_tokens: int
    latency_p50_ms: int


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def overlap_f1(reply: str, reference: str) -> float:
    got, want = _words(reply), _words(reference)
    common = sum((Counter(got) & Counter(want)).values())
    if not common:
        return 0.0
    precision, recall = common / len(got), common / len(want)
    return 2 * precision * recall / (precision + recall)


def load_cases(path: Path, limit: int | None = None) -> list[Case]:
    if not path.is_file():
        raise InvalidInput(f"no evaluation set at {path}: write eval.jsonl in OpenAI's chat format")
    cases = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        messages = json.loads(line)["messages"]
        users = [m["content"] for m in messages if m["role"] == "user"]
        answers = [m["content"] for m in messages if m["role"] == "assistant"]
        if users and answers:
            cases.append(Case(users[-1], answers[-1]))
    return cases[:limit] if limit else cases


async def evaluate(engine: Engine, bot: str, strategy: str, cases: list[Case]) -> StrategyScore:
    scores, latencies = [], []
    cost = Decimal(0)
    prompt = completion = errors = 0
    for case in cases:
        started = time.perf_counter()
        try:
            result = await engine.turn(
                TurnRequest(bot=bot, message=case.message, strategy=strategy, owner=OWNER, source="eval")
            )
        except DomainbotsError:
            errors += 1
            scores.append(0.0)
            continue
        latencies.append(time.perf_counter() - started)
        scores.append(overlap_f1(result.reply, case.reference))
        cost += result.cost_usd
        prompt += result.usage.prompt_tokens
        completion += result.usage.completion_tokens
    return StrategyScore(
        strategy=strategy,
        examples=len(cases),
        errors=errors,
        score=round(statistics.fmean(scores), 4) if scores else 0.0,
        cost_usd=cost,
        cost_per_example_usd=derived(cost / len(cases)) if cases else Decimal(0),
        prompt_tokens=prompt,
        completion_tokens=completion,
        latency_p50_ms=round(statistics.median(latencies) * 1000) if latencies else 0,
    )
