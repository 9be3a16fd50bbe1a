"""Benchmark what the HTTP API adds to a chat call, over calling the upstream directly.

    .venv/bin/python bench/gateway.py [--requests 300]

Starts the OpenAI-compatible test server (a canned, zero-delay upstream) and one
`domainbots serve` worker on SQLite pointed at it, then sends the same chat, one at
a time and interleaved, straight to the upstream and through domainbots (auth,
profile, strategy, token counting, hooks, pricing, the ledger write). Reports p50 and
p99 of both and the difference: the gateway's overhead on this machine.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core import keys  # noqa: E402
from core.db import open_database  # noqa: E402
from tests.fakeopenai import FakeOpenAI  # noqa: E402

PROFILE = """
name: bench
title: Benchmark bot
strategies:
  prompt:
    model: gpt-4o-mini
    system_prompt: You are a helpful assistant. Answer briefly.
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    upstream = FakeOpenAI().start()
    work = Path(tempfile.mkdtemp(prefix="domainbots-gateway-"))
    (work / "profiles").mkdir()
    (work / "profiles" / "bench.yaml").write_text(PROFILE)
    url = f"sqlite:///{work}/bench.db"
    key = keys.create(open_database(url), "bench", "chat").secret
    port = free_port()
    env = {**os.environ, "DOMAINBOTS_DATABASE_URL": url, "DOMAINBOTS_PROFILES_DIR": str(work / "profiles"),
           "DOMAINBOTS_PROVIDER": "openai", "OPENAI_API_KEY": "k", "OPENAI_BASE_URL": upstream.base_url}  # fmt: skip
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("domainbots")), "serve", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    ours = f"http://127.0.0.1:{port}/v1/chat/completions"
    body = {"model": "bench", "messages": [{"role": "user", "content": "What are your opening hours?"}]}
    direct_body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "What are your opening hours?"}]}
    try:
        with httpx.Client(timeout=10) as client:
            for _ in range(100):
                try:
                    if client.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            headers = {"Authorization": f"Bearer {key}"}
            for _ in range(20):  # warm-up
                client.post(ours, json=body, headers=headers).raise_for_status()
                client.post(f"{upstream.base_url}/chat/completions", json=direct_body).raise_for_status()
            direct, through = [], []
            for _ in range(args.requests):
                t0 = time.perf_counter()
                client.post(f"{upstream.base_url}/chat/completions", json=direct_body).raise_for_status()
                t1 = time.perf_counter()
                client.post(ours, json=body, headers=headers).raise_for_status()
                t2 = time.perf_counter()
                direct.append(t1 - t0)
                through.append(t2 - t1)
    finally:
        server.terminate()
        server.wait(timeout=10)
        upstream.stop()
    d50, d99 = percentile(direct, 50), percentile(direct, 99)
    o50, o99 = percentile(through, 50), percentile(through, 99)
    print(f"{args.requests} chats, one at a time, interleaved; SQLite ledger; 1 worker")
    print(f"upstream directly:     p50 {d50:.2f} ms   p99 {d99:.2f} ms")
    print(f"through domainbots:    p50 {o50:.2f} ms   p99 {o99:.2f} ms")
    print(f"added by domainbots:   p50 {o50 - d50:.2f} ms   p99 {o99 - d99:.2f} ms", end="   ")
    print(f"({o50 / d50:.1f}x the upstream alone at p50)")


if __name__ == "__main__":
    main()
