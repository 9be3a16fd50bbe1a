"""Profiles load typed; a bad one fails naming the file, the field and what was expected."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import ProfileError, StrategyUnavailable, UnknownBot
from core.hooks import available_bots
from core.pricing import PriceTable
from core.profiles import load_profiles
from tests.conftest import HELPDESK, SHIPPED_PROFILES, write_profile

PRICES = PriceTable.load()


def load(directory: Path):
    return load_profiles(directory, PRICES, available_bots())


def test_shipped_profiles_load_with_real_prompt_strategies() -> None:
    profiles = load(SHIPPED_PROFILES)
    assert profiles.names == ["farsi_retail", "medical", "writing"]
    for profile in profiles:
        prompt = profile.strategies["prompt"]
        assert prompt.model
        assert len(prompt.system_prompt) > 200
        assert prompt.examples, f"{profile.name} has no few-shot examples"
        assert "finetuned" in profile.strategies
        assert len(profile.version) == 12


def test_a_strategy_with_no_trained_model_is_a_clear_error() -> None:
    medical = load(SHIPPED_PROFILES).get("medical")
    with pytest.raises(StrategyUnavailable, match="domainbots finetune launch medical"):
        medical.strategy("finetuned")


def test_unknown_bot_lists_the_bots(profiles_dir: Path) -> None:
    with pytest.raises(UnknownBot, match="the bots are: helpdesk"):
        load(profiles_dir).get("nope")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("title: Test helpdesk\n", ""), r"title: required field is missing"),
        (
            ("temperature: 0.2", "temperature: 5"),
            r"strategies\.prompt\.temperature: input should be less than or equal to 2 \(got 5\)",
        ),
        (("max_message_chars: 200", "max_message_chars: lots"), r"max_message_chars: input should be a valid integer"),
        (("language: en", "language: english"), r"language: string should match pattern"),
        (("history_tokens: 3000", "history_tokens: 3000\nhistroy: 1"), r"histroy: unknown field"),
        (("name: helpdesk", "name: Help Desk!"), r"name: string should match pattern"),
        (
            ("model: gpt-4o-mini", "model: llama-3-70b"),
            r"strategies\.prompt\.model: no published price for model 'llama-3-70b'; give the profile a price",
        ),
        (("bot: plain", "bot: wizard"), r"bot: unknown behaviour 'wizard'"),
        (
            ("default_strategy: prompt", "default_strategy: rag"),
            r"default_strategy: input should be 'prompt' or 'finetuned'",
        ),
        (
            ("system_prompt: You are a helpdesk.", "system_prompt: ''"),
            r"strategies\.prompt\.system_prompt: string should have at least 1 character",
        ),
    ],
)
def test_bad_profiles_name_file_field_and_expectation(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    old, new = change
    assert old in HELPDESK
    path = write_profile(tmp_path / "p", HELPDESK.replace(old, new, 1), "helpdesk.yaml")
    with pytest.raises(ProfileError, match=expected) as info:
        load(path.parent)
    assert str(path) in str(info.value)


def test_default_strategy_without_a_model_is_refused(tmp_path: Path) -> None:
    text = HELPDESK.replace("default_strategy: prompt", "default_strategy: finetuned").replace(
        "    model: ft:gpt-4o-mini-2024-07-18:acme:helpdesk:abc123\n", ""
    )
    write_profile(tmp_path / "p", text)
    with pytest.raises(ProfileError, match="default_strategy: 'finetuned' has no model"):
        load(tmp_path / "p")


def test_yaml_syntax_errors_give_the_line(tmp_path: Path) -> None:
    write_profile(tmp_path / "p", "name: x\ntitle: [unclosed\n", "x.yaml")
    with pytest.raises(ProfileError, match=r"x\.yaml: not valid YAML at line 3"):
        load(tmp_path / "p")


def test_duplicate_names_are_refused(tmp_path: Path) -> None:
    write_profile(tmp_path / "p", HELPDESK, "a.yaml")
    write_profile(tmp_path / "p", HELPDESK, "b.yaml")
    with pytest.raises(ProfileError, match=r"b\.yaml: name: 'helpdesk' is used by .*a\.yaml"):
        load(tmp_path / "p")


def test_a_custom_price_makes_an_unknown_model_servable(tmp_path: Path) -> None:
    text = HELPDESK.replace(
        "    model: gpt-4o-mini\n",
        "    model: llama-3.1-8b\n    price: {input: 0.05, output: 0.08}\n",
    )
    write_profile(tmp_path / "p", text)
    profile = load(tmp_path / "p").get("helpdesk")
    price = profile.price(profile.strategy("prompt"), PRICES)
    assert price.tier == "custom"
    assert str(price.rates.input) == "0.05"


def test_missing_directory_and_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="does not exist; set DOMAINBOTS_PROFILES_DIR"):
        load(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ProfileError, match=r"holds no \.yaml profile"):
        load(tmp_path / "empty")
