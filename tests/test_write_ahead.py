"""The write-ahead ledger: every upstream attempt has a row before it is sent, settled after;
budgets reserved before the call; text no database can hold refused at the door."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from core.engine import TurnRequest
from core.errors import BudgetExceeded, InvalidInput, ProviderError
from core.ledger import Call, Conversation
from core.runtime import Runtime
from core.settings import Settings
from tests.apiserver import ApiServer
from tests.conftest import HELPDESK, write_profile
from tests.fakeopenai import FakeOpenAI, Reply

pytestmark = pytest.mark.anyio


def calls(runtime: Runtime) -> list[Call]:
    with runtime.database.session() as session:
        return list(session.exec(select(Call).order_by(Call.id)))


async def test_the_row_exists_before_the_call_is_answered(runtime: Runtime, fake: FakeOpenAI) -> None:
    engine = runtime.engine()
    await engine.turn(TurnRequest(bot="helpdesk", message="warm up"))  # one-time loading is not the point here
    fake.script(Reply(delay=0.5))
    task = asyncio.create_task(engine.turn(TurnRequest(bot="helpdesk", message="hello")))
    await asyncio.sleep(0.3)
    [_, pending] = calls(runtime)  # while the upstream still thinks
    assert (pending.status, pending.usage_source) == ("pending", "estimated")
    assert pending.prompt_tokens > 0
    assert pending.cost_nanousd > 0  # the worst case, reserved
    result = await task
    [_, settled] = calls(runtime)
    assert settled.id == pending.id == result.call_id
    assert settled.status == "ok"
    assert settled.cost_nanousd < pending.cost_nanousd


async def test_a_process_that_died_mid_call_leaves_a_row_settled_on_the_next_start(
    settings: Settings, fake: FakeOpenAI, load_runtime
) -> None:
    runtime = load_runtime(settings)
    old = datetime.now(UTC) - timedelta(minutes=5)
    with runtime.database.session() as session:  # what kill -9 leaves behind
        session.add(Conversation(id="c" * 32, bot="helpdesk", strategy="prompt"))
        session.flush()
        session.add(
            Call(conversation_id="c" * 32, bot="helpdesk", strategy="prompt", provider="openai",
                 model="gpt-4o-mini", profile_version="x", prompt_tokens=1000, cost_nanousd=10**9,
                 status="pending", usage_source="estimated", created_at=old)
        )  # fmt: skip
        session.commit()
    restarted = load_runtime(settings)
    [row] = calls(restarted)
    assert (row.status, row.usage_source) == ("interrupted", "estimated")
    assert row.cost_nanousd == 150_000  # 1,000 prompt tokens at $0.15 per million: the prompt was sent
    assert "stopped before it ended" in (row.error or "")


async def test_a_burst_cannot_spend_past_the_budget(
    fake: FakeOpenAI, database_url: str, tmp_path: Path, load_runtime
) -> None:
    profiles = tmp_path / "burst-profiles"
    # a call reserves prompt + 100 output tokens (about $0.000065): a budget worth four of them
    write_profile(profiles, HELPDESK + "budget: {monthly_usd: 0.00026}\n")
    settings = Settings(
        database_url=database_url, profiles_dir=profiles, provider="openai", openai_api_key="k",
        openai_base_url=fake.base_url, request_timeout=5.0, max_retries=0,
    )  # fmt: skip
    fake.default = Reply(text=" ".join(["word"] * 95))  # each reply uses nearly its whole reservation
    engine = load_runtime(settings).engine()
    results = await asyncio.gather(
        *(engine.turn(TurnRequest(bot="helpdesk", message=f"q{i}")) for i in range(64)), return_exceptions=True
    )
    fake.default = Reply()
    served = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, BudgetExceeded)]
    assert len(served) + len(refused) == 64
    spent = sum((r.cost_usd for r in served), Decimal(0))
    assert 3 <= len(served) <= 5
    assert spent <= Decimal("0.00026") * Decimal("1.5")


async def test_inconsistent_usage_from_upstream_is_clamped_not_a_failure(runtime: Runtime, fake: FakeOpenAI) -> None:
    fake.script(Reply(cached_tokens=10_000))  # more cached than prompt tokens
    result = await runtime.engine().turn(TurnRequest(bot="helpdesk", message="hello"))
    [row] = calls(runtime)
    assert row.status == "ok"
    assert row.cached_tokens == row.prompt_tokens == result.usage.prompt_tokens


async def test_a_nul_byte_is_refused_before_any_call(runtime: Runtime, fake: FakeOpenAI) -> None:
    with pytest.raises(InvalidInput, match="NUL"):
        await runtime.engine().turn(TurnRequest(bot="helpdesk", message="hi\x00there"))
    assert fake.chat_requests() == []
    assert calls(runtime) == []


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/bots/helpdesk/chat", '{"message": "hi\\u0000there"}'),
        (
            "POST",
            "/v1/chat/completions",
            '{"model": "helpdesk", "messages": [{"role": "user", "content": "a\\u0000"}]}',
        ),
        ("POST", "/v1/bots/helpdesk/chat", '{"message": "hi \\ud800 there"}'),
        ("GET", "/v1/costs?bot=help%00desk", None),
    ],
)
def test_text_no_database_can_hold_is_a_422(
    api: ApiServer, fake: FakeOpenAI, method: str, path: str, body: str | None
) -> None:
    headers = {**api.headers(api.admin_key), "Content-Type": "application/json"}
    r = httpx.request(method, f"{api.base_url}{path}", content=body, headers=headers)
    if path.startswith("/v1/chat/completions"):  # OpenAI's protocol: a 400 with its error object
        assert r.status_code == 400
        assert "cannot be stored" in r.json()["error"]["message"]
    else:
        assert r.status_code == 422
        assert "cannot be stored" in r.json()["detail"]
    assert fake.chat_requests() == []


def test_an_upstream_429_is_a_429_with_retry_after(api: ApiServer, fake: FakeOpenAI) -> None:
    fake.script(*[Reply(status=429, retry_after_ms=2000)] * 3)
    r = httpx.post(f"{api.v1}/bots/helpdesk/chat", json={"message": "hi"}, headers=api.headers())
    assert r.status_code == 429
    assert r.headers["retry-after"] == "2"


async def test_a_persistent_failure_raises_with_the_last_attempt(runtime: Runtime, fake: FakeOpenAI) -> None:
    fake.script(*[Reply(status=503)] * 3)
    with pytest.raises(ProviderError) as info:
        await runtime.engine().turn(TurnRequest(bot="helpdesk", message="hi"))
    rows = calls(runtime)
    assert [r.attempt for r in rows] == [1, 2, 3]
    assert info.value.call_id == rows[-1].id


async def test_a_server_that_refuses_the_connection_bills_nothing(settings: Settings, load_runtime) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    runtime = load_runtime(settings.model_copy(update={"openai_base_url": f"http://127.0.0.1:{port}/v1"}))
    with pytest.raises(ProviderError, match="unreachable"):
        await runtime.engine().turn(TurnRequest(bot="helpdesk", message="hi"))
    rows = calls(runtime)
    assert rows  # each attempt has its row ...
    assert {(r.status, r.usage_source, r.cost_nanousd) for r in rows} == {("error", "none", 0)}  # ... and costs nothing


async def test_a_fault_of_ours_mid_call_settles_the_row(runtime: Runtime, fake: FakeOpenAI) -> None:
    engine = runtime.engine()

    async def broken(request: object) -> object:
        raise RuntimeError("a bug")

    engine.provider.complete = broken  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="a bug"):
        await engine.turn(TurnRequest(bot="helpdesk", message="hi"))
    [row] = calls(runtime)
    assert row.status == "error"  # not left pending, to be billed as interrupted at the next start
    assert "a bug" in (row.error or "")


def test_a_stream_larger_than_the_keys_tokens_a_minute_is_a_422_before_it_starts(
    api: ApiServer, fake: FakeOpenAI
) -> None:
    from core import keys

    key = keys.create(api.runtime.database, "tiny-stream", "chat", tokens_per_minute=20).secret
    r = httpx.post(
        f"{api.v1}/bots/helpdesk/chat",
        json={"message": "long " * 30, "stream": True},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert r.status_code == 422
    assert "20 tokens a minute" in r.json()["detail"]
    assert fake.chat_requests() == []


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry-after": "2"}, 2.0),
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after": "inf"}, None),  # would have been a 500 on the way out (ceil of inf)
        ({"retry-after": "nan"}, None),
        ({"retry-after": "-5"}, None),
        ({"retry-after": "Wed, 21 Oct 2026 07:28:00 GMT"}, None),
        ({}, None),
    ],
)
def test_only_a_usable_retry_after_is_honoured(headers: dict[str, str], seconds: float | None) -> None:
    from core.providers.openai import _retry_after

    assert _retry_after(headers) == seconds


def test_the_provider_serves_one_event_loop_after_another(settings: Settings, fake: FakeOpenAI) -> None:
    from core.providers.base import ChatRequest
    from core.providers.openai import OpenAIProvider

    assert settings.openai_api_key is not None
    provider = OpenAIProvider(api_key=settings.openai_api_key, base_url=settings.openai_base_url, max_retries=0)
    request = ChatRequest(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    # the command line runs one loop after another: a session made on the first must not serve the second
    assert asyncio.run(provider.complete(request)).text
    assert asyncio.run(provider.complete(request)).text
