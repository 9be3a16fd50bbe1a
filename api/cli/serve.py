"""`domainbots serve`: the HTTP API under uvicorn."""

from __future__ import annotations

import os
import tempfile

import click
import uvicorn

from core import keys
from core.providers import check_provider
from core.runtime import Runtime


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True, help="Worker processes.")
@click.option(
    "--access-log/--no-access-log",
    default=False,
    show_default=True,
    help="Log a line per request (off by default: it costs time on every turn; /metrics counts requests).",
)
def serve(host: str, port: int, workers: int, access_log: bool) -> None:
    """Serve the bots over HTTP (OpenAPI docs at /docs)."""
    # Everything that can be wrong is found here, before a worker starts: profiles,
    # the database and its schema, the provider's configuration.
    runtime = Runtime.load()
    provider = check_provider(runtime.settings)  # each worker loads its model itself
    created = keys.ensure_admin(runtime.database)
    runtime.database.dispose()
    base = f"http://{host}:{port}"
    click.echo(f"domainbots: {len(runtime.profiles)} bots ({', '.join(runtime.profiles.names)})", err=True)
    click.echo(f"  provider: {provider}   database: {runtime.database.safe_url}", err=True)
    click.echo(f"  API: {base}/v1   docs: {base}/docs   metrics: {base}/metrics", err=True)
    if created is not None:
        click.echo(f"  first start: created admin key {created.key.name!r}; it is shown only now:", err=True)
        click.echo(f"  {created.secret}", err=True)
    else:
        click.echo("  keys: `domainbots keys create --name NAME --scope chat|admin` makes one", err=True)
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="domainbots-metrics-")
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        access_log=access_log,
    )


COMMANDS = [serve]
