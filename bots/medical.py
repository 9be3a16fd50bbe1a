"""The medical behaviour: emergencies are routed before any model call; one disclaimer per conversation.

Profile options: ``emergency_number`` (e.g. 911, 112, 115) and ``crisis_line``
(a suicide and crisis line, shown for self-harm).
"""

from __future__ import annotations

from importlib.resources import files

import yaml

from bots.red_flags import RedFlags
from core.hooks import GuardReply, PassThrough, Turn

TEXTS = yaml.safe_load(files("bots").joinpath("data/medical.yaml").read_text(encoding="utf-8"))
DISCLAIMER: dict[str, str] = TEXTS["disclaimer"]
ROUTING: dict[str, str] = TEXTS["routing"]
CRISIS: dict[str, str] = TEXTS["crisis"]


class MedicalBot(PassThrough):
    def __init__(self) -> None:
        self.red_flags = RedFlags.shipped()

    def guard(self, turn: Turn) -> GuardReply | None:
        hit = self.red_flags.check(turn.message)
        if hit is None:
            return None
        lang = "fa" if turn.language == "fa" else "en"
        options = turn.profile.options
        text = ROUTING[lang].format(number=options.get("emergency_number", "112"))
        if hit.crisis and options.get("crisis_line"):
            text = f"{text}\n{CRISIS[lang].format(line=options['crisis_line'])}"
        return GuardReply(text=text, reason=f"red flag: {hit.id} ({hit.reason})")

    def finish(self, turn: Turn, reply: str) -> str:
        if not turn.is_new_conversation:
            return reply
        lang = "fa" if turn.language == "fa" else "en"
        if DISCLAIMER[lang] in reply or "not medical advice" in reply.lower():
            return reply
        return f"{reply.rstrip()}\n\n{DISCLAIMER[lang]}"
