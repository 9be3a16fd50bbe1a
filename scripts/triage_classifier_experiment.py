"""Experiment: a learned second opinion beside the triage rules.

    .venv/bin/pip install scikit-learn   # training only; the rules never need it
    .venv/bin/python scripts/triage_classifier_experiment.py --unseen A.jsonl [--unseen B.jsonl ...]

Trains a logistic regression over the hashed n-grams of bots.triage_model.features
(character 2-5-grams inside word boundaries, words and word bigrams of the folded text) on
tests/data/triage_dev.jsonl only, then reports, on each unseen set, recall, false alarms
and self-harm misses for the rules alone and for the rules OR the classifier in several
variants (any emergency at a threshold, or only adding self-harm). The thresholds are
picked on dev alone (out-of-fold scores, five folds): the unseen sets are measured, never
used to pick anything. The sweep over thresholds on the unseen sets is printed too, for
reading, not for choosing. Measure a fresh set here BEFORE folding it into dev (after, the
model has trained on it). The shipped combination and its thresholds are made by
scripts/train_triage_classifier.py; docs/evaluation.md has the figures.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from scipy.sparse import csr_matrix  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import StratifiedKFold  # noqa: E402

from bots.triage import Triage  # noqa: E402

sys.path.insert(0, str(ROOT / "scripts"))
# one featurizing and one rules verdict for training and for this experiment
from train_triage_classifier import load, matrix, rules_verdict  # noqa: E402

DEV = ROOT / "tests" / "data" / "triage_dev.jsonl"


def texts_of(row: dict[str, Any]) -> list[str]:
    """What the classifier reads: the message, or each prefix of a conversation's last turns
    (as the bot reads a conversation turn by turn)."""
    if "text" in row:
        return [row["text"]]
    turns = row["turns"]
    return [" \n ".join(turns[max(0, k - 3) : k]) for k in range(1, len(turns) + 1)]


def fit(x: csr_matrix, y: np.ndarray, c: float) -> LogisticRegression:
    return LogisticRegression(C=c, max_iter=2000, class_weight="balanced").fit(x, y)


def score_rows(model: LogisticRegression, rows: list[dict[str, Any]]) -> np.ndarray:
    """A row's score: the highest over what the classifier reads of it."""
    out = []
    for row in rows:
        out.append(float(model.predict_proba(matrix(texts_of(row)))[:, 1].max()))
    return np.array(out)


def figures(rows: list[dict[str, Any]], flagged: list[bool]) -> tuple[int, int, int, int, int]:
    em = [f for r, f in zip(rows, flagged, strict=True) if r["label"] == "emergency"]
    benign = [f for r, f in zip(rows, flagged, strict=True) if r["label"] != "emergency"]
    sh = [f for r, f in zip(rows, flagged, strict=True) if r["label"] == "emergency" and r["category"] == "self_harm"]
    return sum(em), len(em), sum(benign), len(benign), len(sh) - sum(sh)


def line(name: str, rows: list[dict[str, Any]], flagged: list[bool]) -> str:
    caught, em, alarms, benign, sh_missed = figures(rows, flagged)
    return (
        f"  {name:44} recall {caught}/{em} ({100 * caught / em:.1f}%)  "
        f"false alarms {alarms}/{benign} ({100 * alarms / benign:.1f}%)  self-harm missed {sh_missed}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--unseen", action="append", required=True)
    parser.add_argument("--c", type=float, default=4.0)
    args = parser.parse_args()
    triage = Triage.rules_only()
    dev = load(DEV)
    # training examples: one per row (a conversation as its turns read together)
    train_texts = [" \n ".join(r["turns"][-3:]) if "turns" in r else r["text"] for r in dev]
    x = matrix(train_texts)
    y_em = np.array([r["label"] == "emergency" for r in dev], dtype=int)
    y_sh = np.array([r["label"] == "emergency" and r["category"] == "self_harm" for r in dev], dtype=int)

    # Thresholds from dev alone: out-of-fold scores, then the lowest threshold whose OR with the
    # rules adds at most 1 point of false alarms on dev's look-alikes.
    dev_rules = [rules_verdict(triage, r) is not None for r in dev]
    oof = {"em": np.zeros(len(dev)), "sh": np.zeros(len(dev))}
    for train, held in StratifiedKFold(5, shuffle=True, random_state=0).split(x, y_em):
        for name, y in (("em", y_em), ("sh", y_sh)):
            model = fit(x[train], y[train], args.c)
            oof[name][held] = model.predict_proba(x[held])[:, 1]
    benign = np.array([r["label"] != "emergency" for r in dev])
    base_alarms = np.array(dev_rules)[benign].mean()
    picked = {}
    for name in ("em", "sh"):
        for t in np.arange(0.30, 0.99, 0.01):
            alarms = (np.array(dev_rules) | (oof[name] >= t))[benign].mean()
            if alarms - base_alarms <= 0.01:
                picked[name] = round(float(t), 2)
                break
        else:
            picked[name] = 0.99
    print(f"dev: {len(dev)} rows; thresholds picked on dev out-of-fold (<= +1 pt alarms): {picked}")
    print(line("dev rules alone", dev, dev_rules))
    for name in ("em", "sh"):
        print(
            line(
                f"dev rules OR clf[{name}]>={picked[name]} (out-of-fold)",
                dev,
                list(np.array(dev_rules) | (oof[name] >= picked[name])),
            )
        )

    # a third variant: the rules' own framing as a veto (history, hypothetical, lesson, fiction,
    # joke, mild...): the classifier may add only a message the rules did not frame
    def framed(row: dict[str, Any]) -> bool:
        return bool(triage.analyse([texts_of(row)[-1]]).framed)

    dev_framed = np.array([framed(r) for r in dev])
    for t in np.arange(0.30, 0.99, 0.01):
        alarms = (np.array(dev_rules) | ((oof["em"] >= t) & ~dev_framed))[benign].mean()
        if alarms - base_alarms <= 0.01:
            picked["unframed"] = round(float(t), 2)
            break
    # and a veto the other way: a rule hit the classifier finds very unlikely is dropped
    # (never self-harm or not breathing); its threshold: the highest that loses no dev emergency
    # (out-of-fold)
    is_em = ~benign
    kept_ids = {"self_harm", "not_breathing"}
    dev_ids = [rules_verdict(triage, r) for r in dev]
    picked["veto"] = 0.0
    for t in (0.01, 0.02, 0.03, 0.05, 0.08, 0.1, 0.15, 0.2):
        vetoed = np.array([h is not None and h not in kept_ids for h in dev_ids]) & (oof["em"] < t)
        if (vetoed & is_em).sum() <= 2:
            picked["veto"] = t
    print("picked on dev:", picked)

    models = {name: fit(x, y, args.c) for name, y in (("em", y_em), ("sh", y_sh))}
    pooled: dict[str, list[tuple[dict[str, Any], bool]]] = {}
    for path in args.unseen:
        rows = load(Path(path))
        rules = [rules_verdict(triage, r) for r in rows]
        base = np.array([r is not None for r in rules])
        s_em, s_sh = score_rows(models["em"], rows), score_rows(models["sh"], rows)
        unframed = ~np.array([framed(r) for r in rows])
        vetoed = np.array([h is not None and h not in kept_ids for h in rules]) & (s_em < picked["veto"])
        variants = {
            "rules alone": base,
            "classifier alone (em >= 0.5)": s_em >= 0.5,
            f"rules OR clf(em >= {picked['em']})": base | (s_em >= picked["em"]),
            f"rules OR clf(sh >= {picked['sh']}, self-harm only)": base | (s_sh >= picked["sh"]),
            f"rules OR clf(em >= {picked['unframed']}, unframed)": base | ((s_em >= picked["unframed"]) & unframed),
            f"rules OR clf(em >= {picked['em']}), veto < {picked['veto']}": (base & ~vetoed) | (s_em >= picked["em"]),
            "rules OR clf(unframed), veto": (base & ~vetoed) | ((s_em >= picked["unframed"]) & unframed),
        }
        for t in (0.8, 0.9):
            variants[f"  sweep (not for choosing): em >= {t}"] = base | (s_em >= t)
        print(f"\n== {Path(path).name} ==")
        for name, flagged in variants.items():
            print(line(name, rows, list(flagged)))
            pooled.setdefault(name, []).extend(zip(rows, list(flagged), strict=True))
    print("\n== pooled ==")
    for name, pairs in pooled.items():
        print(line(name, [p[0] for p in pairs], [bool(p[1]) for p in pairs]))


if __name__ == "__main__":
    main()
