"""`domainbots serve`: the HTTP API under uvicorn."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import tempfile
from pathlib import Path

import click
import uvicorn
from uvicorn.supervisors import Multiprocess

from core import keys
from core.errors import DomainbotsError
from core.hooks import available_bots
from core.pricing import PriceTable
from core.profiles import load_profiles
from core.providers import check_provider
from core.runtime import Runtime

logger = logging.getLogger("domainbots.serve")

WORKER_START_SECONDS = 60  # how long a (re)started worker may take to import, load its bots and answer


def snapshot(source: Path) -> Path:
    """The profiles in ``source``, validated, copied where an edit cannot reach them: workers
    load this copy, so a profile broken on disk cannot stop a worker that (re)starts."""
    copy = Path(tempfile.mkdtemp(prefix="domainbots-profiles-"))
    for path in [*source.glob("*.yaml"), *source.glob("*.yml")]:
        shutil.copy2(path, copy / path.name)
    try:  # the copy is what is checked: an edit landing meanwhile cannot slip in unchecked
        load_profiles(copy, PriceTable.load(), available_bots())  # raises, naming the file and field
    except BaseException:
        shutil.rmtree(copy, ignore_errors=True)
        raise
    return copy


class _ValidatedReload(Multiprocess):
    """uvicorn's worker supervisor; SIGHUP re-validates the profiles before any worker restarts,
    and keeps the last good set (and the running workers) when the new one is broken."""

    def __init__(self, config: uvicorn.Config, sockets: list[socket.socket], source: Path) -> None:
        super().__init__(config, sockets=sockets)
        self.source = source

    def handle_hup(self) -> None:
        try:
            fresh = snapshot(self.source)
        except (DomainbotsError, OSError) as exc:  # a broken profile, an unreadable file, a full disk
            logger.error("SIGHUP: profiles not reloaded, the last good set stays in service: %s", exc)
            return
        previous = os.environ.get("DOMAINBOTS_PROFILES_DIR")
        os.environ["DOMAINBOTS_PROFILES_DIR"] = str(fresh)  # what the replacement workers load
        logger.info("SIGHUP: profiles in %s valid; restarting workers", self.source)
        super().handle_hup()
        if previous and Path(previous).name.startswith("domainbots-profiles-"):  # our old copy: no one reads it now
            shutil.rmtree(previous, ignore_errors=True)


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
    source = runtime.settings.profiles_dir.resolve()
    os.environ["DOMAINBOTS_PROFILES_DIR"] = str(snapshot(source))
    if workers == 1:
        uvicorn.run("api.app:create_app", factory=True, host=host, port=port, log_level="info", access_log=access_log)
        return
    # several processes on one SQLite file: each commits from a thread, so that waiting on
    # another's write lock never stalls its event loop
    os.environ.setdefault("DOMAINBOTS_LEDGER_WRITER", "thread")
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="domainbots-metrics-")
    click.echo(f"  profiles: kill -HUP {os.getpid()} re-validates {source} and restarts the workers", err=True)
    # uvicorn gives a replacement worker 5 s to be ready before it aborts a SIGHUP restart and
    # keeps the old workers (and the old profiles); a worker imports the app and builds every bot,
    # which takes longer than that on a busy machine
    config = uvicorn.Config(
        "api.app:create_app", factory=True, host=host, port=port, workers=workers, log_level="info",
        access_log=access_log, timeout_worker_healthcheck=WORKER_START_SECONDS,
    )  # fmt: skip
    _ValidatedReload(config, sockets=[config.bind_socket()], source=source).run()


COMMANDS = [serve]
