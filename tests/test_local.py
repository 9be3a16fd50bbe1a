"""The embedded local model, for real: the packaged gemma-3-270m GGUF through llama.cpp."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from core.engine import TurnRequest, TurnResult
from core.errors import ProviderBusy
from core.ledger import Call
from core.providers.base import Delta
from core.providers.local import STOP, transcript
from core.settings import Settings
from tests.conftest import HELPDESK, write_profile

pytestmark = [pytest.mark.local_model, pytest.mark.anyio]

# Short replies keep this slow part of the suite short.
TINY = HELPDESK.replace("max_output_tokens: 100", "max_output_tokens: 6")


@pytest.fixture
def local_settings(tmp_path: Path, profiles_dir: Path) -> Settings:
    write_profile(profiles_dir, TINY, "helpdesk.yaml")
    return Settings(
        database_url=f"sqlite:///{tmp_path}/local.db",
        profiles_dir=profiles_dir,
        provider="local",
        local_context_tokens=1024,
        local_max_queue=0,
    )


def rows(runtime) -> list[Call]:
    with runtime.database.session() as session:
        return list(session.exec(select(Call).order_by(Call.id)))


async def test_a_turn_on_the_packaged_model_is_ledgered_with_real_token_counts(local_settings, load_runtime) -> None:
    runtime = load_runtime(local_settings)
    result = await runtime.engine().turn(TurnRequest(bot="helpdesk", message="My printer is jammed."))
    [row] = rows(runtime)
    assert (row.provider, row.model, row.status, row.usage_source) == (
        "local", "gemma-3-270m-q4_k_m", "ok", "reported"
    )  # fmt: skip
    assert result.model == "gemma-3-270m-q4_k_m"
    # llama.cpp's own count of the prompt it evaluated
    provider = runtime.provider
    expected_prompt = len(provider._llama.tokenize(transcript(_sent(runtime, "My printer is jammed.")).encode()))
    assert row.prompt_tokens == expected_prompt
    assert 0 < row.completion_tokens <= 6
    assert (row.cost_nanousd, row.price_version) == (0, "local:gemma-3-270m-q4_k_m")


def _sent(runtime, message: str):
    profile = runtime.profiles.get("helpdesk")
    config = profile.strategies["prompt"]
    return [
        {"role": "system", "content": config.system_prompt},
        *[
            m
            for e in config.examples
            for m in ({"role": "user", "content": e.user}, {"role": "assistant", "content": e.assistant})
        ],
        {"role": "user", "content": message},
    ]


async def test_streamed_turns_count_with_the_models_tokenizer(local_settings, load_runtime) -> None:
    runtime = load_runtime(local_settings)
    items = [i async for i in runtime.engine().stream(TurnRequest(bot="helpdesk", message="Hello there"))]
    result = items[-1]
    assert isinstance(result, TurnResult)
    assert "".join(i.text for i in items if isinstance(i, Delta)).rstrip() == result.reply
    [row] = rows(runtime)
    assert row.usage_source == "reported"
    assert row.prompt_tokens == len(
        runtime.provider._llama.tokenize(transcript(_sent(runtime, "Hello there")).encode())
    )
    assert not any(stop.strip() and stop.strip() in result.reply for stop in STOP)


async def test_a_configured_local_price_is_charged_exactly(local_settings, load_runtime) -> None:
    priced = local_settings.model_copy(
        update={"local_price_input": Decimal("0.05"), "local_price_output": Decimal("0.1")}
    )
    runtime = load_runtime(priced)
    await runtime.engine().turn(TurnRequest(bot="helpdesk", message="hi"))
    [row] = rows(runtime)
    expected = (row.prompt_tokens * Decimal("0.05") + row.completion_tokens * Decimal("0.1")) / 10**6
    assert row.cost_usd == expected > 0


async def test_past_the_queue_bound_requests_are_refused_not_piled_up(local_settings, load_runtime) -> None:
    runtime = load_runtime(local_settings)  # max_queue 0: one runs, none wait
    engine = runtime.engine()
    first = asyncio.create_task(engine.turn(TurnRequest(bot="helpdesk", message="first")))
    # wait until the first turn holds the model (no fixed delay: a cold machine takes longer
    # to get there), or until it has finished, which the assertion below then reports
    while not runtime.provider.busy and not first.done():
        await asyncio.sleep(0.001)
    with pytest.raises(ProviderBusy) as info:
        await engine.turn(TurnRequest(bot="helpdesk", message="second"))
    assert info.value.retry_after >= 1
    await first
    assert [r.status for r in rows(runtime)] == ["ok"]  # the refused one never reached the model


def test_the_api_answers_503_with_retry_after_when_the_model_is_busy(local_settings) -> None:
    from tests.apiserver import start

    server = start(local_settings)
    try:
        url = f"{server.v1}/bots/helpdesk/chat"

        async def both() -> list[httpx.Response]:
            async with httpx.AsyncClient(timeout=60) as client:
                return await asyncio.gather(
                    client.post(url, json={"message": "one"}, headers=server.headers()),
                    client.post(url, json={"message": "two"}, headers=server.headers()),
                )

        statuses = sorted(r.status_code for r in asyncio.run(both()))
        assert statuses == [200, 503]
        busy = next(r for r in asyncio.run(both()) if r.status_code == 503)
        assert int(busy.headers["retry-after"]) >= 1
        assert busy.headers["content-type"] == "application/problem+json"
    finally:
        server.stop()


def test_a_looping_reply_is_cut_at_the_first_repeated_line() -> None:
    from core.providers.local import cut_repetition

    text = "I'm a nurse.\nI'm a pharmacist.\nI'm a pharmacist.\nI'm a pharmacist."
    assert cut_repetition(text) == ("I'm a nurse.\nI'm a pharmacist.", True)
    assert cut_repetition("one\ntwo") == ("one\ntwo", False)
