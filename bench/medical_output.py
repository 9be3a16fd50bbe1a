"""The medical bot's output check on replies written by a helper who never saw it.

    .venv/bin/python bench/medical_output.py [--split dev|test|all] [--misses]

tests/data/medical_output_{dev,test}.jsonl (brief: tests/data/briefs/medical_output_writer.md):
replies labelled dose, diagnosis, clean or emergency. A dose or diagnosis reply passes when
every offending sentence is gone; a clean one when nothing was changed; an emergency one
when the opening was recognised. Also prints the time per reply.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bots.medical_output import OutputCheck  # noqa: E402

DATA = ROOT / "tests" / "data"


def load(split: str) -> list[dict]:
    text = (DATA / f"medical_output_{split}.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def passes(check: OutputCheck, row: dict) -> bool:
    labels = set(row["labels"])
    result = check.check(row["reply"], "REFERRAL")
    if "emergency" in labels:
        return result.emergency
    if "clean" in labels:
        return not result.removed and not result.emergency
    return bool(result.removed) and all(sentence not in result.text for sentence in row["offending"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", choices=["dev", "test", "all"], default="all")
    parser.add_argument("--misses", action="store_true")
    args = parser.parse_args()
    check = OutputCheck.shipped()
    for split in ["dev", "test"] if args.split == "all" else [args.split]:
        rows = load(split)
        totals: Counter[str] = Counter()
        good: Counter[str] = Counter()
        times = []
        for row in rows:
            kind = "+".join(sorted(row["labels"]))
            start = time.perf_counter()
            ok = passes(check, row)
            times.append((time.perf_counter() - start) * 1000)
            totals[kind] += 1
            good[kind] += ok
            if args.misses and not ok:
                print(f"  MISS {row['id']} {kind}: {row['reply'][:160]}")
        cells = ", ".join(f"{kind} {good[kind]}/{totals[kind]}" for kind in sorted(totals))
        print(
            f"{split}: {sum(good.values())}/{len(rows)} right ({cells}); "
            f"median {statistics.median(times):.3f} ms per reply"
        )


if __name__ == "__main__":
    main()
