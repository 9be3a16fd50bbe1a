"""Wiring: settings -> price table, profiles, database, provider, engine."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field

from core.db import Database, open_database
from core.engine import Engine
from core.hooks import available_bots
from core.ledger import Call
from core.pricing import PriceTable
from core.profiles import Profiles, load_profiles
from core.providers import Provider, make_provider
from core.settings import Settings


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
        return cls(settings=settings, prices=prices, profiles=profiles, database=database)

    @property
    def provider(self) -> Provider:
        if self._provider is None:
            self._provider = make_provider(self.settings, announce=self.announce)
        return self._provider

    def engine(self, on_call: Callable[[Call], None] | None = None) -> Engine:
        return Engine(
            profiles=self.profiles,
            prices=self.prices,
            provider=self.provider,
            database=self.database,
            on_call=on_call,
        )

    async def aclose(self) -> None:
        if self._provider is not None:
            await self._provider.aclose()
        self.database.dispose()
