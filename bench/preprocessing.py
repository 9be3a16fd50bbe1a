"""Benchmark the per-turn preprocessing of the domain bots against a pass-through.

    .venv/bin/python bench/preprocessing.py [--rounds 2000]

For 200-character messages (Persian retail, English and Persian medical), times in
one interleaved run: the pass-through (plain hooks), and what a turn adds before the
model call (language detection, NFKC + hazm normalization, catalog lookup or the
red-flag check, and redaction of what is stored). Target: median under 2 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bots.farsi_retail import FarsiRetailBot  # noqa: E402
from bots.medical import MedicalBot  # noqa: E402
from bots.plain import PlainBot  # noqa: E402
from core.hooks import Turn  # noqa: E402
from core.language import detect  # noqa: E402
from core.pricing import PriceTable  # noqa: E402
from core.profiles import load_profiles  # noqa: E402
from core.redaction import redact  # noqa: E402

MESSAGES = {
    "farsi_retail": (
        "سلام وقت بخیر، میخواستم بدونم گوشی سامسونگ گلکسی A55 با حافظه ۲۵۶ گیگ رو موجود دارید؟ "
        "قیمتش چنده و اگه امروز سفارش بدم کی به شیراز میرسه؟ شماره من ۰۹۱۲۳۴۵۶۷۸۹ هست، ممنون میشم زنگ بزنید"
    ),
    "medical": (
        "Hello, I have had a mild headache and a blocked nose since yesterday morning, no fever and no chest pain. "
        "I'm 34, my email is jo@example.com. Is it fine to rest at home or should I see a GP today?"
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2000)
    args = parser.parse_args()
    profiles = load_profiles(ROOT / "profiles", PriceTable.load(), ["plain", "medical", "farsi_retail", "writing"])
    bots = {"farsi_retail": FarsiRetailBot(), "medical": MedicalBot()}
    plain = PlainBot()

    def turn(bot: str, message: str) -> Turn:
        profile = profiles.get(bot)
        return Turn(profile, "prompt", profile.strategies["prompt"], "c", True, message, [])

    def pass_through(bot: str, message: str) -> None:
        t = turn(bot, message)
        plain.guard(t)
        plain.prepare(t)
        plain.redact(t, message)

    def preprocess(bot: str, message: str) -> None:
        t = turn(bot, message)
        t.language = detect(message, default=t.profile.language)
        hooks = bots[bot]
        if hooks.guard(t) is None:
            hooks.prepare(t)
        redact(message, t.profile.privacy.redact)

    for bot, message in MESSAGES.items():
        print(f"{bot}: {len(message)} characters")
        for _ in range(50):  # warm-up
            pass_through(bot, message)
            preprocess(bot, message)
        base, work = [], []
        for _ in range(args.rounds):  # interleaved: both see the same machine
            t0 = time.perf_counter()
            pass_through(bot, message)
            t1 = time.perf_counter()
            preprocess(bot, message)
            t2 = time.perf_counter()
            base.append(t1 - t0)
            work.append(t2 - t1)
        base_ms, work_ms = statistics.median(base) * 1000, statistics.median(work) * 1000
        p95 = statistics.quantiles(work, n=20)[-1] * 1000
        print(f"  pass-through median {base_ms:.3f} ms; preprocessing median {work_ms:.3f} ms (p95 {p95:.3f} ms)")
        added = work_ms - base_ms
        print(f"  preprocessing adds {added:.3f} ms, {work_ms / base_ms:.0f}x the pass-through (target < 2 ms)")


if __name__ == "__main__":
    main()
