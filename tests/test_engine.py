"""One turn through the engine, against the OpenAI-compatible test server over HTTP."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import select

from core import strategy as strategies
from core.engine import REFRESH_AHEAD, STATE_TTL, TurnRequest, TurnResult
from core.errors import InvalidInput, NotFound, ProviderError, ProviderTimeout, StrategyUnavailable, StreamInterrupted
from core.ledger import Call, Conversation, Message
from core.providers.base import Delta
from core.runtime import Runtime
from core.settings import Settings
from core.tokens import tokenizer_for
from tests.conftest import HELPDESK, write_profile
from tests.fakeopenai import FakeOpenAI, Reply, count_prompt, count_text

pytestmark = pytest.mark.anyio


def calls(runtime: Runtime) -> list[Call]:
    with runtime.database.session() as session:
        return list(session.exec(select(Call).order_by(Call.id)))


def messages(runtime: Runtime, conversation_id: str) -> list[Message]:
    with runtime.database.session() as session:
        query = select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id)
        return list(session.exec(query))


async def test_a_turn_is_priced_and_ledgered(runtime: Runtime, fake: FakeOpenAI) -> None:
    result = await runtime.engine().turn(TurnRequest(bot="helpdesk", message="My screen is blank"))
    assert result.reply == "echo: My screen is blank"
    assert (result.strategy, result.model, result.status, result.usage_source) == (
        "prompt",
        "gpt-4o-mini",
        "ok",
        "reported",
    )
    sent = fake.chat_requests()[0]
    assert [m["role"] for m in sent["messages"]] == ["system", "user", "assistant", "user"]
    assert sent["messages"][0]["content"] == "You are a helpdesk."
    assert sent["temperature"] == 0.2
    assert sent["max_completion_tokens"] == 100
    expected_prompt = count_prompt("gpt-4o-mini", sent["messages"])
    assert result.usage.prompt_tokens == expected_prompt
    # gpt-4o-mini: $0.15/M in, $0.60/M out
    expected_cost = (
        Decimal(expected_prompt) * Decimal("0.15") + result.usage.completion_tokens * Decimal("0.60")
    ) / 10**6
    assert result.cost_usd == expected_cost
    [row] = calls(runtime)
    assert row.cost_usd == expected_cost
    assert (row.bot, row.strategy, row.provider, row.model, row.status) == (
        "helpdesk",
        "prompt",
        "openai",
        "gpt-4o-mini",
        "ok",
    )
    assert row.price_version == "gpt-4o-mini-2024-07-18@2024-07-18"
    assert row.profile_version == runtime.profiles.get("helpdesk").version
    assert row.conversation_id == result.conversation_id


async def test_conversations_continue_with_their_history(runtime: Runtime, fake: FakeOpenAI) -> None:
    engine = runtime.engine()
    first = await engine.turn(TurnRequest(bot="helpdesk", message="one"))
    second = await engine.turn(TurnRequest(bot="helpdesk", message="two", conversation_id=first.conversation_id))
    assert second.conversation_id == first.conversation_id
    sent = fake.chat_requests()[1]["messages"]
    assert [m["content"] for m in sent[-3:]] == ["one", "echo: one", "two"]
    assert [m.role for m in messages(runtime, first.conversation_id)] == ["user", "assistant"] * 2


async def test_history_is_trimmed_to_the_token_budget_oldest_first(
    fake: FakeOpenAI, settings: Settings, profiles_dir: Path, load_runtime
) -> None:
    write_profile(profiles_dir, HELPDESK.replace("history_tokens: 3000", "history_tokens: 40"), "helpdesk.yaml")
    runtime = load_runtime(settings)
    engine = runtime.engine()
    conversation = None
    for word in ["alpha", "bravo", "charlie", "delta"]:
        result = await engine.turn(TurnRequest(bot="helpdesk", message=word * 3, conversation_id=conversation))
        conversation = result.conversation_id
    sent = fake.chat_requests()[-1]["messages"]
    history = sent[3:-1]  # after system + one example pair, before the new message
    tokenizer = tokenizer_for("gpt-4o-mini")
    assert sum(tokenizer.count_message(m) for m in history) <= 40
    assert history, "the newest exchange fits and must be kept"
    assert history[0]["role"] == "user"
    assert "alpha" not in str(history)
    assert history[-1]["content"] == "echo: " + "charlie" * 3


async def test_cached_tokens_are_recorded_and_billed_at_the_cached_rate(runtime: Runtime, fake: FakeOpenAI) -> None:
    fake.script(Reply(text="ok", cached_tokens=0), Reply(text="ok", cached_tokens=16))
    engine = runtime.engine()
    a = await engine.turn(TurnRequest(bot="helpdesk", message="same question"))
    b = await engine.turn(TurnRequest(bot="helpdesk", message="same question"))
    assert a.usage.prompt_tokens == b.usage.prompt_tokens
    assert b.usage.cached_tokens == 16
    # 16 tokens at $0.075/M instead of $0.15/M
    assert a.cost_usd - b.cost_usd == Decimal(16) * Decimal("0.075") / 10**6
    assert calls(runtime)[1].cached_tokens == 16


async def test_streamed_and_buffered_turns_cost_the_same(runtime: Runtime, fake: FakeOpenAI) -> None:
    engine = runtime.engine()
    buffered = await engine.turn(TurnRequest(bot="helpdesk", message="count these words please"))
    items = [item async for item in engine.stream(TurnRequest(bot="helpdesk", message="count these words please"))]
    deltas = [i.text for i in items if isinstance(i, Delta)]
    streamed = items[-1]
    assert isinstance(streamed, TurnResult)
    assert len(deltas) > 2
    assert "".join(deltas) == streamed.reply == buffered.reply
    assert fake.chat_requests()[1]["stream_options"] == {"include_usage": True}
    assert streamed.usage == buffered.usage
    assert streamed.cost_usd == buffered.cost_usd > 0
    assert [c.usage_source for c in calls(runtime)] == ["reported", "reported"]


async def test_a_stream_without_usage_is_estimated_and_flagged(runtime: Runtime, fake: FakeOpenAI) -> None:
    fake.script(Reply(text="a short answer", honour_include_usage=False))
    items = [i async for i in runtime.engine().stream(TurnRequest(bot="helpdesk", message="hi"))]
    result = items[-1]
    assert result.usage_source == "estimated"
    assert result.usage.completion_tokens == 3
    assert result.usage.prompt_tokens == count_prompt("gpt-4o-mini", fake.chat_requests()[0]["messages"])
    assert result.cost_usd > 0
    assert calls(runtime)[0].usage_source == "estimated"


async def test_429_then_success_leaves_a_row_per_attempt(runtime: Runtime, fake: FakeOpenAI) -> None:
    fake.script(Reply(status=429), Reply(status=500))
    result = await runtime.engine().turn(TurnRequest(bot="helpdesk", message="hello"))
    assert result.status == "ok"
    assert len(fake.chat_requests()) == 3  # the engine retried twice
    rows = calls(runtime)
    assert [(c.attempt, c.status) for c in rows] == [(1, "error"), (2, "error"), (3, "ok")]
    assert [c.cost_nanousd for c in rows[:2]] == [0, 0]  # refused with a status: not billed
    assert result.call_id == rows[-1].id


async def test_a_failed_call_is_still_in_the_ledger(runtime: Runtime, fake: FakeOpenAI) -> None:
    fake.script(*[Reply(status=500, error_message="upstream exploded")] * 3)
    with pytest.raises(ProviderError, match=r"answered 500: .*upstream exploded") as info:
        await runtime.engine().turn(TurnRequest(bot="helpdesk", message="hello"))
    rows = calls(runtime)
    assert len(rows) == 3  # every attempt
    row = rows[-1]
    assert info.value.call_id == row.id
    assert (row.status, row.usage_source, row.cost_nanousd, row.prompt_tokens) == ("error", "none", 0, 0)
    assert "upstream exploded" in (row.error or "")


async def test_persistent_429_is_an_error_row(runtime: Runtime, fake: FakeOpenAI) -> None:
    fake.script(*[Reply(status=429, error_message="slow down")] * 3)
    with pytest.raises(ProviderError, match="answered 429"):
        await runtime.engine().turn(TurnRequest(bot="helpdesk", message="hello"))
    assert [c.status for c in calls(runtime)] == ["error"] * 3


async def test_a_timeout_is_an_error_row(runtime: Runtime, fake: FakeOpenAI) -> None:
    fake.script(*[Reply(delay=1.6)] * 3)  # the request may take 1 s in all, retries included
    with pytest.raises(ProviderTimeout, match="timed out"):
        await runtime.engine().turn(TurnRequest(bot="helpdesk", message="hello"))
    [row] = calls(runtime)  # no time was left for a retry
    assert (row.status, row.usage_source) == ("error", "estimated")  # a timed-out request may be billed
    assert 900 <= row.latency_ms < 1600


async def test_a_stream_cut_halfway_is_an_aborted_row_with_estimated_usage(runtime: Runtime, fake: FakeOpenAI) -> None:
    fake.script(Reply(text="one two three four five six", cut_after=3))
    received: list[str] = []

    async def consume() -> None:
        async for item in runtime.engine().stream(TurnRequest(bot="helpdesk", message="count")):
            assert isinstance(item, Delta)
            received.append(item.text)

    with pytest.raises(StreamInterrupted) as info:
        await consume()
    assert "".join(received) == "one two three " == info.value.partial_text
    [row] = calls(runtime)
    assert (row.status, row.usage_source) == ("aborted", "estimated")
    assert row.completion_tokens == count_text("gpt-4o-mini", "one two three ")
    assert row.prompt_tokens == count_prompt("gpt-4o-mini", fake.chat_requests()[0]["messages"])
    assert row.cost_nanousd > 0
    assert info.value.call_id == row.id


async def test_a_client_that_stops_reading_leaves_an_aborted_row(runtime: Runtime, fake: FakeOpenAI) -> None:
    fake.script(Reply(text="one two three four five six"))
    stream = runtime.engine().stream(TurnRequest(bot="helpdesk", message="count"))
    first = await anext(stream)
    assert isinstance(first, Delta)
    await stream.aclose()
    [row] = calls(runtime)
    assert (row.status, row.usage_source) == ("aborted", "estimated")
    assert row.completion_tokens >= 1


async def test_rollout_is_sticky_per_conversation(runtime: Runtime, fake: FakeOpenAI) -> None:
    profile = runtime.profiles.get("helpdesk")
    with runtime.database.session() as session:
        strategies.switch(session, profile, strategy="prompt", rollout=0.5, actor="test")
    engine = runtime.engine()
    started = [await engine.turn(TurnRequest(bot="helpdesk", message=f"q{i}")) for i in range(40)]
    chosen = {r.strategy for r in started}
    assert chosen == {"prompt", "finetuned"}
    for first in started[:10]:
        again = await engine.turn(TurnRequest(bot="helpdesk", message="more", conversation_id=first.conversation_id))
        assert again.strategy == first.strategy
    fine = next(r for r in started if r.strategy == "finetuned")
    assert fine.model == "ft:gpt-4o-mini-2024-07-18:acme:helpdesk:abc123"
    row = next(c for c in calls(runtime) if c.id == fine.call_id)
    assert row.price_version == "ft:gpt-4o-mini-2024-07-18@2024-07-23"


async def test_switching_changes_new_conversations_only(runtime: Runtime, fake: FakeOpenAI) -> None:
    engine = runtime.engine()
    before = await engine.turn(TurnRequest(bot="helpdesk", message="hi"))
    with runtime.database.session() as session:
        strategies.switch(session, runtime.profiles.get("helpdesk"), strategy="finetuned", rollout=None, actor="t")
    await asyncio.sleep(STATE_TTL)  # switched elsewhere (another worker): seen within STATE_TTL
    after = await engine.turn(TurnRequest(bot="helpdesk", message="hi"))
    continued = await engine.turn(TurnRequest(bot="helpdesk", message="again", conversation_id=before.conversation_id))
    assert (before.strategy, after.strategy, continued.strategy) == ("prompt", "finetuned", "prompt")
    # The fine-tuned turn uses the short prompt, and is billed at fine-tuned rates.
    assert fake.chat_requests()[1]["messages"][0]["content"] == "You are Acme's helpdesk."
    assert fake.chat_requests()[1]["model"] == "ft:gpt-4o-mini-2024-07-18:acme:helpdesk:abc123"


async def test_the_strategy_state_is_read_again_ahead_of_its_expiry(
    runtime: Runtime, fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Turns near the state's expiry keep to the loop while one background read renews it; a
    switch through this process meanwhile is not overwritten by that read."""
    engine = runtime.engine()
    await engine.turn(TurnRequest(bot="helpdesk", message="hi"))  # reads the state
    _, state = engine._states["helpdesk"]
    near = time.monotonic() + REFRESH_AHEAD / 2 + 0.05
    engine._states["helpdesk"] = (near, state)
    request = TurnRequest(bot="helpdesk", message="hi")
    assert not engine._reads_database(request)  # still fresh: no thread hop for this turn
    assert not engine._reads_database(request)  # one read ahead, not one a turn
    assert engine._refreshing == {"helpdesk"}
    for _ in range(100):
        if not engine._refreshing:
            break
        await asyncio.sleep(0.01)
    assert engine._states["helpdesk"][0] > near + STATE_TTL / 2  # renewed for another STATE_TTL
    # a read ahead that ends after a switch through this process is dropped: the read is held
    # until the switch is done, so it returns the state from before it
    read_started, release = threading.Event(), threading.Event()
    real = strategies.current

    def held(session, profile):  # type: ignore[no-untyped-def]
        found = real(session, profile)
        read_started.set()
        release.wait(5)
        return found

    monkeypatch.setattr(strategies, "current", held)
    engine._states["helpdesk"] = (time.monotonic() + 0.07, state)
    engine._reads_database(request)
    assert await asyncio.to_thread(read_started.wait, 5)
    monkeypatch.setattr(strategies, "current", real)
    with runtime.database.session() as session:
        strategies.switch(session, runtime.profiles.get("helpdesk"), strategy="finetuned", rollout=None, actor="t")
    engine.forget_strategy("helpdesk")
    release.set()
    for _ in range(100):
        if not engine._refreshing:
            break
        await asyncio.sleep(0.01)
    after = await engine.turn(TurnRequest(bot="helpdesk", message="hi"))
    assert after.strategy == "finetuned"


async def test_strategy_override_for_a_new_conversation(runtime: Runtime, fake: FakeOpenAI) -> None:
    result = await runtime.engine().turn(TurnRequest(bot="helpdesk", message="hi", strategy="finetuned"))
    assert result.strategy == "finetuned"
    with pytest.raises(InvalidInput, match="keeps it; start a new conversation"):
        await runtime.engine().turn(
            TurnRequest(bot="helpdesk", message="hi", conversation_id=result.conversation_id, strategy="prompt")
        )


async def test_no_content_is_stored_when_the_profile_says_so(
    fake: FakeOpenAI, settings: Settings, profiles_dir: Path, load_runtime
) -> None:
    write_profile(profiles_dir, HELPDESK + "privacy: {store_content: false}\n", "helpdesk.yaml")
    runtime = load_runtime(settings)
    result = await runtime.engine().turn(TurnRequest(bot="helpdesk", message="my secret"))
    stored = messages(runtime, result.conversation_id)
    assert [(m.role, m.content) for m in stored] == [("user", None), ("assistant", None)]
    assert calls(runtime)[0].cost_nanousd > 0


@pytest.mark.parametrize(
    ("request_kwargs", "error", "message"),
    [
        ({"bot": "nope", "message": "hi"}, "UnknownBot", "unknown bot 'nope'; the bots are: helpdesk"),
        ({"bot": "helpdesk", "message": "   "}, "InvalidInput", "the message is empty"),
        (
            {"bot": "helpdesk", "message": "x" * 201},
            "InvalidInput",
            "201 characters; bot 'helpdesk' accepts at most 200",
        ),
        ({"bot": "helpdesk", "message": "hi", "conversation_id": "missing"}, "NotFound", "does not exist"),
    ],
)
async def test_bad_input_is_refused_before_any_call(runtime: Runtime, fake: FakeOpenAI, request_kwargs, error, message):
    with pytest.raises(Exception, match=message) as info:
        await runtime.engine().turn(TurnRequest(**request_kwargs))
    assert type(info.value).__name__ == error
    assert fake.chat_requests() == []
    assert calls(runtime) == []


async def test_someone_elses_conversation_is_not_found(runtime: Runtime, fake: FakeOpenAI) -> None:
    mine = await runtime.engine().turn(TurnRequest(bot="helpdesk", message="hi", owner="key-a"))
    with pytest.raises(NotFound):
        await runtime.engine().turn(
            TurnRequest(bot="helpdesk", message="hi", conversation_id=mine.conversation_id, owner="key-b")
        )
    with runtime.database.session() as session:
        assert session.get(Conversation, mine.conversation_id).owner == "key-a"


async def test_finetuned_without_a_model_is_a_clear_error(cli_env, fake: FakeOpenAI, load_runtime) -> None:
    runtime = load_runtime()
    with pytest.raises(StrategyUnavailable, match="no fine-tuned model yet"):
        await runtime.engine().turn(TurnRequest(bot="medical", message="hi", strategy="finetuned"))


@pytest.mark.parametrize("bot", ["medical", "writing", "farsi_retail"])
async def test_each_shipped_bot_answers_with_its_own_prompt(cli_env, fake: FakeOpenAI, bot: str, load_runtime) -> None:
    runtime = load_runtime()
    profile = runtime.profiles.get(bot)
    result = await runtime.engine().turn(TurnRequest(bot=bot, message="سلام" if bot == "farsi_retail" else "hello"))
    sent = fake.chat_requests()[0]["messages"]
    assert sent[0]["content"].startswith(profile.strategies["prompt"].system_prompt.strip()[:40])
    assert len(sent) == 2 + 2 * len(profile.strategies["prompt"].examples)
    assert result.cost_usd > 0


@pytest.mark.parametrize(
    ("body", "usage"),
    [
        ({"choices": [{"message": {"content": "hi"}}], "usage": {"prompt_tokens": 10, "completion_tokens": 5}},
         (10, 5)),  # no total_tokens, as some servers send
        ({"choices": [{"message": {"content": "hi"}}], "usage": {"prompt_tokens": 10, "completion_tokens": None}},
         (10, 0)),
        ({"choices": [{"message": {"content": "hi"}}]}, None),
    ],
)  # fmt: skip
def test_a_reply_is_read_from_whatever_json_a_server_sends(body: dict, usage: tuple[int, int] | None) -> None:
    from core.providers.openai import _completion

    completion = _completion(json.dumps(body).encode(), "gpt-4o-mini")
    assert completion.text == "hi"
    got = (completion.usage.prompt_tokens, completion.usage.completion_tokens) if completion.usage else None
    assert got == usage


def test_a_reply_that_is_no_chat_completion_is_a_provider_error() -> None:
    from core.errors import ProviderError
    from core.providers.openai import _completion

    for broken in (b"<html>busy</html>", b'{"choices": {"a": 1}}', b'{"choices": [{"message": "x"}]}'):
        with pytest.raises(ProviderError, match="not a chat completion"):
            _completion(broken, "gpt-4o-mini")
