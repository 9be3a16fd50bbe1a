"""New conversation ids: time-ordered, so the ledger's indexes on them grow at one end.

A conversation's id keys the conversations table and indexes calls and messages. Random ids
(uuid4) put every new conversation on a random page of each of those three B-trees, and each
such page is written out whole at the commit: at 32 concurrent turns that was about half of a
SQLite commit's cost (~30 µs a turn). Ids that begin with the time (as UUIDv7 does) land on
the pages the previous ones dirtied. 80 random bits follow, so an id is still unguessable (and
someone else's conversation is reported missing anyway); the strategy rollout hashes the whole
id, so its buckets stay even.
"""

from __future__ import annotations

import secrets
import time


def conversation_id() -> str:
    """32 hex digits: milliseconds since the epoch (12), then 80 random bits (20)."""
    return f"{time.time_ns() // 1_000_000:012x}{secrets.token_hex(10)}"
