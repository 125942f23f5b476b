"""Every root mutation is audited: its own row on success, one row per request for refusals.

The extension is added to each Mutation field in schema/schema.py, so a new
mutation cannot forget it. Refusals are collected and written as one row after
the document ran, so a document of many refused mutations costs one write.
"""

from typing import Any

from strawberry.extensions import FieldExtension
from strawberry.extensions.field_extension import AsyncExtensionResolver
from strawberry.types import Info

from resolvers import audit
from resolvers.audit import AuditEntry, Refusal
from resolvers.context import RequestContext
from resolvers.errors import RegistryError
from storage.clock import utcnow

# Mutations whose `name` input is a model's name (elsewhere `name` is a token's).
_MODEL_NAMED = {"createModel", "updateModel", "deleteModel"}
INTERNAL = "INTERNAL_SERVER_ERROR"


def entry_for(action: str, arguments: dict[str, Any]) -> AuditEntry:
    """The audit entry of a call, its target guessed from the input (resolvers may refine it)."""
    given = arguments.get("input", arguments)
    model = getattr(given, "model_name", None)
    if model is None and action in _MODEL_NAMED:
        model = getattr(given, "name", None)
    version = getattr(given, "version", None)
    target = f"{model}/{version}" if model and version else model
    if target is None and getattr(given, "id", None) is not None:
        target = f"{action} {given.id}"
    summary = audit.summarize(given)
    return AuditEntry(
        action=action,
        input=summary if isinstance(summary, dict) else {"value": summary},
        model_name=model if isinstance(model, str) else None,
        target=str(target) if target is not None else None,
    )


class AuditedMutation(FieldExtension):
    async def resolve_async(
        self, next_: AsyncExtensionResolver, source: Any, info: Info, **kwargs: Any
    ) -> Any:
        ctx: RequestContext = info.context
        entry = ctx.audit = entry_for(info.field_name, kwargs)
        try:
            result = await next_(source, info, **kwargs)
        except RegistryError as error:
            _refused(ctx, entry, error.code, error.message)
            raise
        except Exception:
            _refused(ctx, entry, INTERNAL, None)
            raise
        finally:
            ctx.audit = None
        if not entry.written:
            # Mutations that wrote nothing of their own (testWebhook) are logged too.
            await audit.write_alone(
                ctx.db, entry, ctx.caller, result=audit.OK, message=None, now=utcnow()
            )
        return result


def _refused(ctx: RequestContext, entry: AuditEntry, result: str, message: str | None) -> None:
    # Written once per request, after the document ran (schema/execution.py).
    if not entry.written:
        ctx.refusals.append(Refusal(entry, result, message))
