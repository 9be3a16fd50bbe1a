"""Exact prices: which published rates apply to a model on a date, and what a call costs.

Money is Decimal on the way in (rates parsed as decimals from prices.toml) and an
integer number of nano-dollars in the ledger, so sums are exact at any scale.
"""

from __future__ import annotations

import decimal
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache, cached_property
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

from core.errors import ConfigError, PriceNotFound
from core.model_ids import parse_model_id
from core.usage import Usage

PER_TOKENS = 1_000_000  # rates are USD per 1M tokens
NANOS_PER_USD = 1_000_000_000
# A rate of 0.001 $/1M tokens is 1 nano-dollar a token: the finest the ledger keeps exactly.
RATE_DECIMALS = 3

Tier = Literal["base", "finetuned", "custom"]


def to_nanos(amount: Decimal) -> int:
    nanos = amount * NANOS_PER_USD
    if nanos != nanos.to_integral_value():
        raise ValueError(f"{amount} USD is finer than a nano-dollar")
    return int(nanos)


def from_nanos(nanos: int) -> Decimal:
    return Decimal(nanos).scaleb(-9).normalize() if nanos else Decimal(0)


def check_rate(value: Any, what: str) -> Decimal:
    """A rate as an exact Decimal, or a ConfigError saying what is wrong with it."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise ConfigError(f"{what}: expected a price in USD per 1M tokens, got {value!r}")
    try:
        rate = Decimal(str(value))
    except decimal.InvalidOperation:
        raise ConfigError(f"{what}: {value!r} is not a number") from None
    if not rate.is_finite() or rate < 0:
        raise ConfigError(f"{what}: expected a price of 0 or more, got {value}")
    if rate != rate.quantize(Decimal(1).scaleb(-RATE_DECIMALS), rounding=decimal.ROUND_DOWN):
        raise ConfigError(
            f"{what}: {value} has more than {RATE_DECIMALS} decimals; the ledger keeps nano-dollars "
            "exactly, which is 0.001 USD per 1M tokens"
        )
    return rate


@dataclass(frozen=True)
class Rates:
    """USD per 1M tokens."""

    input: Decimal
    cached_input: Decimal
    output: Decimal
    training: Decimal | None = None

    def cost(self, usage: Usage) -> Decimal:
        with decimal.localcontext(prec=60):
            total = (
                usage.uncached_tokens * self.input
                + usage.cached_tokens * self.cached_input
                + usage.completion_tokens * self.output
            ) / PER_TOKENS
        return total.normalize() if total else Decimal(0)

    def cost_nanos(self, usage: Usage) -> int:
        """``cost(usage)`` in nano-dollars, as to_nanos gives it: a rate has at most 3 decimals
        per 1M tokens, so a token costs a whole number of nano-dollars and integers suffice
        (Decimal arithmetic in a local context cost ~10 µs a turn)."""
        per_token = self._nanos_per_token
        if per_token is None:  # a rate finer than the ledger keeps: to_nanos says so
            return to_nanos(self.cost(usage))
        uncached, cached, output = per_token
        return usage.uncached_tokens * uncached + usage.cached_tokens * cached + usage.completion_tokens * output

    @cached_property
    def _nanos_per_token(self) -> tuple[int, int, int] | None:
        rates = [rate * NANOS_PER_USD / PER_TOKENS for rate in (self.input, self.cached_input, self.output)]
        if any(rate != rate.to_integral_value() for rate in rates):
            return None
        return int(rates[0]), int(rates[1]), int(rates[2])

    def training_cost(self, tokens: int) -> Decimal:
        if self.training is None:
            raise PriceNotFound("this model has no published training price")
        with decimal.localcontext(prec=60):
            total = tokens * self.training / PER_TOKENS
        return total.normalize() if total else Decimal(0)

    @classmethod
    def parse(cls, raw: Mapping[str, Any], where: str) -> Rates:
        for key in ("input", "output"):
            if key not in raw:
                raise ConfigError(f"{where}: missing {key!r} (USD per 1M tokens)")
        unknown = set(raw) - {"input", "cached_input", "output", "training", "since"}
        if unknown:
            raise ConfigError(f"{where}: unknown keys {sorted(unknown)}; expected input, cached_input, output")
        rate_input = check_rate(raw["input"], f"{where}.input")
        return cls(
            input=rate_input,
            cached_input=check_rate(raw.get("cached_input", rate_input), f"{where}.cached_input"),
            output=check_rate(raw["output"], f"{where}.output"),
            training=check_rate(raw["training"], f"{where}.training") if "training" in raw else None,
        )


@dataclass(frozen=True)
class Price:
    model: str  # as asked, e.g. ft:gpt-4o-mini-2024-07-18:acme::x1
    priced_as: str  # the table entry, e.g. ft:gpt-4o-mini-2024-07-18
    tier: Tier
    rates: Rates
    since: date | None

    @property
    def version(self) -> str:
        """Names exactly which rates were used, for the ledger's price_version."""
        return f"{self.priced_as}@{self.since.isoformat()}" if self.since else self.priced_as

    def cost(self, usage: Usage) -> Decimal:
        return self.rates.cost(usage)

    def cost_nanos(self, usage: Usage) -> int:
        return self.rates.cost_nanos(usage)


@dataclass(frozen=True)
class _Dated:
    since: date
    rates: Rates


def _latest[T](items: list[tuple[date, T]], on: date) -> tuple[date, T] | None:
    valid = [item for item in items if item[0] <= on]
    return max(valid, key=lambda item: item[0]) if valid else None


class PriceTable:
    def __init__(
        self,
        base: dict[str, list[_Dated]],
        finetuned: dict[str, list[_Dated]],
        aliases: dict[str, list[tuple[date, str]]],
        training_context: dict[str, int] | None = None,
    ) -> None:
        self._base = base
        self._finetuned = finetuned
        self._aliases = aliases
        self._training_context = training_context or {}
        # Prices found, by model and day: a turn asks for its price twice (its worst case and
        # its cost), and the lookup (parsing the id, the dated entries) cost ~10 µs a turn.
        self._found: dict[tuple[str, date], Price] = {}

    @classmethod
    def from_toml(cls, text: str, where: str = "prices.toml") -> PriceTable:
        try:
            doc = tomllib.loads(text, parse_float=Decimal)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{where}: not valid TOML: {exc}") from None
        base: dict[str, list[_Dated]] = {}
        finetuned: dict[str, list[_Dated]] = {}
        for model, entry in doc.get("models", {}).items():
            for tier, store in (("base", base), ("finetuned", finetuned)):
                for i, raw in enumerate(entry.get(tier, [])):
                    at = f"{where}: models.{model}.{tier}[{i}]"
                    if not isinstance(raw.get("since"), date):
                        raise ConfigError(f"{at}.since: expected a date such as 2024-07-18")
                    store.setdefault(model, []).append(_Dated(raw["since"], Rates.parse(raw, at)))
        aliases: dict[str, list[tuple[date, str]]] = {}
        for alias, targets in doc.get("aliases", {}).items():
            for i, target in enumerate(targets):
                if target.get("target") not in base:
                    raise ConfigError(f"{where}: aliases.{alias}[{i}] points at {target.get('target')!r}, not a model")
                aliases.setdefault(alias, []).append((target["since"], target["target"]))
        training_context = {
            model: int(entry["training_context"])
            for model, entry in doc.get("models", {}).items()
            if "training_context" in entry
        }
        return cls(base, finetuned, aliases, training_context)

    @classmethod
    def load(cls, path: Path | None = None) -> PriceTable:
        if path is None:
            return _default_table()
        return cls.from_toml(path.read_text(encoding="utf-8"), str(path))

    @property
    def models(self) -> list[str]:
        return sorted({*self._base, *self._aliases})

    def snapshot(self, name: str, on: date) -> str:
        """The snapshot a (possibly moving) alias pointed to on a date."""
        if name in self._aliases:
            hit = _latest(self._aliases[name], on)
            if hit is None:
                first = min(since for since, _ in self._aliases[name])
                raise PriceNotFound(f"{name} did not exist on {on}; it was first published on {first}")
            return hit[1]
        return name

    def training_context(self, model: str, on: date | None = None) -> int:
        """The most tokens one fine-tuning example of this base model may have."""
        snapshot = self.snapshot(parse_model_id(model).base, on or datetime.now(UTC).date())
        if snapshot not in self._training_context:
            raise PriceNotFound(f"{model!r} has no known fine-tuning limit; known: {sorted(self._training_context)}")
        return self._training_context[snapshot]

    def price(self, model: str, on: date | None = None) -> Price:
        on = on or datetime.now(UTC).date()
        found = self._found.get((model, on))
        if found is not None:
            return found
        price = self._price(model, on)
        if len(self._found) >= 4096:  # a bound, for a process asked about very many models
            self._found.clear()
        self._found[(model, on)] = price
        return price

    def _price(self, model: str, on: date) -> Price:
        try:
            ref = parse_model_id(model)
        except ValueError as exc:
            raise PriceNotFound(str(exc)) from None
        snapshot = self.snapshot(ref.base, on)
        if snapshot not in self._base:
            raise PriceNotFound(
                f"no published price for model {model!r}; give the profile a price: "
                "{input, cached_input, output} in USD per 1M tokens, or use a known model "
                f"({', '.join(self.models)})"
            )
        table = self._finetuned if ref.fine_tuned else self._base
        tier: Tier = "finetuned" if ref.fine_tuned else "base"
        if snapshot not in table:
            raise PriceNotFound(f"{snapshot} has no published fine-tuning price, so {model!r} cannot be priced")
        hit = _latest([(d.since, d) for d in table[snapshot]], on)
        if hit is None:
            first = min(d.since for d in table[snapshot])
            what = "fine-tuned " if ref.fine_tuned else ""
            raise PriceNotFound(f"{what}{snapshot} had no published price on {on}; its first is from {first}")
        priced_as = f"ft:{snapshot}" if ref.fine_tuned else snapshot
        return Price(model=model, priced_as=priced_as, tier=tier, rates=hit[1].rates, since=hit[0])


@cache
def _default_table() -> PriceTable:
    return PriceTable.from_toml(files("core").joinpath("prices.toml").read_text(encoding="utf-8"), "core/prices.toml")


def custom_price(model: str, rates: Rates, label: str) -> Price:
    """A price a profile sets for a model the table does not know (self-hosted, say)."""
    return Price(model=model, priced_as=f"{label}:{model}", tier="custom", rates=rates, since=None)
