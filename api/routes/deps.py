"""What routes take from the running app."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from core.engine import Engine
from core.runtime import Runtime


# Async on purpose: FastAPI runs a sync dependency in a thread, a hop per request for a lookup.
async def runtime(request: Request) -> Runtime:
    return request.app.state.runtime


async def engine(request: Request) -> Engine:
    return request.app.state.engine


RuntimeDep = Annotated[Runtime, Depends(runtime)]
EngineDep = Annotated[Engine, Depends(engine)]

PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}
