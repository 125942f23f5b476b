"""Whether the database can serve: reachable, migrated to head, and writable."""

import asyncio
import functools
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import text
from sqlalchemy.engine import make_url

from storage.database import Database
from storage.errors import DatabaseProblem, classify
from storage.migrate import current_revision, head_revision

# The writable probe waits this long for SQLite's write lock: ordinary writes
# hold it for a millisecond or two and must not make a replica look unready,
# while a lock held for longer (a backup's BEGIN EXCLUSIVE) does.
LOCK_PROBE_WAIT_MS = 100
_head_revision = functools.cache(head_revision)  # reads the migration scripts from disk
# A probe that hangs is an answer too: the database is not serving.
PROBE_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class Check:
    ok: bool
    detail: str


def _why(error: BaseException) -> str:
    problem = classify(error)
    return problem.value if problem is not None else type(error).__name__


async def reachable(db: Database) -> Check:
    try:
        async with asyncio.timeout(PROBE_TIMEOUT_S), db.read() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as error:
        return Check(False, f"cannot query the database: {_why(error)}")
    return Check(True, "answers queries")


async def migrated(db: Database) -> Check:
    try:
        async with asyncio.timeout(PROBE_TIMEOUT_S):
            current = await current_revision(db.reader)
    except Exception as error:
        return Check(False, f"cannot read the schema revision: {_why(error)}")
    head = _head_revision()
    if current != head:
        return Check(
            False, f"schema at {current or 'nothing'}, needs {head}: run modelreg db upgrade"
        )
    return Check(True, f"schema at head {head}")


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL; None for PostgreSQL and in-memory databases."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def sqlite_write_problem(path: Path, *, wait_ms: int = 0) -> DatabaseProblem | str | None:
    """Why SQLite cannot write `path` right now (None: it can).

    Takes the write lock (waiting at most `wait_ms`) and makes a write that
    changes nothing, then rolls back: only a real write attempt tells a
    read-only file (permissions, an immutable file, a read-only mount) apart,
    whoever the process runs as. Returns BUSY when the lock is held, READ_ONLY
    when writes are refused, a message for anything else.
    """
    side_files = [Path(f"{path}{suffix}") for suffix in ("-wal", "-shm", ".writelock")]
    if not os.access(path, os.W_OK):
        return DatabaseProblem.READ_ONLY
    # SQLite and the writers' queue create these beside the file when missing.
    if not all(os.access(side, os.W_OK) for side in side_files) and not os.access(
        path.parent, os.W_OK
    ):
        return DatabaseProblem.READ_ONLY
    try:
        connection = sqlite3.connect(
            f"file:{quote(str(path))}?mode=rw",
            uri=True,
            timeout=wait_ms / 1000,
            isolation_level=None,
        )
    except sqlite3.Error as error:
        return classify(error) or str(error)
    try:
        connection.execute("BEGIN IMMEDIATE")
        (version,) = connection.execute("PRAGMA user_version").fetchone()
        connection.execute(f"PRAGMA user_version = {int(version)}")
    except sqlite3.Error as error:
        return classify(error) or str(error)
    finally:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        connection.close()
    return None


_SQLITE_DETAILS: dict[DatabaseProblem | str, str] = {
    DatabaseProblem.BUSY: f"the write lock was held elsewhere for over {LOCK_PROBE_WAIT_MS} ms",
    DatabaseProblem.READ_ONLY: "the database file (or its directory) is read-only",
}


async def writable(db: Database) -> Check:
    path = sqlite_path(db.url)
    if path is not None:
        problem = await asyncio.to_thread(sqlite_write_problem, path, wait_ms=LOCK_PROBE_WAIT_MS)
        if problem is None:
            return Check(True, "the write lock can be taken")
        return Check(False, _SQLITE_DETAILS.get(problem, str(problem)))
    if db.writer.dialect.name != "postgresql":
        return Check(True, "in-memory database")
    try:
        async with asyncio.timeout(PROBE_TIMEOUT_S), db.read() as conn:
            row = (
                await conn.execute(
                    text("SELECT pg_is_in_recovery(), current_setting('transaction_read_only')")
                )
            ).one()
    except Exception as error:
        return Check(False, f"cannot ask the server: {_why(error)}")
    if row[0]:
        return Check(False, "the server is a standby in recovery: it refuses writes")
    if row[1] == "on":
        return Check(False, "transactions are read-only (default_transaction_read_only)")
    return Check(True, "the server accepts writes")


async def check(db: Database) -> dict[str, Check]:
    """Every readiness check by name; later ones are skipped when the database is unreachable."""
    database = await reachable(db)
    if not database.ok:
        skipped = Check(False, "not checked: the database is unreachable")
        return {"database": database, "migrated": skipped, "writable": skipped}
    return {"database": database, "migrated": await migrated(db), "writable": await writable(db)}
