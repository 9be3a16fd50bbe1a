"""Reading and writing conversations and ledger rows.

Blocking database work; the engine runs it in a worker thread so a slow disk or
a busy PostgreSQL never stalls the event loop.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection
from sqlmodel import Session, col, select

from core.db import Database
from core.ledger import Call, Conversation, Message, utcnow
from core.messages import ChatMessage
from core.rows import CALL_COLUMNS, CONVERSATION_COLUMNS, CallRow, ConversationRow

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
        self._sql = DriverSql(database.engine.dialect.name)

    def conversation(self, conversation_id: str) -> ConversationRow | None:
        with self.database.session() as session:
            found = session.get(Conversation, conversation_id)
        return ConversationRow.of(found) if found is not None else None

    def by_transcript(self, owner: str | None, bot: str, transcript_hash: str) -> ConversationRow | None:
        with self.database.session() as session:
            query = select(Conversation).where(
                Conversation.owner == owner, Conversation.bot == bot, Conversation.transcript_hash == transcript_hash
            )
            found = session.exec(query.order_by(col(Conversation.updated_at).desc())).first()
        return ConversationRow.of(found) if found is not None else None

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
        conversation: ConversationRow,
        is_new: bool,
        call: Call | None,
        texts: list[StoredText],
        extra_calls: Sequence[Call] = (),
    ) -> int | None:
        """One transaction: the conversation, its ledger row (and any side call's, such as a
        moderation) and the turn's messages."""
        with self.database.writing(), self.database.session() as session:
            conversation.updated_at = utcnow()
            if is_new:
                session.add(conversation.table_row())
            else:
                session.merge(conversation.table_row())
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
        self,
        *,
        conversation: ConversationRow,
        is_new: bool,
        call: CallRow,
        checks: Mapping[str, Check] | None = None,
    ) -> int:
        """Write-ahead: the call's row, status pending, committed before the call is sent
        (with its conversation when new). ``checks`` (a bot's budget, a key's rate limits) run
        in the same transaction, each under its lock, so a burst cannot pass them."""
        write = self.write_ahead(conversation if is_new else None, call)
        if checks:
            with self.database.writing(), self.database.session() as session:
                for name in sorted(checks):  # one order everywhere: no deadlock between workers
                    self.database.lock(session, name)
                for check in checks.values():
                    check(session)
                call.id = write(session.connection())
                session.commit()
                return call.id
        with self.database.writing(), self.database.engine.begin() as connection:
            call.id = write(connection)
            return call.id

    def write_ahead(self, conversation: ConversationRow | None, call: CallRow) -> Callable[[Connection], int]:
        """The pending row's write (with its conversation's, when new), for a transaction the
        caller runs: it may run twice (the ledger writer retries a failed batch write by write),
        so the rows are taken as they are now and nothing is changed in them."""
        sql = self._sql
        new = sql.conversation_values(conversation) if conversation is not None else None
        values = sql.call_values(call)

        def write(connection: Connection) -> int:
            if new is not None:  # inserted unless it is there already (one statement, not a read and a write)
                sql.execute(connection, sql.insert_conversation, new)
            return sql.insert(connection, sql.insert_call, values)

        return write

    def settle(
        self,
        call: CallRow | Call,
        *,
        conversation: ConversationRow | None = None,
        texts: Sequence[StoredText] = (),
        extra_calls: Sequence[CallRow] = (),
    ) -> None:
        """One transaction: the call's row as it ended, and what the turn stores with it."""
        write = self.settlement(call, conversation=conversation, texts=texts, extra_calls=extra_calls)
        with self.database.writing(), self.database.engine.begin() as connection:
            write(connection)

    def settlement(
        self,
        call: CallRow | Call,
        *,
        conversation: ConversationRow | None = None,
        texts: Sequence[StoredText] = (),
        extra_calls: Sequence[CallRow] = (),
    ) -> Callable[[Connection], None]:
        """The settling write, for a transaction the caller runs (see ``write_ahead``)."""
        sql = self._sql
        now = utcnow()
        settled: dict[str, object] = {name: getattr(call, name) for name in _SETTLED}
        settled["call_id"] = call.id
        extras = [sql.call_values(extra) for extra in extra_calls]
        touched: dict[str, object] | None = None
        if conversation is not None:
            conversation.updated_at = now
            touched = {
                "conversation_id": conversation.id,
                "language": conversation.language,
                "bot_state": conversation.bot_state,
                "transcript_hash": conversation.transcript_hash,
                "updated_at": sql.when(now),
            }
        conversation_id = call.conversation_id or (conversation.id if conversation else "")
        messages = [
            {
                "conversation_id": conversation_id,
                "role": text.role,
                "content": text.content,
                "call_id": call.id if text.role == "assistant" else None,
                "guard_reason": text.guard_reason,
                "created_at": sql.when(now),
            }
            for text in texts
        ]

        def write(connection: Connection) -> None:
            sql.execute(connection, sql.settle_call, settled)
            for extra in extras:
                sql.insert(connection, sql.insert_call, extra)
            if touched is not None:
                sql.execute(connection, sql.touch_conversation, touched)
            if messages:
                sql.execute(connection, sql.insert_message, messages)

        return write

    def delete_call(self, call: CallRow) -> None:
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
_MESSAGE_COLUMNS = ("conversation_id", "role", "content", "call_id", "guard_reason", "created_at")


class DriverSql:
    """The hot path's statements, written once as the database driver takes them.

    Through SQLAlchemy's Core each statement cost about 20 µs of compiling-cache lookups and
    per-value processing, more than SQLite's own work. On PostgreSQL SQLAlchemy still passes
    the text on (``exec_driver_sql``, ~6 µs): its error wrapping is what tells the ledger writer
    that the server dropped a connection. SQLite is a file with no connection to lose, so its
    driver is called directly, inside the transaction SQLAlchemy opened (sqlite3 begins it at
    the first write; SQLAlchemy commits or rolls it back). SQLite takes named parameters and
    gives the new id as ``lastrowid``; PostgreSQL's drivers take the pyformat style and return
    the id. SQLite's datetimes are stored as SQLAlchemy stores them (text, microseconds, no
    zone), so reads and comparisons see one format."""

    def __init__(self, dialect: str) -> None:
        self.sqlite = dialect == "sqlite"

        def params(names: Sequence[str]) -> str:
            return ", ".join(f":{n}" if self.sqlite else f"%({n})s" for n in names)

        def assign(names: Sequence[str]) -> str:
            return ", ".join(f"{n} = :{n}" if self.sqlite else f"{n} = %({n})s" for n in names)

        def key(name: str) -> str:
            return f":{name}" if self.sqlite else f"%({name})s"

        self.call_columns = tuple(c for c in CALL_COLUMNS if c != "id")
        self.insert_call = (
            f"INSERT INTO calls ({', '.join(self.call_columns)}) VALUES ({params(self.call_columns)})"
            + ("" if self.sqlite else " RETURNING id")
        )
        self.insert_conversation = (
            f"INSERT INTO conversations ({', '.join(CONVERSATION_COLUMNS)}) VALUES ({params(CONVERSATION_COLUMNS)})"
            " ON CONFLICT (id) DO NOTHING"
        )
        self.settle_call = f"UPDATE calls SET {assign(_SETTLED)} WHERE id = {key('call_id')}"
        touched = ("language", "bot_state", "transcript_hash", "updated_at")
        self.touch_conversation = f"UPDATE conversations SET {assign(touched)} WHERE id = {key('conversation_id')}"
        self.insert_message = (
            f"INSERT INTO messages ({', '.join(_MESSAGE_COLUMNS)}) VALUES ({params(_MESSAGE_COLUMNS)})"
        )

    def when(self, moment: datetime) -> object:
        # isoformat is C; strftime cost a few µs a value. [:26] drops the zone SQLAlchemy leaves out.
        return moment.isoformat(" ", "microseconds")[:26] if self.sqlite else moment

    def execute(self, connection: Connection, statement: str, values: Any) -> Any:
        """Run ``statement`` in the connection's open transaction (``values``: a list runs it for each)."""
        if self.sqlite:
            raw = connection.connection.driver_connection
            assert raw is not None
            return raw.executemany(statement, values) if isinstance(values, list) else raw.execute(statement, values)
        return connection.exec_driver_sql(statement, values)

    def insert(self, connection: Connection, statement: str, values: dict[str, object]) -> int:
        """Run an INSERT; the new row's id."""
        result = self.execute(connection, statement, values)
        new_id = result.lastrowid if self.sqlite else result.scalar_one()
        assert new_id is not None
        return int(new_id)

    def call_values(self, call: CallRow) -> dict[str, object]:
        values = {name: getattr(call, name) for name in self.call_columns}
        values["created_at"] = self.when(call.created_at or utcnow())
        return values

    def conversation_values(self, conversation: ConversationRow) -> dict[str, object]:
        now = utcnow()
        values = {name: getattr(conversation, name) for name in CONVERSATION_COLUMNS}
        values["created_at"] = self.when(conversation.created_at or now)
        values["updated_at"] = self.when(conversation.updated_at or now)
        return values
