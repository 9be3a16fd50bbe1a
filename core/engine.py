"""One turn of a conversation, from a user's message to a priced, ledgered reply.

profile -> strategy (database state, sticky per conversation) -> bot hooks ->
messages (system, examples, trimmed history, user) -> provider -> price -> ledger.
Every provider call leaves a ledger row, including failed ones and cut streams.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import threading
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from core import budget, ids, language, rate_limits
from core import strategy as strategies
from core.context import build_messages
from core.db import Database
from core.errors import (
    InvalidInput,
    NotFound,
    ProviderBusy,
    ProviderError,
    ProviderTimeout,
    ProviderUnreachable,
    StreamInterrupted,
)
from core.hooks import BotHooks, GuardReply, Turn, load_hooks
from core.ledger import StrategyState, utcnow
from core.messages import ChatMessage
from core.pricing import Price, PriceTable
from core.profiles import Profile, Profiles
from core.providers.base import ChatRequest, Completion, Delta, Moderates, Moderation, Provider
from core.rate_limits import RateLimits
from core.redaction import redact
from core.rows import CallRow, ConversationRow
from core.store import Store, StoredText
from core.tokens import Tokenizer, tokenizer_for
from core.usage import Usage, UsageSource
from core.writer import Writer

log = logging.getLogger("domainbots.engine")

# The output a call may reserve against a budget when its profile sets no max_output_tokens.
WORST_CASE_OUTPUT = 4096
# How long a worker serves the strategy state it read before reading it again (seconds).
STATE_TTL = 0.5
# Read the strategy state again in the background this long before it expires (seconds).
REFRESH_AHEAD = 0.1
# A retry is made only with at least this long (or a quarter of the request timeout) left.
MIN_ATTEMPT_SECONDS = 1.0


@dataclass(frozen=True)
class TurnRequest:
    bot: str
    message: str
    conversation_id: str | None = None
    # Only for a new conversation: start it on this strategy instead of the bot's active one.
    strategy: str | None = None
    # Who asks: an API key's id; None for the local command line.
    owner: str | None = None
    # For a new conversation only: earlier turns the client keeps itself (OpenAI-style
    # clients send the whole transcript), and a client's own system text, which goes
    # after the bot's instructions and never replaces them.
    history: tuple[ChatMessage, ...] = ()
    client_system: str | None = None
    # The client resends its transcript each time (OpenAI's protocol): a conversation whose
    # transcript matches ``history`` is continued, and each turn's transcript is remembered.
    transcript: bool = False
    # Client sampling settings (OpenAI's), within what the profile allows.
    max_output_tokens: int | None = None
    sampling: tuple[tuple[str, Any], ...] = ()
    request_id: str | None = None
    source: str = "production"  # or "eval" (core/evaluation.py)
    # The asking key's own limits (requests and tokens a minute), when it has any.
    limits: RateLimits | None = None
    # The asking API key's id, on each of its calls (what its rate limits count).
    key_id: str | None = None


@dataclass(frozen=True)
class ModelTurn:
    """A turn the model answered: its call's ledger row, tokens and exact cost."""

    conversation_id: str
    reply: str
    strategy: str
    model: str
    language: str
    usage: Usage
    cost_usd: Decimal
    call_id: int
    status: str
    usage_source: UsageSource
    # What the bot's output check changed in the model's reply, and why; None when nothing.
    guard_reason: str | None = None


@dataclass(frozen=True)
class GuardedTurn:
    """A turn the bot answered itself, before any model call (an emergency routed, a
    settings change): no call, no tokens, nothing billed, and always a reason."""

    conversation_id: str
    reply: str
    strategy: str
    language: str
    guard_reason: str

    @property
    def usage(self) -> Usage:
        return Usage()

    @property
    def cost_usd(self) -> Decimal:
        return Decimal(0)


TurnResult = ModelTurn | GuardedTurn


@dataclass
class PreparedTurn:
    """A turn checked and ready to run: every 4xx-kind error has already been raised."""

    profile: Profile
    hooks: BotHooks
    turn: Turn
    conversation: ConversationRow
    is_new: bool
    guard: GuardReply | None
    request: ChatRequest | None
    price: Price | None
    tokenizer: Tokenizer
    request_id: str | None = None
    started: float = 0.0  # perf_counter when the first attempt began
    # The client's transcript before this turn, when it sends one (see TurnRequest.transcript).
    transcript: tuple[ChatMessage, ...] | None = None
    source: str = "production"
    limits: RateLimits | None = None
    key_id: str | None = None
    prompt_tokens: int = 0  # the request's prompt, counted once when it is built


class Engine:
    def __init__(
        self,
        *,
        profiles: Profiles,
        prices: PriceTable,
        provider: Provider,
        database: Database,
        on_call: Callable[[CallRow], None] | None = None,
        max_retries: int = 2,
        request_timeout: float = 60.0,
        writer_on_loop: bool | None = None,
    ) -> None:
        self.profiles = profiles
        # The engine retries, not the SDK: each attempt is billed, so each has its own row.
        self.max_retries = max_retries
        self.request_timeout = request_timeout
        self._states: dict[str, tuple[float, StrategyState]] = {}
        self._refreshing: set[str] = set()  # bots whose state is being read ahead of its expiry
        self._states_lock = threading.Lock()
        self._generations: dict[str, int] = {}  # forget_strategy() calls: a read ahead older than one is dropped
        self.prices = prices
        self.provider = provider
        self.store = Store(database)
        self.database = database
        # The ledger's writes of every turn, group-committed by one thread (core/writer.py).
        self.writer = Writer(database, inline=writer_on_loop)
        # Told of every ledger row once it is written (metrics hang here).
        self.on_call = on_call

    # -- planning -------------------------------------------------------------

    def forget_strategy(self, bot: str) -> None:
        """After a switch through this process: read the state afresh on the next turn."""
        with self._states_lock:
            self._generations[bot] = self._generations.get(bot, 0) + 1
            self._states.pop(bot, None)

    def _strategy_state(self, profile: Profile) -> StrategyState:
        """The bot's strategy state, read at most every STATE_TTL seconds per process: a switch
        through any worker is served by every worker within that (a second at most)."""
        cached = self._states.get(profile.name)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        return self._read_state(profile)

    def _read_state(self, profile: Profile) -> StrategyState:
        """Read the state and keep it, unless a switch through this process came meanwhile
        (forget_strategy runs on a route's thread): then the read is served but not kept."""
        generation = self._generations.get(profile.name, 0)
        with self.database.session() as session:
            state = strategies.current(session, profile)
        with self._states_lock:
            if self._generations.get(profile.name, 0) == generation:
                self._states[profile.name] = (time.monotonic() + STATE_TTL, state)
        return state

    def _validate(self, profile: Profile, message: str) -> None:
        if not message.strip():
            raise InvalidInput("the message is empty; send some text")
        if "\x00" in message:
            raise InvalidInput("the message contains a NUL character (U+0000), which cannot be stored; remove it")
        if len(message) > profile.max_message_chars:
            raise InvalidInput(
                f"the message is {len(message):,} characters; bot {profile.name!r} accepts at most "
                f"{profile.max_message_chars:,}: shorten it or send it in parts"
            )

    def _conversation(
        self, request: TurnRequest, profile: Profile, state: StrategyState
    ) -> tuple[ConversationRow, bool]:
        if not request.conversation_id and request.transcript and request.history:
            found = self.store.by_transcript(request.owner, profile.name, transcript_hash(request.history))
            if found is not None:
                return found, False
        if request.conversation_id:
            found = self.store.conversation(request.conversation_id)
            # Someone else's conversation is reported as missing, not as forbidden.
            if found is None or (request.owner is not None and found.owner != request.owner):
                raise NotFound(f"conversation {request.conversation_id!r} does not exist; omit it to start one")
            if found.bot != profile.name:
                raise InvalidInput(
                    f"conversation {request.conversation_id!r} belongs to bot {found.bot!r}, not {profile.name!r}"
                )
            if request.strategy and request.strategy != found.strategy:
                raise InvalidInput(
                    f"conversation {found.id!r} runs on the {found.strategy!r} strategy and keeps it; "
                    "start a new conversation to use another"
                )
            return found, False
        conversation_id = ids.conversation_id()
        now = utcnow()
        if request.strategy:
            chosen = request.strategy
            strategies.config(state, profile, chosen)  # raises a clear error if it cannot serve
        else:
            chosen = strategies.pick(state, profile, conversation_id)
        return (
            ConversationRow(
                id=conversation_id,
                bot=profile.name,
                strategy=chosen,
                owner=request.owner,
                created_at=now,
                updated_at=now,
            ),
            True,
        )

    def _prepare_sync(self, request: TurnRequest) -> PreparedTurn:
        profile = self.profiles.get(request.bot)
        self._validate(profile, request.message)
        if profile.budget is not None or request.limits is not None:
            # early answers, before a stream's headers go; the locked checks before the call decide
            with self.database.session() as session:
                if profile.budget is not None:
                    budget.check(session, profile)
                if request.limits is not None:
                    rate_limits.check(session, request.limits)
        state = self._strategy_state(profile)
        conversation, is_new = self._conversation(request, profile, state)
        config = strategies.config(state, profile, conversation.strategy)
        hooks = load_hooks(profile.bot)
        history = list(request.history) if is_new or request.transcript else self.store.history(conversation.id)
        turn = Turn(
            profile=profile,
            strategy=conversation.strategy,
            config=config,
            conversation_id=conversation.id,
            is_new_conversation=is_new,
            message=request.message,
            history=history,
            language=language.detect(request.message, previous=conversation.language, default=profile.language),
            state=json.loads(conversation.bot_state) if conversation.bot_state else {},
        )
        assert config.model is not None
        served = self.provider.served_model(config.model)
        tokenizer = tokenizer_for(served)
        plan = PreparedTurn(
            profile,
            hooks,
            turn,
            conversation,
            is_new,
            guard=hooks.guard(turn),
            request=None,
            price=None,
            tokenizer=tokenizer,
            request_id=request.request_id,
            transcript=request.history if request.transcript else None,
            source=request.source,
            limits=request.limits,
            key_id=request.key_id,
        )
        if plan.guard is not None:
            return plan
        hooks.prepare(turn)
        if request.client_system and request.client_system.strip():
            turn.context.append(
                "The client application adds these instructions; they never override the ones above:\n"
                + request.client_system.strip()
            )
        messages = build_messages(
            config,
            history=turn.history,
            extra_context=turn.context,
            user_message=turn.prompt_message,
            history_tokens=profile.history_tokens,
            tokenizer=tokenizer,
        )
        sampling = dict(request.sampling)
        cap = config.max_output_tokens
        wanted = request.max_output_tokens
        chat = ChatRequest(
            model=served,
            messages=messages,
            temperature=sampling.pop("temperature", config.temperature),
            # a client may ask for fewer output tokens than the profile allows, never more
            max_output_tokens=min(wanted, cap) if wanted and cap else (wanted or cap),
            sampling=tuple(sampling.items()),
        )
        plan.prompt_tokens = tokenizer.count_messages(messages)  # type: ignore[arg-type]
        if request.limits is not None:
            rate_limits.refuse_oversized(request.limits, plan.prompt_tokens)
        plan.request = chat
        plan.price = self.provider.own_price(served) or profile.price(config, self.prices)
        return plan

    # -- recording ------------------------------------------------------------

    def _stored(self, plan: PreparedTurn, reply: str | None) -> list[StoredText]:
        if not plan.profile.privacy.store_content:
            texts = [StoredText("user", None)]
            answer = StoredText("assistant", None, guard_reason=plan.turn.guard_reason)
            return [*texts, answer] if reply is not None else texts
        kinds = plan.profile.privacy.redact

        def clean(text: str) -> str:
            return plan.hooks.redact(plan.turn, redact(text, kinds))

        texts = [StoredText("user", clean(plan.turn.message))]
        if reply is not None:
            texts.append(StoredText("assistant", clean(reply), guard_reason=plan.turn.guard_reason))
        return texts

    # -- the write-ahead ledger -------------------------------------------------

    def _pending(self, plan: PreparedTurn, attempt: int) -> tuple[CallRow, dict[str, Callable[[Session], None]]]:
        """The attempt's row, to be committed before the request is sent: status pending, prompt
        tokens counted, and the worst case (prompt + max output) as its cost, reserved against
        the bot's budget in the same locked transaction (the checks that run there)."""
        assert plan.request is not None
        assert plan.price is not None
        prompt = plan.prompt_tokens
        worst = Usage(prompt_tokens=prompt, completion_tokens=plan.request.max_output_tokens or WORST_CASE_OUTPUT)
        call = CallRow(
            created_at=utcnow(),  # given, not defaulted: pydantic inspects a default factory per call
            conversation_id=plan.conversation.id,
            bot=plan.profile.name,
            strategy=plan.conversation.strategy,
            provider=self.provider.name,
            model=plan.request.model,
            profile_version=plan.profile.version,
            prompt_tokens=prompt,
            cost_nanousd=plan.price.cost_nanos(worst),
            price_version=plan.price.version,
            status="pending",
            usage_source="estimated",
            attempt=attempt,
            request_id=plan.request_id,
            key_id=plan.key_id,
            source=plan.source,
        )
        # Checked in the transaction that writes the row, each under its own lock.
        checks: dict[str, Callable[[Session], None]] = {}
        if plan.profile.budget is not None:
            profile = plan.profile
            checks[f"budget:{profile.name}"] = lambda session: budget.reserve(session, profile, call.cost_nanousd)
        limits = plan.limits
        if limits is not None and attempt == 1:  # a retry is the same request
            checks[f"rate:{limits.key_id}"] = lambda session: rate_limits.check(session, limits, prompt)
        return call, checks

    def _open_checked(self, plan: PreparedTurn, call: CallRow, checks: dict[str, Callable[[Session], None]]) -> int:
        """A pending row with checks (a budget, a key's limits): they take their locks in a
        transaction of its own; the others are group-committed by the writer."""
        return self.store.open_call(conversation=plan.conversation, is_new=plan.is_new, call=call, checks=checks)

    def _settle(self, plan: PreparedTurn, call: CallRow, *, usage: Usage, source: UsageSource, status: str) -> None:
        assert plan.price is not None
        call.prompt_tokens = usage.prompt_tokens
        call.cached_tokens = usage.cached_tokens
        call.completion_tokens = usage.completion_tokens
        call.cost_nanousd = plan.price.cost_nanos(usage)
        call.usage_source = source
        call.status = status
        call.latency_ms = round((time.perf_counter() - plan.started) * 1000)

    def _estimate(self, plan: PreparedTurn, partial: str) -> Usage:
        assert plan.request is not None
        return Usage(
            prompt_tokens=plan.prompt_tokens,
            completion_tokens=plan.tokenizer.count(partial),
        )

    def _record_failure(self, plan: PreparedTurn, call: CallRow, exc: ProviderError) -> int | None:
        """Ledger a failed attempt now, from any thread (the client left: no await is certain)."""
        self.store.settle(call, conversation=plan.conversation, texts=self._failed(plan, call, exc))
        self._notify(call)
        return call.id

    async def _record_failure_async(self, plan: PreparedTurn, call: CallRow, exc: ProviderError) -> int | None:
        texts = self._failed(plan, call, exc)
        await _finish(self.writer.submit(self.store.settlement(call, conversation=plan.conversation, texts=texts)))
        self._notify(call)
        return call.id

    def _failed(self, plan: PreparedTurn, call: CallRow, exc: ProviderError) -> list[StoredText]:
        """Settle a failed attempt's row in memory; what the turn stores with it."""
        if isinstance(exc, StreamInterrupted | ProviderTimeout) or (
            exc.status is None and not isinstance(exc, ProviderUnreachable)
        ):
            # Billed all the same (a cut, a timeout, a connection dropped after the request
            # went out): the prompt was read, and what arrived before the cut was generated.
            # Counted, and marked as an estimate.
            partial = getattr(exc, "partial_text", "")
            self._settle(
                plan,
                call,
                usage=self._estimate(plan, partial),
                source="estimated",
                status="aborted" if isinstance(exc, StreamInterrupted) else "error",
            )
            texts = self._stored(plan, partial or None) if isinstance(exc, StreamInterrupted) else []
            self._carry_over(plan)
        else:  # refused with a status: nothing billed
            self._settle(plan, call, usage=Usage(), source="none", status="error")
            texts = []
        call.error = str(exc)[:2000]
        return texts

    async def _record_success(
        self, plan: PreparedTurn, call: CallRow, completion: Completion, side_calls: Sequence[CallRow] = ()
    ) -> ModelTurn:
        usage_source: UsageSource = "reported"
        usage = completion.usage
        if usage is None:  # a server that ignores stream_options.include_usage
            usage, usage_source = self._estimate(plan, completion.text), "estimated"
        reply = plan.hooks.finish(plan.turn, completion.text)
        self._remember_transcript(plan, reply)
        self._settle(plan, call, usage=usage, source=usage_source, status="ok")
        call.response_model = completion.model
        self._carry_over(plan)
        write = self.store.settlement(
            call, conversation=plan.conversation, texts=self._stored(plan, reply), extra_calls=side_calls
        )
        await _finish(self.writer.submit(write))
        for side in side_calls:
            self._notify(side)
        self._notify(call)
        return self._result(plan, reply, usage=usage, call=call)

    def _drop_pending(self, call: CallRow) -> None:
        """Refused before anything was sent (a full local queue): no attempt to keep."""
        self.store.delete_call(call)

    async def _after_failure(
        self,
        plan: PreparedTurn,
        call: CallRow,
        exc: ProviderError,
        moderation: asyncio.Task[CallRow] | None,
        attempt: int,
        deadline: float,
        retry: bool = True,
    ) -> float:
        """Ledger a failed attempt and return the wait before the next one; re-raise `exc`
        when there is none. A busy gateway never reached the upstream, so its row goes."""
        if isinstance(exc, ProviderBusy):
            self._drop(moderation)
            await _finish(asyncio.to_thread(self._drop_pending, call))
            raise exc
        exc.call_id = await self._record_failure_async(plan, call, exc)
        wait = self._retry_wait(exc, attempt, deadline) if retry else None
        if wait is None:
            self._drop(moderation)
            raise exc
        return wait

    def _retry_wait(self, exc: ProviderError, attempt: int, deadline: float) -> float | None:
        """How long to wait before the next attempt, or None to give up. Statuses that may
        pass (429, 5xx, timeouts, dropped connections) are retried, inside the request
        timeout as a whole; the server's Retry-After is honoured."""
        if attempt > self.max_retries:
            return None
        if isinstance(exc, StreamInterrupted) and exc.partial_text:
            return None  # text already went out: a retry would repeat it
        status = exc.status
        if status is not None and status not in (408, 409, 429) and status < 500:
            return None
        wait = exc.retry_after if exc.retry_after is not None else min(8.0, 0.25 * 2 ** (attempt - 1))
        # an attempt with next to no time left would only time out, billed: the upstream's own
        # answer (a 429 with its Retry-After, a 503) tells the client more
        if time.perf_counter() + wait + min(MIN_ATTEMPT_SECONDS, self.request_timeout / 4) >= deadline:
            return None
        return wait

    @staticmethod
    def _carry_over(plan: PreparedTurn) -> None:
        """What the conversation keeps from this turn: its language and the behaviour's state."""
        plan.conversation.language = plan.turn.language or plan.conversation.language
        plan.conversation.bot_state = json.dumps(plan.turn.state, ensure_ascii=False) if plan.turn.state else None

    def _notify(self, call: CallRow) -> None:
        if self.on_call is not None:
            self.on_call(call)

    @staticmethod
    def _remember_transcript(plan: PreparedTurn, reply: str) -> None:
        if plan.transcript is not None:
            after = [
                *plan.transcript,
                {"role": "user", "content": plan.turn.message},
                {"role": "assistant", "content": reply},
            ]
            plan.conversation.transcript_hash = transcript_hash(after)  # type: ignore[arg-type]

    def _record_guard(self, plan: PreparedTurn) -> GuardedTurn:
        assert plan.guard is not None
        self._carry_over(plan)
        self._remember_transcript(plan, plan.guard.text)
        user, *reply = self._stored(plan, plan.guard.text)
        answer = StoredText("assistant", reply[0].content if reply else None, guard_reason=plan.guard.reason)
        self.store.record(conversation=plan.conversation, is_new=plan.is_new, call=None, texts=[user, answer])
        return GuardedTurn(
            conversation_id=plan.conversation.id,
            reply=plan.guard.text,
            strategy=plan.conversation.strategy,
            language=plan.turn.language or plan.profile.language,
            guard_reason=plan.guard.reason,
        )

    def _result(self, plan: PreparedTurn, reply: str, *, usage: Usage, call: CallRow) -> ModelTurn:
        assert call.id is not None  # written ahead, before the call was sent
        return ModelTurn(
            conversation_id=plan.conversation.id,
            reply=reply,
            strategy=plan.conversation.strategy,
            model=call.model,
            language=plan.turn.language or plan.profile.language,
            usage=usage,
            cost_usd=call.cost_usd,
            call_id=call.id,
            status=call.status,
            usage_source=call.usage_source,  # type: ignore[arg-type]
            guard_reason=plan.turn.guard_reason,  # what finish() changed in the model's reply, and why
        )

    # -- moderation -------------------------------------------------------------

    def _start_moderation(self, plan: PreparedTurn) -> asyncio.Task[CallRow] | None:
        """Run the provider's moderation beside the model call, for behaviours that ask for it
        (a bot's ``moderates``) and providers that have one; offline there is none."""
        if not getattr(plan.hooks, "moderates", False) or not isinstance(self.provider, Moderates):
            return None
        return asyncio.create_task(self._moderate(plan, self.provider.moderate))

    async def _moderate(self, plan: PreparedTurn, moderate: Callable[[str], Awaitable[Moderation]]) -> CallRow:
        started = time.perf_counter()
        status, error, model = "ok", None, "moderation"
        try:
            result = await moderate(plan.turn.message)
            plan.turn.notes["moderation"] = result.categories
            model = result.model
        except ProviderError as exc:
            status, error = "error", str(exc)
        # Free, but a call all the same: it is in the ledger, at $0.
        return CallRow(
            created_at=utcnow(),
            conversation_id=plan.conversation.id,
            bot=plan.profile.name,
            strategy=plan.conversation.strategy,
            provider=self.provider.name,
            model=model,
            response_model=model if status == "ok" else None,
            profile_version=plan.profile.version,
            cost_nanousd=0,
            price_version="moderation: free",
            latency_ms=round((time.perf_counter() - started) * 1000),
            status=status,
            usage_source="none",  # the endpoint reports no usage and bills none
            source=plan.source,
            error=error,
        )

    @staticmethod
    async def _side_calls(task: asyncio.Task[CallRow] | None) -> list[CallRow]:
        return [await task] if task is not None else []

    @staticmethod
    def _drop(task: asyncio.Task[CallRow] | None) -> None:
        if task is not None:
            task.cancel()

    # -- running --------------------------------------------------------------

    async def prepare(self, request: TurnRequest) -> PreparedTurn:
        """Check a turn before running it: unknown bot, bad message, budget, strategy."""
        if self._reads_database(request):
            return await asyncio.to_thread(self._prepare_sync, request)
        # Nothing to read (a new conversation, the strategy state fresh in memory): the work is
        # all Python, and a thread would only add its hop to the GIL's queue.
        return self._prepare_sync(request)

    def _reads_database(self, request: TurnRequest) -> bool:
        if request.conversation_id or request.limits is not None or (request.transcript and request.history):
            return True
        profile = self.profiles.by_name.get(request.bot)
        if profile is None or profile.budget is not None:
            return True  # an unknown bot's error is raised where it always is
        cached = self._states.get(profile.name)
        if cached is None:
            return True
        left = cached[0] - time.monotonic()
        if left < REFRESH_AHEAD:
            # read again in the background while the state in hand is still fresh: otherwise,
            # every 0.5 s, each turn arriving until one of them has re-read it would take a
            # thread hop (and a read) of its own
            self._refresh_ahead(profile)
        # a margin: the state must still be fresh when _prepare_sync reads it a moment later
        return left <= 0.05

    def _refresh_ahead(self, profile: Profile) -> None:
        if profile.name in self._refreshing:
            return
        self._refreshing.add(profile.name)

        def read() -> None:
            self._read_state(profile)

        def done(future: asyncio.Future[None]) -> None:
            self._refreshing.discard(profile.name)
            if not future.cancelled() and future.exception() is not None:
                # the turn that finds the state expired reads it itself, and raises what it must
                log.warning("reading the strategy state of %s ahead failed: %r", profile.name, future.exception())

        asyncio.get_running_loop().run_in_executor(None, read).add_done_callback(done)

    async def turn(self, request: TurnRequest | PreparedTurn) -> TurnResult:
        plan = request if isinstance(request, PreparedTurn) else await self.prepare(request)
        if plan.guard is not None:
            return await _finish(asyncio.to_thread(self._record_guard, plan))
        assert plan.request is not None
        plan.started = time.perf_counter()
        moderation = self._start_moderation(plan)
        attempt = 0
        while True:
            attempt += 1
            call = await self._open_attempt(plan, attempt, moderation)
            if attempt == 1:  # the timeout is the upstream's: it runs from the first send
                deadline = time.perf_counter() + self.request_timeout
            try:
                completion = await self.provider.complete(replace(plan.request, timeout=deadline - time.perf_counter()))
                break
            except ProviderError as exc:
                await asyncio.sleep(await self._after_failure(plan, call, exc, moderation, attempt, deadline))
            except (asyncio.CancelledError, GeneratorExit):
                # The client went away: the attempt is still billed. Settled here and now.
                self._drop(moderation)
                self._record_failure(plan, call, StreamInterrupted("the client disconnected before the reply"))
                raise
            except Exception as exc:  # a fault of ours mid-call: the row is settled, then the error goes on
                self._drop(moderation)
                await self._record_failure_async(plan, call, ProviderError(f"the call failed here: {exc!r}"))
                raise
        side = await self._settled_if_cancelled(plan, call, moderation, completion.text)
        return await self._record_success(plan, call, completion, side)

    async def _settled_if_cancelled(
        self, plan: PreparedTurn, call: CallRow, moderation: asyncio.Task[CallRow] | None, text: str
    ) -> list[CallRow]:
        """The side calls, awaited after the reply arrived whole. A client that leaves meanwhile
        still leaves a billed call: it is settled here and now, its usage counted from the text."""
        try:
            return await self._side_calls(moderation)
        except (asyncio.CancelledError, GeneratorExit):
            self._drop(moderation)
            gone = StreamInterrupted("the client left while moderation ran", partial_text=text)
            self._record_failure(plan, call, gone)
            raise

    async def _open_attempt(
        self, plan: PreparedTurn, attempt: int, moderation: asyncio.Task[CallRow] | None
    ) -> CallRow:
        """The attempt's pending row. If the client leaves while it is being written, the row is
        written all the same and then removed: nothing was sent, so nothing was billed, and no
        reservation may linger against the budget or the key's rate."""
        try:
            call, checks = self._pending(plan, attempt)
        except Exception:
            self._drop(moderation)
            raise
        if checks:  # their locks in a transaction of its own, on a thread
            written: asyncio.Future[int] = asyncio.ensure_future(
                asyncio.to_thread(self._open_checked, plan, call, checks)
            )
        else:
            # the writer's own future, shielded: no task of its own (one per write cost ~10 µs)
            written = self.writer.submit(self.store.write_ahead(plan.conversation if plan.is_new else None, call))
        try:
            call.id = await asyncio.shield(written)
        except asyncio.CancelledError:
            self._drop(moderation)
            await asyncio.wait([written])
            if not written.cancelled() and written.exception() is None:
                call.id = written.result()
                await asyncio.to_thread(self._drop_pending, call)
            raise
        except Exception:  # refused (a budget, a rate limit): no call goes, nor its moderation
            self._drop(moderation)
            raise
        plan.is_new = False  # the conversation is in the database from now on
        return call

    async def stream(self, request: TurnRequest | PreparedTurn) -> AsyncGenerator[Delta | TurnResult, None]:
        """Deltas as they arrive, then one TurnResult. Closing the iterator early ledgers an aborted call."""
        plan = request if isinstance(request, PreparedTurn) else await self.prepare(request)
        if plan.guard is not None:
            guarded = await _finish(asyncio.to_thread(self._record_guard, plan))
            yield Delta(guarded.reply)
            yield guarded
            return
        assert plan.request is not None
        plan.started = time.perf_counter()
        held = bool(getattr(plan.hooks, "holds_stream", False))
        moderation = self._start_moderation(plan)
        parts: list[str] = []
        completion: Completion | None = None
        attempt = 0
        while completion is None:
            attempt += 1
            call = await self._open_attempt(plan, attempt, moderation)
            if attempt == 1:  # the timeout is the upstream's: it runs from the first send
                deadline = time.perf_counter() + self.request_timeout
            try:
                chat = replace(plan.request, timeout=deadline - time.perf_counter())
                async with aclosing(self.provider.stream(chat)) as items:
                    async for item in items:
                        if isinstance(item, Delta):
                            parts.append(item.text)
                            if not held:
                                yield item
                        else:
                            completion = item
            except ProviderError as exc:
                # Text already shown to the client cannot be taken back: no retry after it.
                wait = await self._after_failure(plan, call, exc, moderation, attempt, deadline, retry=not parts)
                await asyncio.sleep(wait)
            except (GeneratorExit, asyncio.CancelledError):
                # The client went away mid-stream. Record synchronously: the task may not get
                # another chance to await.
                self._drop(moderation)
                gone = StreamInterrupted("the client disconnected mid-stream", partial_text="".join(parts))
                self._record_failure(plan, call, gone)
                raise
            except Exception as exc:  # a fault of ours mid-stream: the row is settled, then the error goes on
                self._drop(moderation)
                cut = StreamInterrupted(f"the stream failed here: {exc!r}", partial_text="".join(parts))
                await self._record_failure_async(plan, call, cut)
                raise
        side = await self._settled_if_cancelled(plan, call, moderation, completion.text)
        result = await self._record_success(plan, call, completion, side)
        streamed = "" if held else "".join(parts)
        if result.reply != streamed and result.reply.startswith(streamed):
            yield Delta(result.reply[len(streamed) :])
        yield result


def transcript_hash(messages: Sequence[ChatMessage]) -> str:
    """A conversation's transcript as its client sees it (roles and text, outer spaces
    ignored): the same transcript sent back finds the same conversation."""
    canonical = [[m["role"], str(m["content"]).strip()] for m in messages if m["role"] in ("user", "assistant")]
    return hashlib.sha256(json.dumps(canonical, ensure_ascii=False).encode()).hexdigest()


async def _finish[T](work: Awaitable[T]) -> T:
    """Database work that must end even if the request is cancelled meanwhile (the client
    left): shielded, so settling a billed call is never lost half-way."""
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        await asyncio.wait([task])  # finish the write, then let the cancellation through
        raise
