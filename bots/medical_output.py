"""The medical bot's net on the model's side: what a reply may not say, whatever the prompt did.

The prompt asks for no doses and no diagnoses, and a model mostly complies; this is the
check for when it does not (defense in depth). Cues and a condition lexicon live in
``bots/data/medical_output.yaml``. A reply is read sentence by sentence:
- a **dose** is an amount of a medicine (a number with a unit or dose form, or a drug's
  strength) with an instruction to take or give it, unless the sentence sends the user to
  a pharmacist or the label;
- a **diagnosis** is a named condition asserted about the user ("you have", "this is",
  "اگزماست"), unless the sentence only relates it ("can be associated with", "if you have"),
  and no firm word ("most likely") says otherwise;
- an **emergency** reply's first sentence sends the user to emergency services now.
A sentence that gives a dose or a diagnosis is replaced by the referral line, once.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

import yaml

from core.language import fold_digits

_SENTENCE = re.compile(r"((?<=[.!?؟؛])[ \t]+|\n+)")
_FOLD = str.maketrans({"ي": "ی", "ك": "ک", "\u200c": " ", "\u2019": "'", "أ": "ا", "آ": "آ", "ۀ": "ه", "ة": "ه"})
_HARAKAT = re.compile("[\u064b-\u0652\u0640]")
_WHAT = re.compile(r"\s*(?:of\s+|از\s+)?(\S+)")


@dataclass(frozen=True)
class Checked:
    text: str
    emergency: bool  # the reply opens by sending the user to emergency services
    removed: tuple[str, ...]  # why sentences were replaced ("dose", "diagnosis")


def _any(patterns: list[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


def fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    return _HARAKAT.sub("", fold_digits(text).translate(_FOLD)).lower()


class OutputCheck:
    def __init__(self, data: dict[str, Any]) -> None:
        emergency = data["emergency"]
        self._call, self._service = _any(emergency["call"]), _any(emergency["service"])
        self._opening = _any(emergency["opening"])
        dose = data["dose"]
        self._amount = _any(dose["amount"])
        self._instruction = _any(dose["instruction"])
        self._dose_hedge = _any(dose["hedge"])
        self._not_medicine = _any(dose["not_medicine"])
        diagnosis = data["diagnosis"]
        self._assert = _any(diagnosis["assert"])
        self._copula = re.compile(diagnosis["copula"])
        self._before = re.compile(diagnosis["before"])
        self._hedge = _any(diagnosis["hedge"])
        self._firm = _any(diagnosis["firm"])
        names = sorted({fold(str(c)) for lang in diagnosis["conditions"].values() for c in lang}, key=len, reverse=True)
        self._conditions = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(n) for n in names) + r")")

    @classmethod
    @cache
    def shipped(cls) -> OutputCheck:
        return cls(yaml.safe_load(files("bots").joinpath("data/medical_output.yaml").read_text(encoding="utf-8")))

    def opens_with_emergency(self, reply: str) -> bool:
        first = _SENTENCE.split(fold(reply).strip(), maxsplit=1)[0]
        return bool(self._opening.search(first) or (self._call.search(first) and self._service.search(first)))

    def _gives_dose(self, plain: str) -> bool:
        if not self._instruction.search(plain) or self._dose_hedge.search(plain):
            return False
        for amount in self._amount.finditer(plain):
            # what the amount is of: the next word, past "of" / "از" ("30 g of fibre" is food)
            what = _WHAT.match(plain, amount.end())
            if what is None or not self._not_medicine.fullmatch(what.group(1)):
                return True
        return False

    def _diagnoses(self, plain: str) -> bool:
        for condition in self._conditions.finditer(plain):
            rest = plain[condition.end() :]
            glued = self._copula.match(rest) is not None or self._before.search(plain[: condition.start()])
            if (glued or self._assert.search(plain)) and (self._firm.search(plain) or not self._hedge.search(plain)):
                return True
        return False

    def why_not(self, sentence: str) -> str | None:
        plain = fold(sentence)
        if self._gives_dose(plain):
            return "dose"
        if self._diagnoses(plain):
            return "diagnosis"
        return None

    def check(self, reply: str, referral: str) -> Checked:
        pieces = _SENTENCE.split(reply)  # sentence, separator, sentence, ...
        out: list[str] = []
        removed: list[str] = []
        for i in range(0, len(pieces), 2):
            sentence, gap = pieces[i], pieces[i + 1] if i + 1 < len(pieces) else ""
            why = self.why_not(sentence) if sentence.strip() else None
            if why is not None:
                sentence = "" if removed else referral
                gap = gap if sentence or "\n" in gap else ""
                removed.append(why)
            out.append(sentence + gap)
        text = "".join(out).strip() if removed else reply
        return Checked(text, self.opens_with_emergency(reply), tuple(removed))
