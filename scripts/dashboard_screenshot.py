"""Draw docs/dashboard.png: the dashboard over a made-up fortnight of traffic, in headless Chromium.

    .venv/bin/python scripts/dashboard_screenshot.py

The ledger rows are synthetic (a seeded random day-by-day volume on each bot and strategy,
priced by the shipped price table); everything else is the real server and page.
"""

from __future__ import annotations

import json
import random
import shutil
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.ledger import Call, Conversation, EvalResult, EvalRun, Feedback, FineTuneJob  # noqa: E402
from core.pricing import to_nanos  # noqa: E402
from core.settings import Settings  # noqa: E402
from core.usage import Usage  # noqa: E402
from tests.apiserver import start  # noqa: E402

# bot -> strategy -> (model, prompt tokens, completion tokens, conversations a day, like rate)
TRAFFIC = {
    "medical": {"prompt": ("gpt-4o-mini", 690, 160, 40, 0.78),
                "finetuned": ("ft:gpt-4o-mini-2024-07-18:acme:medical:m1", 70, 150, 25, 0.84)},
    "farsi_retail": {"prompt": ("gpt-4o-mini", 1200, 120, 60, 0.81),
                     "finetuned": ("ft:gpt-4o-mini-2024-07-18:acme:retail:r1", 380, 110, 10, 0.80)},
    "writing": {"prompt": ("gpt-4o", 520, 400, 15, 0.74)},
}  # fmt: skip


def seed(runtime, days: int = 14) -> None:
    rng = random.Random(7)
    now = datetime.now(UTC)
    with runtime.database.session() as session:
        for bot, strategies in TRAFFIC.items():
            for strategy, (model, prompt, completion, per_day, likes) in strategies.items():
                price = runtime.prices.price(model)
                for day in range(days):
                    for n in range(max(1, int(per_day * rng.uniform(0.6, 1.3)))):
                        at = now - timedelta(days=day, minutes=rng.randint(0, 600))
                        cid = f"{bot[:3]}{strategy[:2]}{day:02d}{n:03d}"
                        session.add(Conversation(id=cid, bot=bot, strategy=strategy, owner="demo", created_at=at))
                        session.flush()  # the calls below point at it
                        for turn in range(rng.randint(1, 3)):
                            usage = Usage(prompt_tokens=prompt * (turn + 1), completion_tokens=completion)
                            session.add(Call(
                                conversation_id=cid, bot=bot, strategy=strategy, provider="openai", model=model,
                                profile_version="demo", status="ok", usage_source="reported",
                                prompt_tokens=usage.prompt_tokens, completion_tokens=completion,
                                cost_nanousd=to_nanos(price.cost(usage)), latency_ms=rng.randint(400, 1400),
                                created_at=at,
                            ))  # fmt: skip
                        if rng.random() < 0.3:
                            session.add(Feedback(conversation_id=cid, rating=1 if rng.random() < likes else -1,
                                                 created_at=at))  # fmt: skip
        session.add(FineTuneJob(id="ftjob-demo1", bot="medical", base_model="gpt-4o-mini-2024-07-18",
                                training_file="file-demo", status="succeeded", registered=True,
                                fine_tuned_model=TRAFFIC["medical"]["finetuned"][0], trained_tokens=1_900_000,
                                cost_nanousd=to_nanos(runtime.prices.price(TRAFFIC["medical"]["finetuned"][0]).rates
                                                      .training_cost(1_900_000)),
                                created_at=now - timedelta(days=15)))  # fmt: skip
        # one evaluation run of the medical bot on both strategies, with its checks
        session.add(EvalRun(id="run_demo0001", bot="medical", strategies="prompt,finetuned", examples=24,
                            status="done", created_at=now - timedelta(days=1)))  # fmt: skip
        session.flush()
        for strategy, rates in (("prompt", (1.0, 0.96, 0.92)), ("finetuned", (1.0, 1.0, 0.96))):
            for i in range(24):
                checks = {name: rng.random() < rate for name, rate in zip(
                    ("routed when it must be", "disclaimer once", "no dose or diagnosis from the model"), rates,
                    strict=True)}  # fmt: skip
                session.add(EvalResult(run_id="run_demo0001", strategy=strategy, position=i, input="...",
                                       reference="...", output="...", checks=json.dumps(checks)))  # fmt: skip
        session.commit()


def main() -> None:
    work = Path(tempfile.mkdtemp())
    try:
        settings = Settings(database_url=f"sqlite:///{work}/demo.db", profiles_dir=ROOT / "profiles",
                            provider="openai", openai_api_key="unused")  # fmt: skip
        server = start(settings)
        seed(server.runtime)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium")
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto(f"{server.base_url}/dashboard")
            page.fill("#key", server.admin_key)
            page.click("button[type=submit]")
            page.screenshot(path=str(ROOT / "docs" / "dashboard.png"), full_page=True)
            browser.close()
        server.stop()
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
