"""Published rates by date, every ft: form at its fine-tuned tier, cached tokens, exact sums."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import ConfigError, PriceNotFound
from core.model_ids import parse_model_id
from core.pricing import PriceTable, Rates, from_nanos, to_nanos
from core.usage import Usage

TABLE = PriceTable.load()


@pytest.mark.parametrize(
    ("model", "base", "org", "suffix", "job", "step"),
    [
        ("ft:gpt-4o-mini-2024-07-18:acme:support:AbC123", "gpt-4o-mini-2024-07-18", "acme", "support", "AbC123", None),
        ("ft:gpt-4o-mini-2024-07-18:acme::AbC123", "gpt-4o-mini-2024-07-18", "acme", None, "AbC123", None),
        (
            "ft:gpt-4o-mini-2024-07-18:acme:support:AbC123:ckpt-step-200",
            "gpt-4o-mini-2024-07-18",
            "acme",
            "support",
            "AbC123",
            200,
        ),
        ("ft:gpt-4o-mini-2024-07-18:acme::AbC123:ckpt-step-7", "gpt-4o-mini-2024-07-18", "acme", None, "AbC123", 7),
        ("ft:gpt-3.5-turbo", "gpt-3.5-turbo", None, None, None, None),
    ],
)
def test_parse_every_fine_tuned_form(model: str, base: str, org, suffix, job, step) -> None:
    ref = parse_model_id(model)
    assert ref.fine_tuned
    assert (ref.base, ref.org, ref.suffix, ref.job_id, ref.checkpoint_step) == (base, org, suffix, job, step)


@pytest.mark.parametrize("bad", ["", "ft:", "ft::acme::x", "ft:a:b:c:d:e:f"])
def test_parse_rejects_malformed_ids(bad: str) -> None:
    with pytest.raises(ValueError, match="model"):
        parse_model_id(bad)


@pytest.mark.parametrize(
    "model",
    [
        "ft:gpt-4o-mini-2024-07-18:acme:support:AbC123",
        "ft:gpt-4o-mini-2024-07-18:acme::AbC123",
        "ft:gpt-4o-mini-2024-07-18:acme:support:AbC123:ckpt-step-200",
        "ft:gpt-4o-mini-2024-07-18:acme::AbC123:ckpt-step-7",
        "ft:gpt-4o-mini:acme::AbC123",
    ],
)
def test_every_fine_tuned_form_prices_at_the_fine_tuned_tier(model: str) -> None:
    price = TABLE.price(model, date(2025, 1, 1))
    assert price.tier == "finetuned"
    assert price.priced_as == "ft:gpt-4o-mini-2024-07-18"
    assert price.rates == Rates(Decimal("0.30"), Decimal("0.15"), Decimal("1.20"), Decimal("3.00"))
    # SPEC 7's example: 1,000 input of which 500 cached, 200 output.
    assert price.cost(Usage(1000, 500, 200)) == Decimal("0.000465")


def test_base_and_fine_tuned_differ() -> None:
    usage = Usage(1_000_000, 0, 1_000_000)
    assert TABLE.price("gpt-4o-mini", date(2025, 1, 1)).cost(usage) == Decimal("0.75")
    assert TABLE.price("ft:gpt-4o-mini-2024-07-18:o::x", date(2025, 1, 1)).cost(usage) == Decimal("1.5")
    assert TABLE.price("gpt-4o-2024-08-06", date(2025, 1, 1)).cost(usage) == Decimal("12.5")
    assert TABLE.price("ft:gpt-4o-2024-08-06:o:s:x", date(2025, 1, 1)).cost(usage) == Decimal("18.75")


def test_cached_tokens_are_part_of_prompt_tokens() -> None:
    price = TABLE.price("gpt-4o-2024-08-06", date(2025, 1, 1))
    # 3000 prompt tokens of which 2048 cached: 952 at $2.50/M + 2048 at $1.25/M + 100 at $10/M
    assert price.cost(Usage(3000, 2048, 100)) == Decimal("0.00594")
    # gpt-4o-mini, the same usage (LiteLLM's measured 0.0003564, here exact)
    assert TABLE.price("gpt-4o-mini", date(2025, 1, 1)).cost(Usage(3000, 2048, 100)) == Decimal("0.0003564")


def test_model_without_cached_rate_bills_cached_at_input_rate() -> None:
    price = TABLE.price("gpt-3.5-turbo-0125", date(2025, 1, 1))
    assert price.cost(Usage(1000, 1000, 0)) == price.cost(Usage(1000, 0, 0))


@pytest.mark.parametrize(
    ("model", "day", "input_rate", "output_rate", "version"),
    [
        ("gpt-3.5-turbo", date(2023, 9, 1), "1.50", "2.00", "gpt-3.5-turbo-0613@2023-06-13"),
        ("gpt-3.5-turbo", date(2024, 1, 1), "1.00", "2.00", "gpt-3.5-turbo-1106@2023-11-06"),
        ("gpt-3.5-turbo", date(2024, 3, 1), "0.50", "1.50", "gpt-3.5-turbo-0125@2024-01-25"),
        ("ft:gpt-3.5-turbo", date(2023, 9, 1), "12.00", "16.00", "ft:gpt-3.5-turbo-0613@2023-08-22"),
        ("ft:gpt-3.5-turbo-0613:acme::x", date(2023, 12, 1), "3.00", "6.00", "ft:gpt-3.5-turbo-0613@2023-11-06"),
        ("gpt-4o", date(2024, 9, 1), "5.00", "15.00", "gpt-4o-2024-05-13@2024-05-13"),
        ("gpt-4o", date(2024, 11, 1), "2.50", "10.00", "gpt-4o-2024-08-06@2024-08-06"),
    ],
)
def test_as_of_reproduces_the_rates_of_that_day(model, day, input_rate, output_rate, version) -> None:
    price = TABLE.price(model, day)
    assert (price.rates.input, price.rates.output) == (Decimal(input_rate), Decimal(output_rate))
    assert price.version == version


def test_training_prices() -> None:
    assert TABLE.price("ft:gpt-3.5-turbo", date(2023, 9, 1)).rates.training_cost(1_000_000) == Decimal(8)
    assert TABLE.price("ft:gpt-4o-2024-08-06:a::b").rates.training_cost(2_000_000) == Decimal(50)


@pytest.mark.parametrize(
    ("model", "day", "message"),
    [
        ("llama-3-70b", None, "no published price for model 'llama-3-70b'"),
        ("gpt-4o-mini", date(2024, 1, 1), "did not exist on 2024-01-01"),
        (
            "ft:gpt-4o-mini-2024-07-18:a::b",
            date(2024, 7, 20),
            "fine-tuned gpt-4o-mini-2024-07-18 had no published price",
        ),
        ("ft:gpt-4-0613:a::b", None, "has no published fine-tuning price"),
        ("ft:", None, "names no base model"),
    ],
)
def test_unpriceable_models_say_why(model: str, day: date | None, message: str) -> None:
    with pytest.raises(PriceNotFound, match=message):
        TABLE.price(model, day)


def test_rates_finer_than_a_nano_dollar_are_refused() -> None:
    with pytest.raises(ConfigError, match="more than 3 decimals"):
        PriceTable.from_toml("[models.m]\nbase = [{since = 2024-01-01, input = 0.0001, output = 1}]\n")


def test_money_never_passes_through_a_float() -> None:
    table = PriceTable.from_toml("[models.m]\nbase = [{since = 2024-01-01, input = 0.1, output = 0.2}]\n")
    rates = table.price("m", date(2024, 2, 1)).rates
    assert rates.input == Decimal("0.1")  # a float would give 0.1000000000000000055...
    assert type(rates.input) is Decimal


usages = st.builds(
    lambda p, c, o: Usage(p, min(c, p), o),
    st.integers(0, 2_000_000),
    st.integers(0, 2_000_000),
    st.integers(0, 200_000),
)


@given(st.lists(usages, min_size=1, max_size=200))
def test_ledger_sum_equals_the_sum_of_its_parts(calls: list[Usage]) -> None:
    price = TABLE.price("ft:gpt-4o-2024-08-06:a::b", date(2025, 1, 1))
    nanos = [to_nanos(price.cost(u)) for u in calls]
    total = Usage(
        sum(u.prompt_tokens for u in calls),
        sum(u.cached_tokens for u in calls),
        sum(u.completion_tokens for u in calls),
    )
    assert from_nanos(sum(nanos)) == price.cost(total)


def test_cost_in_nanos_is_to_nanos_of_the_cost() -> None:
    """The hot path prices in integers; it must agree with the Decimal cost to the nano-dollar."""
    rng = random.Random(7)
    for rates in (
        Rates(Decimal("0.15"), Decimal("0.075"), Decimal("0.6")),
        Rates(Decimal("0.001"), Decimal("0"), Decimal("123.456")),
    ):
        for _ in range(500):
            prompt = rng.randint(0, 10**6)
            usage = Usage(
                prompt_tokens=prompt, cached_tokens=rng.randint(0, prompt), completion_tokens=rng.randint(0, 10**5)
            )
            assert rates.cost_nanos(usage) == to_nanos(rates.cost(usage))
    finer = Rates(Decimal("0.0001"), Decimal("0"), Decimal("0"))  # built by hand, past the checks
    with pytest.raises(ValueError, match="finer than a nano-dollar"):
        finer.cost_nanos(Usage(prompt_tokens=1))
