"""Model IDs, including every form of OpenAI fine-tuned ID.

``ft:BASE:ORG:SUFFIX:ID``, ``ft:BASE:ORG::ID`` (empty suffix), ``...:ckpt-step-N``
checkpoints, and the bare ``ft:BASE`` used when projecting costs. The base decides
the tokenizer and the fine-tuned price tier; nothing else in the ID does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_CHECKPOINT = re.compile(r"ckpt-step-(\d+)")


@dataclass(frozen=True)
class ModelId:
    raw: str
    base: str
    fine_tuned: bool
    org: str | None = None
    suffix: str | None = None
    job_id: str | None = None
    checkpoint_step: int | None = None


def parse_model_id(model: str) -> ModelId:
    model = model.strip()
    if not model:
        raise ValueError("a model ID is empty; name a model such as gpt-4o-mini")
    if not model.startswith("ft:"):
        return ModelId(raw=model, base=model, fine_tuned=False)
    parts = model.split(":")
    base = parts[1]
    if not base:
        raise ValueError(f"fine-tuned model ID {model!r} names no base model; expected ft:BASE:ORG:SUFFIX:ID")
    step: int | None = None
    if len(parts) > 2 and (match := _CHECKPOINT.fullmatch(parts[-1])):
        step = int(match.group(1))
        parts = parts[:-1]
    if len(parts) > 5:
        raise ValueError(f"fine-tuned model ID {model!r} has too many parts; expected ft:BASE:ORG:SUFFIX:ID")
    rest = [*parts[2:], None, None, None][:3]
    return ModelId(
        raw=model,
        base=base,
        fine_tuned=True,
        org=rest[0] or None,
        suffix=rest[1] or None,
        job_id=rest[2] or None,
        checkpoint_step=step,
    )
