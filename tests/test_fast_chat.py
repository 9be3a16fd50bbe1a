"""The everyday chat completion answered outside the framework (api/fast_chat.py): the same turn
and the same answers as the full route, and everything unusual left to the full route."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from api.fast_chat import _plain_body
from api.routes.openai_compat import CompletionBody, _turn_request
from tests.apiserver import ApiServer
from tests.fakeopenai import FakeOpenAI

USER = {"role": "user", "content": "hi"}

PLAIN: list[dict[str, Any]] = [
    {"model": "helpdesk", "messages": [USER]},
    {"model": "helpdesk", "messages": [{"role": "system", "content": "Be brief."}, USER], "stream": False},
    {"model": "helpdesk", "messages": [{"role": "assistant", "content": None}, USER], "temperature": 0},
    {"model": "helpdesk", "messages": [USER], "max_tokens": 5, "top_p": 0.5, "seed": -3, "stop": ["x", "y"]},
    {"model": "helpdesk", "messages": [USER], "presence_penalty": -2, "frequency_penalty": 1.5, "stop": "z"},
    {"model": "helpdesk", "messages": [USER], "max_completion_tokens": 1, "temperature": None},
]
# Each is for the validator to judge (refused, coerced or carrying what the fast path does not read).
UNUSUAL: list[Any] = [
    [USER],
    {"model": "helpdesk", "messages": []},
    {"model": "x" * 41, "messages": [USER]},
    {"model": 7, "messages": [USER]},
    {"model": "helpdesk", "messages": [USER], "stream": True},
    {"model": "helpdesk", "messages": [USER], "temperature": 3},
    {"model": "helpdesk", "messages": [USER], "temperature": True},
    {"model": "helpdesk", "messages": [USER], "max_tokens": 0},
    {"model": "helpdesk", "messages": [USER], "max_tokens": 5.0},
    {"model": "helpdesk", "messages": [USER], "max_tokens": "5"},
    {"model": "helpdesk", "messages": [USER], "n": 2},
    {"model": "helpdesk", "messages": [USER], "user": "u1"},
    {"model": "helpdesk", "messages": [USER], "tools": [{"type": "function"}]},
    {"model": "helpdesk", "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]},
    {"model": "helpdesk", "messages": [{"role": "robot", "content": "hi"}]},
    {"model": "helpdesk", "messages": [{"role": "user", "content": "hi", "name": "ann"}]},
    {"model": "helpdesk", "messages": [USER], "stop": ["x", 1]},
    {"model": "helpdesk", "messages": [USER], "stream": None},
]


@pytest.mark.parametrize("body", PLAIN)
def test_a_plain_body_reads_as_the_validator_reads_it(body: dict[str, Any]) -> None:
    fast = _plain_body(json.dumps(body).encode())
    assert fast is not None
    validated = CompletionBody.model_validate(body)
    assert _turn_request(fast, None, "k1", "r1") == _turn_request(validated, None, "k1", "r1")


@pytest.mark.parametrize("body", UNUSUAL)
def test_anything_unusual_is_left_to_the_full_route(body: Any) -> None:
    assert _plain_body(json.dumps(body).encode()) is None
    assert _plain_body(b"{not json") is None
    assert _plain_body(b'{"model": "helpdesk", "messages": ' + b"[" * 100_000 + b"]" * 100_000 + b"}") is None


def test_the_validator_refuses_what_the_fast_path_refuses_to_judge() -> None:
    with pytest.raises(ValidationError):
        CompletionBody.model_validate({"model": "helpdesk", "messages": [USER], "temperature": 3})


def test_fast_and_full_answers_agree(api: ApiServer, fake: FakeOpenAI) -> None:
    url = f"{api.v1}/chat/completions"
    headers = {**api.headers(), "X-Request-Id": "req-fast-1"}
    fast = httpx.post(url, json={"model": "helpdesk", "messages": [USER]}, headers=headers)
    # an extra field the route ignores sends the same request down the full stack
    full = httpx.post(url, json={"model": "helpdesk", "messages": [USER], "user": "u1"}, headers=headers)
    for reply in (fast, full):
        assert reply.status_code == 200, reply.text
        assert reply.headers["x-request-id"] == "req-fast-1"
        assert reply.headers["x-strategy"] == "prompt"
        assert reply.headers["x-cost-usd"]
        assert reply.headers["content-type"] == "application/json"
        body = reply.json()
        assert body["object"] == "chat.completion"
        assert body["id"] == f"chatcmpl-{reply.headers['x-conversation-id']}-{body['id'].rsplit('-', 1)[1]}"
    assert fast.json()["choices"] == full.json()["choices"]
    metrics = httpx.get(f"{api.base_url}/metrics").text
    assert 'domainbots_http_requests_total{method="POST",route="/v1/chat/completions",status="200"}' in metrics


def test_errors_on_the_fast_path_are_openais(api: ApiServer, fake: FakeOpenAI) -> None:
    url = f"{api.v1}/chat/completions"
    missing = httpx.post(url, json={"model": "nope", "messages": [USER]}, headers=api.headers())
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "model_not_found"
    assert missing.headers["x-request-id"].startswith("req_")
    empty = httpx.post(url, json={"model": "helpdesk", "messages": [{"role": "user", "content": " "}]},
                       headers=api.headers())  # fmt: skip
    assert empty.status_code == 400
    assert empty.json()["error"]["type"] == "invalid_request_error"
    # left to the full stack: a wrong key, text no database can hold, a value out of range
    wrong = httpx.post(url, json={"model": "helpdesk", "messages": [USER]}, headers=api.headers("dbk_x_y"))
    assert wrong.status_code == 401
    nul = httpx.post(url, content=b'{"model": "helpdesk", "messages": [{"role": "user", "content": "a\\u0000"}]}',
                     headers={**api.headers(), "content-type": "application/json"})  # fmt: skip
    assert nul.status_code == 400
    assert "NUL" in nul.json()["error"]["message"]
    hot = httpx.post(url, json={"model": "helpdesk", "messages": [USER], "temperature": 3}, headers=api.headers())
    assert hot.status_code == 400
    assert hot.json()["error"]["param"] == "temperature"
    assert fake.chat_requests() == []  # none of them reached the upstream


def test_bodies_no_database_can_hold_are_refused_on_both_paths(api: ApiServer, fake: FakeOpenAI) -> None:
    """json.loads takes UTF-16 and UTF-8 carrying encoded surrogates; neither may reach the
    upstream, the ledger or the database. And a body nested past the parser's depth is a 400."""
    url = f"{api.v1}/chat/completions"
    headers = {**api.headers(), "content-type": "application/json"}
    plain = {"model": "helpdesk", "messages": [{"role": "user", "content": "hi"}]}
    surrogate = b'{"model": "helpdesk", "messages": [{"role": "user", "content": "hi \xed\xa0\x80"}]}'
    utf16 = json.dumps({**plain, "messages": [{"role": "system", "content": "a\u0000"}, USER]}).encode("utf-16-le")
    for body in (surrogate, utf16, json.dumps({**plain, "user": "u1"}).encode("utf-16")):
        reply = httpx.post(url, content=body, headers=headers)
        assert reply.status_code == 400, reply.text
        assert reply.json()["error"]["type"] == "invalid_request_error"
    deep = b'{"model": "helpdesk", "messages": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert httpx.post(url, content=deep, headers=headers).status_code == 400
    null_stream = httpx.post(url, json={**plain, "stream": None}, headers=api.headers())
    assert null_stream.status_code == 400
    assert fake.chat_requests() == []
