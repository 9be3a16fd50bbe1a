"""The medical bot: emergencies routed before any model call, a disclaimer once, privacy."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from bots.red_flags import RedFlags
from core.engine import TurnRequest
from core.ledger import Call, Message
from tests.fakeopenai import FakeOpenAI

SET = Path(__file__).parent / "data" / "red_flags.tsv"


def labeled() -> list[tuple[str, str]]:
    lines = SET.read_text(encoding="utf-8").splitlines()
    return [tuple(line.split("\t")) for line in lines if line.strip() and not line.startswith("#")]  # type: ignore[misc]


def test_recall_and_false_alarms_on_the_labeled_set() -> None:
    flags = RedFlags.shipped()
    rows = labeled()
    emergencies = [(text, flag) for text, flag in rows if flag != "-"]
    benign = [text for text, flag in rows if flag == "-"]
    assert len(emergencies) >= 50
    assert len(benign) >= 30
    caught = [text for text, flag in emergencies if (hit := flags.check(text)) and hit.id == flag]
    alarms = [text for text in benign if flags.check(text)]
    missed = sorted({text for text, _ in emergencies} - set(caught))
    assert len(caught) / len(emergencies) >= 0.98, missed
    assert len(alarms) / len(benign) <= 0.03, alarms


@pytest.mark.parametrize(
    ("text", "flag"),
    [
        ("no chest pain", None),
        ("I do not have any chest pain or shortness of breath", None),
        ("my chest pain last year", None),
        ("I had a heart attack last year and now I have chest pain and I'm sweating", "cardiac"),
        ("I don't feel well, my chest hurts and I'm sweating", "cardiac"),
        ("درد سینه ندارم", None),
        ("درد سینه دارم و عرق کردم", "cardiac"),
    ],
)
def test_negation_and_history(text: str, flag: str | None) -> None:
    hit = RedFlags.shipped().check(text)
    assert (hit.id if hit else None) == flag


pytestmark = pytest.mark.anyio


async def test_an_emergency_is_routed_with_no_model_call(cli_env: dict, fake: FakeOpenAI, load_runtime) -> None:
    runtime = load_runtime()
    result = await runtime.engine().turn(
        TurnRequest(bot="medical", message="I have crushing chest pain and I'm sweating")
    )
    assert fake.chat_requests() == []
    assert "Call 112 now" in result.reply
    assert (result.model, result.cost_usd, result.call_id) == (None, 0, None)
    assert result.guard_reason == "red flag: cardiac (chest pain with sweating, arm or jaw pain, or breathlessness)"
    with runtime.database.session() as session:
        assert session.exec(select(Call)).all() == []
        answer = session.exec(select(Message).where(Message.role == "assistant")).one()
    assert answer.guard_reason == result.guard_reason


async def test_self_harm_gets_the_crisis_line(cli_env: dict, fake: FakeOpenAI, load_runtime) -> None:
    runtime = load_runtime()
    result = await runtime.engine().turn(TurnRequest(bot="medical", message="I want to end my life"))
    assert "988" in result.reply
    assert fake.chat_requests() == []


async def test_persian_emergencies_are_answered_in_persian(cli_env: dict, fake: FakeOpenAI, load_runtime) -> None:
    runtime = load_runtime()
    result = await runtime.engine().turn(TurnRequest(bot="medical", message="نوزادم تب داره"))
    assert result.language == "fa"
    assert "همین حالا با 112 تماس بگیرید" in result.reply


async def test_the_disclaimer_comes_once_per_conversation(cli_env: dict, fake: FakeOpenAI, load_runtime) -> None:
    engine = load_runtime().engine()
    first = await engine.turn(TurnRequest(bot="medical", message="I have a mild cold"))
    again = await engine.turn(TurnRequest(bot="medical", message="and a cough", conversation_id=first.conversation_id))
    assert first.reply.endswith("This is general information, not medical advice.")
    assert "not medical advice" not in again.reply


async def test_the_disclaimer_is_streamed_as_a_last_delta(cli_env: dict, fake: FakeOpenAI, load_runtime) -> None:
    items = [i async for i in load_runtime().engine().stream(TurnRequest(bot="medical", message="sore throat"))]
    streamed = "".join(i.text for i in items[:-1])
    assert streamed == items[-1].reply
    assert streamed.endswith("not medical advice.")


async def test_private_data_is_redacted_in_storage(cli_env: dict, fake: FakeOpenAI, load_runtime) -> None:
    runtime = load_runtime()
    message = "I'm jo@example.com, born on 12/03/1985, call me on +44 20 7946 0958, is a rash serious?"
    result = await runtime.engine().turn(TurnRequest(bot="medical", message=message))
    assert fake.chat_requests()[0]["messages"][-1]["content"] == message  # the model sees the turn as sent
    with runtime.database.session() as session:
        stored = session.exec(select(Message).where(Message.conversation_id == result.conversation_id)).all()
    assert stored[0].content == "I'm [email], [date_of_birth], call me on [phone], is a rash serious?"
