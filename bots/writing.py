"""The writing behaviour: modes a writer uses, style presets, long drafts within budget.

A leading command picks the mode for the turn: /continue, /rewrite [STYLE],
/ideas, /critique (anything else is a plain request). /style STYLE and
/length short|medium|long change the conversation's settings, which it keeps.
Profile option ``draft_tokens`` (default 1500) bounds how much draft is sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

import yaml

from core.hooks import GuardReply, PassThrough, Turn
from core.tokens import tokenizer_for


@cache
def _settings() -> dict[str, Any]:
    return yaml.safe_load(files("bots").joinpath("data/writing.yaml").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Command:
    mode: str
    text: str
    style: str | None = None


def parse(message: str) -> Command | GuardReply:
    """The command at the start of a message; a GuardReply for settings and mistakes."""
    data = _settings()
    stripped = message.strip()
    if not stripped.startswith("/"):
        return Command(data["default_mode"], stripped)
    word, _, rest = stripped[1:].partition(" ")
    word, rest = word.lower(), rest.strip()
    styles = data["styles"]
    if word in ("style", "length"):
        return GuardReply(text="", reason=f"{word} {rest}")  # applied by guard(), which has the turn
    if word == "rewrite":
        first, _, remainder = rest.partition(" ")
        if first.lower() in styles:
            return Command("rewrite", remainder.strip(), style=first.lower())
        return Command("rewrite", rest)
    if word in data["modes"] and word != "chat":
        return Command(word, rest)
    text = data["replies"]["unknown_command"].format(word=word)
    return GuardReply(text=text, reason="unknown command")


def trim_draft(draft: str, budget: int, model: str) -> str:
    """The draft's latest part that fits ``budget`` tokens, after one line saying what was left out."""
    tokenizer = tokenizer_for(model)
    if tokenizer.count(draft) <= budget:
        return draft
    paragraphs = draft.split("\n")
    kept: list[str] = []
    used = 0
    for paragraph in reversed(paragraphs):
        cost = tokenizer.count(paragraph + "\n")
        if used + cost > budget:
            break
        kept.insert(0, paragraph)
        used += cost
    if not kept:  # one huge paragraph: keep its tail, cut at a sentence start
        tokens = tokenizer.encoding.encode_ordinary(draft)
        tail = tokenizer.encoding.decode(tokens[-budget:])
        kept = [tail[tail.find(". ") + 2 :] if ". " in tail[:200] else tail]
    omitted = draft[: len(draft) - len("\n".join(kept))]
    opening = " ".join(omitted.split()[:20])
    summary = f"[Earlier part of the draft left out: {len(omitted.split())} words, opening «{opening}…»]"
    body = "\n".join(kept)
    return f"{summary}\n{body}"


class WritingBot(PassThrough):
    def reply_checks(self, message: str, reply: str, guard_reason: str | None, reference: str) -> dict[str, bool]:
        """What `domainbots eval` asserts of a reply (core.evaluation.ReplyChecks): a rewrite
        keeps about the draft's length and changes it; other modes keep to the default length."""
        parsed = parse(message)
        if not isinstance(parsed, Command) or guard_reason is not None:
            return {}
        words = len(reply.split())
        if parsed.mode == "rewrite":
            draft = len(parsed.text.split())
            return {
                "length honored": draft / 2 <= words <= max(3 * draft, draft + 40),
                "draft rewritten, not echoed": " ".join(reply.split()) != " ".join(parsed.text.split()),
            }
        data = _settings()
        # a length the writer names ("a 1,000-word story") wins over the default ("about 250 words")
        named = re.search(r"(\d[\d,]*)[\s-]*words?", parsed.text) or re.search(
            r"\d+", data["lengths"][data["default_length"]]
        )
        target = int(named.group(1 if named.re.groups else 0).replace(",", "")) if named else None
        return {"length honored": target is None or words <= 2 * target}

    def guard(self, turn: Turn) -> GuardReply | None:
        parsed = parse(turn.message)
        if isinstance(parsed, Command):
            if not parsed.text and parsed.mode != "ideas":
                text = _settings()["replies"]["empty_command"].format(mode=parsed.mode)
                return GuardReply(text=text, reason="empty command")
            turn.notes["command"] = parsed
            return None
        if parsed.reason == "unknown command":
            return parsed
        setting, _, value = parsed.reason.partition(" ")
        data = _settings()
        choices = data["styles"] if setting == "style" else data["lengths"]
        value = value.lower()
        if value not in choices:
            text = data["replies"]["unknown_setting"].format(setting=setting, value=value, choices=", ".join(choices))
            return GuardReply(text=text, reason=f"unknown {setting}")
        turn.state[setting] = value
        shown = choices[value]["label"] if setting == "style" else choices[value]
        text = data["replies"]["setting_changed"].format(setting=setting, shown=shown)
        return GuardReply(text=text, reason=f"set {setting}")

    def prepare(self, turn: Turn) -> None:
        data = _settings()
        command: Command = turn.notes["command"]
        if command.style:
            turn.state["style"] = command.style  # a style chosen by /rewrite is kept too
        style_name = turn.state.get("style", data["default_style"])
        length_name = turn.state.get("length", data["default_length"])
        style = data["styles"][style_name]
        budget = int(turn.profile.options.get("draft_tokens", 1500))
        assert turn.config.model is not None
        draft = trim_draft(command.text, budget, turn.config.model) if command.text else ""
        instruction = data["modes"][command.mode]
        turn.context.append(
            f"Style: {style['label']} ({'; '.join(style['traits'])}). Length: {data['lengths'][length_name]}."
        )
        # The instruction always comes first and whole; only the draft is ever trimmed.
        turn.prompt_message = f"{instruction}\n\n{draft}".strip() if command.mode != "chat" else draft
