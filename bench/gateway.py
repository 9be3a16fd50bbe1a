"""What domainbots adds to a chat call, beside the floor: a bare FastAPI + aiohttp forward.

    .venv/bin/python bench/gateway.py [--requests 400] [--seconds 8]

Three servers on this machine, each in its own process, in one run:
- a canned upstream: an OpenAI-compatible /v1/chat/completions answering at once (raw ASGI);
- the floor: FastAPI forwarding the body to that upstream with aiohttp, nothing else;
- `domainbots serve` with its defaults (SQLite ledger, one worker) in front of the same upstream:
  auth, profile, strategy, token counting, hooks, pricing, the write-ahead ledger row.
Then, side by side and interleaved:
- c=1: ``--requests`` chats one at a time through each; the overhead of each over calling the
  upstream directly (p50), and domainbots' overhead as a multiple of the floor's;
- c=32: 32 clients for ``--seconds`` against each; requests per second, domainbots as a share of
  the floor's, and any non-2xx.
The machine is shared by load, servers and upstream: compare the ratios, not the absolutes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from fastapi import FastAPI, Request, Response

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PROFILE = """
name: bench
title: Benchmark bot
strategies:
  prompt:
    model: gpt-4o-mini
    system_prompt: You are a helpful assistant. Answer briefly.
"""
QUESTION = "What are your opening hours?"
CANNED = json.dumps({
    "id": "chatcmpl-bench", "object": "chat.completion", "created": 0, "model": "gpt-4o-mini",
    "choices": [{"index": 0, "finish_reason": "stop",
                 "message": {"role": "assistant", "content": "We are open 9 to 5, Monday to Friday."}}],
    "usage": {"prompt_tokens": 25, "completion_tokens": 12, "total_tokens": 37},
}).encode()  # fmt: skip


# -- the servers (each runs in its own process: `bench/gateway.py --serve upstream|bare PORT [UPSTREAM]`) --


async def _upstream(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    more = True
    while more:
        more = (await receive()).get("more_body", False)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(CANNED)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": CANNED})


def _bare(upstream: str) -> Any:
    app = FastAPI()
    state: dict[str, aiohttp.ClientSession] = {}

    @app.post("/v1/chat/completions")
    async def forward(request: Request) -> Response:
        if "session" not in state:
            state["session"] = aiohttp.ClientSession()
        body = await request.body()
        async with state["session"].post(f"{upstream}/chat/completions", data=body,
                                          headers={"content-type": "application/json"}) as reply:  # fmt: skip
            return Response(await reply.read(), status_code=reply.status, media_type="application/json")

    return app


def serve(kind: str, port: int, upstream: str | None) -> None:
    import uvicorn

    app = _upstream if kind == "upstream" else _bare(upstream or "")
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


# -- the load ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def wait_up(session: aiohttp.ClientSession, url: str) -> None:
    for _ in range(200):
        try:
            async with session.get(url) as reply:
                await reply.read()
                return
        except aiohttp.ClientError:
            await asyncio.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


async def one(session: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str]) -> tuple[float, int]:
    started = time.perf_counter()
    async with session.post(url, data=body, headers=headers) as reply:
        await reply.read()
        return time.perf_counter() - started, reply.status


async def sequential(session: aiohttp.ClientSession, targets: dict[str, tuple[str, bytes, dict[str, str]]],
                     requests: int) -> dict[str, list[float]]:  # fmt: skip
    times: dict[str, list[float]] = {name: [] for name in targets}
    for _ in range(requests):
        for name, (url, body, headers) in targets.items():  # interleaved: noise hits every arm alike
            elapsed, status = await one(session, url, body, headers)
            if status // 100 != 2:
                raise RuntimeError(f"{name} answered {status}")
            times[name].append(elapsed)
    return times


async def concurrent(session: aiohttp.ClientSession, target: tuple[str, bytes, dict[str, str]], clients: int,
                     seconds: float) -> tuple[float, int, int]:  # fmt: skip
    url, body, headers = target
    done = failed = 0
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        nonlocal done, failed
        while time.perf_counter() < deadline:
            _, status = await one(session, url, body, headers)
            done += 1
            failed += status // 100 != 2

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return done / (time.perf_counter() - started), done, failed


def p50(values: list[float]) -> float:
    return statistics.median(values) * 1000


async def measure(ports: dict[str, int], key: str, requests: int, seconds: float) -> None:
    plain = {"content-type": "application/json"}
    direct_body = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": QUESTION}]}).encode()
    ours_body = json.dumps({"model": "bench", "messages": [{"role": "user", "content": QUESTION}]}).encode()
    targets = {
        "upstream": (f"http://127.0.0.1:{ports['upstream']}/v1/chat/completions", direct_body, plain),
        "bare": (f"http://127.0.0.1:{ports['bare']}/v1/chat/completions", direct_body, plain),
        "domainbots": (f"http://127.0.0.1:{ports['domainbots']}/v1/chat/completions", ours_body,
                       {**plain, "authorization": f"Bearer {key}"}),
    }  # fmt: skip
    connector = aiohttp.TCPConnector(limit=64)
    async with aiohttp.ClientSession(connector=connector) as session:
        await wait_up(session, f"http://127.0.0.1:{ports['domainbots']}/healthz")
        await sequential(session, targets, 30)  # warm-up
        times = await sequential(session, targets, requests)
        rates = {}
        for name in ("bare", "domainbots", "bare", "domainbots"):  # twice each, alternating
            rps, done, failed = await concurrent(session, targets[name], 32, seconds / 2)
            previous = rates.get(name, (0.0, 0, 0))
            rates[name] = (previous[0] + rps / 2, previous[1] + done, previous[2] + failed)
    base = p50(times["upstream"])
    bare, ours = p50(times["bare"]) - base, p50(times["domainbots"]) - base
    print(f"c=1, {requests} chats each, interleaved (p50): upstream directly {base:.2f} ms")
    print(f"  bare FastAPI + aiohttp forward  +{bare:.2f} ms over the upstream")
    print(f"  domainbots serve (SQLite)       +{ours:.2f} ms over the upstream", end="")
    print(f"  = {ours / bare:.1f}x the floor's overhead")
    print(f"c=32, {seconds:.0f} s each (two alternating halves):")
    print(f"  bare forward   {rates['bare'][0]:7.0f} req/s   non-2xx {rates['bare'][2]}")
    print(f"  domainbots     {rates['domainbots'][0]:7.0f} req/s   non-2xx {rates['domainbots'][2]}"
          f"   = {rates['domainbots'][0] / rates['bare'][0]:.0%} of the floor")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--serve", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        kind, port, *rest = args.serve
        serve(kind, int(port), rest[0] if rest else None)
        return

    from core import keys
    from core.db import open_database

    ports = {name: free_port() for name in ("upstream", "bare", "domainbots")}
    upstream = f"http://127.0.0.1:{ports['upstream']}/v1"
    work = Path(tempfile.mkdtemp(prefix="domainbots-gateway-"))
    (work / "profiles").mkdir()
    (work / "profiles" / "bench.yaml").write_text(PROFILE)
    url = f"sqlite:///{work}/bench.db"
    key = keys.create(open_database(url), "bench", "chat").secret
    env = {**os.environ, "DOMAINBOTS_DATABASE_URL": url, "DOMAINBOTS_PROFILES_DIR": str(work / "profiles"),
           "DOMAINBOTS_PROVIDER": "openai", "OPENAI_API_KEY": "k", "OPENAI_BASE_URL": upstream}  # fmt: skip
    me = [sys.executable, str(Path(__file__).resolve()), "--serve"]
    servers = [
        start([*me, "upstream", str(ports["upstream"])]),
        start([*me, "bare", str(ports["bare"]), upstream]),
        start([str(Path(sys.executable).with_name("domainbots")), "serve", "--port", str(ports["domainbots"])], env),
    ]
    try:
        asyncio.run(measure(ports, key, args.requests, args.seconds))
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
