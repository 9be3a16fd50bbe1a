"""The hot path's plain rows and driver-level SQL write what the ORM reads, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from core.db import open_database
from core.ledger import Call, Conversation, Message, utcnow
from core.rows import CALL_COLUMNS, CONVERSATION_COLUMNS, CallRow, ConversationRow
from core.store import Store, StoredText


def test_the_rows_have_the_tables_columns() -> None:
    assert set(CALL_COLUMNS) == set(Call.model_fields)
    assert set(CONVERSATION_COLUMNS) == set(Conversation.model_fields)


def test_rows_written_with_driver_sql_read_back_through_the_orm(database_url: str) -> None:
    database = open_database(database_url)
    store = Store(database)
    started = utcnow()
    conversation = ConversationRow(id="c" * 32, bot="helpdesk", strategy="prompt", owner="k1", created_at=started)
    call = CallRow(
        conversation_id=conversation.id, bot="helpdesk", strategy="prompt", provider="openai", model="gpt-4o-mini",
        profile_version="v1", status="pending", usage_source="estimated", prompt_tokens=12, cost_nanousd=10**12,
        key_id="k1", request_id="req_1", created_at=started,
    )  # fmt: skip
    call.id = store.open_call(conversation=conversation, is_new=True, call=call)
    call.status, call.usage_source, call.completion_tokens, call.response_model = "ok", "reported", 3, "gpt-x"
    conversation.language, conversation.transcript_hash = "en", "h" * 64
    store.settle(call, conversation=conversation, texts=[StoredText("user", "hi"), StoredText("assistant", "hello")])
    with database.session() as session:
        [stored] = session.exec(select(Call)).all()
        [kept] = session.exec(select(Conversation)).all()
        messages = session.exec(select(Message).order_by(Message.id)).all()
        # a datetime written by driver SQL compares with one bound by SQLAlchemy (same stored format)
        since = session.exec(select(Call).where(Call.created_at >= started - timedelta(seconds=1))).all()
    assert stored.id == call.id
    assert (stored.status, stored.usage_source, stored.completion_tokens) == ("ok", "reported", 3)
    assert (stored.cost_nanousd, stored.key_id, stored.request_id, stored.response_model) == (
        10**12, "k1", "req_1", "gpt-x"
    )  # fmt: skip
    assert stored.created_at.replace(tzinfo=None) == started.replace(tzinfo=None)
    assert (kept.owner, kept.language, kept.transcript_hash) == ("k1", "en", "h" * 64)
    assert [(m.role, m.content, m.call_id) for m in messages] == [("user", "hi", None), ("assistant", "hello", call.id)]
    assert len(since) == 1
    # a new conversation written again (a retried batch) is no error and changes nothing
    store.open_call(conversation=conversation, is_new=True, call=CallRow(**{**_values(call), "id": None}))
    database.dispose()


def _values(call: CallRow) -> dict[str, object]:
    return {name: getattr(call, name) for name in CALL_COLUMNS}
