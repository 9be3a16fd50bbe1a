"""What normalizing Persian saves in model tokens (o200k_base, OpenAI's current encoding).

    .venv/bin/python bench/normalization.py

The corpus: every Persian-script message in the independently written sets under
tests/data (retail customers and medical users; typed with Arabic ي/ك, presentation forms,
Arabic-Indic digits, stray spacing as people type), plus the same texts as an Arabic
keyboard would type them. Prints the tokens the model would read before and after
``core.language.persian`` (NFKC + hazm in the safe settings, in chunks), and the time.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.language import persian  # noqa: E402
from core.tokens import tokenizer_for  # noqa: E402

DATA = ROOT / "tests" / "data"
_ARABIC_KEYBOARD = str.maketrans({"ی": "ي", "ک": "ك", "۰": "٠", "۱": "١", "۲": "٢", "۳": "٣", "۴": "٤", "۵": "٥"})


def corpus() -> list[str]:
    texts: list[str] = []
    for path in sorted(DATA.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            for value in (row.get("text"), row.get("customer"), *(row.get("turns") or [])):
                if isinstance(value, str) and re.search(r"[\u0600-\u06ff]", value):
                    texts.append(value)
    return texts


def main() -> None:
    tokenizer = tokenizer_for("gpt-4o-mini")  # o200k_base
    typed = corpus()
    sets = {"as typed": typed, "Arabic keyboard": [t.translate(_ARABIC_KEYBOARD) for t in typed]}
    for name, texts in sets.items():
        before = sum(tokenizer.count(t) for t in texts)
        start = time.perf_counter()
        normalized = [persian(t) for t in texts]
        elapsed = (time.perf_counter() - start) * 1000 / len(texts)
        after = sum(tokenizer.count(t) for t in normalized)
        print(
            f"{name}: {len(texts)} messages, o200k tokens {before:,} -> {after:,} "
            f"({100 * (before - after) / before:+.1f}% saved), {elapsed:.3f} ms per message"
        )


if __name__ == "__main__":
    main()
