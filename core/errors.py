"""The errors a user can act on.

Each message says what was wrong and what to do about it. The command line prints
it as one line on stderr; the HTTP API turns it into a problem+json answer. Anything
that is not a ``DomainbotsError`` is a bug and keeps its traceback.
"""

from __future__ import annotations


class DomainbotsError(Exception):
    """Base of every error meant for the user rather than the developer."""


class ConfigError(DomainbotsError):
    """Settings, a profile or the price table cannot be used as they are."""


class ProfileError(ConfigError):
    """A profile file does not validate."""


class UnknownBot(DomainbotsError):
    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        self.known = known
        listing = ", ".join(known) if known else "none: add a YAML file to the profiles directory"
        super().__init__(f"unknown bot {name!r}; the bots are: {listing}")


class InvalidInput(DomainbotsError):
    """A message or argument the caller sent cannot be used."""


class UnsupportedParameter(InvalidInput):
    """A client parameter no bot here can honour (OpenAI's `n` > 1, `tools`, ...)."""

    def __init__(self, param: str) -> None:
        super().__init__(f"the parameter {param!r} is not supported by domainbots' bots; remove it from the request")
        self.param = param


class NotFound(DomainbotsError):
    """A conversation, job or other record that does not exist."""


class StrategyUnavailable(DomainbotsError):
    """The strategy asked for cannot serve (e.g. no fine-tuned model yet)."""


class PriceNotFound(ConfigError):
    """No published price for a model at the date asked."""


class DatabaseUnavailable(DomainbotsError):
    """The database URL cannot be reached or opened."""


class ProviderError(DomainbotsError):
    """The model server failed the call (after the engine's retries)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        call_id: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.call_id = call_id
        # Seconds the server asked us to wait (its Retry-After), when it said.
        self.retry_after = retry_after


class ProviderTimeout(ProviderError):
    """The model server did not answer in time."""


class ProviderUnreachable(ProviderError):
    """No connection to the model server could be made: nothing was sent, nothing billed."""


class StreamInterrupted(ProviderError):
    """A streamed reply was cut before it finished; what arrived is kept."""

    def __init__(self, message: str, *, partial_text: str = "", call_id: int | None = None) -> None:
        super().__init__(message, call_id=call_id)
        self.partial_text = partial_text


class BudgetExceeded(DomainbotsError):
    """A bot spent its monthly budget; chat stops until the month turns or the budget grows."""

    def __init__(self, bot: str, spent_usd: str, budget_usd: str) -> None:
        super().__init__(
            f"bot {bot!r} has spent ${spent_usd} of its ${budget_usd} monthly budget; "
            f"raise budget.monthly_usd in its profile or wait for the new month"
        )
        self.bot = bot
        self.spent_usd = spent_usd
        self.budget_usd = budget_usd


class RateLimited(DomainbotsError):
    """An API key's own limit (requests or tokens a minute) is reached; retry after a pause."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(f"{message}; retry in {retry_after} s (`domainbots keys limit` sets the limits)")
        self.retry_after = retry_after


class ProviderBusy(ProviderError):
    """The model is at its queue bound; the caller should retry after a pause."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
