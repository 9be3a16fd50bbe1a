"""A learned second opinion beside the triage rules: logistic regression over hashed n-grams.

The rules (``bots/triage.py``) read concepts, negation and framing; each new writer still
finds phrasings no lexicon holds ("rage dastamo zadam", "look after mum for me"). A linear
model over character n-grams of the folded text generalizes across spellings where the
rules cannot, and the rules clear framed look-alikes the model cannot. Measured on sets
never trained on (docs/evaluation.md), the two together beat either:

- the model may **add** an emergency the rules missed when its score is at least ``add``,
  or a self-harm hit when its self-harm score is at least ``add_self_harm`` (lower: a missed
  crisis costs more than a crisis-line message sent to someone who did not need it);
- the model may **veto** a rule hit when its score is below ``veto``, except for the
  categories in ``never_vetoed`` (self-harm, not breathing): those the rules always keep;
  and never in a message longer than ``veto_max_words`` (a long text dilutes the n-grams).

Features: the text folded as triage folds it (``triage_words.fold``), cut into words;
character 2- to 5-grams of each word padded with spaces, the words, and word bigrams;
hashed with CRC-32 (stable across runs, machines and Python versions, unlike ``hash``)
into ``2**bits`` buckets; counts L2-normalized. Weights and thresholds are trained by
``scripts/train_triage_classifier.py`` (scikit-learn, training only) and shipped in
``bots/data/triage_model.npz``; inference is pure Python, linear in the text's length.
"""

from __future__ import annotations

import io
import math
import unicodedata
import zlib
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib.resources import files
from itertools import pairwise

import numpy as np

from bots import keyboard_layout
from bots import triage_words as words

NGRAMS = (2, 3, 4, 5)


@lru_cache(maxsize=65536)
def _word_hashes(token: str, bits: int) -> tuple[int, ...]:
    """A word's buckets: its padded character n-grams and the word itself (words recur: cached)."""
    mask = (1 << bits) - 1
    padded = f" {token} "
    grams = [("c" + padded[i : i + n]) for n in NGRAMS for i in range(len(padded) - n + 1)]
    grams.append("w" + token)
    if token.isascii() and token.isalpha() and len(token) >= 3:
        # Finglish typed on a phone drops vowels and spells letters at will ("qrsa", "ghorsa",
        # "nfsm", "nafasam"): its consonant skeleton, after the spelling fold, is one word for all
        bones = words.skeleton(words.fi_spelling(token))
        grams.append("s" + bones)
        grams.extend("k" + bones[i : i + 3] for i in range(len(bones) - 2))
    return tuple(zlib.crc32(g.encode()) & mask for g in grams)


@lru_cache(maxsize=65536)
def _bigram_hash(a: str, b: str, bits: int) -> int:
    return zlib.crc32(("b" + a + " " + b).encode()) & ((1 << bits) - 1)


def _hashes(text: str, bits: int) -> list[int]:
    """The buckets of the folded text's n-grams, words and word bigrams, each as often as it occurs."""
    tokens = words.TOKEN.findall(words.fold(unicodedata.normalize("NFKC", keyboard_layout.restored(text))))
    found = [h for token in tokens for h in _word_hashes(token, bits)]
    found.extend(_bigram_hash(a, b, bits) for a, b in pairwise(tokens))
    return found


def features(text: str, bits: int) -> dict[int, float]:
    """Hashed n-gram counts of the folded text, L2-normalized."""
    counts: dict[int, float] = {}
    for h in _hashes(text, bits):
        counts[h] = counts.get(h, 0.0) + 1.0
    norm = math.sqrt(sum(v * v for v in counts.values())) or 1.0
    return {k: v / norm for k, v in counts.items()}


@dataclass(frozen=True)
class TriageModel:
    bits: int
    # Rows: "an emergency of any category", "self-harm" (a hit the model adds then goes to the crisis line).
    weights: np.ndarray  # shape (2, 2**bits)
    bias: np.ndarray  # shape (2,)
    add: float  # the model adds a hit the rules missed at this score or above
    veto: float  # and drops a rule hit below this score (never one of never_vetoed)
    never_vetoed: frozenset[str]
    veto_max_words: int = 80  # longer messages: no veto (their n-grams are diluted)
    # shorter ones neither: three words give the n-grams too little to overrule the rules' reading
    # ("bachem vitex khord!!", "mamanam sekte kard!"); on dev this drops no false alarm
    veto_min_words: int = 4
    # The self-harm head alone adds a crisis hit at this score or above (safety-weighted: lower
    # than ``add``; above 1, never).
    add_self_harm: float = 1.01
    # ... where the emergency head scores at least this: a short text can lean on one n-gram the
    # crisis material shares ("I have a runny nose")
    self_harm_floor: float = 0.0
    # ... unless the self-harm head is this sure: a farewell of apologies and thanks ("tell Marie
    # I did love her") can read as calm to the emergency head (above 1, never)
    self_harm_sure: float = 1.01

    def adds(self, emergency: float, self_harm: float) -> bool:
        """Whether these scores add a hit the rules missed."""
        return emergency >= self.add or (
            self_harm >= self.add_self_harm and (emergency >= self.self_harm_floor or self_harm >= self.self_harm_sure)
        )

    def scores(self, text: str) -> tuple[float, float]:
        """P(emergency), P(self-harm) for a text."""
        # features(), counted by numpy: the same vector, without a Python loop over the n-grams
        index, counts = np.unique(np.array(_hashes(text, self.bits), dtype=np.int64), return_counts=True)
        values = counts.astype(np.float64)
        values /= math.sqrt(float(values @ values)) or 1.0
        z = np.clip(self.weights[:, index] @ values + self.bias, -60.0, 60.0)
        emergency, self_harm = (1.0 / (1.0 + np.exp(-z))).tolist()
        return emergency, self_harm

    @classmethod
    def load(cls, data: bytes) -> TriageModel:
        with np.load(io.BytesIO(data)) as npz:
            return cls(
                bits=int(npz["bits"]),
                weights=np.stack([npz["emergency"], npz["self_harm"]]).astype(np.float64),
                bias=np.array([float(npz["emergency_bias"]), float(npz["self_harm_bias"])]),
                add=float(npz["add"]),
                veto=float(npz["veto"]),
                never_vetoed=frozenset(str(s) for s in npz["never_vetoed"]),
                add_self_harm=float(npz["add_self_harm"]) if "add_self_harm" in npz.files else 1.01,
                self_harm_floor=float(npz["self_harm_floor"]) if "self_harm_floor" in npz.files else 0.0,
                self_harm_sure=float(npz["self_harm_sure"]) if "self_harm_sure" in npz.files else 1.01,
            )

    @classmethod
    @cache
    def shipped(cls) -> TriageModel:
        return cls.load(files("bots").joinpath("data/triage_model.npz").read_bytes())
