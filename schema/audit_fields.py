"""The audit log field of Query (merged into the root type). There is no mutation."""

import strawberry

from resolvers.audit_log import list_audit_entries
from schema.audit_types import AuditEntry, AuditFilter
from schema.connections import Connection, connection
from schema.types import Ctx


@strawberry.type
class AuditQuery:
    @strawberry.field(
        description="Every mutation call, refused ones included, newest first (admins)."
    )
    async def audit_log(
        self,
        info: Ctx,
        first: int | None = 20,
        after: str | None = None,
        filter: AuditFilter | None = None,
    ) -> Connection[AuditEntry]:
        page = await list_audit_entries(
            info.context, (filter or AuditFilter()).to_storage(), first=first, after=after
        )
        return connection(page, AuditEntry.of, after=after)
