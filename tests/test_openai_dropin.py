"""domainbots as a drop-in for OpenAI: code written for the official SDK, only `base_url` changed."""

from __future__ import annotations

import httpx
import openai
import pytest
from sqlmodel import select

from core.ledger import Call, StrategySwitch
from core.money import usd_digits
from tests.apiserver import ApiServer
from tests.fakeopenai import FakeOpenAI


def test_a_resent_transcript_continues_its_conversation_and_keeps_its_strategy(
    api: ApiServer, fake: FakeOpenAI
) -> None:
    admin = api.headers(api.admin_key)
    r = httpx.put(f"{api.v1}/bots/helpdesk/strategy", json={"strategy": "prompt", "rollout": 0.5}, headers=admin)
    assert r.status_code == 200
    client = openai.OpenAI(base_url=api.v1, api_key=api.chat_key)
    for chat in range(4):  # as an ordinary chat app: the whole transcript, no conversation header
        transcript: list[dict[str, str]] = []
        seen = set()
        for turn in range(3):
            transcript.append({"role": "user", "content": f"chat {chat} turn {turn}"})
            raw = client.chat.completions.with_raw_response.create(model="helpdesk", messages=transcript)  # type: ignore[arg-type]
            seen.add((raw.headers["x-conversation-id"], raw.headers["x-strategy"]))
            transcript.append({"role": "assistant", "content": raw.parse().choices[0].message.content or ""})
        assert len(seen) == 1, f"chat {chat} changed conversation or strategy: {seen}"


def test_client_parameters_are_honoured_or_refused_by_name(api: ApiServer, fake: FakeOpenAI) -> None:
    client = openai.OpenAI(base_url=api.v1, api_key=api.chat_key)
    client.chat.completions.create(
        model="helpdesk", messages=[{"role": "user", "content": "hi"}], max_tokens=5, temperature=0.3, seed=7
    )
    sent = fake.chat_requests()[-1]
    assert sent["max_completion_tokens"] == 5  # the profile allows 100; the client asked for 5
    assert (sent["temperature"], sent["seed"]) == (0.3, 7)
    client.chat.completions.create(model="helpdesk", messages=[{"role": "user", "content": "hi"}], max_tokens=5000)
    assert fake.chat_requests()[-1]["max_completion_tokens"] == 100  # never past the profile's cap
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="helpdesk", messages=[{"role": "user", "content": "hi"}], n=2)
    assert info.value.body["type"] == "invalid_request_error"  # type: ignore[index]
    assert info.value.body["param"] == "n"  # type: ignore[index]


def test_openai_errors_raise_the_sdks_own_classes(api: ApiServer, fake: FakeOpenAI) -> None:
    client = openai.OpenAI(base_url=api.v1, api_key=api.chat_key, max_retries=0)
    with pytest.raises(openai.NotFoundError) as missing:
        client.chat.completions.create(model="nope", messages=[{"role": "user", "content": "hi"}])
    assert missing.value.code == "model_not_found"
    with pytest.raises(openai.BadRequestError) as bad:
        client.chat.completions.create(model="helpdesk", messages=[])
    assert bad.value.body["type"] == "invalid_request_error"  # type: ignore[index]
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=api.v1, api_key="dbk_wrong", max_retries=0).models.list()
    assert client.models.retrieve("helpdesk").id == "helpdesk"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("nope")


def test_every_response_has_a_request_id_stored_on_its_rows(api: ApiServer, fake: FakeOpenAI) -> None:
    r = httpx.post(
        f"{api.v1}/bots/helpdesk/chat",
        json={"message": "hi"},
        headers={**api.headers(), "X-Request-Id": "trace-123"},
    )
    assert r.headers["x-request-id"] == "trace-123"
    assert httpx.get(f"{api.base_url}/healthz").headers["x-request-id"].startswith("req_")
    with api.runtime.database.session() as session:
        [row] = session.exec(select(Call)).all()
    assert row.request_id == "trace-123"


def test_a_streamed_call_reports_its_cost_like_the_ledger(api: ApiServer, fake: FakeOpenAI) -> None:
    client = openai.OpenAI(base_url=api.v1, api_key=api.chat_key)
    stream = client.chat.completions.create(
        model="helpdesk",
        messages=[{"role": "user", "content": "count the cost"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    last = list(stream)[-1]
    assert last.usage is not None
    extra = last.usage.model_extra or {}
    with api.runtime.database.session() as session:
        [row] = session.exec(select(Call)).all()
    assert extra["cost_usd"] == usd_digits(row.cost_usd)
    assert abs(extra["cost"] - float(row.cost_usd)) < 1e-12


def test_the_strategy_audit_records_from_and_to(api: ApiServer, fake: FakeOpenAI) -> None:
    admin = api.headers(api.admin_key)
    httpx.put(f"{api.v1}/bots/helpdesk/strategy", json={"strategy": "finetuned"}, headers=admin)
    with api.runtime.database.session() as session:
        switch = session.exec(select(StrategySwitch)).one()
    assert (switch.from_strategy, switch.to_strategy) == ("prompt", "finetuned")
