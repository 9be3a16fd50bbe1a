"""The writing bot: modes, styles a conversation keeps, long drafts within budget."""

from __future__ import annotations

import pytest

from bots.writing import Command, parse, trim_draft
from core.engine import GuardedTurn, TurnRequest
from core.hooks import GuardReply
from core.tokens import tokenizer_for
from tests.fakeopenai import FakeOpenAI


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("help me name my cat", Command("chat", "help me name my cat")),
        ("/continue It was raining.", Command("continue", "It was raining.")),
        ("/rewrite noir The cat sat.", Command("rewrite", "The cat sat.", style="noir")),
        ("/rewrite The cat sat.", Command("rewrite", "The cat sat.")),
        ("/ideas a lighthouse keeper", Command("ideas", "a lighthouse keeper")),
        ("/CRITIQUE My draft.", Command("critique", "My draft.")),
    ],
)
def test_commands(message: str, expected: Command) -> None:
    assert parse(message) == expected


def test_unknown_commands_answer_with_the_list() -> None:
    reply = parse("/poem roses")
    assert isinstance(reply, GuardReply)
    assert "/continue, /rewrite [style]" in reply.text


def test_a_long_draft_keeps_its_latest_part_and_says_what_was_left_out() -> None:
    paragraphs = [f"Paragraph {i}: " + "the rain kept falling on the town " * 12 for i in range(60)]
    draft = "\n".join(paragraphs)
    trimmed = trim_draft(draft, 400, "gpt-4o-mini")
    first, _, body = trimmed.partition("\n")
    assert first.startswith("[Earlier part of the draft left out: ")
    assert "opening «Paragraph 0:" in first
    assert body.endswith(paragraphs[-1])
    assert tokenizer_for("gpt-4o-mini").count(body) <= 400
    assert trim_draft("short draft", 400, "gpt-4o-mini") == "short draft"


pytestmark = pytest.mark.anyio


async def test_a_conversation_keeps_its_style_and_length(cli_env: dict, fake: FakeOpenAI, load_runtime) -> None:
    engine = load_runtime().engine()
    set_style = await engine.turn(TurnRequest(bot="writing", message="/style noir"))
    assert isinstance(set_style, GuardedTurn)  # a settings change needs no model call
    assert "Noir" in set_style.reply
    cid = set_style.conversation_id
    await engine.turn(TurnRequest(bot="writing", message="/length short", conversation_id=cid))
    await engine.turn(TurnRequest(bot="writing", message="/continue The phone rang.", conversation_id=cid))
    assert len(fake.chat_requests()) == 1
    sent = fake.chat_requests()[0]["messages"]
    assert "Style: Noir (first-person hard-boiled narrator" in sent[0]["content"]
    assert "Length: about 100 words." in sent[0]["content"]
    assert sent[-1]["content"].startswith("Continue the draft below from exactly where it stops.")
    assert sent[-1]["content"].endswith("The phone rang.")


async def test_rewrite_with_a_style_uses_and_keeps_it(cli_env: dict, fake: FakeOpenAI, load_runtime) -> None:
    engine = load_runtime().engine()
    first = await engine.turn(TurnRequest(bot="writing", message="/rewrite spare_darkly_comic The party was sad."))
    await engine.turn(TurnRequest(bot="writing", message="another line", conversation_id=first.conversation_id))
    for request in fake.chat_requests():
        assert "Style: Spare and darkly comic" in request["messages"][0]["content"]
    assert fake.chat_requests()[0]["messages"][-1]["content"].endswith("The party was sad.")


async def test_unknown_styles_and_empty_commands_cost_nothing(cli_env: dict, fake: FakeOpenAI, load_runtime) -> None:
    engine = load_runtime().engine()
    unknown = await engine.turn(TurnRequest(bot="writing", message="/style baroque"))
    assert "Choose one of: plain, spare_darkly_comic" in unknown.reply
    empty = await engine.turn(TurnRequest(bot="writing", message="/continue"))
    assert empty.reply == "/continue needs some text after it."
    assert fake.chat_requests() == []


async def test_the_instruction_survives_a_draft_over_budget(cli_env: dict, fake: FakeOpenAI, load_runtime) -> None:
    draft = "\n".join(f"Line {i}. " + "She walked along the harbour wall. " * 10 for i in range(200))
    await load_runtime().engine().turn(TurnRequest(bot="writing", message=f"/critique {draft}"[:12000]))
    sent = fake.chat_requests()[0]["messages"][-1]["content"]
    assert sent.startswith("Critique the draft below:")
    assert "[Earlier part of the draft left out:" in sent
    assert tokenizer_for("gpt-4o-mini").count(sent) < 1700
