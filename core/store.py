"""Reading and writing conversations and ledger rows.

Blocking database work; the engine runs it in a worker thread so a slow disk or
a busy PostgreSQL never stalls the event loop.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, insert, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from core.db import Database
from core.ledger import Call, Conversation, Message, utcnow
from core.messages import ChatMessage

# History is trimmed by tokens afterwards; this only bounds what is read.
HISTORY_READ_LIMIT = 400


@dataclass(frozen=True)
class StoredText:
    role: str
    content: str | None
    guard_reason: str | None = None


# Checks, inside the transaction that writes a pending call, that it may be made (raising if not).
Check = Callable[[Session], None]


class Store:
    def __init__(self, database: Database) -> None:
        self.database = database

    def conversation(self, conversation_id: str) -> Conversation | None:
        with self.database.session() as session:
            return session.get(Conversation, conversation_id)

    def by_transcript(self, owner: str | None, bot: str, transcript_hash: str) -> Conversation | None:
        with self.database.session() as session:
            query = select(Conversation).where(
                Conversation.owner == owner, Conversation.bot == bot, Conversation.transcript_hash == transcript_hash
            )
            return session.exec(query.order_by(col(Conversation.updated_at).desc())).first()

    def history(self, conversation_id: str) -> list[ChatMessage]:
        with self.database.session() as session:
            rows = session.exec(
                select(Message)
                .where(Message.conversation_id == conversation_id)
                .order_by(col(Message.id).desc())
                .limit(HISTORY_READ_LIMIT)
            ).all()
        return [
            {"role": row.role, "content": row.content}  # type: ignore[typeddict-item]
            for row in reversed(rows)
            if row.content is not None and row.role in ("user", "assistant")
        ]

    def record(
        self,
        *,
        conversation: Conversation,
        is_new: bool,
        call: Call | None,
        texts: list[StoredText],
        extra_calls: Sequence[Call] = (),
    ) -> int | None:
        """One transaction: the conversation, its ledger row (and any side call's, such as a
        moderation) and the turn's messages."""
        with self.database.writing(), self.database.session() as session:
            if is_new:
                session.add(conversation)
            else:
                conversation.updated_at = utcnow()
                session.merge(conversation)
            session.flush()
            call_id: int | None = None
            for extra in extra_calls:
                session.add(extra)
            if call is not None:
                session.add(call)
                session.flush()
                call_id = call.id
            for text in texts:
                session.add(
                    Message(
                        conversation_id=conversation.id,
                        role=text.role,
                        content=text.content,
                        call_id=call_id if text.role == "assistant" else None,
                        guard_reason=text.guard_reason,
                    )
                )
            session.commit()
            return call_id

    def open_call(
        self, *, conversation: Conversation, is_new: bool, call: Call, checks: Mapping[str, Check] | None = None
    ) -> int:
        """Write-ahead: the call's row, status pending, committed before the call is sent
        (with its conversation when new). ``checks`` (a bot's budget, a key's rate limits) run
        in the same transaction, each under its lock, so a burst cannot pass them."""
        if checks:
            with self.database.writing(), self.database.session() as session:
                for name in sorted(checks):  # one order everywhere: no deadlock between workers
                    self.database.lock(session, name)
                for check in checks.values():
                    check(session)
                call_id = self._write_ahead(session.connection(), conversation, is_new, call)
                session.commit()
                return call_id
        # No check to run: a bare connection (an ORM session costs twice the writes here)
        with self.database.writing(), self.database.engine.begin() as connection:
            return self._write_ahead(connection, conversation, is_new, call)

    @classmethod
    def _write_ahead(cls, connection: Connection, conversation: Conversation, is_new: bool, call: Call) -> int:
        call.id = cls.write_ahead(pending_rows(conversation if is_new else None, call))(connection)
        return call.id

    @staticmethod
    def write_ahead(rows: tuple[dict[str, object] | None, dict[str, object]]) -> Callable[[Connection], int]:
        """The pending row's write (with its conversation's, when new), for a transaction the
        caller runs: it may run twice (the ledger writer retries a failed batch write by write),
        so the rows are taken as they were before the first try and nothing is changed in them."""
        conversation, call = rows

        def write(connection: Connection) -> int:
            if conversation is not None:  # new: inserted unless it is there already (one statement, not two)
                connection.execute(_NEW_CONVERSATION.get(connection.dialect.name, _INSERT_CONVERSATION), conversation)
            call_id = connection.execute(_INSERT_CALL, call).scalar_one()
            assert call_id is not None
            return int(call_id)

        return write

    def settle(
        self,
        call: Call,
        *,
        conversation: Conversation | None = None,
        texts: Sequence[StoredText] = (),
        extra_calls: Sequence[Call] = (),
    ) -> None:
        """One transaction: the call's row as it ended, and what the turn stores with it."""
        write = self.settlement(call, conversation=conversation, texts=texts, extra_calls=extra_calls)
        with self.database.writing(), self.database.engine.begin() as connection:
            write(connection)

    @staticmethod
    def settlement(
        call: Call,
        *,
        conversation: Conversation | None = None,
        texts: Sequence[StoredText] = (),
        extra_calls: Sequence[Call] = (),
    ) -> Callable[[Connection], None]:
        """The settling write, for a transaction the caller runs (see ``write_ahead``)."""
        settled = {"call_id": call.id, **_settled(call)}
        extras = [_row(extra) for extra in extra_calls]
        touched: dict[str, object] | None = None
        if conversation is not None:
            conversation.updated_at = utcnow()
            touched = {
                "conversation_id": conversation.id,
                "language": conversation.language,
                "bot_state": conversation.bot_state,
                "transcript_hash": conversation.transcript_hash,
                "updated_at": conversation.updated_at,
            }
        messages = [
            {
                "conversation_id": call.conversation_id or (conversation.id if conversation else ""),
                "role": text.role,
                "content": text.content,
                "call_id": call.id if text.role == "assistant" else None,
                "guard_reason": text.guard_reason,
                "created_at": utcnow(),
            }
            for text in texts
        ]

        def write(connection: Connection) -> None:
            # UPDATEs by primary key: merge() would read each row back first
            connection.execute(_SETTLE_CALL, settled)
            for extra in extras:
                connection.execute(_INSERT_CALL, extra)
            if touched is not None:
                connection.execute(_TOUCH_CONVERSATION, touched)
            if messages:
                connection.execute(_INSERT_MESSAGE, messages)

        return write

    def delete_call(self, call: Call) -> None:
        with self.database.writing(), self.database.session() as session:
            row = session.get(Call, call.id)
            if row is not None:
                session.delete(row)
                session.commit()

    def pending(self, older_than: datetime) -> list[Call]:
        with self.database.session() as session:
            query = select(Call).where(Call.status == "pending", Call.created_at < older_than)
            return list(session.exec(query))

    def calls(self, conversation_id: str) -> list[Call]:
        with self.database.session() as session:
            return list(
                session.exec(select(Call).where(Call.conversation_id == conversation_id).order_by(col(Call.id)))
            )


# What settling a call may change (the rest was written when it was opened).
_SETTLED = (
    "prompt_tokens", "cached_tokens", "completion_tokens", "cost_nanousd", "usage_source", "status",
    "latency_ms", "response_model", "error",
)  # fmt: skip


def _settled(call: Call) -> dict[str, object]:
    return {name: getattr(call, name) for name in _SETTLED}


def pending_rows(conversation: Conversation | None, call: Call) -> tuple[dict[str, object] | None, dict[str, object]]:
    """What ``Store.write_ahead`` inserts: a new conversation's row (or None) and the call's."""
    return (_row(conversation) if conversation is not None else None), _row(call)


def _row(model: Conversation | Call) -> dict[str, object]:
    """A new row's columns for a Core INSERT (the database assigns an unset id)."""
    return model.model_dump(exclude={"id"} if model.id is None else set())


# Built once: SQLAlchemy compiles a statement per shape, and building one per call (with its
# values inline) cost more than the database's own work on every turn.
_INSERT_CONVERSATION = insert(Conversation)
_NEW_CONVERSATION = {
    "sqlite": sqlite_insert(Conversation).on_conflict_do_nothing(index_elements=["id"]),
    "postgresql": postgresql_insert(Conversation).on_conflict_do_nothing(index_elements=["id"]),
}
_INSERT_CALL = insert(Call).returning(col(Call.id))
_INSERT_MESSAGE = insert(Message)
_TOUCH_CONVERSATION = (
    update(Conversation)
    .where(col(Conversation.id) == bindparam("conversation_id"))
    .values({name: bindparam(name) for name in ("language", "bot_state", "transcript_hash", "updated_at")})
)
_SETTLE_CALL = (
    update(Call).where(col(Call.id) == bindparam("call_id")).values({name: bindparam(name) for name in _SETTLED})
)
