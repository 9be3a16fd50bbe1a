"""Deterministic emergency detection over the rules in ``bots/data/red_flags.yaml``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

import yaml

from core.language import normalize


@dataclass(frozen=True)
class Flag:
    id: str
    reason: str
    crisis: bool
    groups: tuple[re.Pattern[str], ...]  # every group must match


@dataclass(frozen=True)
class Hit:
    id: str
    reason: str
    crisis: bool


def _alternation(patterns: list[str]) -> str:
    return "|".join(f"(?:{p})" for p in patterns)


class RedFlags:
    def __init__(self, rules: dict[str, Any]) -> None:
        self._negation_en = {w.lower() for w in rules["negation"]["en"]}
        self._negation_fa = re.compile(r"(?:^|\s)(?:" + _alternation(rules["negation"]["fa"]) + r")(?=\s|$)")
        history = [*rules["history"]["en"], *rules["history"]["fa"]]
        self._history = re.compile(_alternation([re.escape(h) for h in history]))
        breaks = [*rules["clause_breaks"]["en"], *rules["clause_breaks"]["fa"]]
        self._breaks = re.compile(r"[.!?;,،؛؟\n]+|\s(?:" + _alternation(breaks) + r")\s")
        self.flags = [
            Flag(
                id=flag["id"],
                reason=flag["reason"],
                crisis=bool(flag.get("crisis", False)),
                groups=tuple(
                    re.compile(_alternation([*group.get("en", []), *group.get("fa", [])])) for group in flag["all"]
                ),
            )
            for flag in rules["flags"]
        ]

    @classmethod
    @cache
    def shipped(cls) -> RedFlags:
        return cls(yaml.safe_load(files("bots").joinpath("data/red_flags.yaml").read_text(encoding="utf-8")))

    def _clauses(self, text: str) -> list[str]:
        text = normalize(text).replace("\u200c", " ").lower()
        text = re.sub(r"[ \t]+", " ", text)
        return [c.strip() for c in self._breaks.split(f" {text} ") if c and c.strip()]

    def _negated(self, clause: str, start: int) -> bool:
        before = re.findall(r"[\w']+", clause[:start])[-3:]
        if any(word in self._negation_en for word in before):
            return True
        return bool(self._negation_fa.search(clause))

    def _live_match(self, pattern: re.Pattern[str], clauses: list[str]) -> bool:
        for clause in clauses:
            if self._history.search(clause):
                continue
            for match in pattern.finditer(clause):
                if not self._negated(clause, match.start()):
                    return True
        return False

    def check(self, text: str) -> Hit | None:
        clauses = self._clauses(text)
        for flag in self.flags:
            if all(self._live_match(group, clauses) for group in flag.groups):
                return Hit(flag.id, flag.reason, flag.crisis)
        return None
