"""The dashboard's sign-in: an admin key exchanged for a session cookie.

The cookie never holds the key. It holds ``<key id>.<expiry>.<mac>``, the MAC keyed with
the key's stored hash (a value only the server and its database have), so any worker can
check it without shared session state, and revoking the key ends its sessions at once.
The session reads the dashboard only (the cookie's path), never the API, which wants a
bearer key: whoever could forge one from a copy of the database has that data already. The cookie is
HttpOnly (no script reads it), SameSite=Strict (no other site's page can send it, which
also stops cross-site form posts) and Secure over HTTPS.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from fastapi import Request, Response

from core import keys
from core.db import Database
from core.ledger import ApiKey

COOKIE = "domainbots_session"
PATH = "/dashboard"
LIFETIME = 12 * 3600  # seconds: a working day, then sign in again


def _mac(key: ApiKey, body: str) -> str:
    return hmac.new(key.secret_sha256.encode(), f"dashboard|{body}".encode(), hashlib.sha256).hexdigest()


def token_for(key: ApiKey, now: float | None = None) -> str:
    body = f"{key.id}.{int((now or time.time()) + LIFETIME)}"
    return f"{body}.{_mac(key, body)}"


def admin_of(database: Database, token: str | None, now: float | None = None) -> ApiKey | None:
    """The active admin key a session cookie stands for, or None (absent, forged, expired, revoked)."""
    if not token or not token.isascii() or not token.isprintable():
        return None
    parts = token.split(".")
    if len(parts) != 3 or not parts[1].isdigit() or len(parts[1]) > 12:
        return None
    moment = now or time.time()
    if not moment <= int(parts[1]) <= moment + LIFETIME:  # expired, or an expiry no sign-in gives
        return None
    key = keys.by_id(database, parts[0])
    if key is None or key.scope != "admin":
        return None
    return key if hmac.compare_digest(_mac(key, f"{parts[0]}.{parts[1]}"), parts[2]) else None


def start(response: Response, request: Request, key: ApiKey) -> None:
    response.set_cookie(
        COOKIE,
        token_for(key),
        max_age=LIFETIME,
        path=PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def end(response: Response) -> None:
    response.delete_cookie(COOKIE, path=PATH, httponly=True, samesite="strict")
