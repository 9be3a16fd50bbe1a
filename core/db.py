"""The database: engines, sessions and schema migrations.

SQLite is the default (WAL, a busy timeout, foreign keys on); any SQLAlchemy URL
works, and PostgreSQL is the one for several workers. Every command that needs the
database brings its schema up to date first; concurrent starts take a lock
(PostgreSQL advisory lock, a file lock for SQLite) so they never race.
"""

from __future__ import annotations

import fcntl
import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlmodel import Session

from core.errors import DatabaseUnavailable

# Any constant works; it only has to be the same for every domainbots process.
_PG_MIGRATION_LOCK = 7_263_540_117


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(files("core").joinpath("migrations")))
    return config


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class Database:
    def __init__(self, url: str) -> None:
        try:
            self.url = make_url(url)
        except ArgumentError:
            raise DatabaseUnavailable(
                f"DOMAINBOTS_DATABASE_URL {url!r} is not a database URL; expected e.g. "
                "sqlite:///./domainbots.db or postgresql+psycopg://user@host/dbname"
            ) from None
        # Errors never echo statement parameters (message text, ids) into logs.
        kwargs: dict[str, Any] = {"hide_parameters": True}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": 10}
        else:
            kwargs.update(pool_pre_ping=True, pool_size=10, max_overflow=20)
        try:
            self.engine: Engine = create_engine(self.url, **kwargs)
        except (NoSuchModuleError, ModuleNotFoundError) as exc:
            raise DatabaseUnavailable(f"no driver for {self.safe_url}: {exc}") from None
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._write_lock = threading.RLock() if self.is_sqlite else None
        self._write_depth = 0
        self._lock_file: Any = None  # opened at the first write, in the process that writes

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @property
    def safe_url(self) -> str:
        return self.url.render_as_string(hide_password=True)

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Around a write transaction. SQLite takes one writer at a time and makes the others
        poll (its busy handler sleeps 1, 2, 5... ms between tries): in one process, writers
        queue here instead and start the moment the previous one commits. PostgreSQL has
        row locks and needs nothing."""
        if self._write_lock is None:
            yield
            return
        with self._write_lock:
            self._write_depth += 1
            try:
                if self._write_depth == 1:
                    self._lock_other_processes(fcntl.LOCK_EX)
                yield
            finally:
                self._write_depth -= 1
                if self._write_depth == 0:
                    self._lock_other_processes(fcntl.LOCK_UN)

    def _lock_other_processes(self, operation: int) -> None:
        """Workers sharing the file queue on a lock file too: SQLite's own busy handler polls
        (it sleeps 1, 2, 5... ms and tries again), a blocked flock wakes when the lock is let go."""
        database = self.url.database
        if not database or database == ":memory:":
            return
        if self._lock_file is None:
            if operation == fcntl.LOCK_UN:
                return
            # held open while the database is: a lock is taken on every ledger transaction
            self._lock_file = Path(f"{database}.write.lock").open("a")  # noqa: SIM115
        fcntl.flock(self._lock_file, operation)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def _connect(self) -> Iterator[Connection]:
        try:
            connection = self.engine.connect()
        except OperationalError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise DatabaseUnavailable(
                f"cannot open the database {self.safe_url}: {reason}; check DOMAINBOTS_DATABASE_URL"
            ) from None
        with connection:
            yield connection

    def current_revision(self) -> str | None:
        with self._connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    @staticmethod
    def head_revision() -> str | None:
        return ScriptDirectory.from_config(_alembic_config()).get_current_head()

    def upgrade(self) -> None:
        """Bring the schema up to date; cheap when it already is."""
        if self.current_revision() == self.head_revision():
            return
        config = _alembic_config()
        with self._migration_lock(), self._connect() as connection, connection.begin():
            if not self.is_sqlite:
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    @contextmanager
    def _migration_lock(self) -> Iterator[None]:
        database = self.url.database if self.is_sqlite else None
        if not database or database == ":memory:":
            yield  # PostgreSQL locks inside the transaction; memory databases are private
            return
        lock_path = Path(f"{database}.migrate.lock")
        try:
            handle = lock_path.open("a")
        except OSError as exc:
            raise DatabaseUnavailable(f"cannot open the database {self.safe_url}: {exc.strerror}") from None
        with handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    def lock(self, session: Session, name: str) -> None:
        """Serialize writers of ``name`` until the session's transaction ends: a PostgreSQL
        advisory transaction lock, or SQLite's own write lock taken at once."""
        if self.is_sqlite:
            # BEGIN IMMEDIATE semantics: a write takes the database lock now, before the read.
            session.connection().exec_driver_sql("UPDATE strategy_state SET bot = bot WHERE 0")
            return
        key = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)
        session.connection().execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})

    def dispose(self) -> None:
        self.engine.dispose()
        if self._lock_file is not None and self._write_depth == 0:
            self._lock_file.close()
            self._lock_file = None


def open_database(url: str, *, upgrade: bool = True) -> Database:
    database = Database(url)
    if upgrade:
        database.upgrade()
    return database
