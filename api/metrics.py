"""Prometheus metrics: HTTP traffic, and tokens, cost and errors by bot and strategy.

With several workers, `domainbots serve` sets PROMETHEUS_MULTIPROC_DIR so that any
worker's /metrics reports all of them. The ledger stays the exact record of money;
these counters are for dashboards and alerts.
"""

from __future__ import annotations

import functools
import os
import time
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.types import Message, Receive, Scope, Send

from api.http_middleware import HttpMiddleware
from core.rows import CallRow

REQUESTS = Counter("domainbots_http_requests", "HTTP requests.", ["route", "method", "status"])
LATENCY = Histogram(
    "domainbots_http_request_duration_seconds",
    "Time to the end of the response (streams included).",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
CALLS = Counter("domainbots_llm_calls", "Model calls, by outcome.", ["bot", "strategy", "status"])
TOKENS = Counter("domainbots_tokens", "Tokens of model calls.", ["bot", "strategy", "kind"])
COST = Counter("domainbots_cost_usd", "Cost of model calls in USD (the ledger has exact figures).", ["bot", "strategy"])
PROVIDER_ERRORS = Counter("domainbots_provider_errors", "Failed or cut model calls.", ["bot", "strategy", "status"])

CONTENT_TYPE = CONTENT_TYPE_LATEST


def observe_call(call: CallRow) -> None:
    calls, prompt, cached, completion, cost = _call_series(call.bot, call.strategy, call.status)
    calls.inc()
    prompt.inc(call.prompt_tokens)
    cached.inc(call.cached_tokens)
    completion.inc(call.completion_tokens)
    cost.inc(call.cost_nanousd / 1e9)
    if call.status != "ok":
        PROVIDER_ERRORS.labels(call.bot, call.strategy, call.status).inc()


@functools.cache
def _call_series(bot: str, strategy: str, status: str) -> tuple[Any, Any, Any, Any, Any]:
    """A call's counters, looked up once per label set (``labels`` costs µs on every turn)."""
    return (
        CALLS.labels(bot, strategy, status),
        TOKENS.labels(bot, strategy, "prompt"),
        TOKENS.labels(bot, strategy, "cached"),
        TOKENS.labels(bot, strategy, "completion"),
        COST.labels(bot, strategy),
    )


def render() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


class MetricsMiddleware(HttpMiddleware):
    """Counts requests by route template (not raw path, so ids do not explode the labels)."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route: Any = scope.get("route")
            observe_request(getattr(route, "path", "unmatched"), scope["method"], status, started)


def observe_request(template: str, method: str, status: int, started: float) -> None:
    """One HTTP request answered, by route template (``started``: its perf_counter)."""
    REQUESTS.labels(template, method, str(status)).inc()
    LATENCY.labels(template).observe(time.perf_counter() - started)
