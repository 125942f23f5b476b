"""Noticing, without a query, that another process committed to a SQLite database.

In WAL mode every commit appends to `<database>-wal`, and a checkpoint
resets it: either way its size or modification time changes. A stat of it
costs microseconds in the event loop, where even the cheapest query costs a
hop to the driver's thread, so live readers can look every few milliseconds
and read the log only when something changed.
"""

import os
from collections.abc import Callable
from pathlib import Path

from storage.readiness import sqlite_path


def _signature(wal: Path) -> tuple[int, int, int]:
    try:
        found = os.stat(wal)
    except FileNotFoundError:
        return (0, 0, 0)
    return (found.st_ino, found.st_size, found.st_mtime_ns)


def wal_watcher(database_url: str) -> Callable[[], bool] | None:
    """A `changed()` that is True when the WAL file changed since the last call.

    None for anything but a SQLite file (PostgreSQL has NOTIFY instead).
    """
    path = sqlite_path(database_url)
    if path is None:
        return None
    wal = path.with_name(path.name + "-wal")
    last = _signature(wal)

    def changed() -> bool:
        nonlocal last
        now = _signature(wal)
        if now == last:
            return False
        last = now
        return True

    return changed
