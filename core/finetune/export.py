"""Training examples from logged conversations: the ones users rated well, as stored (redacted)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

from core.db import Database
from core.ledger import Conversation, Feedback, Message
from core.profiles import Profile
from core.reports import EVAL_OWNER


def export(
    database: Database,
    profile: Profile,
    *,
    only_positive: bool = True,
    on_progress: Callable[[int, int], None] | None = None,
) -> list[dict[str, Any]]:
    """One chat example per conversation, with the short system prompt the fine-tune will be served with.

    Messages are exported as stored, so after the profile's redaction; conversations kept
    without content (``store_content: false``) cannot be exported and are skipped.
    """
    system = profile.strategies["finetuned"].system_prompt if "finetuned" in profile.strategies else None
    with database.session() as session:
        # evaluation runs' conversations never become training data (train/eval leakage)
        query = (
            select(Conversation.id)
            .where(Conversation.bot == profile.name, col(Conversation.owner).is_distinct_from(EVAL_OWNER))
            .order_by(col(Conversation.created_at))
        )
        if only_positive:
            liked = (
                select(Feedback.conversation_id)
                .group_by(Feedback.conversation_id)
                .having(func.sum(Feedback.rating) > 0)
            )
            query = query.where(col(Conversation.id).in_(liked))
        examples = []
        ids = list(session.exec(query))
        for done, conversation_id in enumerate(ids, 1):
            if on_progress is not None:
                on_progress(done, len(ids))
            rows = session.exec(
                select(Message).where(Message.conversation_id == conversation_id).order_by(col(Message.id))
            ).all()
            turns = [{"role": m.role, "content": m.content} for m in rows if m.content]
            if len(turns) < len(rows) or not any(t["role"] == "assistant" for t in turns):
                continue  # content not stored, or no reply to learn from
            messages = ([{"role": "system", "content": system}] if system else []) + turns
            examples.append({"messages": messages})
    return examples
