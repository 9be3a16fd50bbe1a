"""The ledger's single writer: concurrent turns' rows committed together (group commit).

A turn writes twice (its pending row before the call, its settlement after), and each
write must be committed before the turn goes on: nothing acknowledged may be lost. One
transaction per write, each on a thread of its own, made 32 concurrent turns queue on the
database's write lock and on the GIL as 32 threads. Here one writer owns the writes: it
takes every write waiting, runs them in one transaction, commits once and wakes each
waiter. Under load, a commit carries many turns' rows; alone, a write costs one hop.

On SQLite the writes run on the event loop itself, still grouped: every write queued during
one turn of the loop goes in one transaction at the end of it. A SQLite commit in WAL mode
(synchronous=NORMAL) takes a tenth of a millisecond and no disk flush, less than the two
thread wake-ups a write costs through a thread on a busy machine. (Another process's write
on the same file makes the loop wait for it: short transactions everywhere keep that to
milliseconds; `serve --workers` switches to the thread.) PostgreSQL commits over the
network, so there a writer thread keeps the loop free.

A write that fails fails alone: the batch is rolled back and its writes are run again one
by one, each in its own transaction, so one bad row never takes its neighbours with it. A
held connection the server dropped (a restart, an idle timeout) is replaced and the batch
tried once more.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import weakref
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from core.db import Database

log = logging.getLogger("domainbots.writer")

# Bounds a transaction's size (and the time its lock is held) under a flood.
MAX_BATCH = 256
# How many more turns of the loop a batch may wait for writes still coming (inline writer).
MAX_WAIT_TICKS = 2

Write = Callable[[Connection], Any]
_Item = tuple[Write, asyncio.Future[Any], asyncio.AbstractEventLoop]


class Writer:
    def __init__(self, database: Database, *, inline: bool | None = None) -> None:
        self.database = database
        self.inline = database.is_sqlite if inline is None else inline
        # inline: the writes queued during this turn of each loop, flushed at its end
        self._ticks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, list[_Item]] = weakref.WeakKeyDictionary()
        # each writing thread's held connection (a pool checkout and its reset cost as much
        # as the writes): the loop's, or the writer thread's
        self._connections: dict[int, Connection] = {}
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.batches = 0  # transactions committed (for tests and benchmarks)
        self.writes = 0

    def submit[T](self, write: Callable[[Connection], T]) -> asyncio.Future[T]:
        """Queue ``write``; the future resolves once its transaction has committed (or fails
        with the write's own error). The write runs even if the awaiting task is cancelled."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        if self.inline:
            tick = self._ticks.get(loop)
            if tick is None:
                tick = self._ticks[loop] = []
                loop.call_soon(self._flush_tick, loop, 1, 0)
            tick.append((write, future, loop))
            return future
        with self._lock:  # the thread cannot end between this put and the check after it
            self._queue.put((write, future, loop))
            if self._thread is None or not self._thread.is_alive():
                # a daemon: a process that exits without close() must not hang on it
                self._thread = threading.Thread(target=self._run, name="ledger-writer", daemon=True)
                self._thread.start()
        return future

    def _flush_tick(self, loop: asyncio.AbstractEventLoop, seen: int, waited: int) -> None:
        """Commit what was queued, or wait one more turn of the loop while writes keep coming:
        a commit costs per page it writes, and turns' rows share pages, so a bigger batch costs
        less a turn. Alone (a turn of the loop passed with no new write) it goes at once."""
        tick = self._ticks.get(loop)
        if tick is None:
            return
        if len(tick) > seen and waited < MAX_WAIT_TICKS and len(tick) < MAX_BATCH:
            loop.call_soon(self._flush_tick, loop, len(tick), waited + 1)
            return
        batch = self._ticks.pop(loop, [])
        for start in range(0, len(batch), MAX_BATCH):
            self._write(batch[start : start + MAX_BATCH])

    async def aclose(self) -> None:
        """Write what is queued, then let go of the connections (from the serving loop)."""
        if self.inline:
            self._flush_tick(asyncio.get_running_loop(), 0, MAX_WAIT_TICKS)
            self._release()
        await asyncio.to_thread(self.close)

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued, then stop the thread and let go of this thread's connection."""
        with self._lock:
            thread = self._thread
            if thread is not None and thread.is_alive():
                self._queue.put(None)
        if thread is not None:
            thread.join(timeout)
        self._release()

    def _release(self) -> None:
        """Close the calling thread's connection (each thread closes only its own)."""
        connection = self._connections.pop(threading.get_ident(), None)
        if connection is not None:
            connection.close()

    # -- the writer thread -------------------------------------------------------

    def _run(self) -> None:
        stopping = False
        try:
            while True:
                if stopping:
                    with self._lock:  # what came after the stop marker is written, not dropped
                        if self._queue.empty():
                            self._thread = None
                            return
                first = self._queue.get()
                stopping |= first is None
                batch: list[_Item] = [] if first is None else [first]
                while len(batch) < MAX_BATCH:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is None:
                        stopping = True
                    else:
                        batch.append(item)
                if batch:
                    self._write(batch)
        finally:
            self._release()

    # -- one batch ---------------------------------------------------------------

    def _write(self, batch: list[_Item]) -> None:
        try:
            results = self._transaction([write for write, _, _ in batch])
        except Exception as exc:
            if len(batch) == 1:
                _, future, loop = batch[0]
                self._resolve(future, loop, error=exc)
                return
            # one of them failed, or the commit did: each on its own, so each gets its own outcome
            for item in batch:
                self._write([item])
            return
        self.batches += 1
        self.writes += len(batch)
        for (_, future, loop), result in zip(batch, results, strict=True):
            self._resolve(future, loop, result=result)

    def _transaction(self, writes: list[Write]) -> list[Any]:
        try:
            return self._run_writes(writes)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            # the server dropped the held connection (a restart, an idle timeout): nothing was
            # committed, so the batch goes once more on a fresh one
            self._connections.pop(threading.get_ident(), None)
            log.warning("ledger writer: the database dropped its connection; writing on a new one")
            return self._run_writes(writes)

    def _run_writes(self, writes: list[Write]) -> list[Any]:
        connection = self._connection()
        with self.database.writing(), connection.begin():
            return [write(connection) for write in writes]

    def _connection(self) -> Connection:
        """This thread's held connection (the loop's, or the writer thread's)."""
        ident = threading.get_ident()
        connection = self._connections.get(ident)
        if connection is None or connection.closed or connection.invalidated:
            connection = self._connections[ident] = self.database.engine.connect()
        return connection

    @staticmethod
    def _resolve(
        future: asyncio.Future[Any],
        loop: asyncio.AbstractEventLoop,
        *,
        result: Any = None,
        error: BaseException | None = None,
    ) -> None:
        def settle() -> None:
            if future.done():  # its waiter was cancelled: the write happened all the same
                return
            if error is None:
                future.set_result(result)
            elif isinstance(error, StopIteration | StopAsyncIteration):  # a future refuses these
                future.set_exception(RuntimeError(f"a ledger write raised {type(error).__name__}"))
            else:
                future.set_exception(error)

        if _on_loop(loop):
            settle()
            return
        try:
            loop.call_soon_threadsafe(settle)
        except RuntimeError:  # the loop has closed: nobody is waiting any more
            log.debug("a ledger write finished after its event loop closed")


def _on_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
