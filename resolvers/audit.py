"""The audit log: what each mutation was asked to do, by whom, and how it ended.

A mutation that changes something writes its row in its own transaction, so
the row exists exactly when the change does. A refused mutation writes its
row afterwards, in a transaction of its own. Inputs are summarized: secrets
and tokens never reach the log, long texts are cut.
"""

import dataclasses
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from resolvers.errors import DatabaseError
from resolvers.validation import escaped
from storage.database import Database
from storage.queries import audit

logger = logging.getLogger("modelreg.audit")

OK = "OK"
# Input fields whose values never reach the log, whatever the mutation.
_SECRET_NAME = re.compile(r"secret|token|password|credential", re.IGNORECASE)
# user:password@ in any URL (a webhook url, a version's source) is a secret too.
_URL_CREDENTIALS = re.compile(r"(?<=://)[^/?#@\s]+@")
_TEXT_MAX = 500
_ITEMS_MAX = 50
_DATABASE_TROUBLE = frozenset(kind.code for kind in DatabaseError.__subclasses__())
_MESSAGE_MAX = 2000


@dataclass(slots=True)
class AuditEntry:
    """The audit row of the mutation that is running; resolvers may name its target."""

    action: str
    input: dict[str, Any]
    model_name: str | None = None
    target: str | None = None
    written: bool = False


@dataclass(frozen=True, slots=True)
class Refusal:
    """A mutation of the request that was refused (or failed), not yet written."""

    entry: AuditEntry
    result: str
    message: str | None


@dataclass(frozen=True, slots=True)
class Caller:
    """Who made the request, and from where."""

    actor: str
    request_id: str
    client_address: str | None


def to_camel_case(snake: str) -> str:
    """An argument's name as the schema spells it (strawberry's rule, without importing it)."""
    first, *rest = snake.split("_")
    return first + "".join(part.capitalize() if part else "_" for part in rest)


def summarize(value: Any) -> Any:
    """A JSON-able summary of a mutation argument, without secrets."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        return summarize(fields)
    if isinstance(value, dict):
        return {
            escaped(to_camel_case(str(key))): "[redacted]"
            if _SECRET_NAME.search(str(key))
            else summarize(item)
            for key, item in value.items()
            if item is not None and type(item).__name__ != "UnsetType"
        }
    if isinstance(value, list | tuple):
        return [summarize(item) for item in value[:_ITEMS_MAX]]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, str):
        # Cut before escaping (a NUL becomes six characters), escape before storing:
        # PostgreSQL cannot store a NUL, and a refusal of one must still be logged.
        value = _URL_CREDENTIALS.sub("[redacted]@", value)
        value = value[:_TEXT_MAX] + "…" if len(value) > _TEXT_MAX else value
        return escaped(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    return escaped(str(value))


async def write(
    conn: AsyncConnection,
    entry: AuditEntry,
    caller: Caller,
    *,
    result: str,
    message: str | None,
    now: datetime,
) -> None:
    await audit.insert_entry(
        conn,
        created_at=now,
        actor=_column(caller.actor, 256),
        action=entry.action,
        model_name=_column(entry.model_name, 256),
        target=_column(entry.target, _TEXT_MAX),
        input=entry.input,
        result=result,
        message=_column(message, _MESSAGE_MAX),
        request_id=_column(caller.request_id, 64),
        client_address=caller.client_address,
    )
    entry.written = True


def _column(value: str | None, limit: int) -> str | None:
    """Escaped as `summarize` escapes, and cut to fit: a refused call's name may be anything."""
    if value is None:
        return None
    value = escaped(value)
    return value[: limit - 1] + "…" if len(value) > limit else value


async def write_alone(
    db: Database,
    entry: AuditEntry,
    caller: Caller,
    *,
    result: str,
    message: str | None,
    now: datetime,
) -> None:
    """Write the row in a transaction of its own (refusals; mutations that wrote nothing).

    A failure here is logged, not raised: the caller's own answer comes first.
    When the call was refused because the database is busy or unwritable, the
    row is written only if the write lock is free at once: waiting a second
    busy timeout for it would only delay the answer.
    """
    begin = db.transaction_without_waiting if result in _DATABASE_TROUBLE else db.transaction
    try:
        async with begin() as conn:
            await write(conn, entry, caller, result=result, message=message, now=now)
    except Exception:
        logger.exception("could not write the audit row of %s", entry.action)


async def write_refusals(
    db: Database, refusals: list[Refusal], caller: Caller, now: datetime
) -> None:
    """One row for all the refused mutations of a request: the first, naming the others.

    A document of a thousand refused mutations costs one write, not a thousand.
    """
    if not refusals:
        return
    first = refusals[0]
    entry = first.entry
    if len(refusals) > 1:
        others = [r.entry.action for r in refusals[1:]]
        entry = dataclasses.replace(
            entry,
            input={
                **entry.input,
                "alsoRefused": others[:_ITEMS_MAX],
                "refusedCount": len(refusals),
            },
        )
    await write_alone(db, entry, caller, result=first.result, message=first.message, now=now)
    refusals.clear()
