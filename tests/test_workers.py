"""Two real `domainbots serve` processes on one real PostgreSQL database."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from core import keys
from core.db import open_database
from core.ledger import Call
from tests.fakeopenai import FakeOpenAI

pytestmark = pytest.mark.postgres


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def two_workers(postgres_url: str, profiles_dir: Path, fake: FakeOpenAI, tmp_path: Path) -> Iterator[dict]:
    database = open_database(postgres_url)
    admin = keys.create(database, "admin", "admin").secret
    chat = keys.create(database, "chat", "chat").secret
    env = {
        **os.environ,
        "DOMAINBOTS_DATABASE_URL": postgres_url,
        "DOMAINBOTS_PROFILES_DIR": str(profiles_dir),
        "DOMAINBOTS_PROVIDER": "openai",
        "OPENAI_API_KEY": "test-key",
        "OPENAI_BASE_URL": fake.base_url,
    }
    exe = str(Path(sys.executable).with_name("domainbots"))
    ports = [free_port(), free_port()]
    logs = [open(tmp_path / f"worker{i}.log", "w") for i in range(2)]  # noqa: SIM115
    procs = [
        subprocess.Popen([exe, "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
        for port, log in zip(ports, logs, strict=True)
    ]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        deadline = time.monotonic() + 30
        for url, proc in zip(urls, procs, strict=True):
            while True:
                assert proc.poll() is None, (tmp_path / "worker0.log").read_text()
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "a worker did not start"
                time.sleep(0.1)
        yield {"urls": urls, "admin": admin, "chat": chat, "database": database}
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=15)
        for log in logs:
            log.close()
        database.dispose()


def test_a_switch_through_one_worker_is_served_by_the_other_within_a_second(two_workers: dict) -> None:
    a, b = two_workers["urls"]
    chat = {"Authorization": f"Bearer {two_workers['chat']}"}
    admin = {"Authorization": f"Bearer {two_workers['admin']}"}
    first = httpx.post(f"{b}/v1/bots/helpdesk/chat", json={"message": "hi"}, headers=chat).json()
    assert first["strategy"] == "prompt"
    switched = httpx.put(f"{a}/v1/bots/helpdesk/strategy", json={"strategy": "finetuned"}, headers=admin)
    assert switched.status_code == 200
    at = time.monotonic()
    while True:
        reply = httpx.post(f"{b}/v1/bots/helpdesk/chat", json={"message": "hi"}, headers=chat).json()
        if reply["strategy"] == "finetuned":
            break
        assert time.monotonic() - at < 1.0, "worker b still serves the old strategy after a second"
    assert httpx.get(f"{b}/v1/bots/helpdesk", headers=chat).json()["strategy"] == "finetuned"


def test_200_concurrent_chats_leave_200_rows_that_sum_to_the_reported_total(two_workers: dict) -> None:
    urls = two_workers["urls"]
    chat = {"Authorization": f"Bearer {two_workers['chat']}"}

    async def run() -> list[dict]:
        limits = httpx.Limits(max_connections=200)
        async with httpx.AsyncClient(timeout=60, limits=limits) as client:
            replies = await asyncio.gather(
                *(
                    client.post(f"{urls[i % 2]}/v1/bots/helpdesk/chat", json={"message": f"question {i}"}, headers=chat)
                    for i in range(200)
                )
            )
        assert [r.status_code for r in replies] == [200] * 200
        return [r.json() for r in replies]

    replies = asyncio.run(run())
    with two_workers["database"].session() as session:
        rows = list(session.exec(select(Call)))
    # One ok row per reply; a burst may also need retries (the upstream's backlog refuses a
    # connection): each retry is a row of its own, and nothing is left pending.
    ok = [c for c in rows if c.status == "ok"]
    assert len(ok) == 200
    assert {c.status for c in rows} <= {"ok", "error"}
    per_turn = {}
    for c in rows:
        per_turn.setdefault(c.conversation_id, []).append(c.attempt)
    assert all(sorted(a) == list(range(1, len(a) + 1)) for a in per_turn.values())  # attempts 1, 2, ...
    assert len({r["conversation_id"] for r in replies}) == 200
    replied_total = sum((Decimal(r["cost_usd"]) for r in replies), Decimal(0))
    assert replied_total == Decimal(sum(c.cost_nanousd for c in ok)).scaleb(-9)
    admin = {"Authorization": f"Bearer {two_workers['admin']}"}
    reported = httpx.get(f"{urls[0]}/v1/costs", headers=admin).json()
    assert Decimal(reported["total_usd"]) == Decimal(sum(c.cost_nanousd for c in rows)).scaleb(-9)
    assert sum(r["calls"] for r in reported["rows"]) == len(rows)
