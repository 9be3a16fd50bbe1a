"""One turn of a conversation, from a user's message to a priced, ledgered reply.

profile -> strategy (database state, sticky per conversation) -> bot hooks ->
messages (system, examples, trimmed history, user) -> provider -> price -> ledger.
Every provider call leaves a ledger row, including failed ones and cut streams.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from decimal import Decimal

from core import budget, language
from core import strategy as strategies
from core.context import build_messages
from core.db import Database
from core.errors import InvalidInput, NotFound, ProviderBusy, ProviderError, StreamInterrupted
from core.hooks import BotHooks, GuardReply, Turn, load_hooks
from core.ledger import Call, Conversation, StrategyState
from core.messages import ChatMessage
from core.pricing import Price, PriceTable, to_nanos
from core.profiles import Profile, Profiles
from core.providers.base import ChatRequest, Completion, Delta, Moderation, Provider
from core.redaction import redact
from core.store import Store, StoredText
from core.tokens import Tokenizer, tokenizer_for
from core.usage import Usage, UsageSource


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


@dataclass(frozen=True)
class TurnResult:
    conversation_id: str
    reply: str
    strategy: str
    model: str | None  # None when a guard answered without a model
    language: str
    usage: Usage
    cost_usd: Decimal
    call_id: int | None
    status: str
    usage_source: UsageSource
    guard_reason: str | None = None


@dataclass
class PreparedTurn:
    """A turn checked and ready to run: every 4xx-kind error has already been raised."""

    profile: Profile
    hooks: BotHooks
    turn: Turn
    conversation: Conversation
    is_new: bool
    guard: GuardReply | None
    request: ChatRequest | None
    price: Price | None
    tokenizer: Tokenizer


class Engine:
    def __init__(
        self,
        *,
        profiles: Profiles,
        prices: PriceTable,
        provider: Provider,
        database: Database,
        on_call: Callable[[Call], None] | None = None,
    ) -> None:
        self.profiles = profiles
        self.prices = prices
        self.provider = provider
        self.store = Store(database)
        self.database = database
        # Told of every ledger row once it is written (metrics hang here).
        self.on_call = on_call

    # -- planning -------------------------------------------------------------

    def _validate(self, profile: Profile, message: str) -> None:
        if not message.strip():
            raise InvalidInput("the message is empty; send some text")
        if len(message) > profile.max_message_chars:
            raise InvalidInput(
                f"the message is {len(message):,} characters; bot {profile.name!r} accepts at most "
                f"{profile.max_message_chars:,}: shorten it or send it in parts"
            )

    def _conversation(self, request: TurnRequest, profile: Profile, state: StrategyState) -> tuple[Conversation, bool]:
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
        conversation_id = uuid.uuid4().hex
        if request.strategy:
            chosen = request.strategy
            strategies.config(state, profile, chosen)  # raises a clear error if it cannot serve
        else:
            chosen = strategies.pick(state, profile, conversation_id)
        return (
            Conversation(id=conversation_id, bot=profile.name, strategy=chosen, owner=request.owner),
            True,
        )

    def _prepare_sync(self, request: TurnRequest) -> PreparedTurn:
        profile = self.profiles.get(request.bot)
        self._validate(profile, request.message)
        with self.database.session() as session:
            budget.check(session, profile)
            state = strategies.current(session, profile)
        conversation, is_new = self._conversation(request, profile, state)
        config = strategies.config(state, profile, conversation.strategy)
        hooks = load_hooks(profile.bot)
        history = list(request.history) if is_new else self.store.history(conversation.id)
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
        guard = hooks.guard(turn)
        if guard is not None:
            return PreparedTurn(profile, hooks, turn, conversation, is_new, guard, None, None, tokenizer)
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
        chat = ChatRequest(
            model=served,
            messages=messages,
            temperature=config.temperature,
            max_output_tokens=config.max_output_tokens,
        )
        price = self.provider.own_price(served) or profile.price(config, self.prices)
        return PreparedTurn(profile, hooks, turn, conversation, is_new, None, chat, price, tokenizer)

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

    def _call_row(
        self,
        plan: PreparedTurn,
        *,
        usage: Usage,
        usage_source: UsageSource,
        status: str,
        started: float,
        response_model: str | None = None,
        error: str | None = None,
    ) -> Call:
        assert plan.request is not None
        assert plan.price is not None
        return Call(
            conversation_id=plan.conversation.id,
            bot=plan.profile.name,
            strategy=plan.conversation.strategy,
            provider=self.provider.name,
            model=plan.request.model,
            response_model=response_model,
            profile_version=plan.profile.version,
            prompt_tokens=usage.prompt_tokens,
            cached_tokens=usage.cached_tokens,
            completion_tokens=usage.completion_tokens,
            cost_nanousd=to_nanos(plan.price.cost(usage)),
            price_version=plan.price.version,
            latency_ms=round((time.perf_counter() - started) * 1000),
            status=status,
            usage_source=usage_source,
            error=error,
        )

    def _estimate(self, plan: PreparedTurn, partial: str) -> Usage:
        assert plan.request is not None
        return Usage(
            prompt_tokens=plan.tokenizer.count_messages(plan.request.messages),  # type: ignore[arg-type]
            completion_tokens=plan.tokenizer.count(partial),
        )

    def _record_failure(self, plan: PreparedTurn, exc: ProviderError, started: float) -> int | None:
        if isinstance(exc, StreamInterrupted):
            # Tokens generated before the cut are billed; count what arrived.
            call = self._call_row(
                plan,
                usage=self._estimate(plan, exc.partial_text),
                usage_source="estimated",
                status="aborted",
                started=started,
                error=str(exc),
            )
            texts = self._stored(plan, exc.partial_text or None)
            self._carry_over(plan)
        else:
            call = self._call_row(
                plan, usage=Usage(), usage_source="none", status="error", started=started, error=str(exc)
            )
            texts = []
        call_id = self.store.record(conversation=plan.conversation, is_new=plan.is_new, call=call, texts=texts)
        self._notify(call)
        return call_id

    def _record_success(
        self, plan: PreparedTurn, completion: Completion, started: float, side_calls: Sequence[Call] = ()
    ) -> TurnResult:
        usage_source: UsageSource = "reported"
        usage = completion.usage
        if usage is None:  # a server that ignores stream_options.include_usage
            usage, usage_source = self._estimate(plan, completion.text), "estimated"
        reply = plan.hooks.finish(plan.turn, completion.text)
        call = self._call_row(
            plan, usage=usage, usage_source=usage_source, status="ok", started=started, response_model=completion.model
        )
        self._carry_over(plan)
        call_id = self.store.record(
            conversation=plan.conversation,
            is_new=plan.is_new,
            call=call,
            texts=self._stored(plan, reply),
            extra_calls=side_calls,
        )
        for side in side_calls:
            self._notify(side)
        self._notify(call)
        return self._result(plan, reply, usage=usage, call=call, call_id=call_id)

    @staticmethod
    def _carry_over(plan: PreparedTurn) -> None:
        """What the conversation keeps from this turn: its language and the behaviour's state."""
        plan.conversation.language = plan.turn.language or plan.conversation.language
        plan.conversation.bot_state = json.dumps(plan.turn.state, ensure_ascii=False) if plan.turn.state else None

    def _notify(self, call: Call) -> None:
        if self.on_call is not None:
            self.on_call(call)

    def _record_guard(self, plan: PreparedTurn) -> TurnResult:
        assert plan.guard is not None
        self._carry_over(plan)
        user, *reply = self._stored(plan, plan.guard.text)
        answer = StoredText("assistant", reply[0].content if reply else None, guard_reason=plan.guard.reason)
        self.store.record(conversation=plan.conversation, is_new=plan.is_new, call=None, texts=[user, answer])
        return TurnResult(
            conversation_id=plan.conversation.id,
            reply=plan.guard.text,
            strategy=plan.conversation.strategy,
            model=None,
            language=plan.turn.language or plan.profile.language,
            usage=Usage(),
            cost_usd=Decimal(0),
            call_id=None,
            status="ok",
            usage_source="none",
            guard_reason=plan.guard.reason,
        )

    def _result(self, plan: PreparedTurn, reply: str, *, usage: Usage, call: Call, call_id: int | None) -> TurnResult:
        return TurnResult(
            conversation_id=plan.conversation.id,
            reply=reply,
            strategy=plan.conversation.strategy,
            model=call.model,
            language=plan.turn.language or plan.profile.language,
            usage=usage,
            cost_usd=call.cost_usd,
            call_id=call_id,
            status=call.status,
            usage_source=call.usage_source,  # type: ignore[arg-type]
        )

    # -- moderation -------------------------------------------------------------

    def _start_moderation(self, plan: PreparedTurn) -> asyncio.Task[Call] | None:
        """Run the provider's moderation beside the model call, for behaviours that ask for it
        (a bot's ``moderates``) and providers that have one; offline there is none."""
        moderate = getattr(self.provider, "moderate", None)
        if not getattr(plan.hooks, "moderates", False) or moderate is None:
            return None
        return asyncio.create_task(self._moderate(plan, moderate))

    async def _moderate(self, plan: PreparedTurn, moderate: Callable[[str], Awaitable[Moderation]]) -> Call:
        started = time.perf_counter()
        status, error, model = "ok", None, "moderation"
        try:
            result = await moderate(plan.turn.message)
            plan.turn.notes["moderation"] = result.categories
            model = result.model
        except ProviderError as exc:
            status, error = "error", str(exc)
        # Free, but a call all the same: it is in the ledger, at $0.
        return Call(
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
            error=error,
        )

    @staticmethod
    async def _side_calls(task: asyncio.Task[Call] | None) -> list[Call]:
        return [await task] if task is not None else []

    @staticmethod
    def _drop(task: asyncio.Task[Call] | None) -> None:
        if task is not None:
            task.cancel()

    # -- running --------------------------------------------------------------

    async def prepare(self, request: TurnRequest) -> PreparedTurn:
        """Check a turn before running it: unknown bot, bad message, budget, strategy."""
        return await asyncio.to_thread(self._prepare_sync, request)

    async def turn(self, request: TurnRequest | PreparedTurn) -> TurnResult:
        plan = request if isinstance(request, PreparedTurn) else await self.prepare(request)
        if plan.guard is not None:
            return await asyncio.to_thread(self._record_guard, plan)
        assert plan.request is not None
        started = time.perf_counter()
        moderation = self._start_moderation(plan)
        try:
            completion = await self.provider.complete(plan.request)
        except ProviderBusy:
            self._drop(moderation)
            raise  # refused before any model call: nothing to ledger
        except ProviderError as exc:
            self._drop(moderation)
            exc.call_id = await asyncio.to_thread(self._record_failure, plan, exc, started)
            raise
        side = await self._side_calls(moderation)
        return await asyncio.to_thread(self._record_success, plan, completion, started, side)

    async def stream(self, request: TurnRequest | PreparedTurn) -> AsyncIterator[Delta | TurnResult]:
        """Deltas as they arrive, then one TurnResult. Closing the iterator early ledgers an aborted call."""
        plan = request if isinstance(request, PreparedTurn) else await self.prepare(request)
        if plan.guard is not None:
            result = await asyncio.to_thread(self._record_guard, plan)
            yield Delta(result.reply)
            yield result
            return
        assert plan.request is not None
        started = time.perf_counter()
        parts: list[str] = []
        completion: Completion | None = None
        held = bool(getattr(plan.hooks, "holds_stream", False))
        moderation = self._start_moderation(plan)
        try:
            async with aclosing(self.provider.stream(plan.request)) as items:
                async for item in items:
                    if isinstance(item, Delta):
                        parts.append(item.text)
                        if not held:
                            yield item
                    else:
                        completion = item
        except ProviderBusy:
            self._drop(moderation)
            raise
        except ProviderError as exc:
            self._drop(moderation)
            exc.call_id = await asyncio.to_thread(self._record_failure, plan, exc, started)
            raise
        except (GeneratorExit, asyncio.CancelledError):
            self._drop(moderation)
            # The client went away mid-stream. Record synchronously: the task may not get
            # another chance to await.
            gone = StreamInterrupted("the client disconnected mid-stream", partial_text="".join(parts))
            self._record_failure(plan, gone, started)
            raise
        assert completion is not None
        side = await self._side_calls(moderation)
        result = await asyncio.to_thread(self._record_success, plan, completion, started, side)
        streamed = "" if held else "".join(parts)
        if result.reply != streamed and result.reply.startswith(streamed):
            yield Delta(result.reply[len(streamed) :])
        yield result
