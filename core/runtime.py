"""Wiring: settings -> price table, profiles, database, provider, engine."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from core.db import Database, open_database
from core.engine import Engine
from core.errors import ConfigError
from core.hooks import available_bots
from core.pricing import PriceTable, to_nanos
from core.profiles import Profiles, load_profiles
from core.providers import Provider, make_provider
from core.rows import CallRow
from core.settings import Settings
from core.store import Store
from core.usage import Usage


@dataclass
class Runtime:
    settings: Settings
    prices: PriceTable
    profiles: Profiles
    database: Database
    _provider: Provider | None = field(default=None, repr=False)
    # Where slow start-up steps (loading a local model) report progress.
    announce: Callable[[str], None] = field(default=lambda line: print(f"domainbots: {line}", file=sys.stderr))

    @classmethod
    def load(cls, settings: Settings | None = None) -> Runtime:
        """Profiles first (a bad one stops everything), then the database, migrated."""
        settings = settings or Settings()
        prices = PriceTable.load()
        profiles = load_profiles(settings.profiles_dir, prices, available_bots())
        database = open_database(settings.database_url)
        runtime = cls(settings=settings, prices=prices, profiles=profiles, database=database)
        if "database_url" not in settings.model_fields_set:  # say where the default one is
            runtime.announce(f"database {database.safe_url} (DOMAINBOTS_DATABASE_URL chooses another)")
        runtime.settle_interrupted()
        return runtime

    def settle_interrupted(self) -> int:
        """Calls left pending by a process that died with them in flight (kill -9, a crash):
        older than the request timeout, they will never be settled by their worker. Each is
        settled as interrupted, its cost estimated from its prompt (it was sent, so billed)."""
        cutoff = datetime.now(UTC) - timedelta(seconds=self.settings.request_timeout * 2)
        store = Store(self.database)
        settled = 0
        for call in store.pending(older_than=cutoff):
            try:
                price = self.prices.price(call.model)
                call.cost_nanousd = to_nanos(price.cost(Usage(prompt_tokens=call.prompt_tokens)))
            except ConfigError:
                pass  # a model priced by its profile only: keep the reserved worst case
            call.status = "interrupted"
            call.usage_source = "estimated"
            call.error = "the process serving this call stopped before it ended; cost estimated from the prompt"
            store.settle(call)
            settled += 1
        return settled

    @property
    def provider(self) -> Provider:
        if self._provider is None:
            self._provider = make_provider(self.settings, announce=self.announce)
        return self._provider

    def engine(self, on_call: Callable[[CallRow], None] | None = None) -> Engine:
        return Engine(
            profiles=self.profiles,
            prices=self.prices,
            provider=self.provider,
            database=self.database,
            on_call=on_call,
            max_retries=self.settings.max_retries,
            request_timeout=self.settings.request_timeout,
            writer_on_loop=self._writer_on_loop(),
        )

    def _writer_on_loop(self) -> bool | None:
        mode = self.settings.ledger_writer
        return None if mode == "auto" else mode == "loop"  # auto: the writer's own default

    async def aclose(self) -> None:
        if self._provider is not None:
            await self._provider.aclose()
        self.database.dispose()
