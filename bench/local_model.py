"""Benchmark the embedded local model, and the framework's share of a turn.

    .venv/bin/python bench/local_model.py [--runs 5] [--tokens 48]

Reports time to first token and tokens per second of raw llama.cpp generation, and,
measured side by side in the same run (interleaved, same prompt, temperature 0), the
end-to-end engine turn (strategy, messages, provider, pricing, ledger write on SQLite)
against the raw generation of the same tokens. Target: the framework's share <= 5%.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.engine import TurnRequest  # noqa: E402
from core.providers.local import STOP, LocalProvider, transcript  # noqa: E402
from core.runtime import Runtime  # noqa: E402
from core.settings import Settings  # noqa: E402

PROFILE = """
name: bench
title: Benchmark bot
bot: plain
strategies:
  prompt:
    model: gpt-4o-mini
    system_prompt: You are a helpful assistant for a bicycle shop. Answer briefly and kindly.
    examples:
      - {user: "Do you fix flat tyres?", assistant: "Yes, we repair flats while you wait, usually in 15 minutes."}
    temperature: 0
    max_output_tokens: {tokens}
"""
MESSAGE = "What should I check on my bike before a long ride in the rain?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=48)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="domainbots-bench-"))
    (work / "profiles").mkdir()
    (work / "profiles" / "bench.yaml").write_text(PROFILE.replace("{tokens}", str(args.tokens)))
    settings = Settings(database_url=f"sqlite:///{work}/bench.db", profiles_dir=work / "profiles", provider="local")
    runtime = Runtime.load(settings)
    started = time.perf_counter()
    provider = runtime.provider
    assert isinstance(provider, LocalProvider)
    print(f"model load: {time.perf_counter() - started:.2f} s")
    llama = provider._llama
    engine = runtime.engine()

    async def engine_turn() -> tuple[float, int]:
        t0 = time.perf_counter()
        result = await engine.turn(TurnRequest(bot="bench", message=MESSAGE))
        return time.perf_counter() - t0, result.usage.completion_tokens

    profile = runtime.profiles.get("bench").strategies["prompt"]
    messages = [
        {"role": "system", "content": profile.system_prompt},
        {"role": "user", "content": profile.examples[0].user},
        {"role": "assistant", "content": profile.examples[0].assistant},
        {"role": "user", "content": MESSAGE},
    ]
    prompt = transcript(messages)  # exactly what the engine sends for a new conversation

    def raw_turn() -> tuple[float, float, int]:
        t0 = time.perf_counter()
        first = None
        tokens = 0
        for _chunk in llama.create_completion(prompt, max_tokens=args.tokens, temperature=0, stop=STOP, stream=True):
            first = first or time.perf_counter() - t0
            tokens += 1
        return time.perf_counter() - t0, first or 0.0, tokens

    raw_turn()  # warm-up: first evaluation, caches
    asyncio.run(engine_turn())
    raw, ttft, engine_times, token_counts = [], [], [], []
    for _ in range(args.runs):  # interleaved, so both see the same machine
        seconds, first, tokens = raw_turn()
        raw.append(seconds)
        ttft.append(first)
        token_counts.append(tokens)
        seconds, _tokens = asyncio.run(engine_turn())
        engine_times.append(seconds)
    raw_median = statistics.median(raw)
    engine_median = statistics.median(engine_times)
    tokens = statistics.median(token_counts)
    print(f"runs: {args.runs} each, interleaved; {tokens:.0f} tokens generated per turn")
    first_token_ms = statistics.median(ttft) * 1000
    print(f"raw llama.cpp: median {raw_median * 1000:.0f} ms, time to first token {first_token_ms:.0f} ms, ", end="")
    print(f"{tokens / raw_median:.1f} tokens/s")
    print(f"engine turn:   median {engine_median * 1000:.0f} ms")
    share = (engine_median - raw_median) / engine_median
    print(f"engine / raw = {engine_median / raw_median:.3f}; framework share of the turn = {share:.1%} (target <= 5%)")
    asyncio.run(runtime.aclose())


if __name__ == "__main__":
    main()
