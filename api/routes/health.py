"""Liveness and Prometheus metrics: the two routes that need no key."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from api import metrics

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
async def prometheus() -> Response:
    return Response(metrics.render(), media_type=metrics.CONTENT_TYPE)
