"""Errors as RFC 9457 problem+json, each with a ``detail`` a person can act on.

Every problem also carries an OpenAI-style ``error`` member, so the openai SDK
(pointed at our /v1) shows the same message in its exceptions.
"""

from __future__ import annotations

import logging
import math
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.errors import (
    BudgetExceeded,
    ConfigError,
    DatabaseUnavailable,
    DomainbotsError,
    InvalidInput,
    NotFound,
    ProviderBusy,
    ProviderError,
    ProviderTimeout,
    RateLimited,
    StrategyUnavailable,
    UnknownBot,
    UnsupportedParameter,
)

log = logging.getLogger("domainbots.api")

MEDIA_TYPE = "application/problem+json"

# Most specific first.
_STATUS: list[tuple[type[DomainbotsError], int]] = [
    (UnknownBot, 404),
    (NotFound, 404),
    (InvalidInput, 422),
    (StrategyUnavailable, 409),
    (BudgetExceeded, 402),
    (RateLimited, 429),
    (ProviderBusy, 503),
    (ProviderTimeout, 504),
    (ProviderError, 502),
    (DatabaseUnavailable, 503),
    (ConfigError, 500),
]


class ApiProblem(Exception):
    """A problem raised by the HTTP layer itself (auth, limits)."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers
        self.extra = extra


# Routes that speak OpenAI's protocol answer errors as OpenAI does, so the official SDK
# raises its own classes (400 BadRequestError, 404 NotFoundError with model_not_found, ...).
OPENAI_PATHS = ("/v1/chat/completions", "/v1/models")
_OPENAI_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    402: "insufficient_quota",
    403: "permission_error",
    404: "invalid_request_error",
    409: "invalid_request_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
}


def speaks_openai(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in OPENAI_PATHS)


def openai_error(
    status: int,
    message: str,
    *,
    code: str | None = None,
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    if status == 422:
        status = 400  # OpenAI reports every invalid request as a 400
    kind = _OPENAI_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    return JSONResponse(body, status_code=status, headers=headers)


def _openai_code(exc: Exception, status: int) -> tuple[str | None, str | None]:
    """OpenAI's (code, param) for an error."""
    if isinstance(exc, UnknownBot):
        return "model_not_found", "model"
    if isinstance(exc, UnsupportedParameter):
        return "unsupported_parameter", exc.param
    if status == 401:
        return "invalid_api_key", None
    if status == 429:
        return "rate_limit_exceeded", None
    if isinstance(exc, BudgetExceeded):
        return "budget_exceeded", None
    return None, None


def problem(
    status: int, detail: str, request: Request | None = None, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    phrase = HTTPStatus(status).phrase
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": phrase,
        "status": status,
        "detail": detail,
        **extra,
        "error": {"message": detail, "type": phrase.lower().replace(" ", "_"), "code": status},
    }
    if request is not None:
        body["instance"] = request.url.path
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def status_of(exc: DomainbotsError) -> int:
    if isinstance(exc, ProviderError) and not isinstance(exc, ProviderTimeout | ProviderBusy) and exc.status == 429:
        return 429  # the upstream's rate limit, passed on with its Retry-After: the client may retry
    return next((status for kind, status in _STATUS if isinstance(exc, kind)), 400)


def retry_headers(exc: DomainbotsError) -> dict[str, str] | None:
    if isinstance(exc, ProviderBusy | RateLimited):
        return {"Retry-After": str(exc.retry_after)}
    if isinstance(exc, ProviderError) and exc.status == 429:
        return {"Retry-After": str(max(1, math.ceil(exc.retry_after or 1)))}
    return None


def _extra(exc: DomainbotsError) -> dict[str, Any]:
    if isinstance(exc, UnknownBot):
        return {"bots": exc.known}
    if isinstance(exc, BudgetExceeded):
        return {"spent_usd": exc.spent_usd, "budget_usd": exc.budget_usd}
    if isinstance(exc, ProviderError) and exc.call_id is not None:
        return {"call_id": exc.call_id}
    return {}


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or str(loc[0]) if loc else "(request)"


def openai_domain_error(exc: DomainbotsError, method: str, path: str) -> JSONResponse:
    """A domainbots error on a route that speaks OpenAI's protocol."""
    status = status_of(exc)
    if status >= 500:
        log.warning("%s %s: %s", method, path, exc)
    code, param = _openai_code(exc, status)
    return openai_error(status, str(exc), code=code, param=param, headers=retry_headers(exc))


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainbotsError)
    async def _domain(request: Request, exc: DomainbotsError) -> JSONResponse:
        if speaks_openai(request.url.path):
            return openai_domain_error(exc, request.method, request.url.path)
        status = status_of(exc)
        if status >= 500:
            log.warning("%s %s: %s", request.method, request.url.path, exc)
        return problem(status, str(exc), request, retry_headers(exc), **_extra(exc))

    @app.exception_handler(ApiProblem)
    async def _api(request: Request, exc: ApiProblem) -> JSONResponse:
        if speaks_openai(request.url.path):
            code, param = _openai_code(exc, exc.status)
            return openai_error(exc.status, exc.detail, code=code, param=param, headers=exc.headers)
        return problem(exc.status, exc.detail, request, exc.headers, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": _field(tuple(e["loc"])), "message": e["msg"]} for e in exc.errors()]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or "the request is not valid"
        if speaks_openai(request.url.path):
            return openai_error(400, detail, code="invalid_value", param=errors[0]["field"] if errors else None)
        return problem(422, detail, request, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        if exc.status_code == 400 and detail == "There was an error parsing the body":
            detail = "the request body is not valid JSON in UTF-8; send a JSON object encoded as UTF-8"
        elif exc.status_code == 404 and detail == "Not Found":
            detail = f"no route {request.method} {request.url.path}; the API is described at /docs"
        return problem(exc.status_code, detail, request, getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, "internal error; the server log has the details", request)
