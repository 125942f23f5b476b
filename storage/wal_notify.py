"""Woken, without polling, when another process writes to a SQLite database (Linux).

Every commit in WAL mode writes `<database>-wal`; inotify tells each
watching process as the write happens, which for SQLite's worker processes
plays the part PostgreSQL's NOTIFY plays for replicas: a wake-up, never the
truth (the reader reads the log). The directory is watched, not the file,
because SQLite deletes the WAL file when its last connection closes and
makes it again on the next write.

The write comes a few microseconds before the commit is visible to readers
(SQLite updates its shared index after writing the frames), so a woken
reader may find nothing yet: the hub looks again once shortly after (see
EventHub.hint). Where inotify is missing (not Linux) the listener is None
and the hub falls back to looking at the file (storage/sqlite_changes.py).
"""

import asyncio
import ctypes
import ctypes.util
import functools
import os
import struct
from pathlib import Path

from storage.readiness import sqlite_path
from storage.wakeups import Listen, Stop, Wake

# <sys/inotify.h>
_IN_MODIFY = 0x00000002
_IN_CLOEXEC = 0o2000000
_IN_NONBLOCK = 0o4000
_EVENT_HEADER = struct.Struct("iIII")  # wd, mask, cookie, len; then len bytes of name
_READ_SIZE = 64 * 1024


@functools.cache  # loaded once per process
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    libc = ctypes.CDLL(name, use_errno=True)
    return libc if hasattr(libc, "inotify_init1") else None


def wal_listener(database_url: str) -> Listen | None:
    """A listener calling back on every write to the database's WAL file; None if it cannot."""
    path = sqlite_path(database_url)
    if path is None or _libc() is None:
        return None
    return lambda on_write: _listen(path, on_write)


async def _listen(database: Path, on_write: Wake) -> Stop:
    libc = _libc()
    assert libc is not None
    fd = libc.inotify_init1(_IN_NONBLOCK | _IN_CLOEXEC)
    if fd < 0:
        raise OSError(ctypes.get_errno(), "inotify_init1 failed")
    directory = str(database.parent.resolve()).encode()
    if libc.inotify_add_watch(fd, directory, _IN_MODIFY) < 0:
        error = ctypes.get_errno()
        os.close(fd)
        raise OSError(error, f"cannot watch {database.parent}")
    wal_name = (database.name + "-wal").encode()
    loop = asyncio.get_running_loop()

    def readable() -> None:
        try:
            data = os.read(fd, _READ_SIZE)
        except BlockingIOError:
            return
        if _names_file(data, wal_name):
            on_write()

    loop.add_reader(fd, readable)

    async def stop() -> None:
        loop.remove_reader(fd)
        os.close(fd)

    return stop


def _names_file(data: bytes, name: bytes) -> bool:
    """Does any inotify event in `data` name `name`?"""
    offset = 0
    while offset + _EVENT_HEADER.size <= len(data):
        _, _, _, length = _EVENT_HEADER.unpack_from(data, offset)
        start = offset + _EVENT_HEADER.size
        if data[start : start + length].rstrip(b"\0") == name:
            return True
        offset = start + length
    return False
