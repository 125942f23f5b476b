"""One access record per GraphQL request, and the scope its other records and spans share.

The record (logger `modelreg.requests`, INFO) says what was asked and how it
ended: the operation (its name, or its root fields), the HTTP status, the
outcome (`ok` or the first error's `extensions.code`) and the duration. The
query text and its variables are never logged: variables carry what callers
send (descriptions, URLs, webhook secrets given back to rotate them).
"""

import asyncio
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from graphql import FieldNode, OperationDefinitionNode

from server import request_scope, tracing
from server.request_scope import RequestScope

logger = logging.getLogger("modelreg.requests")

INTERNAL = "INTERNAL_SERVER_ERROR"


@contextmanager
def observed(request_id: str, headers: Mapping[str, str]) -> Iterator[RequestScope]:
    """Serve one request inside its scope (and span); log its record when it ends."""
    scope = RequestScope(request_id)
    token = request_scope.enter(scope)
    try:
        with tracing.request_span(scope, headers):
            try:
                yield scope
            except asyncio.CancelledError:
                scope.outcome = "CANCELLED"  # the client left, or shutdown's grace ran out
                raise
            except Exception:
                scope.status, scope.outcome = 500, INTERNAL
                raise
    finally:
        try:
            _log(scope)
        finally:
            request_scope.leave(token)


def _log(scope: RequestScope) -> None:
    duration = scope.duration_ms
    logger.info(
        "%s %s %s %s %s %.1f ms",
        scope.method,
        scope.path,
        scope.operation or "-",
        scope.status,
        scope.outcome,
        duration,
        # The record carries its request whole: a handler may format it later.
        extra={
            "request_id": scope.request_id,
            "actor": scope.actor,
            "operation": scope.operation,
            "duration_ms": round(duration, 2),
            "status": scope.status,
            "outcome": scope.outcome,
            "operation_type": scope.operation_type,
        },
    )


def outcome_of(body: Mapping[str, Any]) -> str:
    """`ok`, or the `extensions.code` of a response body's first error."""
    errors = body.get("errors")
    if not errors:
        return "ok"
    first = errors[0]
    code = first.get("extensions", {}).get("code") if isinstance(first, Mapping) else None
    return str(code) if code else "ERROR"


def operation_label(operation: OperationDefinitionNode) -> str:
    """The operation's name, or its root fields when it has none: `createModelVersion`."""
    if operation.name is not None:
        return operation.name.value
    fields = [s.name.value for s in operation.selection_set.selections if isinstance(s, FieldNode)]
    return ",".join(fields) or "-"
