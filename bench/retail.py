"""The Farsi retail bot on sets written by helpers who never saw its code.

    .venv/bin/python bench/retail.py [--split dev|test|all] [--file HELD_OUT.jsonl] [--misses] [--thresholds]

tests/data/retail_{dev,test}.jsonl (brief: tests/data/briefs/retail_writer.md) hold
customer messages with the SKUs they are about (and products the shop lacks), and
scripted model replies with wrong, tenfold, invented, garbled or correct prices.
Prints, per split:
- lookup: messages whose catalog products are found exactly; unknown products reported;
- grounding: scripted replies after the price guard, where every catalog price is the
  exact catalog figure in the reply's digits and no wrong or invented figure is left;
- answered: price questions about catalog products, run through the bot's own prepare() and
  finish() around a careless scripted model (one reply with no price at all, one naming no
  product and quoting ten times the price): each must end with every asked product's exact
  catalog price in the reply language's digits, and without the wrong figure;
- time per message of the Farsi preprocessing (detect, normalize, lookup) and of the
  reply guard, beside a pass-through, medians of one interleaved run.
``--thresholds`` prints lookup accuracy on dev for several fuzzy thresholds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bots import catalog as catalog_module  # noqa: E402
from bots.catalog import Catalog  # noqa: E402
from bots.farsi_retail import FarsiRetailBot  # noqa: E402
from bots.price_guard import PriceGuard  # noqa: E402
from core.hooks import Turn  # noqa: E402
from core.language import detect, persian  # noqa: E402
from core.profiles import Profile, parse_profile  # noqa: E402

DATA = ROOT / "tests" / "data"


def load(split: str) -> list[dict[str, Any]]:
    path = Path(split) if split.endswith(".jsonl") else DATA / f"retail_{split}.jsonl"
    text = path.read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def lookup_ok(catalog: Catalog, row: dict[str, Any]) -> tuple[bool, bool, Any]:
    found = catalog.lookup(row["text"])
    skus_ok = sorted(p.sku for p in found.products) == sorted(row["skus"])
    unknown_ok = len(found.unknown) + len(found.near_misses) >= len(row.get("unknown", []))
    return skus_ok, unknown_ok, found


def grounded(guard: PriceGuard, catalog: Catalog, row: dict[str, Any]) -> tuple[bool, str]:
    """Every catalog price in the catalog's format for the reply's language; every wrong or
    invented figure gone; a correct, well-written reply untouched."""
    asked = catalog.lookup(row["customer"]).products
    text = guard.check(row["reply"], language=row["lang"], asked=asked).text
    folded = text.casefold()  # "Toman" is as right as "toman"
    wants = {
        price["sku"]: guard.format(product.price_toman, row["lang"])
        for price in row["prices"]
        if price["sku"] and (product := catalog.by_sku(price["sku"])) is not None
    }
    for price in row["prices"]:
        want = wants.get(price["sku"]) if price["sku"] else None
        if want is not None and want.casefold() not in folded:
            return False, text
        # a stated figure may stay where it is another product's right price (two prices swapped)
        right_somewhere = any(w.startswith(price["stated"]) for w in wants.values())
        if price["stated"] in text and not right_somewhere:
            return False, text
    if row["type"] == "correct" and text not in (row["reply"], reformatted(guard, catalog, row)):
        return False, text  # a right price may only be rewritten into the catalog's format
    return True, text


def reformatted(guard: PriceGuard, catalog: Catalog, row: dict[str, Any]) -> str:
    """The reply with each stated figure in the catalog's format (a copula "ه" kept)."""
    text = row["reply"]
    for price in row["prices"]:
        product = catalog.by_sku(price["sku"]) if price["sku"] else None
        if product is None:
            continue
        want = guard.format(product.price_toman, row["lang"])
        for unit in ("تومانه", "تومنه", "تومان", "تومن", "toman"):
            if f"{price['stated']} {unit}" in text:
                text = text.replace(f"{price['stated']} {unit}", want + ("ه" if unit.endswith("ه") else ""))
                break
    return text


CARELESS = {
    "fa": ["بله، این کالا رو داریم و ارسالش سریعه.", "قیمتش {wrong} تومانه."],
    "en": ["Yes, we have it and it ships fast.", "It costs {wrong} toman."],
}


def answered(bot: FarsiRetailBot, profile: Profile, row: dict[str, Any]) -> tuple[bool, str]:
    """A price question through prepare() and finish() with each careless reply, in the language
    the bot tells the model to answer in."""

    def prepared() -> Turn:
        turn = Turn(
            profile=profile,
            strategy="prompt",
            config=profile.strategies["prompt"],
            conversation_id="bench",
            is_new_conversation=True,
            message=row["text"],
            history=[],
            language=detect(row["text"]),
        )
        bot.prepare(turn)
        return turn

    language = prepared().notes["language"]
    first = bot.catalog.by_sku(row["skus"][0])
    assert first is not None
    wrong = bot.prices.format(first.price_toman * 10, language).split(" ")[0]
    for template in CARELESS["fa" if language == "fa" else "en"]:
        text = bot.finish(prepared(), template.format(wrong=wrong))
        for sku in row["skus"]:
            product = bot.catalog.by_sku(sku)
            assert product is not None
            if bot.prices.format(product.price_toman, language).casefold() not in text.casefold() or wrong in text:
                return False, text
    return True, ""


def timing(rows: list[dict[str, Any]], catalog: Catalog, guard: PriceGuard) -> dict[str, float]:
    messages = [r["text"] for r in rows if r["kind"] == "message"]
    replies = [r for r in rows if r["kind"] == "reply"]
    pre, post, passthrough = [], [], []
    for _ in range(5):
        for text in messages:
            t0 = time.perf_counter()
            _ = text.strip()
            t1 = time.perf_counter()
            detect(text)
            persian(text)
            catalog.lookup(text)
            t2 = time.perf_counter()
            passthrough.append((t1 - t0) * 1000)
            pre.append((t2 - t1) * 1000)
        for row in replies:
            t0 = time.perf_counter()
            guard.check(row["reply"], language=row["lang"], asked=[])
            post.append((time.perf_counter() - t0) * 1000)
    return {
        "preprocess_ms": statistics.median(pre),
        "guard_ms": statistics.median(post),
        "passthrough_ms": statistics.median(passthrough),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", choices=["dev", "test", "all"], default="all")
    parser.add_argument("--file", action="append", default=[], help="a set kept outside the repository (repeat)")
    parser.add_argument("--misses", action="store_true")
    parser.add_argument("--thresholds", action="store_true")
    args = parser.parse_args()
    if args.thresholds:
        rows = [r for r in load("dev") if r["kind"] == "message"]
        for threshold in (70, 75, 80, 85, 90, 95, 100):
            catalog_module.FUZZY_THRESHOLD = threshold
            catalog = Catalog.shipped.__wrapped__(Catalog)  # type: ignore[attr-defined]
            ok = sum(lookup_ok(catalog, r)[0] for r in rows)
            print(f"fuzzy threshold {threshold}: lookup {ok}/{len(rows)}")
        return
    catalog = Catalog.shipped()
    guard = PriceGuard(catalog)
    bot = FarsiRetailBot()
    shipped = ROOT / "profiles" / "farsi_retail.yaml"
    profile = parse_profile(shipped.read_bytes(), str(shipped))
    for split in args.file or (["dev", "test"] if args.split == "all" else [args.split]):
        rows = load(split)
        messages = [r for r in rows if r["kind"] == "message"]
        replies = [r for r in rows if r["kind"] == "reply"]
        ok = unknown_ok = 0
        unknown_total = sum(1 for r in messages if r.get("unknown"))
        for row in messages:
            skus_ok, unk_ok, found = lookup_ok(catalog, row)
            ok += skus_ok
            unknown_ok += unk_ok and bool(row.get("unknown"))
            if args.misses and not (skus_ok and unk_ok):
                got = [p.sku for p in found.products]
                want = f"{row['skus']} {row.get('unknown')}"
                print(f"  LOOKUP {row['id']} want {want} got {got} {found.unknown}: {row['text'][:90]}")
        good = 0
        for row in replies:
            passed, text = grounded(guard, catalog, row)
            good += passed
            if args.misses and not passed:
                print(f"  GROUND {row['id']} {row['type']}: {row['reply'][:100]} -> {text[:160]}")
        questions = [r for r in messages if r.get("asks_price") and r["skus"]]
        answers = 0
        for row in questions:
            passed, text = answered(bot, profile, row)
            answers += passed
            if args.misses and not passed:
                print(f"  ANSWER {row['id']} {row['skus']}: {row['text'][:80]} -> {text[-160:]!r}")
        times = timing(rows, catalog, guard)
        print(
            f"{split}: lookup {ok}/{len(messages)} ({100 * ok / len(messages):.0f}%), "
            f"unknown products reported {unknown_ok}/{unknown_total}; "
            f"grounding {good}/{len(replies)} ({100 * good / max(1, len(replies)):.0f}%); "
            f"price questions answered {answers}/{len(questions)} ({100 * answers / max(1, len(questions)):.0f}%); "
            f"preprocess {times['preprocess_ms']:.3f} ms, guard {times['guard_ms']:.3f} ms, "
            f"pass-through {times['passthrough_ms']:.4f} ms per message (medians)"
        )


if __name__ == "__main__":
    main()
