"""Refusing a request that has no valid token: one throttled audit row, nothing else.

The request's body is never read, parsed or validated for such a caller, so
the row cannot name the operations it asked for; it says who tried (the name
of an expired or revoked token) and from where.
"""

from resolvers import audit, metrics
from resolvers.audit import AuditEntry
from resolvers.audit_throttle import AuditThrottle
from resolvers.context import RequestContext
from resolvers.errors import Unauthenticated
from storage.clock import utcnow

ACTION = "authenticate"


def refusal(ctx: RequestContext) -> Unauthenticated:
    return Unauthenticated(ctx.auth_problem)


async def audit_refusal(ctx: RequestContext, throttle: AuditThrottle) -> None:
    """Count the refusal; write its audit row, unless this address has had its share lately."""
    metrics.auth_refused(ctx.auth_failure)
    suppressed = throttle.admit(ctx.client_address or "unknown")
    if suppressed is None:
        return
    given = {"suppressedBefore": suppressed} if suppressed else {}
    error = refusal(ctx)
    await audit.write_alone(
        ctx.db,
        AuditEntry(action=ACTION, input=given),
        ctx.caller,
        result=error.code,
        message=error.message,
        now=utcnow(),
    )
