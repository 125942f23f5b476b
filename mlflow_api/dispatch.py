"""One MLflow call: its route's handler run with the request's fields, audited, errors mapped.

Calls that change something are audited as GraphQL mutations are: the row is
written in the change's own transaction (action `mlflow.<rpc>`, the token's
name as actor), and a refused call writes one row afterwards. Reads are not
audited, as GraphQL queries are not.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mlflow_api.errors import MlflowError, mlflow_error
from mlflow_api.params import Params
from mlflow_api.routes import Route
from resolvers import audit, validation
from resolvers.audit import AuditEntry
from resolvers.context import RequestContext
from resolvers.errors import RegistryError
from storage.clock import utcnow

INTERNAL = "INTERNAL_SERVER_ERROR"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the HTTP layer sends: a status, a JSON body, and the code to log (`ok`)."""

    status: int
    body: dict[str, Any]
    code: str = "ok"


def _entry(action: str, values: Mapping[str, Any]) -> AuditEntry:
    name = values.get("name")
    version = values.get("version")
    model = name if isinstance(name, str) else None
    target = f"{model}/{version}" if model is not None and version is not None else model
    summary = audit.summarize(dict(values))
    return AuditEntry(
        action=action,
        input=summary if isinstance(summary, dict) else {"value": summary},
        model_name=model,
        target=target,
    )


async def call(
    ctx: RequestContext, route: Route, values: Mapping[str, Any], *, from_query: bool
) -> Outcome:
    entry = _entry(route.action, values) if route.writes else None
    ctx.audit = entry
    try:
        validation.arguments(dict(values))
        body = await route.handler(ctx, Params(values, from_query=from_query))
    except RegistryError as error:
        await _refused(ctx, entry, error.code, error.message)
        mapped: MlflowError = mlflow_error(error)
        return Outcome(mapped.status, mapped.body, error.code)
    except Exception:
        await _refused(ctx, entry, INTERNAL, None)
        raise
    finally:
        ctx.audit = None
    if entry is not None and not entry.written:
        await audit.write_alone(
            ctx.db, entry, ctx.caller, result=audit.OK, message=None, now=utcnow()
        )
    return Outcome(200, body)


async def _refused(
    ctx: RequestContext, entry: AuditEntry | None, result: str, message: str | None
) -> None:
    if entry is not None and not entry.written:
        await audit.write_alone(
            ctx.db, entry, ctx.caller, result=result, message=message, now=utcnow()
        )
