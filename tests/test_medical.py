"""The medical bot: emergencies routed before any model call, a disclaimer once, privacy."""

from __future__ import annotations

import asyncio
from pathlib import Path

import openai
import pytest
from sqlmodel import select

from bots.triage import Triage
from core.engine import GuardedTurn, TurnRequest
from core.ledger import Call, Message
from core.settings import Settings
from tests.apiserver import ApiServer
from tests.apiserver import start as start_api
from tests.conftest import SHIPPED_PROFILES
from tests.fakeopenai import FakeOpenAI, Reply

# Written for this project with the first rules (a regression set, not an independent one:
# tests/test_triage.py holds those).
SET = Path(__file__).parent / "data" / "red_flags.tsv"


def labeled() -> list[tuple[str, str]]:
    lines = SET.read_text(encoding="utf-8").splitlines()
    return [tuple(line.split("\t")) for line in lines if line.strip() and not line.startswith("#")]  # type: ignore[misc]


def test_the_projects_first_set_still_holds() -> None:
    triage = Triage.shipped()
    rows = labeled()
    emergencies = [(text, flag) for text, flag in rows if flag != "-"]
    benign = [text for text, flag in rows if flag == "-"]
    assert len(emergencies) >= 50
    assert len(benign) >= 30
    missed = [text for text, _ in emergencies if triage.check(text) is None]
    alarms = [text for text in benign if triage.check(text)]
    assert missed == []
    assert alarms == []


pytestmark = pytest.mark.anyio


async def test_an_emergency_is_routed_with_no_model_call(cli_env: dict, fake: FakeOpenAI, load_runtime) -> None:
    runtime = load_runtime()
    result = await runtime.engine().turn(
        TurnRequest(bot="medical", message="I have crushing chest pain and I'm sweating")
    )
    assert fake.chat_requests() == []
    assert "Call 112 now" in result.reply
    assert isinstance(result, GuardedTurn)  # no model, no call, nothing billed
    assert (result.cost_usd, result.usage.total_tokens) == (0, 0)
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


# -- conversation-level triage, natively and through the OpenAI-compatible route ----------


async def test_symptoms_over_two_native_turns_are_routed(cli_env: dict, fake: FakeOpenAI, load_runtime) -> None:
    engine = load_runtime().engine()
    first = await engine.turn(TurnRequest(bot="medical", message="my chest has felt tight since lunch"))
    assert first.guard_reason is None
    second = await engine.turn(
        TurnRequest(
            bot="medical", message="now I'm sweating and my left arm is numb", conversation_id=first.conversation_id
        )
    )
    assert isinstance(second, GuardedTurn)
    assert second.guard_reason is not None
    assert second.guard_reason.startswith("red flag: cardiac")
    assert len(fake.chat_requests()) == 1  # only the first turn reached the model


@pytest.fixture
def medical_api(settings: Settings):
    server = start_api(settings.model_copy(update={"profiles_dir": SHIPPED_PROFILES}))
    yield server
    server.stop()


def test_symptoms_over_two_turns_of_an_openai_transcript_are_routed(medical_api: ApiServer, fake: FakeOpenAI) -> None:
    client = openai.OpenAI(base_url=medical_api.v1, api_key=medical_api.chat_key)
    transcript = [
        {"role": "user", "content": "سینه‌ام از ظهر سنگینه"},
        {"role": "assistant", "content": "از کی شروع شده؟"},
        {"role": "user", "content": "الان عرق سرد کردم و دست چپم بی‌حس شده"},
    ]
    completion = client.chat.completions.create(model="medical", messages=transcript)  # type: ignore[arg-type]
    assert "همین حالا با 112 تماس بگیرید" in (completion.choices[0].message.content or "")
    assert fake.chat_requests() == []


def test_the_disclaimer_is_not_repeated_on_a_resent_transcript(medical_api: ApiServer, fake: FakeOpenAI) -> None:
    client = openai.OpenAI(base_url=medical_api.v1, api_key=medical_api.chat_key)
    first = client.chat.completions.create(
        model="medical", messages=[{"role": "user", "content": "I have a mild cold"}]
    )
    answer = first.choices[0].message.content or ""
    assert answer.endswith("This is general information, not medical advice.")
    again = client.chat.completions.create(
        model="medical",
        messages=[
            {"role": "user", "content": "I have a mild cold"},
            {"role": "assistant", "content": answer},
            {"role": "user", "content": "and a cough"},
        ],
    )
    assert "not medical advice" not in (again.choices[0].message.content or "")


async def test_the_disclaimer_comes_after_an_emergency_opening(cli_env: dict, fake: FakeOpenAI, load_runtime) -> None:
    engine = load_runtime().engine()
    routed = await engine.turn(TurnRequest(bot="medical", message="my dad collapsed and is not breathing"))
    assert "start CPR" in routed.reply
    later = await engine.turn(
        TurnRequest(
            bot="medical",
            message="the paramedics took over, what is a defibrillator?",
            conversation_id=routed.conversation_id,
        )
    )
    last = await engine.turn(
        TurnRequest(
            bot="medical", message="thanks, and how long does recovery take?", conversation_id=routed.conversation_id
        )
    )
    assert later.reply.endswith("This is general information, not medical advice.")
    assert "not medical advice" not in last.reply


# -- the net on the model's side -------------------------------------------------------------


async def test_a_dose_in_the_models_reply_is_replaced(cli_env: dict, fake: FakeOpenAI, load_runtime) -> None:
    runtime = load_runtime()
    fake.script(Reply(text="See a clinician soon (within a day or two).\nGive 400 mg every 4 hours. Rest helps."))
    result = await runtime.engine().turn(TurnRequest(bot="medical", message="my back hurts, what can I take?"))
    assert "400 mg" not in result.reply
    assert "please ask a pharmacist or your clinician" in result.reply
    assert "Rest helps." in result.reply
    with runtime.database.session() as session:
        answer = session.exec(select(Message).where(Message.role == "assistant")).one()
    assert answer.guard_reason == "output: dose replaced"


async def test_a_diagnosis_is_replaced_in_persian_and_the_stream_never_shows_it(
    cli_env: dict, fake: FakeOpenAI, load_runtime
) -> None:
    fake.script(Reply(text="احتمالا شما آپاندیسیت دارید. به پزشک مراجعه کنید."))
    items = [
        i async for i in load_runtime().engine().stream(TurnRequest(bot="medical", message="دلم از دیشب درد میکنه"))
    ]
    streamed = "".join(i.text for i in items[:-1])
    assert "آپاندیسیت" not in streamed
    assert streamed == items[-1].reply
    assert "از داروساز یا پزشک خود بپرسید" in streamed


async def test_an_emergency_disposition_from_the_model_gets_the_number(
    cli_env: dict, fake: FakeOpenAI, load_runtime
) -> None:
    runtime = load_runtime()
    fake.script(Reply(text="Emergency: call emergency services now.\nThis pattern can be serious."))
    result = await runtime.engine().turn(TurnRequest(bot="medical", message="my tummy feels odd and I feel weird"))
    assert "Call 112 now" in result.reply
    with runtime.database.session() as session:
        answer = session.exec(select(Message).where(Message.role == "assistant")).one()
    assert answer.guard_reason == "model: emergency disposition"


async def test_persian_turns_are_told_to_answer_in_persian(cli_env: dict, fake: FakeOpenAI, load_runtime) -> None:
    await load_runtime().engine().turn(TurnRequest(bot="medical", message="سرما خوردم و گلوم درد میکنه"))
    system = "\n".join(m["content"] for m in fake.chat_requests()[0]["messages"] if m["role"] == "system")
    assert "Answer in Persian" in system


async def test_iranian_ids_and_persian_birth_dates_are_redacted(cli_env: dict, fake: FakeOpenAI, load_runtime) -> None:
    runtime = load_runtime()
    message = "کد ملی من ۰۰۸۴۵۷۵۹۴۸ است و متولد ۱۵ مهر ۱۳۶۸ هستم، سرفه دارم"
    result = await runtime.engine().turn(TurnRequest(bot="medical", message=message))
    with runtime.database.session() as session:
        stored = session.exec(select(Message).where(Message.conversation_id == result.conversation_id)).all()
    assert stored[0].content == "کد ملی من [iran_national_id] است و [date_of_birth] هستم، سرفه دارم"


def test_the_output_check_on_replies_written_by_someone_else() -> None:
    # tests/data/medical_output_dev.jsonl: written from a brief, without the check's code
    # (tests/data/briefs/medical_output_writer.md); bench/medical_output.py reports both splits.
    import json

    from bots.medical_output import OutputCheck

    check = OutputCheck.shipped()
    rows = [json.loads(line) for line in (SET.parent / "medical_output_dev.jsonl").read_text("utf-8").splitlines()]
    wrong = []
    for row in rows:
        result = check.check(row["reply"], "REFERRAL")
        labels = set(row["labels"])
        if "emergency" in labels:
            ok = result.emergency
        elif "clean" in labels:
            ok = not result.removed
        else:
            ok = all(sentence not in result.text for sentence in row["offending"])
        if not ok:
            wrong.append(row["id"])
    assert len(rows) >= 80
    assert len(wrong) <= len(rows) * 0.03, wrong


async def test_moderation_runs_beside_the_model_and_routes_self_harm(
    cli_env: dict, fake: FakeOpenAI, load_runtime
) -> None:
    runtime = load_runtime()
    fake.moderation_flags = {"self-harm/intent"}
    message = "everything feels pointless lately and I keep thinking about it"
    result = await runtime.engine().turn(TurnRequest(bot="medical", message=message))
    assert "988" in result.reply  # the crisis line, not the model's reply
    with runtime.database.session() as session:
        calls = session.exec(select(Call).order_by(Call.id)).all()
        answer = session.exec(select(Message).where(Message.role == "assistant")).one()
    assert answer.guard_reason == "moderation: self-harm/intent"
    moderation, chat = sorted(calls, key=lambda c: c.model.startswith("omni"), reverse=True)
    assert (moderation.model, moderation.cost_nanousd, moderation.status) == ("omni-moderation-latest", 0, "ok")
    assert moderation.conversation_id == chat.conversation_id == result.conversation_id
    seen = [r.path for r in fake.requests]
    assert "/v1/moderations" in seen


async def test_a_client_leaving_while_moderation_runs_leaves_the_call_settled(
    cli_env: dict, fake: FakeOpenAI, load_runtime
) -> None:
    """The reply came back whole and was billed; the client left while the moderation beside it
    was still running: the call is settled there and then, not left pending for a restart."""
    runtime = load_runtime()
    fake.moderation_delay = 2.0
    fake.script(Reply(text="Self-care is usually reasonable; see a clinician if it gets worse."))
    turn = asyncio.create_task(runtime.engine().turn(TurnRequest(bot="medical", message="I have a runny nose")))
    for _ in range(300):
        if fake.chat_requests():
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.3)  # the reply read; the moderation still running
    turn.cancel()
    with pytest.raises(asyncio.CancelledError):
        await turn
    with runtime.database.session() as session:
        chat = [c for c in session.exec(select(Call)).all() if c.model == "gpt-4o-mini"]
    assert [c.status for c in chat] == ["aborted"]
    assert chat[0].completion_tokens > 0


async def test_without_a_flag_the_model_reply_stands_and_the_moderation_is_ledgered(
    cli_env: dict, fake: FakeOpenAI, load_runtime
) -> None:
    runtime = load_runtime()
    fake.script(Reply(text="Self-care is usually reasonable; see a clinician if it gets worse or does not improve."))
    result = await runtime.engine().turn(TurnRequest(bot="medical", message="I have a runny nose"))
    assert result.reply.startswith("Self-care is usually reasonable")
    with runtime.database.session() as session:
        models = sorted(c.model for c in session.exec(select(Call)).all())
    assert models == ["gpt-4o-mini", "omni-moderation-latest"]
