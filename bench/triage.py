"""Medical triage on the independently written sets: recall, false alarms, time per message.

    .venv/bin/python bench/triage.py [--split dev|test|all] [--file HELD_OUT.jsonl] [--misses] [--json]
                                     [--rules-only | --model WEIGHTS.npz]

The sets in tests/data/triage_{dev,test}.jsonl were written by helpers who never saw
the rules (their brief: tests/data/briefs/triage_writer.md). The rules are tuned on
dev only; test is reported untouched. A hit counts as recall when it is an emergency
of any category (routing is what matters; the category is reported too). Two-turn
conversations are judged the way the bot judges them: the last turns together, after each
turn. A conversation with ``turn_labels`` (the right decision after each turn) is caught
when it is routed by its last emergency turn; one whose later turn takes the alarm back
(["emergency", "none"]) is reported apart: how many were routed again after it; so is an
emergency conversation routed on a turn before its emergency was complete (it still routes).
Time: median and p95 per message over five passes of the split, the median of the first pass
(each message read for the first time), and one 100,000-character message
to show the cost is linear. By default the shipped triage is measured: the rules with
the learned second opinion (bots/triage_model.py); --rules-only measures the rules alone
(the model is trained on dev, so dev figures with it are not a measure of the rules), and
--model measures the rules with other weights (scripts/train_triage_classifier.py --out).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bots.triage import Triage, _shipped_data  # noqa: E402
from bots.triage_model import TriageModel  # noqa: E402

DATA = ROOT / "tests" / "data"


def load(split: str) -> list[dict[str, Any]]:
    path = Path(split) if split.endswith(".jsonl") else DATA / f"triage_{split}.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def judge_turns(triage: Triage, turns: list[str]) -> list[str | None]:
    """The decision after each user turn, as a conversation runs."""
    hits = (triage.check_conversation(turns[:k]) for k in range(1, len(turns) + 1))
    return [hit.id if hit else None for hit in hits]


def turn_labels(row: dict[str, Any]) -> list[str]:
    """The right decision after each turn: the writer's, or the row's label for every turn."""
    labels = row.get("turn_labels") or []
    # A take-back is labeled either by its last turn ("none") or, by older writers, by its alarm
    # ("emergency"); both name the right decision after each turn in ``turn_labels``.
    consistent = labels[-1:] == [row["label"]] or (row["label"] == "emergency" and "emergency" in labels)
    if len(labels) != len(row["turns"]) or not consistent:
        return [row["label"]] * len(row["turns"])
    return list(labels)


def judge(triage: Triage, row: dict[str, Any]) -> tuple[str | None, int, int]:
    """The routing that counts for the row's label; how many turns labeled none were routed
    after an emergency turn (a later turn that takes back an alarm should not route); and how
    many before the first one (an early alarm: it still routes the user, so the conversation
    counts as caught, but it is reported)."""
    if "turns" not in row:
        hit = triage.check(row["text"])
        return (hit.id if hit else None), 0, 0
    decisions = judge_turns(triage, row["turns"])
    labels = turn_labels(row)
    if "emergency" not in labels:
        return next((got for got in decisions if got), None), 0, 0
    first = labels.index("emergency")
    last = max(k for k, label in enumerate(labels) if label == "emergency")
    got = next((got for got in decisions[: last + 1] if got), None)
    again = sum(1 for got, label in zip(decisions[first:], labels[first:], strict=True) if got and label == "none")
    early = sum(1 for got in decisions[:first] if got)
    return got, again, early


def label_of(row: dict[str, Any]) -> str:
    """What a row is scored as: a conversation with an emergency turn is an emergency to route
    (a take-back's alarm included: whether it was routed again after is reported apart)."""
    if "turns" in row and "emergency" in turn_labels(row):
        return "emergency"
    return str(row["label"])


def _takes_back(row: dict[str, Any]) -> bool:
    labels = turn_labels(row) if "turns" in row else []
    return "emergency" in labels and "none" in labels[labels.index("emergency") :]


def evaluate(triage: Triage, rows: list[dict[str, Any]]) -> dict[str, Any]:
    cells: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # em, caught, benign, alarms
    misses, alarms, wrong_category, turn_alarms, early = [], [], [], [], []
    for row in rows:
        got, routed_again, routed_early = judge(triage, row)
        label = label_of(row)
        if routed_again:
            turn_alarms.append(row)
        if routed_early:
            early.append(row)
        kind = "multi_turn" if "turns" in row else row["category"]
        for key in ((kind, row["lang"]), (kind, "*"), ("*", row["lang"]), ("*", "*")):
            cell = cells[key]
            if label == "emergency":
                cell[0] += 1
                cell[1] += got is not None
            else:
                cell[2] += 1
                cell[3] += got is not None
        if label == "emergency" and got is None:
            misses.append(row)
        elif label == "emergency" and got != row["category"] and "turns" not in row:
            wrong_category.append((row, got))
        elif label != "emergency" and got is not None:
            alarms.append((row, got))
    return {
        "cells": cells,
        "misses": misses,
        "alarms": alarms,
        "wrong_category": wrong_category,
        "turn_alarms": turn_alarms,
        "take_backs": sum(1 for r in rows if _takes_back(r)),
        "early": early,
    }


def timing(triage: Triage, rows: list[dict[str, Any]]) -> dict[str, float]:
    texts = [row["text"] for row in rows if "text" in row] or [t for row in rows for t in row["turns"]]
    triage.check("warm up")
    samples = []
    for _ in range(5):
        for text in texts:
            start = time.perf_counter()
            triage.check(text)
            samples.append((time.perf_counter() - start) * 1000)
    # the first pass reads each word for the first time (the per-word readings are kept after):
    # a message of words never seen before costs this much
    first = samples[: len(texts)]
    long_text = (" ".join(texts) + " ") * (100_000 // (len(" ".join(texts)) + 1) + 1)
    long_text = long_text[:100_000]
    start = time.perf_counter()
    triage.check(long_text)
    long_ms = (time.perf_counter() - start) * 1000
    chars = statistics.mean(len(t) for t in texts)
    return {
        "median_ms": statistics.median(samples),
        "first_pass_median_ms": statistics.median(first),
        "p95_ms": statistics.quantiles(samples, n=20)[18],
        "mean_chars": chars,
        "ms_100k_chars": long_ms,
        "ms_per_1k_chars_long": long_ms / 100,
    }


def pct(a: int, b: int) -> str:
    return f"{a}/{b} ({100 * a / b:.0f}%)" if b else "-"


def report(split: str, result: dict[str, Any], times: dict[str, float], show_misses: bool) -> None:
    cells = result["cells"]
    print(f"\n== {split} ==")
    print(f"{'category':22} {'lang':9} {'recall':>14} {'false alarms':>14}")
    for key in sorted(cells, key=lambda k: (k[0] == "*", k[0], k[1] != "*", k[1])):
        em, caught, benign, alarms = cells[key]
        if key[1] != "*" and key[0] != "*":
            continue
        print(f"{key[0]:22} {key[1]:9} {pct(caught, em):>14} {pct(alarms, benign):>14}")
    em, caught, benign, alarms = cells[("*", "*")]
    self_harm = cells[("self_harm", "*")]
    print(
        f"TOTAL recall {pct(caught, em)}, false alarms {pct(alarms, benign)}, "
        f"self-harm misses {self_harm[0] - self_harm[1]}; "
        f"time per message median {times['median_ms']:.3f} ms, p95 {times['p95_ms']:.3f} ms, "
        f"first pass median {times['first_pass_median_ms']:.3f} ms "
        f"(mean {times['mean_chars']:.0f} chars); 100,000 chars: {times['ms_100k_chars']:.0f} ms"
    )
    if result["take_backs"]:
        print(
            f"conversations whose emergency a later turn takes back: {result['take_backs']}, "
            f"routed again after it: {len(result['turn_alarms'])}"
        )
    if result["early"]:
        print(f"emergency conversations routed on a turn before the emergency was complete: {len(result['early'])}")
    if show_misses:
        for row in result["turn_alarms"]:
            print(f"  AGAIN {row['id']:7} {row['category']:20} {row['turns']}")
        for row in result["early"]:
            print(f"  EARLY {row['id']:7} {row['category']:20} {row['turns']}")
        for row in result["misses"]:
            print(f"  MISS  {row['id']:7} {row['category']:20} {row.get('text') or row.get('turns')}")
        for row, got in result["alarms"]:
            print(f"  ALARM {row['id']:7} {got:20} [{row['category']}] {row.get('text') or row.get('turns')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", choices=["dev", "test", "all"], default="all")
    parser.add_argument("--file", action="append", default=[], help="a set kept outside the repository (repeat)")
    parser.add_argument("--misses", action="store_true", help="list every miss and false alarm")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--rules-only", action="store_true", help="the rules without the learned second opinion")
    parser.add_argument("--model", help="the rules with these weights instead of the shipped ones")
    args = parser.parse_args()
    if args.rules_only:
        triage = Triage.rules_only()
    elif args.model:
        triage = Triage(_shipped_data(), TriageModel.load(Path(args.model).read_bytes()))
    else:
        triage = Triage.shipped()
    splits = args.file or (["dev", "test"] if args.split == "all" else [args.split])
    out = {}
    for split in splits:
        rows = load(split)
        result = evaluate(triage, rows)
        times = timing(triage, rows)
        if args.json:
            em, caught, benign, alarms = result["cells"][("*", "*")]
            out[split] = {"recall": caught / em, "false_alarms": alarms / benign, **times}
        else:
            report(split, result, times, args.misses)
    if args.json:
        print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
