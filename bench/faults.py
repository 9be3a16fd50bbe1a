"""The ledger under faults: every attempt a provider would bill has its row.

    .venv/bin/python bench/faults.py [--requests 150]

Two `domainbots serve` workers on a fresh PostgreSQL database (127.0.0.1:5432, or
DOMAINBOTS_TEST_POSTGRES), behind the OpenAI-compatible test server answering at random:
200s, 429s, 500s, streams cut mid-way, answers dropped without a byte, answers slower than
the request timeout. Clients stream or not; some leave mid-stream; some send a NUL byte.
Then one worker is killed (kill -9) with 12 calls in flight and started again.

Prints the attempts the upstream would bill (it answered 200: cut, dropped or late ones
included) beside the ledger rows that carry usage, the rows left pending, and the 500s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from http.server import ThreadingHTTPServer
from pathlib import Path

import httpx
import psycopg
from sqlmodel import select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core import keys  # noqa: E402
from core.db import open_database  # noqa: E402
from core.ledger import Call  # noqa: E402
from tests.conftest import HELPDESK, write_profile  # noqa: E402
from tests.fakeopenai import FakeOpenAI, Reply  # noqa: E402

PG_ADMIN = os.environ.get("DOMAINBOTS_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
# The request timeout the workers run with (DOMAINBOTS_REQUEST_TIMEOUT); FAULTS_TIMEOUT changes it.
TIMEOUT = float(os.environ.get("FAULTS_TIMEOUT", "8.0"))


# The test server's listen backlog (socketserver's default is 5) would refuse a burst before
# any fault is injected: the faults measured here are the scripted ones.
ThreadingHTTPServer.request_queue_size = 256


class FaultyUpstream(FakeOpenAI):
    """Answers each chat request with a random fault (or none)."""

    slow = False

    def _next(self) -> Reply:
        if self.slow:
            return Reply(delay=TIMEOUT + 1.5)
        roll = random.random()
        if roll < 0.45:
            return Reply(text="a fine answer with a few words")
        if roll < 0.55:
            return Reply(status=429, retry_after_ms=50)
        if roll < 0.65:
            return Reply(status=500)
        if roll < 0.80:
            return Reply(text="one two three four five six seven", cut_after=2)  # cut, or dropped unanswered
        return Reply(delay=TIMEOUT + 0.5)  # slower than the request timeout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_worker(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    exe = str(Path(sys.executable).with_name("domainbots"))
    out = log.open("a")
    proc = subprocess.Popen([exe, "serve", "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"worker on {port} did not start: {log.read_text()[-2000:]}")


async def one(client: httpx.AsyncClient, url: str, headers: dict[str, str], i: int) -> int:
    kind = random.random()
    body: dict[str, object] = {"message": f"question {i}"}
    if kind < 0.05:
        body["message"] = "nul\u0000byte"
    if kind < 0.5:
        r = await client.post(f"{url}/v1/bots/helpdesk/chat", json=body, headers=headers)
        return r.status_code
    body["stream"] = True
    leave = kind > 0.85
    try:
        async with client.stream("POST", f"{url}/v1/bots/helpdesk/chat", json=body, headers=headers) as r:
            async for line in r.aiter_lines():
                if leave and line.startswith("event: delta"):
                    return 499  # the client leaves mid-stream
            return r.status_code
    except httpx.HTTPError:
        return 0


async def burst(urls: list[str], headers: dict[str, str], n: int) -> list[int]:
    async with httpx.AsyncClient(timeout=30) as client:
        return await asyncio.gather(*(one(client, urls[i % 2], headers, i) for i in range(n)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=150)
    args = parser.parse_args()
    random.seed(7)
    name = f"domainbots_faults_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{PG_ADMIN.rsplit('/', 1)[0].replace('postgresql://', 'postgresql+psycopg://', 1)}/{name}"
    upstream = FaultyUpstream().start()
    tmp = Path(tempfile.mkdtemp(prefix="domainbots-faults-"))
    write_profile(tmp / "profiles", HELPDESK)
    database = open_database(url)
    chat = keys.create(database, "chat", "chat").secret
    env = {
        **os.environ,
        "DOMAINBOTS_DATABASE_URL": url,
        "DOMAINBOTS_PROFILES_DIR": str(tmp / "profiles"),
        "DOMAINBOTS_PROVIDER": "openai",
        "DOMAINBOTS_REQUEST_TIMEOUT": str(TIMEOUT),
        "OPENAI_API_KEY": "k",
        "OPENAI_BASE_URL": upstream.base_url,
    }
    ports = [free_port(), free_port()]
    procs = [start_worker(env, port, tmp / f"worker{i}.log") for i, port in enumerate(ports)]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    headers = {"Authorization": f"Bearer {chat}"}
    try:
        statuses = asyncio.run(burst(urls, headers, args.requests))
        # kill -9 with 12 calls in flight on worker 0, then start it again
        upstream.slow = True
        doomed = subprocess.Popen(
            [sys.executable, "-c", (
                "import httpx, concurrent.futures as f\n"
                f"with f.ThreadPoolExecutor(12) as ex:\n"
                f"    list(ex.map(lambda i: httpx.post('{urls[0]}/v1/bots/helpdesk/chat', json={{'message': str(i)}},"
                f" headers={headers!r}, timeout=10), range(12)))\n"
            )],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(1.0)
        procs[0].send_signal(signal.SIGKILL)
        procs[0].wait()
        doomed.kill()
        upstream.slow = False
        time.sleep(2 * TIMEOUT + 0.5)  # older than the sweep's cutoff
        procs[0] = start_worker(env, ports[0], tmp / "worker0.log")
        time.sleep(TIMEOUT + 1)  # calls still in flight on worker 1 end
        with database.session() as session:
            rows = list(session.exec(select(Call)))
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=15)
        upstream.stop()
        database.dispose()
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    billed = sum(1 for reply in upstream.served if reply.status == 200)
    refused = sum(1 for reply in upstream.served if reply.status != 200)
    with_usage = sum(1 for row in rows if row.usage_source != "none" and row.status != "pending")
    pending = sum(1 for row in rows if row.status == "pending")
    by_status: dict[str, int] = {}
    for row in rows:
        by_status[row.status] = by_status.get(row.status, 0) + 1
    print(f"{args.requests} chats through 2 workers on PostgreSQL, then kill -9 with 12 in flight and a restart")
    print(f"upstream attempts: {len(upstream.served)} ({billed} billable, {refused} refused with 429/5xx)")
    print(f"ledger rows: {len(rows)} {dict(sorted(by_status.items()))}; with usage {with_usage}; pending {pending}")
    print(f"billable attempts without a row: {max(0, billed - with_usage)}")
    errors: dict[str, int] = {}
    for row in rows:
        if row.error:
            errors[row.error[:60]] = errors.get(row.error[:60], 0) + 1
    print("errors:", sorted(errors.items(), key=lambda e: -e[1])[:4])
    answers = dict(sorted({s: statuses.count(s) for s in set(statuses)}.items()))
    print(f"client answers: {answers} (500s: {statuses.count(500)})")


if __name__ == "__main__":
    main()
