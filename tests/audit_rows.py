"""Reading the audit log in tests: over GraphQL (as admins see it) and straight from the table."""

from typing import Any

from sqlalchemy import select

from storage.database import Database
from storage.tables import audit_log
from tests.graphql import GraphQLClient

AUDIT_LOG = """
query($first: Int, $after: String, $filter: AuditFilter) {
  auditLog(first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node {
      id createdAt actor action model target input result message requestId clientAddress
    } }
  }
}
"""


async def audit_entries(
    api: GraphQLClient, first: int = 100, **audit_filter: Any
) -> list[dict[str, Any]]:
    """The newest `first` entries matching `audit_filter`, newest first."""
    data = await api.data(AUDIT_LOG, {"first": first, "filter": audit_filter or None})
    return [edge["node"] for edge in data["auditLog"]["edges"]]


async def audit_rows(db: Database) -> list[dict[str, Any]]:
    """Every row of the audit table, oldest first, as stored."""
    async with db.read() as conn:
        rows = await conn.execute(select(audit_log).order_by(audit_log.c.id))
        return [dict(row._mapping) for row in rows]
