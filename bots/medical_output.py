"""The medical bot's net on the model's side: what a reply may not say, whatever the prompt did.

The prompt asks for no doses and no diagnoses, and a model mostly complies; this is the
check for when it does not (defense in depth). Patterns live in
``bots/data/medical_output.yaml``. A reply is read sentence by sentence: a sentence
that gives a dose or a diagnosis is replaced by the referral line, once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

import yaml

from core.language import fold_digits

_SENTENCE = re.compile(r"((?<=[.!?؟])[ \t]+|\n+)")
_ARABIC_LETTERS = str.maketrans({"ي": "ی", "ك": "ک", "\u200c": " "})


@dataclass(frozen=True)
class Checked:
    text: str
    emergency: bool  # the reply opens with the emergency disposition
    removed: tuple[str, ...]  # why sentences were replaced ("dose", "diagnosis")


def _compile(patterns: list[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


class OutputCheck:
    def __init__(self, data: dict) -> None:
        self._emergency = _compile([*data["emergency_opening"]["en"], *data["emergency_opening"]["fa"]])
        self._amount = re.compile(data["dose"]["amount"], re.IGNORECASE)
        self._dose_context = _compile(data["dose"]["context"])
        self._diagnosis = _compile([*data["diagnosis"]["en"], *data["diagnosis"]["fa"]])

    @classmethod
    @cache
    def shipped(cls) -> OutputCheck:
        return cls(yaml.safe_load(files("bots").joinpath("data/medical_output.yaml").read_text(encoding="utf-8")))

    @staticmethod
    def _plain(text: str) -> str:
        return fold_digits(text).translate(_ARABIC_LETTERS)

    def opens_with_emergency(self, reply: str) -> bool:
        first = self._plain(reply).lstrip().split("\n", 1)[0]
        return bool(self._emergency.search(first))

    def why_not(self, sentence: str) -> str | None:
        plain = self._plain(sentence)
        if self._amount.search(plain) and self._dose_context.search(plain):
            return "dose"
        if self._diagnosis.search(plain):
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
