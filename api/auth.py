"""Bearer keys with a scope: `chat` for the chat routes, `admin` for everything."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.problems import ApiProblem
from core import keys
from core.db import Database
from core.ledger import ApiKey
from core.rate_limits import RateLimits

_bearer = HTTPBearer(auto_error=False, description="An API key: `domainbots keys create --name NAME --scope chat`")
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


async def find_key(database: Database, secret: str) -> ApiKey | None:
    """The key a secret names, if it is valid: from the second-long cache, or read off the event loop."""
    cached, key = keys.cached(database, secret)
    if not cached:
        key = await asyncio.to_thread(keys.verify, database, secret)
    return key


# Async on purpose: a verified key is remembered for a second (core.keys), so this is a dict
# lookup nearly always; as a sync dependency it would cost a thread hop on every request.
async def _verified(request: Request, credentials: HTTPAuthorizationCredentials | None) -> ApiKey:
    if credentials is None:
        raise ApiProblem(401, "no API key: send `Authorization: Bearer <key>`", _CHALLENGE)
    key = await find_key(request.app.state.runtime.database, credentials.credentials)
    if key is None:
        raise ApiProblem(401, "this API key is not valid or has been revoked", _CHALLENGE)
    return key


# Each scope is one dependency over the bearer scheme, not a chain: FastAPI resolves every
# level of a chain on every request.
async def chat_key(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> ApiKey:
    return await _verified(request, credentials)  # both scopes may chat


async def admin_key(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> ApiKey:
    key = await _verified(request, credentials)
    if key.scope != "admin":
        raise ApiProblem(403, f"key {key.name!r} has the {key.scope!r} scope; this route needs an admin key")
    return key


ChatKey = Annotated[ApiKey, Depends(chat_key)]
AdminKey = Annotated[ApiKey, Depends(admin_key)]


def limits_of(key: ApiKey) -> RateLimits | None:
    """The key's own rate limits, checked by the engine before each model call."""
    if key.requests_per_minute is None and key.tokens_per_minute is None:
        return None
    return RateLimits(key.id, key.requests_per_minute, key.tokens_per_minute)


def owner_of(key: ApiKey) -> str | None:
    """Whose conversations a key may read: its own, or (admin) everyone's."""
    return None if key.scope == "admin" else key.id
