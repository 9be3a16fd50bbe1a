"""The ledger's single writer: concurrent turns' rows committed together (group commit).

A turn writes twice (its pending row before the call, its settlement after), and each
write must be committed before the turn goes on: nothing acknowledged may be lost. One
transaction per write, each on a thread of its own, made 32 concurrent turns queue on the
database's write lock and on the GIL as 32 threads. Here one thread owns the writes: it
takes every write waiting, runs them in one transaction, commits once and wakes each
waiter. Under load, a commit carries many turns' rows; alone, a write costs one hop.

On SQLite the writes run on the event loop itself, still grouped: every write queued during
one turn of the loop goes in one transaction at the end of it. A SQLite commit in WAL mode
(synchronous=NORMAL) takes a tenth of a millisecond and no disk flush, less than the two
thread wake-ups a write costs through a thread on a busy machine. PostgreSQL commits over
the network, so there the writer thread keeps the loop free.

A write that fails fails alone: the batch is rolled back and its writes are run again one
by one, each in its own transaction, so one bad row never takes its neighbours with it.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection

from core.db import Database

log = logging.getLogger("domainbots.writer")

# Bounds a transaction's size (and the time its lock is held) under a flood.
MAX_BATCH = 256

Write = Callable[[Connection], Any]
_Item = tuple[Write, asyncio.Future[Any], asyncio.AbstractEventLoop]


class Writer:
    def __init__(self, database: Database, *, inline: bool | None = None) -> None:
        self.database = database
        self.inline = database.is_sqlite if inline is None else inline
        self._tick: list[_Item] = []  # inline: the writes queued during this turn of the loop
        # inline: the loop's own connection, held (a pool checkout and its reset cost as much as
        # the writes); the writer thread holds its own the same way
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
            if not self._tick:
                loop.call_soon(self._flush_tick)
            self._tick.append((write, future, loop))
            return future
        self._start()
        self._queue.put((write, future, loop))
        return future

    def _flush_tick(self) -> None:
        batch, self._tick = self._tick, []
        for start in range(0, len(batch), MAX_BATCH):
            self._write(batch[start : start + MAX_BATCH])

    def _start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                # a daemon: a process that exits without close() must not hang on it
                self._thread = threading.Thread(target=self._run, name="ledger-writer", daemon=True)
                self._thread.start()

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued, then stop the thread."""
        if self._tick:
            self._flush_tick()
        thread = self._thread
        if thread is not None and thread.is_alive():
            self._queue.put(None)
            thread.join(timeout)
        self._release()

    # -- the writer thread -------------------------------------------------------

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < MAX_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            self._write(batch)
            if stop:
                return

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

    def _release(self) -> None:
        for connection in self._connections.values():
            connection.close()
        self._connections.clear()

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
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)

        if loop.is_running() and _on_loop(loop):
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
