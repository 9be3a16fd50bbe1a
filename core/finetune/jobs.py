"""Fine-tuning jobs at an OpenAI-compatible provider: launch, follow, and register the result.

launch: validate training_data/<bot>/train.jsonl (and eval.jsonl when present),
upload them (purpose "fine-tune"), create the job with the bot's name as suffix.
refresh: read the job and its events; when it succeeded, book its cost
(trained_tokens at the base model's training rate) and register the fine-tuned
model as the bot's, in the database: switching the bot to `finetuned` then uses it,
after restarts and on every worker. `domainbots strategy BOT --audit` shows it;
rolling back is registering the previous model, or switching the bot to `prompt`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import openai
from sqlmodel import col, select

from core import strategy as strategies
from core.errors import ConfigError, InvalidInput, NotFound, ProviderError
from core.finetune.dataset import validate
from core.ledger import FineTuneJob, utcnow
from core.pricing import to_nanos
from core.profiles import Profile
from core.runtime import Runtime

TERMINAL = frozenset({"succeeded", "failed", "cancelled"})


@dataclass(frozen=True)
class JobView:
    job: FineTuneJob
    events: list[str]


def _client(runtime: Runtime) -> openai.OpenAI:
    settings = runtime.settings
    if not settings.openai_api_key:
        raise ConfigError(
            "fine-tuning runs at an OpenAI-compatible provider: set OPENAI_API_KEY "
            "(and OPENAI_BASE_URL for another server)"
        )
    return openai.OpenAI(
        api_key=settings.openai_api_key,
        base_url=settings.openai_base_url,
        timeout=settings.request_timeout,
        max_retries=settings.max_retries,
    )


def _provider_call[T](what: str, call: Callable[[], T]) -> T:
    try:
        return call()
    except openai.APIStatusError as exc:
        raise ProviderError(f"{what}: the provider answered {exc.status_code}: {exc.message}") from exc
    except openai.APIError as exc:
        raise ProviderError(f"{what}: {exc.message}") from exc


class FineTuning:
    def __init__(self, runtime: Runtime, training_dir: Path = Path("training_data")) -> None:
        self.runtime = runtime
        self.training_dir = training_dir
        self._openai: openai.OpenAI | None = None

    @property
    def client(self) -> openai.OpenAI:
        if self._openai is None:
            self._openai = _client(self.runtime)
        return self._openai

    def base_model(self, profile: Profile) -> str:
        """The snapshot the bot's prompt strategy runs on: what a fine-tune starts from."""
        model = profile.strategy("prompt").model
        assert model is not None
        snapshot = self.runtime.prices.snapshot(model, datetime.now(UTC).date())
        price = self.runtime.prices.price(f"ft:{snapshot}")
        if price.rates.training is None:
            raise ConfigError(f"{snapshot} has no published training price; it cannot be fine-tuned here")
        return snapshot

    def _checked(self, path: Path, model: str) -> bytes:
        data = path.read_bytes()
        report = validate(data.decode("utf-8").splitlines(), model, self.runtime.prices)
        if not report.ok:
            raise InvalidInput(
                f"{path} has {len(report.errors)} errors; "
                f"`domainbots finetune validate {path} --model {model}` lists them"
            )
        return data

    def launch(self, bot: str, epochs: int | None = None, on_step: Callable[[str], None] | None = None) -> FineTuneJob:
        """Validate, upload and create the job; ``on_step`` hears each step as it starts."""
        step = on_step or (lambda _: None)
        step("validating the sets")
        profile = self.runtime.profiles.get(bot)
        model = self.base_model(profile)
        folder = self.training_dir / profile.name
        train = folder / "train.jsonl"
        if not train.is_file():
            raise InvalidInput(f"no training set at {train}: write one in OpenAI's chat JSONL format")
        training = self._checked(train, model)
        evaluation = folder / "eval.jsonl"
        validation = self._checked(evaluation, model) if evaluation.is_file() else None
        if epochs is not None and not 1 <= epochs <= 50:
            raise InvalidInput(f"epochs must be from 1 to 50, not {epochs}")
        client = self.client
        step("uploading the training set")
        training_file = _provider_call(
            "uploading the training set",
            lambda: client.files.create(file=(train.name, training), purpose="fine-tune"),
        )
        validation_id = None
        if validation is not None:
            step("uploading the evaluation set")
            validation_id = _provider_call(
                "uploading the evaluation set",
                lambda: client.files.create(file=(evaluation.name, validation), purpose="fine-tune"),
            ).id
        extra: dict[str, Any] = {"hyperparameters": {"n_epochs": epochs}} if epochs else {}
        step("creating the job")
        remote = _provider_call(
            "creating the fine-tuning job",
            lambda: client.fine_tuning.jobs.create(
                training_file=training_file.id,
                model=model,
                suffix=profile.name,
                validation_file=validation_id,
                **extra,
            ),
        )
        job = FineTuneJob(
            id=remote.id,
            bot=profile.name,
            base_model=model,
            training_file=training_file.id,
            validation_file=validation_id,
            epochs=epochs,
            status=remote.status,
        )
        with self.runtime.database.session() as session:
            session.add(job)
            session.commit()
        return job

    def refresh(self, job_id: str) -> JobView:
        with self.runtime.database.session() as session:
            job = session.get(FineTuneJob, job_id)
        if job is None:
            raise NotFound(f"no fine-tuning job {job_id!r}; `domainbots finetune jobs` lists them")
        client = self.client
        remote = _provider_call(f"reading job {job_id}", lambda: client.fine_tuning.jobs.retrieve(job_id))
        events = _provider_call(f"reading job {job_id}'s events", lambda: client.fine_tuning.jobs.list_events(job_id))
        job.status = remote.status
        job.fine_tuned_model = remote.fine_tuned_model
        job.trained_tokens = remote.trained_tokens
        if remote.error is not None and remote.error.message:
            job.error = f"{remote.error.code or 'error'}: {remote.error.message}"
        if job.status in TERMINAL and job.finished_at is None:
            job.finished_at = utcnow()
        with self.runtime.database.session() as session:
            if job.status == "succeeded" and not job.registered and job.fine_tuned_model:
                price = self.runtime.prices.price(f"ft:{job.base_model}")
                job.cost_nanousd = to_nanos(price.rates.training_cost(job.trained_tokens or 0))
                job.price_version = price.version
                profile = self.runtime.profiles.get(job.bot)
                strategies.register(session, profile, job.fine_tuned_model, actor=f"job {job.id}")
                job.registered = True
            session.merge(job)
            session.commit()
        return JobView(job=job, events=[event.message for event in events.data])

    def cancel(self, job_id: str) -> JobView:
        with self.runtime.database.session() as session:
            if session.get(FineTuneJob, job_id) is None:
                raise NotFound(f"no fine-tuning job {job_id!r}; `domainbots finetune jobs` lists them")
        client = self.client
        _provider_call(f"cancelling job {job_id}", lambda: client.fine_tuning.jobs.cancel(job_id))
        return self.refresh(job_id)

    def refresh_open(self) -> list[JobView]:
        return [self.refresh(job.id) for job in self.jobs() if job.status not in TERMINAL]

    def jobs(self, bot: str | None = None) -> list[FineTuneJob]:
        query = select(FineTuneJob).order_by(col(FineTuneJob.created_at).desc())
        if bot:
            query = query.where(FineTuneJob.bot == bot)
        with self.runtime.database.session() as session:
            return list(session.exec(query))
