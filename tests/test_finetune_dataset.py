"""Fine-tuning data: every check of OpenAI's data guide and ours; the epoch rule and billing."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.cli import cli
from core.errors import InvalidInput
from core.finetune.dataset import default_epochs, estimate, validate
from core.pricing import PriceTable
from core.tokens import tokenizer_for

PRICES = PriceTable.load()


def example(user: str = "Is the A55 in stock?", reply: str = "Yes, 12 are in stock.", system: bool = True) -> str:
    messages = [{"role": "system", "content": "You are a shop assistant."}] if system else []
    messages += [{"role": "user", "content": user}, {"role": "assistant", "content": reply}]
    return json.dumps({"messages": messages})


GOOD = [example(f"Question {i}?", f"Answer {i}.") for i in range(5)]


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ('{"messages": [', "invalid_json"),
        ('["not", "an", "object"]', "data_type"),
        ('{"prompt": "old format"}', "missing_messages_list"),
        ('{"messages": [{"role": "user"}, {"role": "assistant", "content": "ok"}]}', "message_missing_key"),
        (
            '{"messages": [{"role": "user", "content": "hi", "mood": "x"}, {"role": "assistant", "content": "ok"}]}',
            "message_unrecognized_key",
        ),
        (
            '{"messages": [{"role": "robot", "content": "hi"}, {"role": "assistant", "content": "ok"}]}',
            "unrecognized_role",
        ),
        (
            '{"messages": [{"role": "user", "content": null}, {"role": "assistant", "content": "ok"}]}',
            "missing_content",
        ),
        (
            '{"messages": [{"role": "user", "content": ["a"]}, {"role": "assistant", "content": "ok"}]}',
            "missing_content",
        ),
        ('{"messages": [{"role": "user", "content": "hi"}]}', "example_missing_assistant_message"),
        (example(reply="   "), "empty_reply"),
        (example(user="I'm jo@example.com"), "pii"),
        (example(user="کارت من ۶۰۳۷۹۹۷۵۱۲۳۴۵۶۷۰"), "pii"),
        (GOOD[0], "duplicate"),
    ],
)
def test_each_error_kind_names_its_line(line: str, kind: str) -> None:
    report = validate([GOOD[0], line], "gpt-4o-mini", PRICES)
    assert not report.ok
    assert [(p.line, p.kind) for p in report.errors] == [(2, kind)]


def test_a_good_file_with_its_warnings_and_distributions() -> None:
    report = validate([*GOOD, "", example(system=False)], "gpt-4o-mini", PRICES)
    assert report.ok
    assert [(p.line, p.kind) for p in report.warnings] == [(7, "missing_system_message")]
    stats = report.document()["stats"]
    assert stats["examples"] == 6
    assert stats["messages_per_example"]["max"] == 3
    assert stats["messages_per_example"]["min"] == 2
    tokenizer = tokenizer_for("gpt-4o-mini")
    assert stats["tokens_per_example"]["max"] == tokenizer.count_messages(json.loads(GOOD[0])["messages"])


def test_too_long_examples_are_warned_about_and_billed_at_the_limit() -> None:
    long = example(reply="word " * 5000)
    report = validate([long, *GOOD], "gpt-3.5-turbo-0613", PRICES)
    assert [p.kind for p in report.warnings] == ["too_long"]
    assert report.training_limit == 4096
    result = estimate(report, PRICES, epochs=1)
    short = sum(e.tokens for e in report.examples[1:])
    assert result.billed_tokens == 4096 + short


@pytest.mark.parametrize(
    ("examples", "epochs"),
    [(1, 25), (4, 25), (5, 20), (33, 3), (34, 3), (8333, 3), (8334, 2), (12_500, 2), (25_001, 1), (30_000, 1)],
)
def test_the_epoch_rule_at_its_edges(examples: int, epochs: int) -> None:
    assert default_epochs(examples) == epochs


def test_estimate_bills_epochs_times_tokens_at_the_training_price() -> None:
    report = validate(GOOD, "gpt-3.5-turbo", PRICES)
    tokens = sum(e.tokens for e in report.examples)
    from datetime import date

    result = estimate(report, PRICES, as_of=date(2023, 9, 1))
    assert result.epochs == 20  # 5 examples: the guide's toy case
    assert result.billed_tokens == 20 * tokens
    assert result.cost_usd == Decimal(20 * tokens) * Decimal(8) / 10**6  # $8 per 1M training tokens
    assert estimate(report, PRICES, epochs=2).billed_tokens == 2 * tokens


def test_estimate_refuses_a_broken_file_and_bad_epochs() -> None:
    with pytest.raises(InvalidInput, match="validate"):
        estimate(validate(['{"bad": 1}'], "gpt-4o-mini", PRICES), PRICES)
    with pytest.raises(InvalidInput, match="epochs must be from 1 to 50"):
        estimate(validate(GOOD, "gpt-4o-mini", PRICES), PRICES, epochs=60)


def test_cli_shapes(tmp_path: Path) -> None:
    good = tmp_path / "good.jsonl"
    good.write_text("\n".join(GOOD) + "\n", encoding="utf-8")
    bad = tmp_path / "bad.jsonl"
    bad.write_text(GOOD[0] + '\n{"messages": [{"role": "user", "content": "hi"}]}\n', encoding="utf-8")
    runner = CliRunner()
    ok = runner.invoke(cli, ["finetune", "validate", str(good), "--json"])
    assert ok.exit_code == 0
    assert set(json.loads(ok.stdout)) == {"ok", "errors", "warnings", "stats"}
    failed = runner.invoke(cli, ["finetune", "validate", str(bad)])
    assert failed.exit_code == 1
    assert f"{bad}:2: error: example_missing_assistant_message" in failed.stdout
    est = runner.invoke(cli, ["finetune", "estimate", str(good), "--model", "gpt-4o-mini", "--json"])
    doc = json.loads(est.stdout)
    assert {k: doc[k] for k in ("examples", "epochs")} == {"examples": 5, "epochs": 20}
    assert set(doc) >= {"examples", "epochs", "billed_tokens", "cost_usd"}
    refused = runner.invoke(cli, ["finetune", "estimate", str(bad), "--model", "gpt-4o-mini"])
    assert refused.exit_code == 1
    assert "validate" in refused.stderr
