"""`/dashboard`: what each bot costs and whether its fine-tune pays, for admins, in a browser.

Sign in with an admin key (POST /dashboard/session); the page reads the ledger through the
same functions as `domainbots report` and `GET /v1/costs`, so its figures are theirs.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from api.dashboard import charts, session
from api.routes.deps import RuntimeDep
from core import keys
from core import strategy as strategies
from core.activity import daily_spend, recent_conversations
from core.decision import report, wilson, window
from core.finetune.jobs import FineTuning
from core.money import usd, usd_about
from core.runtime import Runtime

router = APIRouter(include_in_schema=False)
MAX_DAYS = 366  # a chart of a day per bar: a year at most
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
# `usd`: exact, for ledger sums; `usd_about`: 3 significant digits, for derived per-conversation figures
# (the exact value stays in the cell's title and data-usd).
templates.env.filters["usd"] = lambda amount: "-" if amount is None else usd(Decimal(amount))
templates.env.filters["usd_about"] = lambda amount: "-" if amount is None else usd_about(Decimal(amount))

# The page is ours alone: no scripts, no framing, forms post only here, never cached.
_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def _render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    response = templates.TemplateResponse(request, name, context, status_code=status)
    response.headers.update(_HEADERS)
    return response


def _signin(request: Request, error: str | None = None, status: int = 200) -> HTMLResponse:
    return _render(request, "signin.html", {"error": error}, status)


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(request: Request, runtime: RuntimeDep, since: date | None = None, until: date | None = None) -> Response:
    admin = session.admin_of(runtime.database, request.cookies.get(session.COOKIE))
    if admin is None:
        return _signin(request)
    try:
        start, end = window(since, until)
    except OverflowError:
        start, end = date.max, date.min
    if start > end or (end - start).days >= MAX_DAYS or end >= date.max - timedelta(days=1):
        problem = f"show from {since or 'since'} to {until or 'until'}: give a window of 1 to {MAX_DAYS} days"
        return _render(request, "error.html", {"error": problem}, 422)
    return _render(request, "dashboard.html", {"admin": admin.name, **_figures(runtime, start, end)})


@router.post("/dashboard/session")
def sign_in(request: Request, runtime: RuntimeDep, key: Annotated[str, Form(max_length=200)] = "") -> Response:
    presented = key.strip()
    if not presented.isascii() or not presented.isprintable():
        return _signin(request, "That is not an API key: keys read dbk_…, letters, digits and _ -.", 401)
    found = keys.verify(runtime.database, presented) if presented else None
    if found is None:
        return _signin(request, "This key is not valid or has been revoked.", 401)
    if found.scope != "admin":
        return _signin(request, f"Key {found.name!r} is a {found.scope} key; the dashboard needs an admin key.", 403)
    response = RedirectResponse("/dashboard", status_code=303)
    session.start(response, request, found)
    return response


@router.post("/dashboard/signout")
def sign_out() -> Response:
    response = RedirectResponse("/dashboard", status_code=303)
    session.end(response)
    return response


def _figures(runtime: Runtime, start: date, end: date) -> dict[str, Any]:
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    bots, bars, rates = [], [], []
    with runtime.database.session() as db:
        spend = daily_spend(db, start, end)
        recent = recent_conversations(db)
        for profile in runtime.profiles:
            doc = report(db, profile.name, start, end)
            state = strategies.current(db, profile)
            bots.append({"profile": profile, "serving": state.strategy, "report": doc})
            for side in doc["strategies"]:
                label = f"{profile.name} / {side['strategy']}"
                if side["cost_per_conversation_with_training_usd"] is not None:
                    bars.append(charts.Bar(label, Decimal(side["cost_per_conversation_with_training_usd"])))
                rates.append(charts.Rate(label, side["liked"], side["rated"], wilson(side["liked"], side["rated"])))
    by_series: dict[str, dict[date, Decimal]] = {}
    for s in spend:
        by_series.setdefault(f"{s.bot} / {s.strategy}", {})[s.day] = s.cost_usd
    series = [charts.Series(name, values) for name, values in sorted(by_series.items())]
    return {
        "since": start,
        "until": end,
        "total": sum((s.cost_usd for s in spend), Decimal(0)),
        "bots": bots,
        "recent": recent,
        "jobs": FineTuning(runtime, runtime.settings.training_dir).jobs()[:20],
        "spend_chart": charts.daily_spend(days, series),
        "cost_chart": charts.bars(bars, "Cost per conversation, training included"),
        "rate_chart": charts.like_rates(rates),
    }
