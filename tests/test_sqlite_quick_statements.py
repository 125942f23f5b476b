"""Where the SQLite driver runs a statement: on the event loop's thread only when it may."""

import asyncio
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage import sqlite_driver
from storage.sqlite_driver import OneHopConnection

# Set as a `pause(...)` statement starts on the connection's thread.
_paused = threading.Event()
# Ends a `pause(...)` statement (else it ends after its seconds, so that a failing test ends).
_release = threading.Event()


def _pause(seconds: float) -> int:
    """The statement that keeps the connection's thread busy until the test releases it."""
    _paused.set()
    _release.wait(seconds)
    return 1


@pytest.fixture
async def connection(tmp_path: Path) -> AsyncIterator[OneHopConnection]:
    conn = sqlite_driver.connect(str(tmp_path / "driver.db"))
    await conn
    # The thread a statement runs on, and a statement that takes a while.
    conn.sqlite_connection.create_function("thread_id", 0, threading.get_ident)
    conn.sqlite_connection.create_function("pause", 1, _pause)
    try:
        yield conn
    finally:
        await conn.close()


async def thread_of(conn: OneHopConnection) -> int:
    cursor = conn.cursor()
    await cursor.execute("SELECT thread_id()")
    rows = await cursor.fetchall()
    return int(rows[0][0])


async def test_a_quick_statement_runs_on_the_loops_thread_and_others_on_the_connections(
    connection: OneHopConnection,
) -> None:
    loop_thread = threading.get_ident()
    assert await thread_of(connection) != loop_thread
    with sqlite_driver.quick():
        assert await thread_of(connection) == loop_thread
    assert await thread_of(connection) != loop_thread


async def test_a_quick_statement_waits_its_turn_while_the_connection_is_busy(
    connection: OneHopConnection,
) -> None:
    slow = connection.cursor()
    # A caller that stopped waiting: its statement still runs on the connection's thread.
    _paused.clear()
    _release.clear()
    pending = asyncio.ensure_future(slow.execute("SELECT pause(30)"))
    assert await asyncio.to_thread(_paused.wait, 10), "the slow statement never started"
    pending.cancel()
    with sqlite_driver.quick():
        # Sent while the thread is busy (the task runs up to its hand-off), then released.
        queued = asyncio.ensure_future(thread_of(connection))
        await asyncio.sleep(0)
        _release.set()
        assert await queued != threading.get_ident()
        # Once the thread has nothing in hand, quick statements run inline again.
        assert await thread_of(connection) == threading.get_ident()


async def test_a_quick_statement_that_begins_a_write_transaction_runs_on_the_connection(
    connection: OneHopConnection,
) -> None:
    connection.defer_begin("BEGIN IMMEDIATE")
    with sqlite_driver.quick():
        assert await thread_of(connection) != threading.get_ident()
    await connection.rollback()


async def test_quick_statements_of_a_write_transaction_run_inline_once_it_holds_the_lock(
    connection: OneHopConnection,
) -> None:
    """After BEGIN IMMEDIATE nothing is left to wait for: a quick statement of the
    transaction runs on the loop's thread; the transaction commits as one, and the
    next one (its BEGIN deferred again) starts on the connection's thread."""
    loop_thread = threading.get_ident()
    cursor = connection.cursor()
    await cursor.execute("CREATE TABLE rows (n INTEGER)")
    for commit in (True, False):
        connection.defer_begin("BEGIN IMMEDIATE")
        with sqlite_driver.quick():
            assert await thread_of(connection) != loop_thread  # it begins the transaction
            await cursor.execute("INSERT INTO rows VALUES (thread_id())")
        await cursor.execute("INSERT INTO rows VALUES (thread_id())")  # not quick
        await (connection.commit() if commit else connection.rollback())
    await cursor.execute("SELECT n FROM rows")
    quick_row, other_row = [row[0] for row in await cursor.fetchall()]
    assert quick_row == loop_thread
    assert other_row != loop_thread
    # A deferred (not IMMEDIATE) transaction could still wait for the lock: not inline.
    await cursor.execute("BEGIN")
    with sqlite_driver.quick():
        assert await thread_of(connection) != loop_thread
    await connection.rollback()


async def test_errors_of_quick_statements_reach_the_caller(
    connection: OneHopConnection,
) -> None:
    cursor = connection.cursor()
    with sqlite_driver.quick(), pytest.raises(Exception, match="no such table"):
        await cursor.execute("SELECT * FROM nowhere")
