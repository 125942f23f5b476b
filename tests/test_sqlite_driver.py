"""The SQLite driver's queue of writers survives a writer cancelled while it waits.

Writers queue on an flock() taken on the connection's thread. A request
cancelled while its BEGIN waits there (a stop signal's grace period running
out, a client gone, a timeout) leaves that BEGIN queued on the thread: it
still takes the lock once it is free. The lock must be released again, or
every later writer, in this process and in every other, waits forever (a
`serve --workers 2` that never stopped after SIGTERM in CI).
"""

import asyncio
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text

from storage.database import Database, create_database


@contextmanager
def _write_lock_held_elsewhere(database: Path) -> Iterator[None]:
    """Hold the writers' flock as another process's writer would."""
    descriptor = os.open(f"{database}.writelock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def _write_lock_is_free(database: Path) -> bool:
    descriptor = os.open(f"{database}.writelock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(descriptor)
    return True


async def _insert(db: Database, value: int) -> None:
    async with db.transaction() as conn:
        await conn.execute(text("INSERT INTO t (x) VALUES (:x)"), {"x": value})


async def _values(db: Database) -> list[int]:
    async with db.read() as conn:
        return list((await conn.execute(text("SELECT x FROM t ORDER BY x"))).scalars())


async def _lock_freed(database: Path) -> bool:
    for _ in range(200):
        if _write_lock_is_free(database):
            return True
        await asyncio.sleep(0.01)
    return False


@pytest.mark.parametrize("cancel_twice", [False, True], ids=["cancelled", "cancelled-again"])
async def test_a_writer_cancelled_while_queued_leaves_no_lock_behind(
    tmp_path: Path, cancel_twice: bool
) -> None:
    database = tmp_path / "queue.db"
    db = create_database(f"sqlite+aiosqlite:///{database}")
    try:
        async with db.transaction() as conn:
            await conn.execute(text("CREATE TABLE t (x INTEGER)"))
        with _write_lock_held_elsewhere(database):
            waiting = asyncio.create_task(_insert(db, 1))
            await asyncio.sleep(0.2)  # its BEGIN now waits on the thread for the lock
            waiting.cancel()
            if cancel_twice:  # the rollback that follows is cut off too
                await asyncio.sleep(0)
                waiting.cancel()
        # The queued BEGIN takes the lock now; it must be given back.
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert await _lock_freed(database), "the cancelled writer kept the write lock"
        async with asyncio.timeout(10):  # a leaked lock would make this wait forever
            await _insert(db, 2)
        assert await _values(db) == [2], "the cancelled insert must not have committed"
    finally:
        async with asyncio.timeout(10):
            await db.dispose()
    assert _write_lock_is_free(database)
