"""The FastAPI application: `create_app()` is what uvicorn runs (SPEC section 8)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import dashboard, metrics, problems
from api.fast_chat import FastApp
from api.hygiene import TextHygieneMiddleware
from api.limits import MAX_BODY_BYTES, BodyLimitMiddleware
from api.request_ids import RequestIdMiddleware
from api.routes import bots, chat, conversations, costs, finetune, health, openai_compat
from core.hooks import load_hooks
from core.runtime import Runtime
from core.tokens import tokenizer_for


def create_app(runtime: Runtime | None = None) -> FastAPI:
    """Build the app; without a runtime, load one from the environment at start-up."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The ledger's database work runs in threads: asyncio's default pool (cores + 4) would
        # queue concurrent turns behind each other's commits; the database pool bounds them anyway.
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=32, thread_name_prefix="db"))
        rt = runtime or Runtime.load()
        # Costly start-up work happens now, once per process, not on a first request:
        # the local model, and each bot behaviour's state (hazm, catalogs, rules).
        rt.provider  # noqa: B018
        for profile in rt.profiles:
            load_hooks(profile.bot)
            for config in profile.strategies.values():
                if config.model is not None:  # its tokenizer's BPE ranks: half a second to load
                    tokenizer_for(rt.provider.served_model(config.model)).encoding  # noqa: B018
        app.state.runtime = rt
        app.state.engine = rt.engine(on_call=metrics.observe_call)
        try:
            yield
        finally:
            # the ledger's queued writes go in before the database closes
            await app.state.engine.writer.aclose()
            await rt.aclose()

    # a FastAPI app whose everyday chat completion skips the framework (api/fast_chat.py)
    app = FastApp(
        title="domainbots",
        version="0.1.0",
        summary="Domain chatbots with switchable strategies and an exact cost ledger.",
        lifespan=lifespan,
    )
    problems.install(app)
    for module in (chat, openai_compat, bots, conversations, costs, finetune, health):
        app.include_router(module.router)
    app.include_router(dashboard.router)
    app.add_middleware(TextHygieneMiddleware)
    app.add_middleware(RequestIdMiddleware)
    app.add_middleware(BodyLimitMiddleware, limit=MAX_BODY_BYTES)
    app.add_middleware(metrics.MetricsMiddleware)
    return app
