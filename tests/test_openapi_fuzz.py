"""Property-based requests generated from our own OpenAPI schema: none may get a 500.

schemathesis builds a Hypothesis strategy per operation from /openapi.json; the
requests go over HTTP to the API under uvicorn (its pytest plugin is not used: it
does not load under this pytest). Half the cases are steered to a real bot and a
real conversation, so that generated bodies reach the handlers, not just the 404.
"""

from __future__ import annotations

from collections import Counter

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.apiserver import ApiServer
from tests.fakeopenai import FakeOpenAI

EXAMPLES_PER_OPERATION = 40


def test_no_generated_request_gets_a_500(api: ApiServer, fake: FakeOpenAI) -> None:
    conversation = httpx.post(f"{api.v1}/bots/helpdesk/chat", json={"message": "seed"}, headers=api.headers()).json()[
        "conversation_id"
    ]
    schema = schemathesis.openapi.from_url(f"{api.base_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12
    statuses: Counter[int] = Counter()
    for operation in operations:
        admin = operation.path.startswith("/v1/costs") or operation.method.upper() == "PUT"
        key = api.admin_key if admin else api.chat_key
        fuzz(operation, {"Authorization": f"Bearer {key}"}, conversation, statuses)
    # The run reached the handlers, not only the validators.
    assert statuses[200] + statuses[201] > 50, statuses


def fuzz(operation, headers: dict[str, str], conversation: str, statuses: Counter[int]) -> None:
    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(), steer=st.booleans())
    def check(case, steer: bool) -> None:
        if steer:
            if "bot" in (case.path_parameters or {}):
                case.path_parameters["bot"] = "helpdesk"
            if "conversation_id" in (case.path_parameters or {}):
                case.path_parameters["conversation_id"] = conversation
            if isinstance(case.query, dict) and "bot" in case.query:
                case.query["bot"] = "helpdesk"
            if isinstance(case.body, dict) and "model" in case.body:
                case.body["model"] = "helpdesk"
        response = case.call(headers=headers, timeout=30)
        statuses[response.status_code] += 1
        where = f"{case.method} {case.formatted_path} {case.body!r:.200}"
        assert response.status_code != 500, f"{where}: {response.text[:300]}"
        if response.status_code >= 400:
            content_type = (response.headers.get("content-type") or [""])[0]
            if case.formatted_path.startswith(("/v1/chat/completions", "/v1/models")):
                # OpenAI's protocol: its error object, so the official SDK raises its own classes
                assert content_type.startswith("application/json"), where
                assert set(response.json()["error"]) == {"message", "type", "param", "code"}, where
            else:
                assert content_type.startswith("application/problem+json"), where

    check()
