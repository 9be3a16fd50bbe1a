"""Model providers; ``make_provider`` picks one from the settings (SPEC section 2)."""

from __future__ import annotations

from core.errors import ConfigError
from core.providers.base import ChatRequest, Completion, Delta, Provider
from core.settings import Settings

__all__ = ["ChatRequest", "Completion", "Delta", "Provider", "make_provider"]


def make_provider(settings: Settings) -> Provider:
    if settings.resolved_provider == "openai":
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
            max_retries=settings.max_retries,
        )
    raise ConfigError(
        "no model provider: set OPENAI_API_KEY (and OPENAI_BASE_URL for vLLM, Ollama or another "
        "OpenAI-compatible server); the embedded local model is not part of this install yet"
    )
