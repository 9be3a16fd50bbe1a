"""The shipped fine-tuning sets: valid, large enough, no duplicates, true to each bot's rules."""

from __future__ import annotations

import importlib.util
import json
import re

import pytest

from bots.catalog import Catalog
from bots.triage import Triage
from core.finetune.dataset import validate
from core.language import fold_digits
from core.pricing import PriceTable
from tests.conftest import ROOT

DATA = ROOT / "training_data"
BOTS = ["medical", "writing", "farsi_retail"]


def lines(bot: str, name: str) -> list[str]:
    return (DATA / bot / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()


def replies(bot: str) -> list[tuple[str, str]]:
    pairs = []
    for line in lines(bot, "train") + lines(bot, "eval"):
        messages = json.loads(line)["messages"]
        pairs.append((messages[1]["content"], messages[2]["content"]))
    return pairs


@pytest.mark.parametrize("bot", BOTS)
def test_each_set_validates_with_enough_examples_and_no_duplicates(bot: str) -> None:
    train, held = lines(bot, "train"), lines(bot, "eval")
    assert len(train) >= 60
    assert len(held) >= 20
    report = validate(train + held, "gpt-4o-mini", PriceTable.load())  # duplicates across both files too
    assert report.errors == []
    assert report.warnings == []


def test_the_files_are_what_the_builder_makes() -> None:
    spec = importlib.util.spec_from_file_location("build", DATA / "build.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    for bot, make in (("medical", build.medical), ("farsi_retail", build.farsi_retail), ("writing", build.writing)):
        examples = make()
        expected = [json.dumps(e, ensure_ascii=False) for i, e in enumerate(examples) if i % 4 != 3]
        assert lines(bot, "train") == expected, f"{bot}: run `python training_data/build.py`"


def test_farsi_prices_are_the_catalogs() -> None:
    prices = {p.price_toman for p in Catalog.shipped().products}
    quoted = 0
    for _, reply in replies("farsi_retail"):
        for figure in re.findall(r"\d[\d,٬]{6,}", fold_digits(reply)):
            assert int(re.sub(r"[,٬]", "", figure)) in prices, reply
            quoted += 1
    assert quoted >= 60


def test_the_medical_set_never_doses_and_routes_every_emergency() -> None:
    flags = Triage.shipped()
    for user, reply in replies("medical"):
        assert not re.search(r"\d+\s?(mg|ml|tablets?|pills?)\b", reply, re.IGNORECASE), reply
        if flags.check(user):
            assert reply.startswith("This could be an emergency. Call 112 now"), user
        else:
            assert reply.splitlines()[0] in (
                "Self-care is usually reasonable; see a clinician if it gets worse or does not improve.",
                "See a clinician soon (within a day or two).",
            ), reply
