"""Bot profiles: typed loading and validation of ``profiles/<name>.yaml`` (SPEC section 3).

A bad file stops start-up with the file, the field and what was expected.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from core.errors import PriceNotFound, ProfileError, StrategyUnavailable, UnknownBot
from core.pricing import Price, PriceTable, Rates, check_rate, custom_price
from core.redaction import KINDS as REDACTION_KINDS

StrategyName = Literal["prompt", "finetuned"]
STRATEGIES: tuple[StrategyName, ...] = ("prompt", "finetuned")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Example(_Strict):
    user: Annotated[str, Field(min_length=1)]
    assistant: Annotated[str, Field(min_length=1)]


class PriceSpec(_Strict):
    """USD per 1M tokens, for a model the price table does not know."""

    input: Decimal
    cached_input: Decimal | None = None
    output: Decimal

    @field_validator("input", "cached_input", "output", mode="before")
    @classmethod
    def _exact(cls, value: Any) -> Any:
        # YAML gives floats; go through their text so 0.1 stays 0.1.
        return None if value is None else check_rate(str(value), "price")

    def rates(self) -> Rates:
        return Rates(input=self.input, cached_input=self.cached_input or self.input, output=self.output)


class StrategyConfig(_Strict):
    # None only for a fine-tuned strategy whose model has not been trained yet.
    model: str | None = None
    system_prompt: Annotated[str, Field(min_length=1)]
    examples: list[Example] = []
    temperature: Annotated[float, Field(ge=0, le=2)] | None = None
    max_output_tokens: Annotated[int, Field(gt=0, le=128_000)] | None = None
    price: PriceSpec | None = None

    @field_validator("model")
    @classmethod
    def _model_text(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("the model is empty: name one, or leave the key out until a model is trained")
        return value


class Privacy(_Strict):
    store_content: bool = True
    redact: list[str] = []

    @field_validator("redact")
    @classmethod
    def _known_kinds(cls, kinds: list[str]) -> list[str]:
        unknown = sorted(set(kinds) - REDACTION_KINDS)
        if unknown:
            raise ValueError(f"unknown kinds {unknown}; expected some of {sorted(REDACTION_KINDS)}")
        return kinds


class Budget(_Strict):
    monthly_usd: Annotated[Decimal, Field(gt=0)]


class Profile(_Strict):
    name: Annotated[str, Field(pattern=r"^[a-z0-9_-]{1,40}$")]
    title: Annotated[str, Field(min_length=1)]
    bot: Annotated[str, Field(pattern=r"^[a-z0-9_]+$")] = "plain"
    language: Annotated[str, Field(pattern=r"^[a-z]{2}$")] = "en"
    default_strategy: StrategyName = "prompt"
    strategies: dict[StrategyName, StrategyConfig]
    history_tokens: Annotated[int, Field(ge=0)] = 3000
    max_message_chars: Annotated[int, Field(gt=0, le=1_000_000)] = 4000
    privacy: Privacy = Privacy()
    budget: Budget | None = None
    # Settings of the bot's own behaviour (bots/), checked by that behaviour.
    options: dict[str, Any] = {}

    _source: str = PrivateAttr(default="")
    _version: str = PrivateAttr(default="")

    @model_validator(mode="after")
    def _default_is_servable(self) -> Profile:
        if "prompt" not in self.strategies:
            raise ValueError("strategies: a 'prompt' strategy is required")
        default = self.strategies.get(self.default_strategy)
        if default is None or default.model is None:
            raise ValueError(f"default_strategy: {self.default_strategy!r} has no model to serve with")
        return self

    @property
    def source(self) -> str:
        return self._source

    @property
    def version(self) -> str:
        """A hash of the file, recorded on every ledger row the profile produced."""
        return self._version

    def strategy(self, name: str, registered_model: str | None = None) -> StrategyConfig:
        """The strategy's settings; ``registered_model`` (a fine-tune registered in the database)
        takes the place of the profile's fine-tuned model."""
        config = self.strategies.get(name)  # type: ignore[call-overload]
        if config is not None and name == "finetuned" and registered_model:
            config = config.model_copy(update={"model": registered_model})
        if config is None:
            raise StrategyUnavailable(
                f"bot {self.name!r} has no {name!r} strategy; it has: {', '.join(self.strategies)}"
            )
        if config.model is None:
            raise StrategyUnavailable(
                f"bot {self.name!r} has no fine-tuned model yet: train one with "
                f"`domainbots finetune launch {self.name}`, or set strategies.{name}.model in {self.source}"
            )
        return config

    def price(self, config: StrategyConfig, prices: PriceTable) -> Price:
        assert config.model is not None
        if config.price is not None:
            return custom_price(config.model, config.price.rates(), f"profile {self.name}")
        return prices.price(config.model)


def _describe(error: Mapping[str, Any]) -> str:
    field = ".".join(str(part) for part in error["loc"]) or "(top level)"
    if error["type"] == "missing":
        return f"{field}: required field is missing"
    if error["type"] == "extra_forbidden":
        return f"{field}: unknown field (check its spelling against SPEC section 3)"
    got = error.get("input")
    shown = f" (got {got!r})" if not isinstance(got, dict | list) else ""
    return f"{field}: {error['msg'][0].lower()}{error['msg'][1:]}{shown}"


def parse_profile(text: str | bytes, source: str) -> Profile:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ProfileError(f"{source}: not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise ProfileError(f"{source}: expected a mapping of profile fields (name, title, strategies, ...)")
    try:
        profile = Profile.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(_describe(e) for e in exc.errors())
        raise ProfileError(f"{source}: {problems}") from None
    raw = text.encode("utf-8") if isinstance(text, str) else text
    profile._source = source
    profile._version = hashlib.sha256(raw).hexdigest()[:12]
    return profile


@dataclass(frozen=True)
class Profiles:
    """Every deployed bot, by name."""

    by_name: Mapping[str, Profile]

    def __iter__(self) -> Iterator[Profile]:
        return iter(self.by_name.values())

    def __len__(self) -> int:
        return len(self.by_name)

    @property
    def names(self) -> list[str]:
        return sorted(self.by_name)

    def get(self, name: str) -> Profile:
        profile = self.by_name.get(name)
        if profile is None:
            raise UnknownBot(name, self.names)
        return profile


def load_profiles(directory: Path, prices: PriceTable, known_bots: list[str]) -> Profiles:
    if not directory.is_dir():
        raise ProfileError(
            f"profiles directory {directory} does not exist; set DOMAINBOTS_PROFILES_DIR "
            "or run from the folder that holds profiles/"
        )
    by_name: dict[str, Profile] = {}
    files = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
    if not files:
        raise ProfileError(f"profiles directory {directory} holds no .yaml profile")
    for path in files:
        profile = parse_profile(path.read_bytes(), str(path))
        if profile.name in by_name:
            raise ProfileError(f"{path}: name: {profile.name!r} is used by {by_name[profile.name].source} too")
        if profile.bot not in known_bots:
            raise ProfileError(f"{path}: bot: unknown behaviour {profile.bot!r}; expected one of {known_bots}")
        for strategy, config in profile.strategies.items():
            if config.model is None or config.price is not None:
                continue
            try:
                prices.price(config.model)
            except PriceNotFound as exc:
                raise ProfileError(f"{path}: strategies.{strategy}.model: {exc}") from None
        by_name[profile.name] = profile
    return Profiles(by_name)
