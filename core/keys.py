"""API keys: created with a secret shown once, kept as a SHA-256 hash, checked in constant time.

A key reads ``dbk_<id>_<secret>``. The id is public (it names the key in logs and
owns its conversations); the secret is 256 random bits, so a plain SHA-256 is a
sound way to keep it (no password stretching is needed for random secrets).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Literal

from sqlmodel import col, select

from core.db import Database
from core.errors import InvalidInput, NotFound
from core.ledger import ApiKey, utcnow

Scope = Literal["chat", "admin"]
SCOPES: tuple[Scope, ...] = ("chat", "admin")
PREFIX = "dbk"


@dataclass(frozen=True)
class CreatedKey:
    key: ApiKey
    secret: str  # the whole key, shown to the user once


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create(
    database: Database,
    name: str,
    scope: str,
    *,
    requests_per_minute: int | None = None,
    tokens_per_minute: int | None = None,
) -> CreatedKey:
    if scope not in SCOPES:
        raise InvalidInput(f"scope must be one of {', '.join(SCOPES)}, not {scope!r}")
    name = name.strip()
    if not name:
        raise InvalidInput("a key needs a name, e.g. --name web-frontend")
    with database.session() as session:
        if session.exec(select(ApiKey).where(ApiKey.name == name, col(ApiKey.revoked_at).is_(None))).first():
            raise InvalidInput(f"an active key is already named {name!r}; revoke it or pick another name")
        if scope == "admin" and (requests_per_minute or tokens_per_minute):
            raise InvalidInput("rate limits apply to chat keys (admin turns have no owner to count them by)")
        key_id = secrets.token_hex(4)
        full = f"{PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
        key = ApiKey(
            id=key_id,
            name=name,
            scope=scope,
            secret_sha256=_digest(full),
            requests_per_minute=_limit(requests_per_minute, "--rpm"),
            tokens_per_minute=_limit(tokens_per_minute, "--tpm"),
        )
        session.add(key)
        session.commit()
        return CreatedKey(key=key, secret=full)


# Verified keys are remembered this long per process (seconds): a revocation through any
# worker is honoured by every worker within it.
KEY_TTL = 1.0
_verified: dict[tuple[int, str], tuple[float, ApiKey | None]] = {}


def cached(database: Database, presented: str) -> tuple[bool, ApiKey | None]:
    """(True, the key or None) when this secret was verified within KEY_TTL; (False, None) else."""
    hit = _verified.get((id(database), _digest(presented)))
    if hit is not None and hit[0] > time.monotonic():
        return True, hit[1]
    return False, None


def verify(database: Database, presented: str) -> ApiKey | None:
    """The active key this secret belongs to, or None."""
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX:
        return None
    now = time.monotonic()
    memo = (id(database), _digest(presented))
    cached = _verified.get(memo)
    if cached is not None and cached[0] > now:
        return cached[1]
    with database.session() as session:
        key = session.get(ApiKey, parts[1])
    result = _check(key, presented)
    if len(_verified) > 10_000:
        _verified.clear()
    _verified[memo] = (now + KEY_TTL, result)
    return result


def by_id(database: Database, key_id: str) -> ApiKey | None:
    """The active key with this public id, or None (for sessions that stand for a key)."""
    if not key_id.isascii() or not key_id.isalnum() or len(key_id) > 16:
        return None
    with database.session() as session:
        key = session.get(ApiKey, key_id)
    return key if key is not None and key.revoked_at is None else None


def _check(key: ApiKey | None, presented: str) -> ApiKey | None:
    if key is None or key.revoked_at is not None:
        return None
    return key if hmac.compare_digest(key.secret_sha256, _digest(presented)) else None


def listing(database: Database) -> list[ApiKey]:
    with database.session() as session:
        return list(session.exec(select(ApiKey).order_by(col(ApiKey.created_at))))


def _limit(value: int | None, option: str) -> int | None:
    if value is not None and value < 1:
        raise InvalidInput(f"{option} must be at least 1 (leave it out for no limit)")
    return value


def set_limits(
    database: Database, name: str, *, requests_per_minute: int | None, tokens_per_minute: int | None
) -> ApiKey:
    """A key's rate limits from now on (None: unlimited); every worker applies them within KEY_TTL."""
    with database.session() as session:
        key = session.exec(select(ApiKey).where(ApiKey.name == name, col(ApiKey.revoked_at).is_(None))).first()
        if key is None:
            raise NotFound(f"no active key named {name!r}; `domainbots keys list` shows them")
        if key.scope == "admin" and (requests_per_minute or tokens_per_minute):
            raise InvalidInput(f"{name!r} is an admin key: rate limits apply to chat keys (admin turns have no owner)")
        key.requests_per_minute = _limit(requests_per_minute, "--rpm")
        key.tokens_per_minute = _limit(tokens_per_minute, "--tpm")
        session.add(key)
        session.commit()
        _verified.clear()
        return key


def revoke(database: Database, name: str) -> ApiKey:
    with database.session() as session:
        key = session.exec(select(ApiKey).where(ApiKey.name == name, col(ApiKey.revoked_at).is_(None))).first()
        if key is None:
            raise NotFound(f"no active key named {name!r}; `domainbots keys list` shows them")
        key.revoked_at = utcnow()
        session.add(key)
        session.commit()
        _verified.clear()  # this process forgets at once; others within KEY_TTL
        return key


def ensure_admin(database: Database) -> CreatedKey | None:
    """On a first start, make an admin key (returned once, to be printed); None when one exists."""
    with database.session() as session:
        active = session.exec(select(ApiKey).where(ApiKey.scope == "admin", col(ApiKey.revoked_at).is_(None)))
        if active.first() is not None:
            return None
    return create(database, f"admin-{secrets.token_hex(2)}", "admin")
