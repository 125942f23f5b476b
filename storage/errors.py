"""Which driver errors mean the database is busy, read-only, too slow or out of reach.

Both drivers report these as generic operational errors; the layers above
need to tell them apart to answer with a clear, retryable error instead of an
internal one. Anything not recognised here is a real fault and stays one.
"""

import errno
import sqlite3
from collections.abc import Iterator
from enum import StrEnum

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout


class DatabaseProblem(StrEnum):
    BUSY = "busy"  # a lock (or a pooled connection) was not free in time
    READ_ONLY = "read_only"  # the database refuses writes
    TIMEOUT = "timeout"  # a statement ran past statement_timeout
    UNAVAILABLE = "unavailable"  # the database cannot be reached or is shutting down


# SQLite primary result codes (the low byte of extended ones).
_SQLITE = {
    5: DatabaseProblem.BUSY,  # SQLITE_BUSY: "database is locked"
    6: DatabaseProblem.BUSY,  # SQLITE_LOCKED
    8: DatabaseProblem.READ_ONLY,  # SQLITE_READONLY: "attempt to write a readonly database"
    14: DatabaseProblem.UNAVAILABLE,  # SQLITE_CANTOPEN
}
# PostgreSQL SQLSTATEs, exact and by two-character class.
_POSTGRES = {
    "57014": DatabaseProblem.TIMEOUT,  # query_canceled (statement_timeout)
    "55P03": DatabaseProblem.BUSY,  # lock_not_available (lock_timeout, NOWAIT)
    "40001": DatabaseProblem.BUSY,  # serialization_failure
    "40P01": DatabaseProblem.BUSY,  # deadlock_detected
    "25006": DatabaseProblem.READ_ONLY,  # read_only_sql_transaction (a hot standby)
    "53300": DatabaseProblem.UNAVAILABLE,  # too_many_connections
    "57P01": DatabaseProblem.UNAVAILABLE,  # admin_shutdown
    "57P02": DatabaseProblem.UNAVAILABLE,  # crash_shutdown
    "57P03": DatabaseProblem.UNAVAILABLE,  # cannot_connect_now
}
_POSTGRES_CLASSES = {"08": DatabaseProblem.UNAVAILABLE}  # connection_exception
_NOT_PERMITTED = {errno.EACCES, errno.EPERM, errno.EROFS}


def _causes(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        if isinstance(current, DBAPIError) and isinstance(current.orig, BaseException):
            yield from _causes(current.orig)
        current = current.__cause__


def _one(error: BaseException) -> DatabaseProblem | None:
    if isinstance(error, PoolTimeout):
        return DatabaseProblem.BUSY
    if isinstance(error, sqlite3.Error):
        code = getattr(error, "sqlite_errorcode", None)
        if isinstance(code, int) and code & 0xFF in _SQLITE:
            return _SQLITE[code & 0xFF]
        message = str(error)
        if "database is locked" in message:
            return DatabaseProblem.BUSY
        if "readonly database" in message:
            return DatabaseProblem.READ_ONLY
        return None
    sqlstate = getattr(error, "sqlstate", None)
    if isinstance(sqlstate, str):
        return _POSTGRES.get(sqlstate) or _POSTGRES_CLASSES.get(sqlstate[:2])
    if isinstance(error, OSError):
        # Refused or dropped connections; a lock file that cannot be created.
        if error.errno in _NOT_PERMITTED:
            return DatabaseProblem.READ_ONLY
        return DatabaseProblem.UNAVAILABLE
    return None


def classify(error: BaseException) -> DatabaseProblem | None:
    """What `error` (or an error it wraps) says about the database; None: none of these."""
    for cause in _causes(error):
        problem = _one(cause)
        if problem is not None:
            return problem
    return None
