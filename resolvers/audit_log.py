"""Reading the audit log (admins): newest first, filtered, keyset-paginated.

There is no use case that changes or deletes an audit row: the log is
append-only, written only by the mutations themselves (see resolvers/audit.py).
"""

import dataclasses
from datetime import UTC, datetime

from resolvers import validation
from resolvers.context import RequestContext
from resolvers.errors import BadUserInput
from resolvers.pagination import Page, encode_cursor, make_page, page_request
from storage.enums import Role
from storage.queries import audit
from storage.queries.audit import AuditFilter
from storage.records import AuditRecord

_CURSOR_KIND = "audit"


def utc_time(value: datetime | None, field: str) -> datetime | None:
    if value is None:
        return None
    """A filter's time in UTC; BAD_USER_INPUT for a time without a zone or out of range."""
    # A naive time is ambiguous: refuse it rather than guess which zone was meant.
    if value.tzinfo is None:
        raise BadUserInput(
            f"{field} needs a time zone, e.g. 2026-01-31T00:00:00Z", field=f"filter.{field}"
        )
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is before the first UTC day
        raise BadUserInput(f"{field} is out of range", field=f"filter.{field}") from None


def checked_filter(audit_filter: AuditFilter) -> AuditFilter:
    """The filter with its times in UTC; its strings are one line, at most a name long."""
    for field, value in (
        ("actor", audit_filter.actor),
        ("model", audit_filter.model_name),
        ("action", audit_filter.action),
    ):
        if value is not None:
            validation.filter_text(value, f"filter.{field}")
    return dataclasses.replace(
        audit_filter,
        since=utc_time(audit_filter.since, "since"),
        until=utc_time(audit_filter.until, "until"),
    )


async def list_audit_entries(
    ctx: RequestContext, audit_filter: AuditFilter, *, first: int | None, after: str | None
) -> Page[AuditRecord]:
    """Entries matching `audit_filter`, newest first (`since` inclusive, `until` exclusive)."""
    ctx.authorize(Role.ADMIN, action="auditLog")
    audit_filter = checked_filter(audit_filter)
    page = page_request(first, after, _CURSOR_KIND, (int,), descending=True)
    async with ctx.read() as conn:
        rows = await audit.list_entries(conn, audit_filter, page)

    async def count() -> int:
        async with ctx.read() as conn:
            return await audit.count_entries(conn, audit_filter)

    return make_page(rows, page, lambda record: encode_cursor(_CURSOR_KIND, record.id), count)
