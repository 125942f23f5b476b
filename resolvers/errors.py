"""Expected failures, each with the stable code clients see in `extensions.code`."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, ClassVar

from resolvers import metrics
from storage.errors import DatabaseProblem, classify

logger = logging.getLogger(__name__)


class RegistryError(Exception):
    """A failure the caller can act on; never masked, always changes nothing."""

    code: ClassVar[str] = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    @property
    def extensions(self) -> dict[str, Any]:
        # graphql-core copies `extensions` of the original error into the response.
        return {"code": self.code, **self.details}


class BadUserInput(RegistryError):
    code = "BAD_USER_INPUT"


class NotFound(RegistryError):
    code = "NOT_FOUND"


class Conflict(RegistryError):
    code = "CONFLICT"


class InvalidTransition(RegistryError):
    code = "INVALID_TRANSITION"


class Unauthenticated(RegistryError):
    """No valid token: missing, malformed, unknown, expired or revoked."""

    code = "UNAUTHENTICATED"


class Forbidden(RegistryError):
    """A valid token whose role or model patterns do not cover the call."""

    code = "FORBIDDEN"


class ApprovalRequired(RegistryError):
    """The stage policy wants approvals or checks that this call does not have."""

    code = "APPROVAL_REQUIRED"


class ModelCardRequired(RegistryError):
    """The target stage's policy wants a model card, and the version has none."""

    code = "MODEL_CARD_REQUIRED"


class DatabaseError(RegistryError):
    """The database could not do it right now; `extensions.retryable` says whether to try again.

    The transaction was rolled back: nothing changed.
    """

    retryable: ClassVar[bool] = True

    @property
    def extensions(self) -> dict[str, Any]:
        return {**super().extensions, "retryable": self.retryable}


class DatabaseBusy(DatabaseError):
    """Another writer held the write lock (or every connection) past the busy timeout."""

    code = "DATABASE_BUSY"


class DatabaseReadOnly(DatabaseError):
    """The database file or server refuses writes (permissions, a read-only mount, a standby)."""

    code = "DATABASE_READ_ONLY"
    retryable = False


class QueryTimeout(DatabaseError):
    """A statement ran past MODELREG_DB_STATEMENT_TIMEOUT_MS (PostgreSQL) and was cancelled."""

    code = "QUERY_TIMEOUT"


class DatabaseUnavailable(DatabaseError):
    """The database cannot be reached, is out of connections or is shutting down."""

    code = "DATABASE_UNAVAILABLE"


_DATABASE_ERRORS: dict[DatabaseProblem, tuple[type[DatabaseError], str]] = {
    DatabaseProblem.BUSY: (
        DatabaseBusy,
        "the database is busy: another writer holds its lock; nothing was changed, "
        "retry the request",
    ),
    DatabaseProblem.READ_ONLY: (
        DatabaseReadOnly,
        "the database is read-only: nothing was changed; writes fail until an operator "
        "makes it writable",
    ),
    DatabaseProblem.TIMEOUT: (
        QueryTimeout,
        "the database did not answer within the statement timeout; nothing was changed, "
        "retry the request (narrow it if it keeps timing out)",
    ),
    DatabaseProblem.UNAVAILABLE: (
        DatabaseUnavailable,
        "the database cannot be reached right now; nothing was changed, retry the request",
    ),
}


def database_error(error: BaseException) -> DatabaseError | None:
    """The client-facing error for a driver error that says the database is busy and so on."""
    problem = classify(error)
    if problem is None:
        return None
    kind, message = _DATABASE_ERRORS[problem]
    return kind(message)


@asynccontextmanager
async def database_errors() -> AsyncIterator[None]:
    """Turn busy, read-only, timed-out and unreachable databases into their errors.

    Any other exception passes through unchanged (and is masked and logged upstream).
    """
    try:
        yield
    except RegistryError:
        raise
    except Exception as error:
        translated = database_error(error)
        if translated is None:
            raise
        # Operators see why; the client gets a code and no driver text.
        logger.warning("%s: %s", translated.code, getattr(error, "orig", None) or error)
        metrics.database_error(translated.code)
        raise translated from error
