"""Any OpenAI-compatible server (OpenAI, vLLM, Ollama, llama.cpp server) through the official SDK."""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import AsyncGenerator, Mapping
from typing import Any

import aiohttp
import openai
from openai import AsyncOpenAI, DefaultAioHttpClient
from openai.types import CompletionUsage

from core.errors import ProviderError, ProviderTimeout, ProviderUnreachable, StreamInterrupted
from core.pricing import Price
from core.providers.base import ChatRequest, Completion, Delta, Moderation
from core.usage import Usage


def read_usage(usage: CompletionUsage | None) -> Usage | None:
    if usage is None:
        return None
    details = usage.prompt_tokens_details
    cached = details.cached_tokens if details is not None else None
    return _clamped(usage.prompt_tokens, cached, usage.completion_tokens)


def _usage_of(usage: dict[str, Any]) -> Usage | None:
    """``read_usage`` of a usage object as JSON."""
    details = usage.get("prompt_tokens_details")
    cached = details.get("cached_tokens") if isinstance(details, dict) else None
    return _clamped(usage.get("prompt_tokens"), cached, usage.get("completion_tokens"))


def _clamped(prompt_tokens: Any, cached_tokens: Any, completion_tokens: Any) -> Usage:
    prompt = max(0, prompt_tokens or 0)
    cached = cached_tokens or 0
    completion = max(0, completion_tokens or 0)
    if not 0 <= cached <= prompt:
        # An upstream that reports more cached than prompt tokens (seen on some proxies):
        # clamped, so the call is priced and ledgered instead of failing the turn.
        log.warning("upstream usage inconsistent: cached %s > prompt %s; clamped", cached, prompt)
        cached = min(max(0, cached), prompt)
    return Usage(prompt_tokens=prompt, cached_tokens=cached, completion_tokens=completion)


def _completion(content: bytes, requested: str) -> Completion:
    """A chat completion's text, usage, model and finish reason, from its JSON."""
    try:
        body = json.loads(content)
        choices = body.get("choices") or [{}]
        usage = body.get("usage")
        return Completion(
            text=(choices[0].get("message") or {}).get("content") or "",
            # read without validation, as the SDK does: a server that leaves out total_tokens
            # or sends null counts still has its reply and its usage read (read_usage clamps);
            # from the dict itself, as the SDK's model construction cost ~10 µs a call
            usage=_usage_of(usage) if isinstance(usage, dict) else None,
            model=body.get("model") or requested,
            finish_reason=choices[0].get("finish_reason"),
        )
    except (ValueError, AttributeError, TypeError, LookupError) as exc:
        raise ProviderError(f"model server sent a reply that is not a chat completion: {exc}") from exc


def _error(exc: openai.APIError) -> ProviderError:
    """The SDK's error as ours, with the status and the server's Retry-After (seconds)."""
    status = getattr(exc, "status_code", None)
    response = getattr(exc, "response", None)
    retry_after = _retry_after(response.headers) if response is not None else None
    return ProviderError(_describe(exc), status=status, retry_after=retry_after)


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """The server's Retry-After in seconds, when it is a usable number ("inf", "nan", a date: None)."""
    try:
        if "retry-after-ms" in headers:
            seconds = float(headers["retry-after-ms"]) / 1000
        elif "retry-after" in headers:
            seconds = float(headers["retry-after"])
        else:
            return None
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and 0 <= seconds <= 3600 else None


def _timeout_or_unreachable(exc: openai.APITimeoutError, what: str) -> ProviderError:
    """The SDK's aiohttp transport reports a refused connection as a connect timeout."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, aiohttp.ClientConnectorError):
            return ProviderUnreachable(f"model server unreachable: {cause}")
        cause = cause.__cause__ or cause.__context__
    return ProviderTimeout(f"{what} timed out: {exc.message}")


def _status_error(status: int, content: bytes, headers: Mapping[str, str]) -> ProviderError:
    """A refused request as the SDK words it: the server's own error message when it sent one."""
    message: Any = None
    try:
        body = json.loads(content)
        error = body.get("error") if isinstance(body, dict) else None
        message = (error.get("message") if isinstance(error, dict) else error) or body.get("message")
    except (ValueError, AttributeError):
        pass
    if not message:
        message = content.decode("utf-8", "replace")[:500] or f"Error code: {status}"
    return ProviderError(f"model server answered {status}: {message}", status=status, retry_after=_retry_after(headers))


def _describe(exc: openai.APIError) -> str:
    if isinstance(exc, openai.APIStatusError):
        return f"model server answered {exc.status_code}: {exc.message}"
    return f"model server unreachable: {exc.message}"


log = logging.getLogger("domainbots.provider")

# Connections to the model server a worker keeps at most (the SDK's own default): past it,
# calls wait for a free one instead of flooding the server with connection attempts.
CONNECTIONS = 100

# OpenAI's current moderation model; the endpoint costs nothing.
MODERATION_MODEL = "omni-moderation-latest"


class OpenAIProvider:
    name = "openai"

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str | None = None,
        timeout: float = 60.0,
        max_retries: int = 2,
        stream_usage: bool = True,
    ) -> None:
        # aiohttp underneath the SDK: httpx's connection pool is what a Python gateway waits on
        # under concurrency (docs/design.md, "The turn's hot path")
        self._client = AsyncOpenAI(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            http_client=DefaultAioHttpClient(timeout=timeout),
        )
        self._timeout = timeout
        # The non-streamed chat call, the hot path of every turn, is posted with aiohttp directly,
        # to the SDK's own URL with its own headers; its request building and response
        # wrapping cost more than the gateway's whole budget (docs/design.md, "The turn's hot path").
        self._session: aiohttp.ClientSession | None = None
        self._session_loop: asyncio.AbstractEventLoop | None = None
        self._url = f"{str(self._client.base_url).rstrip('/')}/chat/completions"
        # what the SDK sends on every request: its key, organization, project, the client's
        # default headers and query (Azure's api-version)
        headers = {**self._client.default_headers, **self._client.auth_headers}
        self._headers = {name: value for name, value in headers.items() if isinstance(value, str)}
        self._query = {name: value for name, value in self._client.default_query.items() if isinstance(value, str)}
        # Some servers reject stream_options (Azure, old llama.cpp); those set this False.
        self._stream_usage = stream_usage

    @property
    def base_url(self) -> str:
        return str(self._client.base_url)

    def served_model(self, requested: str) -> str:
        return requested

    def own_price(self, model: str) -> Price | None:
        return None

    def _params(self, request: ChatRequest) -> dict[str, Any]:
        params: dict[str, Any] = {"model": request.model, "messages": request.messages}
        if request.timeout is not None:
            params["timeout"] = max(0.05, request.timeout)
        params.update(request.sampling)
        if request.temperature is not None:
            params["temperature"] = request.temperature
        if request.max_output_tokens is not None:
            params["max_completion_tokens"] = request.max_output_tokens
        return params

    async def complete(self, request: ChatRequest) -> Completion:
        params = self._params(request)
        timeout = params.pop("timeout", None) or self._timeout
        session = self._session_here()
        try:
            async with session.post(
                self._url,
                data=json.dumps(params, ensure_ascii=False).encode(),
                headers=self._headers,
                params=self._query or None,
                timeout=aiohttp.ClientTimeout(total=timeout),
            ) as response:
                content = await response.read()
                if response.status >= 400:
                    raise _status_error(response.status, content, response.headers)
        except TimeoutError as exc:
            raise ProviderTimeout(f"model server timed out: no complete reply within {timeout:.1f} s") from exc
        except aiohttp.ClientConnectorError as exc:  # no connection: nothing was sent
            raise ProviderUnreachable(f"model server unreachable: {exc}") from exc
        except aiohttp.ClientError as exc:
            # refused, dropped or cut: no status, so the engine treats it as possibly billed
            raise ProviderError(f"model server dropped the call: {type(exc).__name__}: {exc}") from exc
        return _completion(content, request.model)

    def _session_here(self) -> aiohttp.ClientSession:
        """The session of the running event loop (a session lives on the loop that made it:
        the command line runs one loop after another)."""
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._session_loop is not loop:
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONNECTIONS, ttl_dns_cache=300))
            self._session_loop = loop
        return self._session

    async def stream(self, request: ChatRequest) -> AsyncGenerator[Delta | Completion, None]:
        params = self._params(request)
        if self._stream_usage:
            params["stream_options"] = {"include_usage": True}
        parts: list[str] = []
        usage: Usage | None = None
        model = request.model
        finish_reason: str | None = None
        try:
            stream = await self._client.chat.completions.create(stream=True, **params)
        except openai.APITimeoutError as exc:
            raise _timeout_or_unreachable(exc, "model server") from exc
        except openai.APIError as exc:
            raise _error(exc) from exc
        try:
            async for chunk in stream:
                model = chunk.model or model
                if chunk.usage is not None:
                    usage = read_usage(chunk.usage)
                for choice in chunk.choices:
                    if choice.finish_reason:
                        finish_reason = choice.finish_reason
                    if choice.delta.content:
                        parts.append(choice.delta.content)
                        yield Delta(choice.delta.content)
        except Exception as exc:  # any failure after the first byte: httpx, SSE decoding, the socket
            # After the first byte the SDK cannot retry; what arrived is the partial reply.
            detail = exc.message if isinstance(exc, openai.APIError) else str(exc) or type(exc).__name__
            raise StreamInterrupted(f"model server cut the stream: {detail}", partial_text="".join(parts)) from exc
        finally:
            await stream.close()
        if finish_reason is None and usage is None:
            raise StreamInterrupted("model server ended the stream before it finished", partial_text="".join(parts))
        yield Completion(text="".join(parts), usage=usage, model=model, finish_reason=finish_reason)

    async def moderate(self, text: str) -> Moderation:
        """OpenAI's moderation endpoint (free): the categories it flags in ``text``."""
        try:
            response = await self._client.moderations.create(model=MODERATION_MODEL, input=text)
        except openai.APITimeoutError as exc:
            raise _timeout_or_unreachable(exc, "moderation") from exc
        except openai.APIError as exc:
            raise _error(exc) from exc
        flagged = {
            name
            for result in response.results
            for name, on in result.categories.model_dump(by_alias=True).items()
            if on
        }
        return Moderation(frozenset(flagged), response.model or MODERATION_MODEL)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
        await self._client.close()
