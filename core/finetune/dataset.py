"""Fine-tuning data in OpenAI's chat JSONL format: validation and the training cost estimate.

The checks are those of OpenAI's chat data-preparation guide (data_type,
missing_messages_list, message_missing_key, message_unrecognized_key,
unrecognized_role, missing_content, example_missing_assistant_message), plus ours:
a line that is not JSON, an empty or blank reply, a duplicate example, private data
left in the text. Examples longer than the model's training limit are warned about:
OpenAI truncates them, and bills them at the limit.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from core.errors import InvalidInput
from core.money import usd_digits
from core.pricing import PriceTable
from core.redaction import KINDS as PII_KINDS
from core.redaction import redact
from core.tokens import tokenizer_for

KNOWN_KEYS = {"role", "content", "name", "function_call", "weight"}
ROLES = {"system", "user", "assistant", "function"}

# The guide's epoch rule: 3 epochs, unless examples x epochs would leave 100..25,000.
TARGET_EPOCHS = 3
MIN_TARGET_EXAMPLES = 100
MAX_TARGET_EXAMPLES = 25_000
MIN_DEFAULT_EPOCHS = 1
MAX_DEFAULT_EPOCHS = 25


@dataclass(frozen=True)
class Problem:
    line: int
    kind: str
    detail: str


@dataclass(frozen=True)
class Example:
    line: int
    messages: list[dict[str, Any]]
    tokens: int
    assistant_tokens: int


@dataclass
class Report:
    model: str
    training_limit: int
    examples: list[Example] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.examples)

    def stats(self) -> dict[str, Any]:
        return {
            "examples": len(self.examples),
            "messages_per_example": _distribution([len(e.messages) for e in self.examples]),
            "tokens_per_example": _distribution([e.tokens for e in self.examples]),
            "assistant_tokens_per_example": _distribution([e.assistant_tokens for e in self.examples]),
            "over_training_limit": sum(e.tokens > self.training_limit for e in self.examples),
            "training_limit": self.training_limit,
        }

    def document(self) -> dict[str, Any]:
        def rows(problems: list[Problem]) -> list[dict[str, Any]]:
            return [{"line": p.line, "kind": p.kind, "detail": p.detail} for p in problems]

        return {"ok": self.ok, "errors": rows(self.errors), "warnings": rows(self.warnings), "stats": self.stats()}


def _distribution(values: list[int]) -> dict[str, float | int] | None:
    if not values:
        return None
    deciles = statistics.quantiles(values, n=10, method="inclusive") if len(values) > 1 else [values[0]] * 9
    return {
        "min": min(values),
        "max": max(values),
        "mean": round(statistics.fmean(values), 1),
        "median": statistics.median(values),
        "p10": round(deciles[0], 1),  # as the guide's notebook computes its "p5/p95": 0.1 and 0.9
        "p90": round(deciles[-1], 1),
    }


def _message_problems(line: int, index: int, message: Any) -> list[Problem]:
    where = f"messages[{index}]"
    if not isinstance(message, dict) or "role" not in message or "content" not in message:
        return [Problem(line, "message_missing_key", f"{where} needs both 'role' and 'content'")]
    problems = []
    unknown = sorted(set(message) - KNOWN_KEYS)
    if unknown:
        problems.append(Problem(line, "message_unrecognized_key", f"{where} has unknown keys {unknown}"))
    if message["role"] not in ROLES:
        problems.append(
            Problem(line, "unrecognized_role", f"{where} role {message['role']!r}; expected one of {sorted(ROLES)}")
        )
    content = message.get("content")
    if (content is None and not message.get("function_call")) or (content is not None and not isinstance(content, str)):
        problems.append(Problem(line, "missing_content", f"{where} has no text content"))
    return problems


def validate(lines: Iterable[str], model: str, prices: PriceTable) -> Report:
    """Check every line; errors and warnings name the line (1-based)."""
    report = Report(model=model, training_limit=prices.training_context(model))
    tokenizer = tokenizer_for(model)
    seen: dict[str, int] = {}
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            example = json.loads(raw)
        except json.JSONDecodeError as exc:
            report.errors.append(Problem(number, "invalid_json", f"not a JSON object: {exc.msg} at column {exc.colno}"))
            continue
        if not isinstance(example, dict):
            report.errors.append(Problem(number, "data_type", f"expected a JSON object, got {type(example).__name__}"))
            continue
        messages = example.get("messages")
        if not isinstance(messages, list) or not messages:
            report.errors.append(Problem(number, "missing_messages_list", "no 'messages' list"))
            continue
        problems = [p for i, m in enumerate(messages) for p in _message_problems(number, i, m)]
        if not any(isinstance(m, dict) and m.get("role") == "assistant" for m in messages):
            problems.append(Problem(number, "example_missing_assistant_message", "no assistant message to learn from"))
        if problems:
            report.errors.extend(problems)
            continue
        texts = [m for m in messages if isinstance(m.get("content"), str)]
        for i, m in enumerate(messages):
            if m["role"] == "assistant" and isinstance(m.get("content"), str) and not m["content"].strip():
                report.errors.append(Problem(number, "empty_reply", f"messages[{i}] is an empty assistant reply"))
        leaked = sorted({kind for m in texts for kind in PII_KINDS if redact(m["content"], [kind]) != m["content"]})
        if leaked:
            report.errors.append(Problem(number, "pii", f"private data left in the text: {', '.join(leaked)}"))
        fingerprint = json.dumps(messages, sort_keys=True, ensure_ascii=False)
        if fingerprint in seen:
            report.errors.append(Problem(number, "duplicate", f"the same example as line {seen[fingerprint]}"))
            continue
        seen[fingerprint] = number
        counted = [
            {k: v for k, v in m.items() if k in ("role", "content", "name") and isinstance(v, str)} for m in texts
        ]
        tokens = tokenizer.count_messages(counted)
        assistant = sum(tokenizer.count(m["content"]) for m in texts if m["role"] == "assistant")
        report.examples.append(Example(number, messages, tokens, assistant))
        if not any(m["role"] == "system" for m in messages):
            report.warnings.append(Problem(number, "missing_system_message", "no system message"))
        if not any(m["role"] == "user" for m in messages):
            report.warnings.append(Problem(number, "missing_user_message", "no user message"))
        if tokens > report.training_limit:
            report.warnings.append(
                Problem(number, "too_long", f"{tokens:,} tokens; {model} trains on the first {report.training_limit:,}")
            )
    return report


def default_epochs(examples: int) -> int:
    if examples * TARGET_EPOCHS < MIN_TARGET_EXAMPLES:
        return min(MAX_DEFAULT_EPOCHS, MIN_TARGET_EXAMPLES // examples)
    if examples * TARGET_EPOCHS > MAX_TARGET_EXAMPLES:
        return max(MIN_DEFAULT_EPOCHS, MAX_TARGET_EXAMPLES // examples)
    return TARGET_EPOCHS


@dataclass(frozen=True)
class Estimate:
    model: str
    examples: int
    epochs: int
    billed_tokens: int
    cost_usd: Decimal
    price_version: str

    def document(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "examples": self.examples,
            "epochs": self.epochs,
            "billed_tokens": self.billed_tokens,
            "cost_usd": usd_digits(self.cost_usd),
            "price_version": self.price_version,
        }


def estimate(report: Report, prices: PriceTable, *, epochs: int | None = None, as_of: date | None = None) -> Estimate:
    """Billed training tokens as OpenAI's guide counts them, and their cost."""
    if not report.ok:
        raise InvalidInput(
            f"the file has {len(report.errors)} errors (or no examples); `domainbots finetune validate` lists them"
        )
    if epochs is not None and not 1 <= epochs <= 50:
        raise InvalidInput(f"epochs must be from 1 to 50, not {epochs}")
    chosen = epochs or default_epochs(len(report.examples))
    billed = chosen * sum(min(report.training_limit, e.tokens) for e in report.examples)
    price = prices.price(f"ft:{report.model}", as_of)
    return Estimate(
        model=report.model,
        examples=len(report.examples),
        epochs=chosen,
        billed_tokens=billed,
        cost_usd=price.rates.training_cost(billed),
        price_version=price.version,
    )
