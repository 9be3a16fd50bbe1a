"""Per-key rate limits: requests and tokens a minute, 429 with Retry-After, and bursts that cannot pass."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
from click.testing import CliRunner

from api.cli import cli
from core import keys
from core.settings import Settings
from tests.apiserver import ApiServer
from tests.apiserver import start as start_api
from tests.fakeopenai import FakeOpenAI, Reply


@pytest.fixture
def api(settings: Settings, database_url: str) -> Iterator[ApiServer]:
    server = start_api(settings.model_copy(update={"database_url": database_url}))
    yield server
    server.stop()


def _key(api: ApiServer, name: str, **limits: int) -> str:
    return keys.create(api.runtime.database, name, "chat", **limits).secret


def test_a_key_over_its_requests_a_minute_gets_429_with_retry_after(api: ApiServer, fake: FakeOpenAI) -> None:
    key = _key(api, "small", requests_per_minute=3)
    headers = {"Authorization": f"Bearer {key}"}
    for i in range(3):
        r = httpx.post(f"{api.v1}/bots/helpdesk/chat", json={"message": f"q{i}"}, headers=headers)
        assert r.status_code == 200, r.text
    refused = httpx.post(f"{api.v1}/bots/helpdesk/chat", json={"message": "one more"}, headers=headers)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "3 requests a minute" in refused.json()["detail"]
    # the OpenAI route answers in OpenAI's shape, with the same header
    openai = httpx.post(f"{api.v1}/chat/completions", headers=headers,
                        json={"model": "helpdesk", "messages": [{"role": "user", "content": "hi"}]})  # fmt: skip
    assert openai.status_code == 429
    assert openai.json()["error"]["code"] == "rate_limit_exceeded"
    assert "Retry-After" in openai.headers
    assert len(fake.chat_requests()) == 3  # nothing refused reached the model
    # another key is not affected
    assert httpx.post(f"{api.v1}/bots/helpdesk/chat", json={"message": "x"}, headers=api.headers()).status_code == 200


def test_a_key_over_its_tokens_a_minute_gets_429(api: ApiServer, fake: FakeOpenAI) -> None:
    key = _key(api, "thrifty", tokens_per_minute=60)
    headers = {"Authorization": f"Bearer {key}"}
    fake.script(Reply(text="word " * 80))  # one answer uses the minute's tokens
    assert httpx.post(f"{api.v1}/bots/helpdesk/chat", json={"message": "a"}, headers=headers).status_code == 200
    refused = httpx.post(f"{api.v1}/bots/helpdesk/chat", json={"message": "b"}, headers=headers)
    assert refused.status_code == 429
    assert "60 tokens a minute" in refused.json()["detail"]


def test_a_request_larger_than_the_tokens_a_minute_is_refused_before_any_call(api: ApiServer, fake: FakeOpenAI) -> None:
    key = _key(api, "tiny", tokens_per_minute=20)
    headers = {"Authorization": f"Bearer {key}"}
    # no wait would let it through, so not a 429 to retry: a 422 that says what to change
    refused = httpx.post(f"{api.v1}/bots/helpdesk/chat", json={"message": "long " * 30}, headers=headers)
    assert refused.status_code == 422, refused.text
    assert "20 tokens a minute" in refused.json()["detail"]
    assert "--tpm" in refused.json()["detail"]
    assert fake.chat_requests() == []


def test_each_call_names_its_key_and_the_limits_count_by_it(api: ApiServer, fake: FakeOpenAI) -> None:
    from sqlmodel import select

    from core.ledger import Call

    key = _key(api, "counted", requests_per_minute=2)
    headers = {"Authorization": f"Bearer {key}"}
    first = httpx.post(f"{api.v1}/bots/helpdesk/chat", json={"message": "a"}, headers=headers).json()
    # the key continues its conversation: the second turn counts too, the third is refused
    again = {"message": "b", "conversation_id": first["conversation_id"]}
    assert httpx.post(f"{api.v1}/bots/helpdesk/chat", json=again, headers=headers).status_code == 200
    assert httpx.post(f"{api.v1}/bots/helpdesk/chat", json=again, headers=headers).status_code == 429
    with api.runtime.database.session() as session:
        rows = list(session.exec(select(Call)))
    assert [row.key_id for row in rows] == [key.split("_")[1]] * 2


def test_a_burst_cannot_pass_the_limit(api: ApiServer, fake: FakeOpenAI) -> None:
    key = _key(api, "bursty", requests_per_minute=5)
    headers = {"Authorization": f"Bearer {key}"}

    async def burst() -> list[int]:
        async with httpx.AsyncClient(timeout=30) as client:
            replies = await asyncio.gather(*(
                client.post(f"{api.v1}/bots/helpdesk/chat", json={"message": f"b{i}"}, headers=headers)
                for i in range(20)
            ))  # fmt: skip
        return [r.status_code for r in replies]

    statuses = asyncio.run(burst())
    assert statuses.count(200) == 5
    assert statuses.count(429) == 15


def test_limits_are_set_per_key_from_the_command_line(cli_env: dict[str, str]) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["keys", "create", "--name", "web", "--scope", "chat", "--rpm", "10"]).exit_code == 0
    changed = runner.invoke(cli, ["keys", "limit", "web", "--rpm", "20", "--tpm", "5000"])
    assert changed.exit_code == 0, changed.stderr
    assert "20 requests/min, 5000 tokens/min" in changed.stdout
    listed = runner.invoke(cli, ["keys", "list", "--json"]).stdout
    assert '"requests_per_minute": 20' in listed
    bad = runner.invoke(cli, ["keys", "limit", "web", "--rpm", "0"])
    assert bad.exit_code == 1
    assert "--rpm must be at least 1" in bad.stderr


def test_a_stream_over_the_limit_is_refused_before_it_starts(api: ApiServer, fake: FakeOpenAI) -> None:
    key = _key(api, "streamer", requests_per_minute=1)
    headers = {"Authorization": f"Bearer {key}"}
    body = {"message": "hi", "stream": True}
    first = httpx.post(f"{api.v1}/bots/helpdesk/chat", json=body, headers=headers)
    assert first.status_code == 200
    assert "event: done" in first.text
    second = httpx.post(f"{api.v1}/bots/helpdesk/chat", json=body, headers=headers)
    assert second.status_code == 429
    assert "Retry-After" in second.headers


def test_admin_keys_carry_no_limits(api: ApiServer) -> None:
    from core.errors import InvalidInput

    with pytest.raises(InvalidInput, match="chat keys"):
        keys.create(api.runtime.database, "boss", "admin", requests_per_minute=5)
