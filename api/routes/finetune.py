"""Fine-tuning over HTTP: list jobs, launch one for a bot, refresh one (admin)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from api.auth import AdminKey
from api.routes.deps import PROBLEM, RuntimeDep
from core.finetune.jobs import FineTuning
from core.ledger import FineTuneJob
from core.money import usd_digits

router = APIRouter(tags=["fine-tuning"])


class JobOut(BaseModel):
    id: str
    bot: str
    base_model: str
    status: str
    fine_tuned_model: str | None
    trained_tokens: int | None
    training_cost_usd: str | None
    registered: bool
    error: str | None
    created_at: datetime
    events: list[str] | None = None

    @classmethod
    def of(cls, job: FineTuneJob, events: list[str] | None = None) -> JobOut:
        return cls(
            id=job.id,
            bot=job.bot,
            base_model=job.base_model,
            status=job.status,
            fine_tuned_model=job.fine_tuned_model,
            trained_tokens=job.trained_tokens,
            training_cost_usd=usd_digits(job.cost_usd) if job.registered else None,
            registered=job.registered,
            error=job.error,
            created_at=job.created_at,
            events=events,
        )


class LaunchBody(BaseModel):
    epochs: int | None = Field(default=None, ge=1, le=50)


def _tuning(runtime) -> FineTuning:
    return FineTuning(runtime, runtime.settings.training_dir)


@router.get("/v1/finetune/jobs", response_model=list[JobOut], responses={401: PROBLEM, 403: PROBLEM})
def list_jobs(key: AdminKey, runtime: RuntimeDep) -> list[JobOut]:
    """Jobs launched from here, newest first, as last refreshed."""
    return [JobOut.of(job) for job in _tuning(runtime).jobs()]


@router.post(
    "/v1/bots/{bot}/finetune",
    status_code=202,
    response_model=JobOut,
    responses=dict.fromkeys((401, 403, 404, 422, 500, 502), PROBLEM),
)
def launch(bot: Annotated[str, Path(max_length=40)], body: LaunchBody, key: AdminKey, runtime: RuntimeDep) -> JobOut:
    """Validate the bot's training set, upload it and start a job at the provider."""
    return JobOut.of(_tuning(runtime).launch(bot, body.epochs))


@router.get("/v1/finetune/jobs/{job_id}", response_model=JobOut, responses=dict.fromkeys((401, 403, 404, 502), PROBLEM))
def refresh(job_id: Annotated[str, Path(max_length=100)], key: AdminKey, runtime: RuntimeDep) -> JobOut:
    """The job as the provider sees it now; a finished job's cost is booked and its model registered."""
    view = _tuning(runtime).refresh(job_id)
    return JobOut.of(view.job, view.events)
