"""A bot's held-out set through each strategy, side by side: quality, cost and latency.

Quality is told two ways. First, the bot's own **checks**: assertions a product owner
can read ("routed when it must be", "no dose", "exact catalog price", "reply in the
customer's language"), each reported as a pass rate; a behaviour offers them by
implementing `ReplyChecks`. Second, as a secondary figure, the token-overlap F1 between
the reply and the set's reference answer (the measure SQuAD popularised): it ranks
strategies on one set; it judges nothing. Every call is a real, ledgered call with
source "eval" (conversations owned by "eval"), and every run is stored, example by
example (`domainbots eval show RUN`).
"""

from __future__ import annotations

import json
import re
import secrets
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Protocol, runtime_checkable

from sqlalchemy import func
from sqlmodel import Session, col, select

from core.db import Database
from core.engine import Engine, TurnRequest
from core.errors import DomainbotsError, InvalidInput, NotFound
from core.judge import STRATEGY as JUDGE_STRATEGY
from core.judge import Judge
from core.ledger import Call, Conversation, EvalResult, EvalRun, utcnow
from core.money import derived

OWNER = "eval"
JUDGED_GOOD = "judged good (4-5 of 5)"


@dataclass(frozen=True)
class Case:
    message: str
    reference: str


@runtime_checkable
class ReplyChecks(Protocol):
    def reply_checks(self, message: str, reply: str, guard_reason: str | None, reference: str) -> dict[str, bool]:
        """Named assertions about a delivered reply ({"no dose": True, ...}). ``guard_reason``
        says what the bot changed in the model's reply (so a check can judge the model), and
        ``reference`` is the set's answer (so a check can know what was expected)."""
        ...


@dataclass(frozen=True)
class StrategyScore:
    strategy: str
    examples: int
    errors: int
    score: float  # mean token-overlap F1 against the references (secondary)
    cost_usd: Decimal
    cost_per_example_usd: Decimal
    prompt_tokens: int
    completion_tokens: int
    latency_p50_ms: int
    # check name -> (passed, checked)
    checks: dict[str, tuple[int, int]] = field(default_factory=dict)


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def overlap_f1(reply: str, reference: str) -> float:
    got, want = _words(reply), _words(reference)
    common = sum((Counter(got) & Counter(want)).values())
    if not common:
        return 0.0
    precision, recall = common / len(got), common / len(want)
    return 2 * precision * recall / (precision + recall)


def load_cases(path: Path, limit: int | None = None) -> list[Case]:
    if not path.is_file():
        raise InvalidInput(f"no evaluation set at {path}: write eval.jsonl in OpenAI's chat format")
    cases = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        messages = json.loads(line)["messages"]
        users = [m["content"] for m in messages if m["role"] == "user"]
        answers = [m["content"] for m in messages if m["role"] == "assistant"]
        if users and answers:
            cases.append(Case(users[-1], answers[-1]))
    return cases[:limit] if limit else cases


def _conversation_of(database: Database, call_id: int | None) -> str | None:
    if call_id is None:
        return None
    with database.session() as session:
        call = session.get(Call, call_id)
        return call.conversation_id if call is not None else None


def _billed(session: Session, conversation_id: str | None) -> int:
    """What the example's turn cost: every attempt, but not the judge's call (which is eval
    cost too, but not the strategy's)."""
    if conversation_id is None:
        return 0
    total = session.exec(
        select(func.coalesce(func.sum(Call.cost_nanousd), 0)).where(
            Call.conversation_id == conversation_id, Call.strategy != JUDGE_STRATEGY
        )
    ).one()
    return int(total)


def start_run(database: Database, bot: str, strategies: list[str], examples: int) -> EvalRun:
    run = EvalRun(
        id=f"run_{secrets.token_hex(4)}", bot=bot, strategies=",".join(strategies), examples=examples, status="running"
    )
    with database.session() as session:
        session.add(run)
        session.commit()
        session.refresh(run)
    return run


def finish_run(database: Database, run_id: str, status: str) -> None:
    with database.session() as session:
        run = session.get(EvalRun, run_id)
        if run is not None:
            run.status, run.finished_at = status, utcnow()
            session.add(run)
            session.commit()


def runs(database: Database, bot: str | None = None, limit: int = 20) -> list[EvalRun]:
    query = select(EvalRun).order_by(col(EvalRun.created_at).desc()).limit(limit)
    if bot:
        query = query.where(EvalRun.bot == bot)
    with database.session() as session:
        return list(session.exec(query))


def run_results(database: Database, run_id: str) -> tuple[EvalRun, list[EvalResult]]:
    with database.session() as session:
        run = session.get(EvalRun, run_id)
        if run is None:
            raise NotFound(f"no evaluation run {run_id!r}; `domainbots eval runs` lists them")
        query = select(EvalResult).where(EvalResult.run_id == run_id)
        results = session.exec(query.order_by(col(EvalResult.strategy), col(EvalResult.position)))
        return run, list(results)


def latest_scores(session: Session, bot: str) -> dict[str, dict[str, object]]:
    """Per strategy, the figures of the bot's latest finished evaluation run that ran it."""
    out: dict[str, dict[str, object]] = {}
    finished = select(EvalRun).where(EvalRun.bot == bot, EvalRun.status == "done")
    for run in session.exec(finished.order_by(col(EvalRun.created_at).desc()).limit(20)):
        missing = [name for name in run.strategies.split(",") if name not in out]
        if not missing:
            continue
        results = list(session.exec(select(EvalResult).where(EvalResult.run_id == run.id)))
        for name in missing:
            score = summarize(name, results)
            out[name] = {
                "run": run.id,
                "at": run.created_at.isoformat(),
                "examples": score.examples,
                "errors": score.errors,
                "checks": {check: round(ok / n, 4) for check, (ok, n) in sorted(score.checks.items()) if n},
                "overlap_f1": score.score,
            }
    return out


def summarize(strategy: str, results: list[EvalResult]) -> StrategyScore:
    """A strategy's figures from its stored examples (what `eval` prints and `eval show` repeats)."""
    mine = [r for r in results if r.strategy == strategy]
    answered = [r for r in mine if r.error is None]
    cost = sum((r.cost_usd for r in mine), Decimal(0))
    checks: dict[str, tuple[int, int]] = {}
    for r in answered:
        for name, passed in json.loads(r.checks).items():
            ok, total = checks.get(name, (0, 0))
            checks[name] = (ok + bool(passed), total + 1)
    return StrategyScore(
        strategy=strategy,
        examples=len(mine),
        errors=len(mine) - len(answered),
        score=round(statistics.fmean(r.overlap_f1 for r in mine), 4) if mine else 0.0,
        cost_usd=cost,
        cost_per_example_usd=derived(cost / len(mine)) if mine else Decimal(0),
        prompt_tokens=0,
        completion_tokens=0,
        latency_p50_ms=round(statistics.median(r.latency_ms for r in answered)) if answered else 0,
        checks=checks,
    )


async def evaluate(
    engine: Engine,
    database: Database,
    run: EvalRun,
    strategy: str,
    cases: list[Case],
    checks: ReplyChecks | None = None,
    on_example: Callable[[], None] | None = None,
    judge: Judge | None = None,
) -> StrategyScore:
    """Run the cases through one strategy, storing each example as it finishes; with a
    judge, each reply is also scored against the rubric (a check: judged 4 or 5 of 5)."""
    prompt = completion = 0
    results: list[EvalResult] = []
    for position, case in enumerate(cases):
        started = time.perf_counter()
        row = EvalResult(run_id=run.id, strategy=strategy, position=position, input=case.message,
                         reference=case.reference)  # fmt: skip
        try:
            result = await engine.turn(
                TurnRequest(bot=run.bot, message=case.message, strategy=strategy, owner=OWNER, source="eval")
            )
        except DomainbotsError as exc:
            row.error = str(exc)[:500]
            row.conversation_id = _conversation_of(database, getattr(exc, "call_id", None))
        else:
            row.latency_ms = round((time.perf_counter() - started) * 1000)
            row.output = result.reply
            row.conversation_id = result.conversation_id
            row.overlap_f1 = overlap_f1(result.reply, case.reference)
            passed = {}
            if checks is not None:
                passed = checks.reply_checks(case.message, result.reply, result.guard_reason, case.reference)
            if judge is not None:
                conversation = Conversation(id=result.conversation_id, bot=run.bot, strategy=strategy, owner=OWNER)
                try:  # a judge that fails leaves the example unjudged (its call is ledgered as an error)
                    judged = await judge.score(conversation, case.message, case.reference, result.reply)
                    if judged is not None:  # an answer with no score leaves the example unjudged
                        passed[JUDGED_GOOD] = judged >= 4
                except DomainbotsError:
                    pass
            row.checks = json.dumps(passed)
            prompt += result.usage.prompt_tokens
            completion += result.usage.completion_tokens
        with database.session() as session:
            # what the ledger billed for the example: every attempt, retries and cut ones too
            row.cost_nanousd = _billed(session, row.conversation_id)
            session.add(row)
            session.commit()
            session.refresh(row)
        results.append(row)
        if on_example is not None:
            on_example()
    score = summarize(strategy, results)
    return replace(score, prompt_tokens=prompt, completion_tokens=completion)
