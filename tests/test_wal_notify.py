"""storage/wal_notify.py: another process's write to a SQLite database hints at once."""

import asyncio
import sqlite3
import sys
from pathlib import Path

from storage.wal_notify import wal_listener

WRITE = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("INSERT INTO t VALUES (1)")
"""


def _database(path: Path) -> str:
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("CREATE TABLE t (x INTEGER)")
    connection.close()  # the last connection: SQLite deletes the WAL file
    return f"sqlite+aiosqlite:///{path}"


async def test_a_write_in_another_process_calls_back(tmp_path: Path) -> None:
    database = tmp_path / "registry.db"
    listen = wal_listener(_database(database))
    assert listen is not None, "inotify is on every Linux this runs on"
    written = asyncio.Event()
    stop = await listen(written.set)
    try:
        (tmp_path / "other-file").write_text("not the WAL")  # other files do not count
        await asyncio.sleep(0.05)
        assert not written.is_set()
        # The WAL file did not exist when the watch began: the directory is watched.
        writer = await asyncio.create_subprocess_exec(sys.executable, "-c", WRITE, str(database))
        assert await writer.wait() == 0
        await asyncio.wait_for(written.wait(), timeout=5)
    finally:
        await stop()


def test_only_sqlite_files_are_watched() -> None:
    assert wal_listener("postgresql+asyncpg://postgres@127.0.0.1/test") is None
