"""Train the triage's learned second opinion (bots/triage_model.py) and ship its weights.

    .venv/bin/pip install scikit-learn   # training only (the `train` extra); inference needs numpy alone
    .venv/bin/python scripts/train_triage_classifier.py [--data SET.jsonl ...] [--out PATH]

Trains on the dev split and tests/data/triage_train.jsonl (self-harm material written for
training by writers R3 and S3 from the same brief), never on the test split or a held-out
set: two logistic regressions (an emergency of any category; self-harm) over the hashed
n-grams of ``bots.triage_model.features``. A conversation whose writer labeled every turn
gives one row per turn, as the bot reads it after that turn (the last turns together, the rules'
decision then, the right decision then: an alarm a later turn takes back is an emergency when
said, a build-up's first turn is none); see ``samples``. Its thresholds are picked on those rows from
out-of-writer scores (five folds, each writer's rows in one fold: a held-out set is a new
writer) next to the shipped rules' own verdicts:

- ``add``: the lowest score at which "rules OR model" raises dev's false alarms by at most
  ``ADD_BUDGET`` (one and a half points) over the rules alone;
- ``add_self_harm``: the self-harm head alone, safety-weighted (a miss can cost a life, a
  false alarm sends a crisis-line message): the lowest score at which it raises dev's false
  alarms by at most ``SH_BUDGET`` (two more points) over the rules with ``add``, the whole
  under 10%; and only where the emergency head scores at least ``self_harm_floor`` (the
  highest that drops at most 0.1% of the crises out-of-writer);
- ``veto``: the highest score below which dropping a rule hit (never self-harm or not
  breathing) loses at most 0.1% of dev's emergencies.

Then the project's own regression phrases hold them back: no emergency of
tests/data/red_flags.tsv that the model may veto may score below ``veto``, and no look-alike there (nor the vague
messages of GUARD_LOOKALIKES, which the medical bot's tests expect to reach the model, nor the
medical fine-tuning set's messages whose reply is no emergency) may score at ``add`` or above
(nor at ``add_self_harm`` on the self-harm head). A look-alike whose terms the rules read as
said absent is exempt: the model adds nothing there (``Triage.denies``). These phrases are never
trained on.

Writes ``bots/data/triage_model.npz`` (weights as float32, thresholds, hash width).
Run it again after folding a new writer's set into dev, or after a change to the rules.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from scipy.sparse import csr_matrix  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import StratifiedGroupKFold  # noqa: E402

from bots.triage import Triage  # noqa: E402
from bots.triage_model import features  # noqa: E402

BITS = 18
C = 4.0
MAX_ALARMS = 0.10  # the project's bar on false alarms
NEVER_VETOED = ("self_harm", "not_breathing")
# The false alarms the model may add over the rules, out-of-writer: the emergency head one and a
# half points, the self-harm head two more. Fresh writers' sets met the 10% bar with room to
# spare (0-9%, about 3.5% on average) while one missed crisis or build-up failed a set (B10 to
# E10: three of four missed a self-harm hint at the budgets of one point each), so the room goes
# to recall.
ADD_BUDGET = 0.015
SH_BUDGET = 0.02
SH_FLOORS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3)
SH_SURE = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.98)
RED_FLAGS = ROOT / "tests" / "data" / "red_flags.tsv"
EMERGENCY_REPLY = "This could be an emergency"
GUARD_LOOKALIKES = [
    "my chest has felt tight since lunch",  # one turn of a two-turn emergency: not yet one
    "my tummy feels odd and I feel weird",  # vague: the model's reply decides
    "bleeding gums and fever",
    "my gums bleed a bit and I have a fever",
    # ("ok the ambulance is here, thanks", a later turn the bot's tests expect to pass, held the
    # self-harm head at 0.45 where out-of-writer picked 0.39: it is a take-back now, which the
    # rules read before the model and a turn only the model reads is never routed on; see
    # test_an_emergency_already_routed_is_not_raised_again_by_an_unrelated_turn)
]


def calm_training_messages() -> list[str]:
    """The user messages of the medical fine-tuning set (training_data/medical) whose reply is
    no emergency: the product's own word that they are not one."""
    out = []
    for name in ("train", "eval"):
        for line in (ROOT / "training_data" / "medical" / f"{name}.jsonl").read_text(encoding="utf-8").splitlines():
            messages = json.loads(line)["messages"] if line.strip() else None
            if messages and not messages[2]["content"].startswith(EMERGENCY_REPLY):
                out.append(messages[1]["content"])
    return out


def load(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def text_of(row: dict[str, Any]) -> str:
    """A conversation is read as the model reads it at run time: its last turns together."""
    return "\n".join(row["turns"][-3:]) if "turns" in row else row["text"]


def matrix(texts: list[str], bits: int = BITS) -> csr_matrix:
    data: list[float] = []
    indices: list[int] = []
    indptr = [0]
    for text in texts:
        f = features(text, bits)
        indices.extend(f.keys())
        data.extend(f.values())
        indptr.append(len(indices))
    return csr_matrix((data, indices, indptr), shape=(len(texts), 1 << bits))


def fit(x: csr_matrix, y: np.ndarray) -> LogisticRegression:
    return LogisticRegression(C=C, max_iter=3000, class_weight="balanced").fit(x, y)


def rules_verdict(triage: Triage, row: dict[str, Any]) -> str | None:
    if "turns" in row:
        hit = None
        for k in range(1, len(row["turns"]) + 1):
            hit = triage.check_conversation(row["turns"][:k]) or hit
        return hit.id if hit else None
    hit = triage.check(row["text"])
    return hit.id if hit else None


def samples(rows: list[dict[str, Any]], rules: Triage) -> list[dict[str, Any]]:
    """What the model is trained and its thresholds picked on: each message, and each turn of a
    conversation whose writer labeled every turn (``turn_labels``) as the bot reads it after that
    turn: the last turns together, the rules' decision then, and the right decision then. An
    alarm a later turn takes back is an emergency when it is said ("دارم خون بالا میارم") and
    a build-up's first turn is none; a conversation labeled only as a whole gives its last turns."""
    out = []
    for row in rows:
        base = {"category": row["category"], "writer": row["id"].split("-")[0]}
        if "turns" not in row:
            verdict = rules_verdict(rules, row)
            out.append(
                {**base, "text": row["text"], "label": row["label"], "verdict": verdict, "recent": [row["text"]]}
            )
            continue
        turns, labels = row["turns"], row.get("turn_labels") or []
        if len(labels) != len(turns):
            recent = turns[-3:]
            verdict = rules_verdict(rules, row)
            out.append({**base, "text": text_of(row), "label": row["label"], "verdict": verdict, "recent": recent})
            continue
        for k in range(1, len(turns) + 1):
            hit = rules.check_conversation(turns[:k])
            recent = turns[max(0, k - 3) : k]
            text = "\n".join(recent)
            out.append(
                {**base, "text": text, "label": labels[k - 1], "verdict": hit.id if hit else None, "recent": recent}
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--data", action="append", default=[], help="training JSONL (repeat); default: dev and the training set"
    )
    parser.add_argument("--out", default=str(ROOT / "bots" / "data" / "triage_model.npz"))
    args = parser.parse_args()
    default = [ROOT / "tests" / "data" / "triage_dev.jsonl", ROOT / "tests" / "data" / "triage_train.jsonl"]
    rules = Triage.rules_only()
    rows = samples([row for path in [Path(p) for p in args.data] or default for row in load(path)], rules)
    x = matrix([r["text"] for r in rows])
    y_em = np.array([r["label"] == "emergency" for r in rows], dtype=int)
    y_sh = np.array([r["label"] == "emergency" and r["category"] == "self_harm" for r in rows], dtype=int)

    verdicts = [r["verdict"] for r in rows]
    hit = np.array([v is not None for v in verdicts])
    # where the rules read more terms said as absent than present, the model adds nothing
    may_add = np.array([not rules.denies(r["recent"]) for r in rows])
    vetoable = np.array([v is not None and v not in NEVER_VETOED for v in verdicts])
    oof, oof_sh = np.zeros(len(rows)), np.zeros(len(rows))
    # Folds by writer: a writer's rows share turns of phrase, so a row's score is read from a
    # model that saw none of its writer's rows, as a held-out set will be scored.
    writers = [r["writer"] for r in rows]
    for train, held in StratifiedGroupKFold(5, shuffle=True, random_state=0).split(x, y_em, writers):
        oof[held] = fit(x[train], y_em[train]).predict_proba(x[held])[:, 1]
        oof_sh[held] = fit(x[train], y_sh[train]).predict_proba(x[held])[:, 1]
    # Thresholds are picked on all the rows, out-of-writer. Not on dev's alone: the rules were
    # tuned on dev, so there the model's additions look nearly free and the picked thresholds
    # fall (add_self_harm 0.46), which new writers' look-alikes then pay for.
    benign, emergency = y_em == 0, y_em == 1
    base = hit[benign].mean()
    added = ((hit | (may_add & (oof >= t)))[benign].mean() - base for t in np.arange(0.30, 0.995, 0.01))
    add = next((round(0.30 + 0.01 * k, 2) for k, cost in enumerate(added) if cost <= ADD_BUDGET), 0.99)
    veto = max(
        (t for t in (0.0, 0.01, 0.02, 0.03, 0.05, 0.08, 0.1, 0.15, 0.2) if (vetoable & (oof < t) & emergency).sum()
         <= 0.001 * emergency.sum()),
        default=0.0,
    )  # fmt: skip
    # Self-harm, safety-weighted: its head alone gets a budget of its own (SH_BUDGET) over the
    # rules with the emergency add, and the whole stays under MAX_ALARMS.
    with_add = hit | (may_add & (oof >= add))
    add_sh = next(
        (
            t
            for t in np.arange(0.30, 0.995, 0.01)
            if (with_add | (may_add & (oof_sh >= t)))[benign].mean() - with_add[benign].mean() <= SH_BUDGET
            and (with_add | (may_add & (oof_sh >= t)))[benign].mean() <= MAX_ALARMS
        ),
        1.01,
    )
    # The self-harm head speaks only where the emergency head does not rule it out: a short text
    # ("I have a runny nose") can lean on one n-gram the crisis material shares ("i have"). The
    # floor is the highest emergency score that costs at most 0.1% of the crises it adds (one
    # that cost 0.1% of all emergencies, 0.3, dropped farewells the emergency head reads as calm:
    # "this is the last time I'll message ... tell whoever reads this I'm sorry" scored 0.99 on
    # self-harm, 0.20 on emergency).
    sh_only = may_add & (oof_sh >= add_sh) & ~with_add
    crises = y_sh == 1
    sh_floor = max((t for t in SH_FLOORS if (sh_only & (oof < t) & crises).sum() <= 0.001 * crises.sum()), default=0.0)
    # ... and past the floor where the self-harm head is this sure: the lowest score at which,
    # out of writer, passing the floor adds no false alarm at all (a farewell of thanks and
    # apologies scored 0.97 on self-harm, 0.07 on emergency)
    below_floor = sh_only & (oof < sh_floor)
    sh_sure = next((round(float(t), 2) for t in SH_SURE if not (below_floor & (oof_sh >= t) & benign).any()), 1.01)

    def flagged_at(veto: float, add: float, add_sh: float) -> np.ndarray:
        """Rules with the model, as TriageModel.adds and the veto read the out-of-writer scores."""
        return (hit & ~(vetoable & (oof < veto))) | (
            may_add & ((oof >= add) | ((oof_sh >= add_sh) & ((oof >= sh_floor) | (oof_sh >= sh_sure))))
        )

    flagged = flagged_at(veto, add, add_sh)
    print(
        f"{len(rows)} rows; add >= {add:.2f}, self-harm add >= {add_sh:.2f} (emergency >= {sh_floor:.2f} "
        f"or self-harm >= {sh_sure:.2f}), "
        f"veto < {veto:.2f} (out-of-writer)"
    )
    for name, f in (("rules alone", hit), ("rules with the model (out-of-writer)", flagged)):
        print(f"  {name:36} recall {f[emergency].mean():.1%}  false alarms {f[benign].mean():.1%}")

    em, sh = fit(x, y_em), fit(x, y_sh)
    guards = [line.split("\t") for line in RED_FLAGS.read_text(encoding="utf-8").splitlines()]
    guards = [g for g in guards if len(g) == 2 and not g[0].startswith("#")]
    # Only a hit the model may veto holds the veto back (self-harm and not breathing never are).
    must_keep = [text for text, flag in guards if flag != "-" and flag not in NEVER_VETOED]
    # a look-alike whose terms are said as absent cannot be added whatever its score
    must_not_add = [text for text, flag in guards if flag == "-" and not rules.denies([text])]
    must_not_add += GUARD_LOOKALIKES + [text for text in calm_training_messages() if not rules.check(text)]
    keep_scores = em.predict_proba(matrix(must_keep))[:, 1]
    lookalike_scores = em.predict_proba(matrix(must_not_add))[:, 1]
    lookalike_sh_raw = sh.predict_proba(matrix(must_not_add))[:, 1]
    lookalike_sh = lookalike_sh_raw * (lookalike_scores >= sh_floor)
    while veto > 0 and (keep_scores < veto).any():
        veto = max((t for t in (0.0, 0.01, 0.02, 0.03, 0.05, 0.08, 0.1, 0.15, 0.2) if t < veto), default=0.0)
    nearest = sorted(zip(lookalike_scores.tolist(), must_not_add, strict=True))[-2:]
    print("  the look-alikes that hold `add` back:", "; ".join(f"{text!r} {score:.2f}" for score, text in nearest))
    while add < 0.99 and (lookalike_scores >= add).any():
        add = round(add + 0.01, 2)
    while add_sh < 1.0 and (lookalike_sh >= add_sh).any():
        add_sh = round(add_sh + 0.01, 2)
    while sh_sure < 1.0 and ((lookalike_sh_raw >= sh_sure) & (lookalike_sh_raw >= add_sh)).any():
        sh_sure = round(sh_sure + 0.01, 2)
    flagged = flagged_at(veto, add, add_sh)
    print(
        f"held back by the regression phrases: add >= {add:.2f}, self-harm add >= {add_sh:.2f} "
        f"(or self-harm >= {sh_sure:.2f}), veto < {veto:.2f}"
    )
    crisis = y_sh == 1
    print(f"  self-harm recall {flagged[crisis].mean():.1%} ({(~flagged & crisis).sum()} missed of {crisis.sum()})")
    print(f"  {'rules with the model (out-of-writer)':36} recall {flagged[emergency].mean():.1%}  "
          f"false alarms {flagged[benign].mean():.1%}")  # fmt: skip
    np.savez_compressed(
        args.out,
        bits=np.array(BITS),
        emergency=em.coef_[0].astype(np.float32),
        emergency_bias=np.array(em.intercept_[0]),
        self_harm=sh.coef_[0].astype(np.float32),
        self_harm_bias=np.array(sh.intercept_[0]),
        add=np.array(round(float(add), 2)),
        add_self_harm=np.array(round(float(add_sh), 2)),
        self_harm_floor=np.array(sh_floor),
        self_harm_sure=np.array(sh_sure),
        veto=np.array(veto),
        never_vetoed=np.array(NEVER_VETOED),
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
